"""From a profile to the HTML book: pre-notebook steps, executed notebooks, Jupyter Book.

Where things live (paths relative to the repository root):

- ``notebooks/<name>.py``: the chapters' sources, jupytext percent format, each with a
  cell tagged ``parameters`` that declares at least ``profile``;
- ``notebooks/params/<profile>.yml``: a profile, mapping a notebook name to the
  parameters injected into it (a notebook the profile does not name runs with its defaults);
- ``book/generated/<name>.ipynb``: the executed notebooks (not committed), and beside
  each the CSV files of its tables, ``<name>-data/`` (`compendium.chapters.downloads`);
- ``book/generated/how-to-cite.md``: the introduction's citation box, from
  ``CITATION.cff`` (`compendium.build.publishing`, which also adds the launch buttons
  when ``COMPENDIUM_REPOSITORY_URL`` is set);
- ``book/_static/vega-offline.js``: Vega, Vega-Lite and Vega-Embed for the charts,
  written at build time (not committed);
- ``book/_build/html/``: the built book; open ``book/_build/html/index.html``.

`build_book` runs `PRE_NOTEBOOK_STEPS` (data, training, recording: whatever the notebooks
read), then `execute_notebooks`, then ``jupyter-book build`` with warnings as errors, and
then checks that every page of the table of contents exists and every internal link lands.
"""

from __future__ import annotations

import ast
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import altair as alt
import jupytext
import nbformat
import papermill
import vl_convert
import yaml
from tqdm import tqdm

from compendium.build import publishing
from compendium.build.page_context import page_context
from compendium.build.profiles import (
    BOOK,
    BUILD,
    CONFIG,
    GENERATED,
    KERNEL_NAME,
    NOTEBOOKS,
    ROOT,
    VEGA_BUNDLE,
    PipelineError,
    load_profile,
)
from compendium.build.stages import PRE_NOTEBOOK_STEPS, shipped_switch
from compendium.chapters import downloads
from compendium.chapters.page import describing
from compendium.util.files import atomic_path, refuse_overwriting_inputs

log = logging.getLogger(__name__)


def notebook_sources() -> dict[str, Path]:
    """The chapters' jupytext sources, by name (file stem), in name order."""
    return {path.stem: path for path in sorted(NOTEBOOKS.glob("*.py"))}


def chapter_parameters(profile: str, name: str) -> dict[str, Any]:
    """The parameters chapter `name` runs with on `profile`: the defaults of its notebook's
    ``parameters`` cell, replaced by the profile's section for it (as `execute_notebooks`
    injects them), ``profile`` included. For a page that gathers other chapters' networks."""
    sources = notebook_sources()
    if name not in sources:
        raise PipelineError(f"no notebook named {name}; the notebooks are: {', '.join(sources)}")
    with tempfile.TemporaryDirectory(prefix="compendium-params-") as tmp:
        given = Path(tmp) / f"{name}.ipynb"
        nbformat.write(jupytext.read(sources[name]), given)
        declared = papermill.inspect_notebook(str(given))
    defaults = {key: ast.literal_eval(value["default"]) for key, value in declared.items()}
    return {**defaults, **load_profile(profile).params.get(name, {}), "profile": profile}


