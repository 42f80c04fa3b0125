"""Publishing the book: its repository links, launch buttons, runnable downloads, citation.

One setting drives the links: the environment variable ``COMPENDIUM_REPOSITORY_URL``
(``https://github.com/OWNER/NAME``; the book workflow passes the repository it runs in).
When it is set,

- `write_book_config` adds to ``_config.yml`` the repository button and the Binder and
  Colab launch buttons of every notebook page, and loads this module as a Sphinx extension
  that points those buttons at files that exist (see `Repository`);
- `add_setup_cell` starts each executed notebook with a cell that installs the compendium
  from that repository when it cannot be imported, and then makes what the page's profile
  reads, so the ``.ipynb`` a reader downloads (or opens on Colab) runs there.

When it is not set, the book is built from ``_config.yml`` as it stands: no buttons, and
no warning. `write_citation_box` renders the introduction's "How to cite" box from
``CITATION.cff`` at every build, so the citation is written in one place only.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import nbformat
import yaml

from compendium.build.profiles import GENERATED, ROOT, PipelineError
from compendium.chapters.downloads import MARKER
from compendium.chapters.page import MYST
from compendium.util.files import atomic_path

if TYPE_CHECKING:
    from sphinx.application import Sphinx

log = logging.getLogger(__name__)

REPOSITORY_URL_ENV = "COMPENDIUM_REPOSITORY_URL"
REPOSITORY_BRANCH_ENV = "COMPENDIUM_REPOSITORY_BRANCH"
NOTEBOOKS_BRANCH_ENV = "COMPENDIUM_NOTEBOOKS_BRANCH"
BINDER = "https://mybinder.org"
COLAB = "https://colab.research.google.com"
CITATION = ROOT / "CITATION.cff"
#: The snippet the introduction includes (``{include} generated/how-to-cite.md``).
CITATION_BOX = "how-to-cite.md"
#: Cell metadata key of the set-up cell, so that it is added once.
SETUP_KEY = "compendium_setup"
#: The kernel a downloaded notebook names: the one every Jupyter (and Colab) has.
PORTABLE_KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

_GITHUB = re.compile(r"https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?")


class PublishingError(PipelineError):
    """A publishing setting is unusable; the message names the variable and its form."""


@dataclass(frozen=True)
class Repository:
    """The GitHub repository the book links to.

    Binder opens a chapter's jupytext source ``notebooks/<name>.py`` on `branch` (jupytext
    is installed there, so it opens as a notebook). Colab opens the executed
    ``<name>.ipynb`` on `notebooks_branch`, where the book workflow publishes the executed
    notebooks (they are not committed; sphinx-book-theme alone would point at
    ``book/generated/<name>.ipynb``, which is not in the repository).
    """

    url: str
    branch: str = "main"
    notebooks_branch: str = "executed-notebooks"

    @property
    def owner_and_name(self) -> str:
        match = _GITHUB.fullmatch(self.url)
        if not match:
            raise PublishingError(
                f"{self.url!r} is not a GitHub repository URL: use https://github.com/OWNER/NAME"
            )
        return f"{match['owner']}/{match['name']}"

    def binder_url(self, notebook: str) -> str:
        branch = quote(self.branch, safe="")
        return f"{BINDER}/v2/gh/{self.owner_and_name}/{branch}?urlpath=tree/notebooks/{notebook}.py"

    def colab_url(self, notebook: str) -> str:
        return f"{COLAB}/github/{self.owner_and_name}/blob/{self.notebooks_branch}/{notebook}.ipynb"

    def pip_requirement(self) -> str:
        return f"compendium @ git+{self.url}@{self.branch}"


def repository_from_env(environ: Mapping[str, str] | None = None) -> Repository | None:
    """The repository named by ``COMPENDIUM_REPOSITORY_URL`` (None when it is unset)."""
    environ = os.environ if environ is None else environ
    url = environ.get(REPOSITORY_URL_ENV, "").strip()
    if not url:
        return None
    match = _GITHUB.fullmatch(url)
    if not match:
        raise PublishingError(
            f"{REPOSITORY_URL_ENV}={url!r} is not a GitHub repository URL: set it to "
            f"https://github.com/OWNER/NAME (Binder and Colab launch from GitHub), or unset "
            f"it to build the book without launch buttons"
        )
    return Repository(
        url=f"https://github.com/{match['owner']}/{match['name']}",
        branch=environ.get(REPOSITORY_BRANCH_ENV, "").strip() or Repository.branch,
        notebooks_branch=environ.get(NOTEBOOKS_BRANCH_ENV, "").strip()
        or Repository.notebooks_branch,
    )


# --- the Jupyter Book configuration ---------------------------------------------------------


def book_config(base: Path, repository: Repository | None) -> dict[str, Any]:
    """``_config.yml`` (at `base`) with the repository's buttons added when there is one."""
    config = yaml.safe_load(Path(base).read_text(encoding="utf-8"))
    if repository is None:
        return config
    config["repository"] = {"url": repository.url, "branch": repository.branch}
    config["repository"]["path_to_book"] = "book"
    config.setdefault("html", {})["use_repository_button"] = True
    launch = config.setdefault("launch_buttons", {})
    launch.update(binderhub_url=BINDER, colab_url=COLAB)
    sphinx = config.setdefault("sphinx", {})
    extensions = sphinx.setdefault("extra_extensions", [])
    if __name__ not in extensions:
        extensions.append(__name__)
    sphinx.setdefault("config", {})["compendium_launch"] = asdict(repository)
    return config


