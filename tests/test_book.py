"""The pipeline: profiles, notebook execution with papermill, and the smoke book build."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from compendium.build import pipeline, profiles, stages
from compendium.build.cli import main
from compendium.build.profiles import PipelineError


def test_unknown_profile_lists_the_existing_ones():
    with pytest.raises(PipelineError, match="unknown profile 'nope'") as err:
        profiles.load_profile("nope")
    assert "default" in str(err.value) and "smoke" in str(err.value)


def test_cli_reports_an_unknown_profile_in_one_line(capsys):
    assert main(["notebooks", "--profile", "nope"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


def test_every_profile_names_existing_notebooks_or_steps():
    known = {*pipeline.notebook_sources(), *(s.section for s in stages.PRE_NOTEBOOK_STEPS)}
    for name in profiles.available_profiles():
        assert set(profiles.load_profile(name).params) <= known, name


def test_a_step_section_in_a_profile_is_not_a_notebook(tmp_path, monkeypatch):
    (tmp_path / "p.yml").write_text("prepare:\n  size: 3\n")
    step = stages.Step("prepare", lambda profile: None)
    monkeypatch.setattr(profiles, "PARAMS", tmp_path)
    monkeypatch.setattr(pipeline, "PRE_NOTEBOOK_STEPS", [step])
    assert pipeline.execute_notebooks("p", [], out_dir=tmp_path) == []
    monkeypatch.setattr(pipeline, "PRE_NOTEBOOK_STEPS", [])
    with pytest.raises(PipelineError, match="no notebook named prepare"):
        pipeline.execute_notebooks("p", [], out_dir=tmp_path)


def test_unknown_notebook_is_refused(tmp_path):
    with pytest.raises(PipelineError, match="no notebook named 99_nothing"):
        pipeline.execute_notebooks("smoke", ["99_nothing"], out_dir=tmp_path)


def test_undeclared_parameter_is_refused(tmp_path, monkeypatch):
    (tmp_path / "typo.yml").write_text("01_measures:\n  n_clases: 3\n")
    monkeypatch.setattr(profiles, "PARAMS", tmp_path)
    with pytest.raises(PipelineError, match="does not declare: n_clases"):
        pipeline.execute_notebooks("typo", ["01_measures"], out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "01_measures.ipynb").exists()


def test_toc_documents_lists_root_and_chapters():
    docs = pipeline.toc_documents(profiles.BOOK / "_toc.yml")
    assert docs[0] == "intro" and "generated/01_measures" in docs


def test_broken_links_are_found(tmp_path):
    (tmp_path / "a.html").write_text(
        '<a id="top" href="b.html#here">ok</a> <a href="a.html#top">self</a>'
        '<a href="missing.html">x</a> <a href="b.html#nowhere">y</a>'
        '<a href="https://example.org/">external</a>'
    )
    (tmp_path / "b.html").write_text('<h1 id="here">b</h1>')
    assert pipeline.broken_links(tmp_path) == [
        "a.html: missing.html (no such file)",
        "a.html: b.html#nowhere (no such anchor)",
    ]


@pytest.mark.slow
def test_notebook_01_runs_with_the_smoke_parameters(tmp_path):
    [path] = pipeline.execute_notebooks("smoke", ["01_measures"], out_dir=tmp_path)
    assert path == tmp_path / "01_measures.ipynb"
    notebook = nbformat.read(path, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert sum("vega-embed" in h for h in html) >= 6, "expected the chapter's charts"
    markdown = [o.data["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert "profile `smoke`" in markdown[0]
    hidden = [c for c in notebook.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert {t for c in hidden for t in c.metadata.tags} >= {"parameters", "injected-parameters"}


@pytest.mark.slow
def test_smoke_book_has_every_page(smoke_book: Path):
    for page in ("index", "intro", "generated/01_measures", "references"):
        assert (smoke_book / f"{page}.html").is_file(), page
    chapter = (smoke_book / "generated" / "01_measures.html").read_text()
    assert "Produced by profile" in chapter and "smoke" in chapter


@pytest.mark.slow
def test_smoke_book_carries_its_javascript(smoke_book: Path):
    bundle = smoke_book / "_static" / pipeline.VEGA_BUNDLE
    assert "window.VEGA_DEBUG" in bundle.read_text()[:2000]
    assert (smoke_book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    chapter = (smoke_book / "generated" / "01_measures.html").read_text()
    assert f"_static/{pipeline.VEGA_BUNDLE}" in chapter
    assert "_static/mathjax/tex-chtml.js" in chapter


@pytest.mark.slow
def test_smoke_book_links_resolve(smoke_book: Path):
    assert pipeline.broken_links(smoke_book) == []


def test_code_is_folded_unless_the_notebook_already_removes_it():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("y = 2", metadata={"tags": ["remove-input"]}),
        nbformat.v4.new_markdown_cell("text"),
    ]
    folded = pipeline._hide_code(notebook)
    assert folded.cells[0].metadata["tags"] == ["hide-input"]
    assert folded.cells[1].metadata["tags"] == ["remove-input"]
    assert "tags" not in folded.cells[2].metadata