def execute_notebooks(
    profile: str,
    names: Iterable[str] | None = None,
    out_dir: Path | None = None,
    overrides: dict[str, dict] | None = None,
) -> list[Path]:
    """Execute notebooks with the profile's parameters into `out_dir` (default
    ``book/generated``); returns the executed ``.ipynb`` paths. `overrides` maps a
    notebook name to parameters that replace the profile's for that run.

    A notebook is written under its final name only once it has run to the end.
    """
    prof = load_profile(profile)
    sources = notebook_sources()
    chosen = list(names) if names is not None else list(sources)
    steps = {step.section for step in PRE_NOTEBOOK_STEPS}
    unknown = [name for name in chosen if name not in sources]
    unknown += [key for key in prof.params if key not in sources and key not in steps]
    if unknown:
        raise PipelineError(
            f"no notebook named {', '.join(sorted(set(unknown)))} in {NOTEBOOKS}; "
            f"the notebooks are: {', '.join(sources)}"
            + (f" (and the step sections: {', '.join(sorted(steps))})" if steps else "")
        )
    out_dir = Path(out_dir) if out_dir is not None else BOOK / GENERATED
    refuse_overwriting_inputs(
        [out_dir / f"{name}.ipynb" for name in chosen],
        [sources[name] for name in chosen],
        folders=[NOTEBOOKS],
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    ensure_kernel()
    repository = publishing.repository_from_env()
    written = []
    with shipped_switch(prof):
        for name in tqdm(chosen, desc=f"notebooks ({profile})", unit="notebook"):
            given = (overrides or {}).get(name, {})
            params = {**prof.params.get(name, {}), **given, "profile": profile}
            dest = out_dir / f"{name}.ipynb"
            written.append(_execute_one(sources[name], params, dest, repository=repository))
    return written


def build_book(profile: str, workdir: Path | None = None) -> Path:
    """Build the whole book for `profile`; returns the HTML folder.

    Without `workdir` the book is built in place (``book/_build/html``). With it, the book
    sources are copied into `workdir` first and built there, leaving ``book/`` untouched.
    """
    if workdir is not None:  # ``workdir/book`` is replaced whole: it must hold no source
        refuse_overwriting_inputs(
            [Path(workdir) / "book"], [CONFIG], folders=[BOOK, NOTEBOOKS], folder_outputs=True
        )
    run_steps(profile)
    source = BOOK if workdir is None else _copy_book_source(Path(workdir))
    repository = publishing.repository_from_env()
    execute_notebooks(profile, out_dir=source / GENERATED)
    html = build_html(source, repository, profile=profile)
    log.info("book (profile %s) written to %s", profile, html)
    return html


def run_steps(profile: str) -> None:
    """The steps before the notebooks (data, training, recording) for `profile`."""
    prof = load_profile(profile)
    for step in PRE_NOTEBOOK_STEPS:
        log.info(
            "step %s (profile %s): %s", step.section, profile, prof.params.get(step.section, {})
        )
        step.run(prof)


def build_html(
    source: Path = BOOK, repository: str | None = None, *, profile: str | None = None
) -> Path:
    """Jupyter Book over `source`, whose ``generated/`` already holds the executed
    notebooks; returns the checked HTML folder. With `profile`, the experiment page gets
    that profile's lists and panels (`write_experiment`)."""
    publishing.write_citation_box(source / GENERATED, repository)
    write_vega_bundle(source / "_static")
    write_experiment(source, profile)
    with tempfile.TemporaryDirectory(prefix="compendium-config-") as tmp:
        _run_jupyter_book(source, publishing.write_book_config(CONFIG, repository, Path(tmp)))
    html = source / BUILD / "html"
    check_html(html, toc_documents(source / "_toc.yml"))
    return html


def ensure_kernel() -> str:
    """Register this Python as the Jupyter kernel `KERNEL_NAME` (in ``sys.prefix``)."""
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    if spec.is_file() and json.loads(spec.read_text())["argv"][0] == sys.executable:
        return KERNEL_NAME
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL_NAME, display_name="Python 3 (compendium)", prefix=sys.prefix)
    log.info("registered Jupyter kernel %s -> %s", KERNEL_NAME, sys.executable)
    return KERNEL_NAME