def write_book_config(base: Path, repository: Repository | None, folder: Path) -> Path:
    """The configuration file to build with: `base` itself without a repository, else a
    copy in `folder` with the repository's buttons (`book_config`)."""
    if repository is None:
        return Path(base)
    path = Path(folder) / "_config.yml"
    with atomic_path(path) as partial:
        partial.write_text(yaml.safe_dump(book_config(base, repository), sort_keys=False))
    log.info("book configuration with launch buttons for %s: %s", repository.url, path)
    return path


# --- the executed notebooks ----------------------------------------------------------------

_SETUP_SOURCE = """\
# Set-up for running this notebook outside the compendium's own environment (e.g. on
# Colab): install the compendium from its repository if it cannot be imported, then make
# what profile {profile!r} reads (data, trained network, recorded activations). Each step
# skips the work that is already done, so in the compendium's environment this is quick.
import subprocess
import sys

try:
    import compendium  # noqa: F401
except ImportError:
    %pip install --quiet "{requirement}"
for step in ("data", "train", "record"):
    subprocess.run(
        [sys.executable, "-m", "compendium.build.cli", step, "--profile", {profile!r}], check=True
    )
"""


def add_setup_cell(
    notebook: nbformat.NotebookNode, repository: Repository, profile: str
) -> nbformat.NotebookNode:
    """Put the set-up cell (install from `repository`, run `profile`'s steps) first; it is
    tagged ``remove-cell``, so the page does not show it but the ``.ipynb`` keeps it.

    The notebook also names the usual ``python3`` kernel instead of the build's own, which
    exists only where the compendium registered it (Colab would warn about it).
    """
    notebook.metadata["kernelspec"] = dict(PORTABLE_KERNEL)
    if any(cell.metadata.get(SETUP_KEY) for cell in notebook.cells):
        return notebook
    source = _SETUP_SOURCE.format(profile=profile, requirement=repository.pip_requirement())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["remove-cell"], SETUP_KEY: True})
    notebook.cells.insert(0, cell)
    return notebook


def render_downloads_as_myst(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Have MyST-NB parse the Markdown outputs of cells that show a CSV download link, or
    any other output marked `compendium.chapters.page.MYST` (exercises), as MyST (its
    default, CommonMark, would leave the ``{download}`` role and the directives as text)."""
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        marks = [output.get("metadata", {}).get("text/markdown", {}) for output in outputs]
        if any(MARKER in mark or MYST in mark for mark in marks):
            cell.metadata.setdefault("mystnb", {})["markdown_format"] = "myst"
    return notebook


# --- "How to cite" ------------------------------------------------------------------------


def citation_box(cff_path: Path = CITATION, repository: Repository | None = None) -> str:
    """The introduction's "How to cite" box (MyST), from ``CITATION.cff``."""
    cff = yaml.safe_load(Path(cff_path).read_text(encoding="utf-8"))
    papers = [_reference(ref) for ref in cff.get("references", []) if ref.get("type") == "article"]
    url = cff.get("repository-code") or (repository.url if repository else None)
    compendium = (
        f"{_authors(cff['authors'])} *{_escaped(cff['title'])}* (version {cff['version']}) "
        f"[Computer software]." + (f" <{url}>" if url else "")
    )
    lines = [":::{admonition} How to cite", ":class: tip", ""]
    if papers:
        lines += ["For the findings, cite the paper:", ""]
        lines += [f"> {paper}\n" for paper in papers]
    lines += ["For the code and the reruns, cite this compendium:", "", f"> {compendium}", ""]
    lines += [
        "Both entries are in `CITATION.cff` at the top of the repository, which reference "
        "managers and GitHub's *Cite this repository* button read.",
        ":::",
        "",
    ]
    return "\n".join(lines)


def write_citation_box(folder: Path, repository: Repository | None = None) -> Path:
    """Write `citation_box` to ``folder/how-to-cite.md`` (the book's generated folder)."""
    path = Path(folder) / CITATION_BOX
    with atomic_path(path) as partial:
        partial.write_text(citation_box(CITATION, repository), encoding="utf-8")
    return path


def _reference(ref: Mapping[str, Any]) -> str:
    pages = f", {ref['start']}–{ref['end']}" if "start" in ref and "end" in ref else ""
    doi = f" <https://doi.org/{ref['doi']}>" if ref.get("doi") else ""
    return (
        f"{_authors(ref['authors'])} ({ref['year']}). {_escaped(ref['title'])} "
        f"*{_escaped(ref['journal'])}*, *{ref['volume']}*{pages}.{doi}"
    )


def _authors(authors: list[Mapping[str, str]]) -> str:
    names = [_author(person) for person in authors]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + ", & " + names[-1]


def _author(person: Mapping[str, str]) -> str:
    if "name" in person:
        return _escaped(person["name"]) + "."
    initials = " ".join(f"{part[0]}." for part in person.get("given-names", "").split())
    return _escaped(f"{person['family-names']}, {initials}".strip(", "))


def _escaped(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>{}])", r"\\\1", " ".join(str(text).split()))


# --- the Sphinx extension ------------------------------------------------------------------


def setup(app: Sphinx) -> dict[str, bool]:
    """Sphinx extension: retarget the theme's Binder and Colab buttons (`Repository`)."""
    app.add_config_value("compendium_launch", {}, "html", types=[dict])
    # sphinx-book-theme adds its launch buttons at priority 501; change them after that.
    app.connect("html-page-context", _retarget_launch_buttons, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _retarget_launch_buttons(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object
) -> None:
    settings = app.config.compendium_launch
    prefix = f"{GENERATED}/"
    if not settings or not pagename.startswith(prefix):
        return
    repository = Repository(**settings)
    notebook = pagename[len(prefix) :]
    targets = {"Binder": repository.binder_url(notebook), "Colab": repository.colab_url(notebook)}
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if button.get("text") in targets:
                    button["url"] = targets[button["text"]]
