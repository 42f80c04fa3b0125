"""Publishing: the CI workflows, launch buttons, CSV downloads, licences and citation, and
a wheel that works outside the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import synset_lines, write_merged_layer
from IPython.core.inputtransformer2 import TransformerManager

from compendium.build import pipeline, profiles, publishing
from compendium.build.publishing import PublishingError, Repository
from compendium.chapters import downloads
from compendium.util.cache import cache_dir

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
REPO_URL = "https://github.com/example-lab/selectivity-compendium"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def tool(name: str) -> str:
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: `make` installs it from requirements.txt")
    return str(path)


# --- the workflows ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["book.yml", "tests.yml"])
def test_workflow_is_valid_for_github(name):
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", name],
        cwd=WORKFLOWS,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["book.yml", "tests.yml"])
def test_workflow_has_no_serious_zizmor_finding(name):
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--min-severity", "high", str(WORKFLOWS / name)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["book.yml", "tests.yml"])
def test_workflow_pins_actions_and_grants_least_privilege(name):
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert PINNED.match(action), f"{action} is not pinned to a commit"
        assert re.search(r"# v\d", comment), f"{action} lacks its release tag in a comment"
    flow = workflow(name)
    assert flow["permissions"] == {}, "the workflow grants nothing by default"
    assert all("permissions" in job for job in flow["jobs"].values())


def test_book_workflow_builds_caches_deploys_and_keeps_pull_request_html():
    flow = workflow("book.yml")
    assert {"push", "pull_request"} <= set(flow[True])  # PyYAML reads the key `on` as True
    build = flow["jobs"]["build"]
    steps = {step.get("uses", step.get("run", "")).split("@")[0]: step for step in build["steps"]}
    assert steps["actions/setup-python"]["with"]["python-version"] == "3.11"
    assert "make book" in steps
    cache = steps["actions/cache"]["with"]
    assert cache["path"] == "data/cache"
    for hashed in ("'requirements.txt'", "'src/**'", "'notebooks/**'", "'notebooks/params/**'"):
        assert hashed in cache["key"]
    uploads = {
        step["with"]["name"]: step["if"]
        for step in build["steps"]
        if step.get("uses", "").startswith("actions/upload-artifact@")
    }
    assert uploads["book-html"] == "github.event_name == 'pull_request'"
    assert "default_branch" in uploads["executed-notebooks"]
    assert "default_branch" in steps["actions/upload-pages-artifact"]["if"]
    assert build["env"]["COMPENDIUM_REPOSITORY_URL"].startswith("${{ github.server_url }}")
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and "default_branch" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    assert flow["jobs"]["notebooks"]["permissions"] == {"contents": "write"}


def test_tests_workflow_runs_the_readme_command():
    [job] = workflow("tests.yml")["jobs"].values()
    assert [step["run"] for step in job["steps"] if "run" in step] == ["make test"]


# --- the system packages on a hosted Ubuntu runner -------------------------------------------


def run_install_script(tmp_path: Path, distro: str, apt_knows_dataset: bool) -> str:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "apt-cache").write_text(f"#!/bin/sh\nexit {0 if apt_knows_dataset else 1}\n")
    (fake_bin / "apt-cache").chmod(0o755)
    (tmp_path / "os-release").write_text(f"ID={distro}\n")
    env = {
        **os.environ,
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "OS_RELEASE": str(tmp_path / "os-release"),
        "FASHION_MNIST_DIR": str(tmp_path / "no-dataset"),
        "CHROMIUM_COMMAND": "no-such-chromium",
    }
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-system-packages.sh"), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_install_script_on_ubuntu_installs_playwrights_chromium_and_skips_the_dataset(
    tmp_path,
):
    out = run_install_script(tmp_path, "ubuntu", apt_knows_dataset=False)
    assert "playwright install --with-deps chromium" in out
    assert "download Fashion-MNIST from upstream" in out
    assert "apt-get" not in out


def test_install_script_on_debian_installs_both_packages(tmp_path):
    out = run_install_script(tmp_path, "debian", apt_knows_dataset=True)
    assert "apt-get install -y chromium dataset-fashion-mnist" in out
    assert "playwright" not in out


# --- the repository setting and the launch buttons --------------------------------------------


def test_no_repository_url_means_no_buttons():
    assert publishing.repository_from_env({}) is None
    assert publishing.write_book_config(profiles.CONFIG, None, Path("/unused")) == profiles.CONFIG


def test_repository_url_is_read_and_normalised():
    repo = publishing.repository_from_env(
        {"COMPENDIUM_REPOSITORY_URL": REPO_URL + ".git/", "COMPENDIUM_REPOSITORY_BRANCH": "trunk"}
    )
    assert repo == Repository(REPO_URL, "trunk", "executed-notebooks")
    assert repo.binder_url("02_alexnet_results") == (
        "https://mybinder.org/v2/gh/example-lab/selectivity-compendium/trunk"
        "?urlpath=tree/notebooks/02_alexnet_results.py"
    )
    assert repo.colab_url("02_alexnet_results") == (
        "https://colab.research.google.com/github/example-lab/selectivity-compendium/blob/"
        "executed-notebooks/02_alexnet_results.ipynb"
    )


def test_a_repository_url_off_github_is_refused_with_the_fix():
    with pytest.raises(PublishingError, match="COMPENDIUM_REPOSITORY_URL.*github.com/OWNER/NAME"):
        publishing.repository_from_env({"COMPENDIUM_REPOSITORY_URL": "https://gitlab.com/a/b"})


def test_binder_opens_a_file_the_repository_has():
    repo = Repository(REPO_URL)
    for name in pipeline.notebook_sources():
        opened = repo.binder_url(name).split("urlpath=tree/")[1]
        assert (ROOT / opened).is_file(), opened


def test_book_config_with_a_repository_adds_the_buttons():
    config = publishing.book_config(profiles.CONFIG, Repository(REPO_URL))
    assert config["repository"]["url"] == REPO_URL and config["html"]["use_repository_button"]
    assert set(config["launch_buttons"]) >= {"binderhub_url", "colab_url"}
    assert "compendium.build.publishing" in config["sphinx"]["extra_extensions"]
    plain = yaml.safe_load(profiles.CONFIG.read_text())
    assert not plain["html"]["use_repository_button"] and "binderhub_url" not in str(plain)


def test_setup_cell_comes_first_installs_from_the_repository_and_runs_in_ipython():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    publishing.add_setup_cell(notebook, Repository(REPO_URL), "default")
    publishing.add_setup_cell(notebook, Repository(REPO_URL), "default")
    assert len(notebook.cells) == 2
    first = notebook.cells[0]
    assert first.metadata["tags"] == ["remove-cell"]
    assert f'%pip install --quiet "compendium @ git+{REPO_URL}@main"' in first.source
    assert "\"--profile\", 'default'" in first.source
    compile(TransformerManager().transform_cell(first.source), "setup-cell", "exec")


def test_download_cells_are_rendered_as_myst():
    marked = nbformat.v4.new_code_cell("show()")
    marked.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/markdown": "link"},
            metadata={"text/markdown": {downloads.MARKER: "t.csv"}},
        )
    ]
    plain = nbformat.v4.new_code_cell("other()")
    notebook = nbformat.v4.new_notebook(cells=[marked, plain])
    publishing.render_downloads_as_myst(notebook)
    assert marked.metadata["mystnb"] == {"markdown_format": "myst"}
    assert "mystnb" not in plain.metadata


# --- CSV downloads ---------------------------------------------------------------------------


def test_csv_download_during_a_build_writes_beside_the_notebook(tmp_path):
    folder = downloads.page_folder(tmp_path / "02_alexnet_results.ipynb")
    table = pd.DataFrame({"unit": [3, 1], "precision": [0.5, 0.25]})
    with downloads.writing_to(folder):
        link = downloads.csv_download(table, "fc6_measures")
    assert os.environ.get(downloads.PAGE_DATA_ENV) is None
    assert link.data.endswith(
        "{download}`fc6_measures.csv <02_alexnet_results-data/fc6_measures.csv>`"
    )
    pd.testing.assert_frame_equal(pd.read_csv(folder / "fc6_measures.csv"), table)


def test_csv_download_elsewhere_writes_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(downloads.PAGE_DATA_ENV, raising=False)
    columns = pd.MultiIndex.from_tuples([("precision", "this run"), ("precision", "paper")])
    table = pd.DataFrame([[0.5, 0.6]], columns=columns, index=pd.Index(["fc6.1"], name="unit"))
    link = downloads.csv_download(table.style, "compare")
    assert link.data.endswith("[compare.csv](downloads/compare.csv)")
    written = pd.read_csv(tmp_path / "downloads" / "compare.csv")
    assert list(written.columns) == ["unit", "precision (this run)", "precision (paper)"]


@pytest.mark.parametrize("name", ["", "fc6 measures", "../up", "table.csv/x"])
def test_csv_download_refuses_an_unsafe_name(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(downloads.DownloadError, match="not a usable file name"):
        downloads.csv_download(pd.DataFrame({"a": [1]}), name)


# --- licences and citation -------------------------------------------------------------------


def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_licences_are_stated_in_the_files_and_the_footer():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "CC BY 4.0" in (ROOT / "LICENSE-TEXT.md").read_text()
    footer = yaml.safe_load(profiles.CONFIG.read_text())["html"]["extra_footer"]
    assert "MIT" in footer and 'href="https://creativecommons.org/licenses/by/4.0/"' in footer


def test_citation_agrees_with_the_package_the_book_and_the_bibliography():
    cff = citation()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["version"] == project["version"] and cff["license"] == project["license"]["text"]
    assert cff["title"] == yaml.safe_load(profiles.CONFIG.read_text())["title"]
    [paper] = cff["references"]
    bib = (ROOT / "book" / "references.bib").read_text()
    entry = bib[bib.index("@article{gale2020") :].split("\n}")[0]
    assert f"doi     = {{{paper['doi']}}}" in entry
    assert f"volume  = {{{paper['volume']}}}" in entry
    assert f"pages   = {{{paper['start']}--{paper['end']}}}" in entry


def test_citation_box_is_built_from_citation_cff():
    box = publishing.citation_box()
    assert box.startswith(":::{admonition} How to cite")
    assert "Gale, E. M., Martin, N., Blything, R., Nguyen, A., & Bowers, J. S. (2020)." in box
    assert "*Vision Research*, *176*, 60–71." in box
    assert f"<https://doi.org/{citation()['references'][0]['doi']}>" in box
    assert f"(version {citation()['version']})" in box and REPO_URL not in box
    assert REPO_URL in publishing.citation_box(repository=Repository(REPO_URL))


def cffconvert() -> Path:
    """cffconvert 2.0.0 (offline validation) in its own environment: it needs jsonschema 3,
    the book's tools need 4. Created once under the cache folder."""
    venv = cache_dir() / "tools" / "cffconvert-2.0.0"
    exe = venv / "bin" / "cffconvert"
    if exe.is_file():
        return exe
    shutil.rmtree(venv, ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
    installed = made.returncode == 0 and (
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "cffconvert==2.0.0"],
            capture_output=True,
        ).returncode
        == 0
    )
    if not installed:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.skip("cannot install cffconvert==2.0.0 into its own venv (no package index?)")
    return exe