def write_vega_bundle(static_dir: Path) -> Path:
    """Write the page-level script that lets Altair charts draw with no network.

    It holds vl-convert's bundle of Vega, Vega-Lite and Vega-Embed, wrapped in a function
    so its top-level names do not clash with Sphinx's, and sets ``window.VEGA_DEBUG`` to
    Altair's library versions so that Altair's loader uses them instead of a CDN. The file
    is rewritten only when the versions change.
    """
    versions = {
        "vega_version": alt.VEGA_VERSION,
        "vegalite_version": alt.VEGALITE_VERSION,
        "vegaembed_version": alt.VEGAEMBED_VERSION,
    }
    header = (
        f"/* Generated by compendium.build.pipeline from vl-convert-python {vl_convert.__version__}"
        f" for altair {alt.__version__}; do not edit. */\n"
    )
    path = Path(static_dir) / VEGA_BUNDLE
    if path.is_file() and path.read_text().startswith(header):
        return path
    vl_version = "v" + ".".join(alt.VEGALITE_VERSION.split(".")[:2])
    if vl_version.lstrip("v") not in vl_convert.get_vegalite_versions():
        raise PipelineError(
            f"vl-convert-python {vl_convert.__version__} does not carry Vega-Lite "
            f"{alt.VEGALITE_VERSION}, which altair {alt.__version__} needs: pin versions "
            f"of the two that match (requirements.txt)"
        )
    bundle = vl_convert.javascript_bundle(vl_version=vl_version)
    text = (
        f"{header}window.VEGA_DEBUG = Object.assign(window.VEGA_DEBUG || {{}}, "
        f"{json.dumps(versions)});\n(function () {{\n{bundle}\n}})();\n"
    )
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")
    log.info("wrote %s (%d kB)", path, len(text) // 1024)
    return path


def write_experiment(source: Path, profile: str | None) -> Path:
    """The experiment page's folder, ``<source>/_extra/experiment``: jsPsych (from the npm
    cache, fetched once) and `profile`'s lists and panels. Without a profile an existing
    folder is kept, and a missing one is written with no lists."""
    from compendium.build import experiment_site

    if profile is not None:
        return experiment_site.write_book_experiment(source, profile)
    folder = source / experiment_site.BOOK_EXTRA / experiment_site.FOLDER
    if (folder / "lists.js").is_file():
        return folder
    return experiment_site.write_site(folder, experiment_site.no_lists(), {}, {"n_lists": 0})


def toc_documents(toc_path: Path) -> list[str]:
    """Every document named in a Jupyter Book ``_toc.yml`` (root first), without suffix."""
    toc = yaml.safe_load(Path(toc_path).read_text())
    found = []

    def visit(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                found.append(str(Path(node["file"]).with_suffix("")))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    found.append(str(Path(toc["root"]).with_suffix("")))
    visit({key: value for key, value in toc.items() if key != "root"})
    return found


def check_html(html_dir: Path, documents: Iterable[str]) -> None:
    """Fail unless each document has its HTML page and every internal link resolves."""
    missing = [doc for doc in documents if not (html_dir / f"{doc}.html").is_file()]
    if missing:
        raise PipelineError(
            f"the build left no HTML page for {', '.join(missing)} in {html_dir}: "
            f"check the names in book/_toc.yml and the build log above"
        )
    broken = broken_links(html_dir)
    if broken:
        raise PipelineError(
            "broken internal links (fix them in the sources):\n" + "\n".join(broken)
        )


def broken_links(html_dir: Path) -> list[str]:
    """Internal links (href, src) of the book's pages whose file or anchor does not exist."""
    pages = {
        path: _parse_page(path)
        for path in sorted(html_dir.rglob("*.html"))
        if "_static" not in path.relative_to(html_dir).parts
    }
    problems = []
    for page, parsed in pages.items():
        for link in parsed.links:
            target, fragment = _resolve(page, link)
            if target is None:
                continue
            if not target.exists():
                problems.append(f"{page.relative_to(html_dir)}: {link} (no such file)")
            elif fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse_page(target).ids
                if fragment not in ids:
                    problems.append(f"{page.relative_to(html_dir)}: {link} (no such anchor)")
    return problems


class _PageParser(HTMLParser):
    """Collects the ids and the link targets (href, src) of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(values[key])
        for key in ("href", "src"):
            if values.get(key):
                self.links.append(values[key])


def _parse_page(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _resolve(page: Path, link: str) -> tuple[Path | None, str]:
    """The file an internal link points to and its anchor; (None, "") for external links."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc:
        return None, ""
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def _execute_one(
    source: Path, params: dict, dest: Path, repository: publishing.Repository | None = None
) -> Path:
    """Convert one jupytext source, run it with `params`, and move it to `dest` when done.

    The tables it offers as CSV go to ``downloads.page_folder(dest)``, emptied first. With
    a `repository`, the notebook gets the set-up cell that makes it run elsewhere.
    """
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "Python 3 (compendium)",
        "language": "python",
    }
    with tempfile.TemporaryDirectory(prefix="compendium-nb-") as tmp:
        given = Path(tmp) / f"in-{dest.name}"
        ran = Path(tmp) / dest.name
        nbformat.write(notebook, given)
        _check_parameters(source, given, params)
        log.info("executing %s with %s", _shown(source), params)
        shutil.rmtree(downloads.page_folder(dest), ignore_errors=True)
        context = page_context(params["profile"], given)  # the banner's run and parameters
        try:
            with downloads.writing_to(downloads.page_folder(dest)), describing(context):
                papermill.execute_notebook(
                    str(given),
                    str(ran),
                    parameters=params,
                    kernel_name=KERNEL_NAME,
                    cwd=str(ROOT),
                    progress_bar=False,
                    request_save_on_cell_execute=False,
                )
        except papermill.PapermillExecutionError as err:
            raise PipelineError(
                f"{_shown(source)} failed in cell {err.exec_count}: "
                f"{err.ename}: {err.evalue} (run `compendium notebooks --only "
                f"{source.stem}` after fixing it)"
            ) from err
        executed = _hide_code(_hide_parameters(nbformat.read(ran, as_version=4)))
        executed = publishing.render_downloads_as_myst(executed)
        if repository is not None:
            executed = publishing.add_setup_cell(executed, repository, params["profile"])
        with atomic_path(dest) as partial:
            nbformat.write(executed, partial)
    log.info("wrote %s", dest)
    return dest


def _hide_parameters(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Tag the parameter cells ``remove-cell``: the page's profile banner shows their values."""
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    return notebook


#: Tags with which a cell's code is already removed or folded on the page.
_CODE_TAGS = {"remove-cell", "remove-input", "hide-input", "hide-cell"}


def _hide_code(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Fold every code cell's source behind a toggle (tag ``hide-input``) unless the notebook
    already removes or folds it: a page shows its results, and a reader can open the code."""
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and not _CODE_TAGS & set(tags):
            cell.metadata["tags"] = [*tags, "hide-input"]
    return notebook


def _shown(path: Path) -> Path:
    """`path` relative to the repository when it lies inside it (for messages)."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _check_parameters(source: Path, notebook: Path, params: dict) -> None:
    """Every injected parameter must be declared in the notebook's ``parameters`` cell."""
    declared = papermill.inspect_notebook(str(notebook))
    if "profile" not in declared:
        raise PipelineError(
            f"{_shown(source)}: its cell tagged 'parameters' must declare "
            f'`profile = "default"` (the page names the profile that produced it)'
        )
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise PipelineError(
            f"the profile gives {source.stem} parameters it does not declare: "
            f"{', '.join(unknown)}; its parameters are {', '.join(declared)}"
        )


def _copy_book_source(workdir: Path) -> Path:
    """Copy the book's sources (not its outputs) into ``workdir/book``."""
    target = workdir / "book"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(
        BOOK, target, ignore=shutil.ignore_patterns(BUILD, GENERATED, VEGA_BUNDLE, "_extra")
    )
    return target


def _run_jupyter_book(source: Path, config: Path = CONFIG) -> None:
    """``jupyter-book build`` of `source` with `config` (default: the top-level
    ``_config.yml``), warnings as errors."""
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(exe if exe.is_file() else shutil.which("jupyter-book") or "jupyter-book"),
        "build",
        str(source),
        "--path-output",
        str(source),
        "--config",
        str(config),
        "--toc",
        str(source / "_toc.yml"),
        "--all",
        "-W",
        "-n",
        "--keep-going",
    ]
    log.info("running %s", " ".join(command))
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise PipelineError(
            f"jupyter-book build failed (exit {result.returncode}); the warnings above name "
            f"each page and line to fix"
        )