@pytest.mark.slow
def test_citation_cff_validates():
    result = subprocess.run(
        [str(cffconvert()), "--validate", "-i", str(ROOT / "CITATION.cff")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


# --- a tiny book, with and without the repository setting -------------------------------------

TINY_NOTEBOOK = """\
# %% [markdown]
# # A tiny page
#
# One table, offered as CSV.

# %% tags=["parameters"]
profile = "default"
rows = 3

# %%
import pandas as pd
from IPython.display import display

from compendium.chapters.downloads import csv_download

table = pd.DataFrame({"unit": range(rows), "precision": [0.5, 0.25, 0.125][:rows]})
display(table)
display(csv_download(table, "tiny_table"))
"""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def hrefs(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text())
    return parser.hrefs


def build_tiny_book(folder: Path, repository_url: str | None) -> Path:
    """A book of one intro page and one executed notebook, built by `build_book`."""
    notebooks, params, source = folder / "notebooks", folder / "params", folder / "book"
    for path in (notebooks, params, source):
        path.mkdir(parents=True)
    (notebooks / "90_tiny.py").write_text(TINY_NOTEBOOK)
    (params / "tiny.yml").write_text("90_tiny:\n  rows: 2\n")
    (source / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: generated/90_tiny\n"
    )
    (source / "intro.md").write_text(
        "# Tiny\n\nSee {doc}`generated/90_tiny`.\n\n```{include} generated/how-to-cite.md\n```\n"
    )
    shutil.copy(profiles.BOOK / "references.bib", source / "references.bib")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "NOTEBOOKS", notebooks)
        patch.setattr(profiles, "PARAMS", params)
        patch.setattr(pipeline, "BOOK", source)
        patch.setattr(pipeline, "PRE_NOTEBOOK_STEPS", [])
        if repository_url:
            patch.setenv(publishing.REPOSITORY_URL_ENV, repository_url)
        else:
            patch.delenv(publishing.REPOSITORY_URL_ENV, raising=False)
        return pipeline.build_book("tiny")


@pytest.fixture(scope="module")
def tiny_books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-books")
    return {
        "with": build_tiny_book(root / "with", REPO_URL),
        "without": build_tiny_book(root / "without", None),
    }


@pytest.mark.slow
def test_tiny_book_with_a_repository_has_working_buttons(tiny_books):
    page = tiny_books["with"] / "generated" / "90_tiny.html"
    links = hrefs(page)
    repo = Repository(REPO_URL)
    assert repo.binder_url("90_tiny") in links
    assert repo.colab_url("90_tiny") in links
    assert REPO_URL in links
    assert REPO_URL in hrefs(tiny_books["with"] / "intro.html")  # the repository button


@pytest.mark.slow
def test_tiny_book_without_a_repository_has_no_buttons(tiny_books):
    for page in tiny_books["without"].rglob("*.html"):
        text = page.read_text()
        assert "mybinder.org" not in text and "colab.research.google.com" not in text, page
        assert "github.com" not in text, page


@pytest.mark.parametrize("variant", ["with", "without"])
@pytest.mark.slow
def test_tiny_book_page_links_its_csv_and_the_link_resolves(tiny_books, variant):
    html = tiny_books[variant]
    page = html / "generated" / "90_tiny.html"
    csv_links = [link for link in hrefs(page) if link.endswith(".csv")]
    assert len(csv_links) == 1
    table = pd.read_csv((page.parent / csv_links[0]).resolve())
    assert list(table.columns) == ["unit", "precision"] and len(table) == 2
    assert pipeline.broken_links(html) == []


@pytest.mark.slow
def test_tiny_book_has_the_citation_box_and_the_licence_footer(tiny_books):
    intro = (tiny_books["without"] / "intro.html").read_text()
    assert "How to cite" in intro and "https://doi.org/10.1016/j.visres.2020.06.007" in intro
    assert "https://creativecommons.org/licenses/by/4.0/" in intro


@pytest.mark.slow
def test_downloaded_notebook_installs_the_compendium_only_with_a_repository(tiny_books):
    def first_cell(variant: str) -> str:
        path = tiny_books[variant] / "_sources" / "generated" / "90_tiny.ipynb"
        return nbformat.read(path, as_version=4).cells[0].source

    assert "%pip install" in first_cell("with") and REPO_URL in first_cell("with")
    assert "%pip install" not in first_cell("without")
    downloaded = tiny_books["with"] / "_sources" / "generated" / "90_tiny.ipynb"
    assert nbformat.read(downloaded, as_version=4).metadata.kernelspec.name == "python3"


# --- the smoke book ------------------------------------------------------------------------


@pytest.mark.slow
def test_every_results_page_offers_its_tables_as_csv(smoke_book: Path):
    for page in sorted((smoke_book / "generated").glob("*.html")):
        if "<table" not in page.read_text():
            continue
        csv_links = [link for link in hrefs(page) if link.endswith(".csv")]
        assert csv_links, f"{page.name} shows tables but offers no CSV download"
        for link in csv_links:
            assert (page.parent / link).resolve().is_file(), f"{page.name}: {link}"


# --- the wheel --------------------------------------------------------------------------------


def clean_checkout(target: Path) -> Path:
    """The repository's files as a fresh clone would have them (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.mark.slow
def test_wheel_carries_its_data_and_runs_outside_the_repository(tmp_path):
    checkout = clean_checkout(tmp_path / "checkout")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
        + ["-w", str(tmp_path / "dist"), str(checkout)],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("compendium-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # The dependencies come from this environment, as a plain path (its editable
    # install of the compendium is not activated, so the wheel's copy is the one used).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (Path(site) / "_test_dependencies.pth").write_text(deps + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPENDIUM_")}

    def run(*args: str) -> str:
        result = subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    where = run(
        str(python),
        "-c",
        "import compendium; from compendium.build import profiles; "
        "from compendium.chapters import paper; "
        "print(compendium.__file__); print(profiles.load_profile('default').name); "
        "print(len(paper.reported()))",
    ).split()
    assert where[0].startswith(str(venv)) and where[1] == "default" and int(where[2]) > 0
    assert "measures" in run(str(venv / "bin" / "compendium"), "--help")
    lines = synset_lines(10)
    rng = np.random.default_rng(0)
    acts = {lines[i].split()[0]: rng.random((60, 4)) for i in (1, 5)}
    merged = write_merged_layer(elsewhere / "AN_merged_fc6_max.h5", acts, lines)
    run(str(venv / "bin" / "compendium"), "measures", merged.name, "--out", "fc6.csv")
    table = pd.read_csv(elsewhere / "fc6.csv")
    assert len(table) == 4 and set(table.layer) == {"fc6"}
    synonyms = run(
        str(python),
        "-c",
        "from importlib import resources; "
        "print(resources.files('compendium').joinpath('data/synonyms_fashion_mnist.csv')"
        ".read_text()[:20])",
    )
    assert synonyms.strip()
