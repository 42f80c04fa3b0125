"""Exercises (compendium.chapters.exercises): MyST in the book, plain Markdown elsewhere,
rendered by a strict Jupyter Book build with their solutions folded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from compendium.build import publishing
from compendium.chapters import downloads, exercises, page

EXAMPLE = exercises.Exercise(
    label="ex-test-ccmas",
    title="CCMAS of a silent unit",
    question="What is the CCMAS of a unit whose other classes give $0$?",
    solution="It is **1.00** (computed: 1.000).",
)


def test_an_exercise_becomes_an_exercise_and_a_folded_solution():
    text = exercises.as_myst(EXAMPLE)
    assert text.splitlines()[:2] == [
        ":::{exercise} CCMAS of a silent unit",
        ":label: ex-test-ccmas",
    ]
    assert ":::{solution} ex-test-ccmas\n:class: dropdown" in text
    assert text.index("What is") < text.index("{solution}") < text.index("**1.00**")


def test_a_nested_directive_gets_a_longer_fence():
    nested = exercises.Exercise("ex-n", "t", "q", ":::{note}\nx\n:::")
    assert exercises.as_myst(nested).startswith("::::{exercise}")


def test_the_block_is_myst_in_a_book_build_and_markdown_elsewhere(monkeypatch):
    monkeypatch.delenv(downloads.PAGE_DATA_ENV, raising=False)
    plain = exercises.block([EXAMPLE])
    assert "<details><summary>Solution</summary>" in plain.data and "{solution}" not in plain.data
    monkeypatch.setenv(downloads.PAGE_DATA_ENV, "/tmp/anywhere")
    book = exercises.block([EXAMPLE])
    assert "{solution}" in book.data and book.metadata == {page.MYST: True}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label": "Ex 1"}, "lower-case letters"),
        ({"solution": "  "}, "empty solution"),
        ({"title": "two\nlines"}, "one line"),
    ],
)
def test_bad_exercises_say_what_to_change(kwargs, message):
    fields = {"label": "ex-a", "title": "t", "question": "q", "solution": "s", **kwargs}
    with pytest.raises(exercises.ExerciseError, match=message):
        exercises.Exercise(**fields)


def test_labels_must_differ_and_a_block_is_not_empty():
    with pytest.raises(exercises.ExerciseError, match="used twice"):
        exercises.block([EXAMPLE, EXAMPLE])
    with pytest.raises(exercises.ExerciseError, match="at least one"):
        exercises.block([])


def test_the_pipeline_renders_a_myst_output_as_myst():
    output = nbformat.v4.new_output(
        "display_data", data={"text/markdown": "x"}, metadata={"text/markdown": {page.MYST: True}}
    )
    marked = nbformat.v4.new_code_cell("x", outputs=[output])
    plain = nbformat.v4.new_code_cell("y")
    notebook = nbformat.v4.new_notebook(cells=[marked, plain])
    publishing.render_downloads_as_myst(notebook)
    assert marked.metadata["mystnb"] == {"markdown_format": "myst"}
    assert "mystnb" not in plain.metadata


@pytest.mark.slow
def test_a_strict_offline_build_folds_the_solutions(tmp_path, monkeypatch):
    """A two-page book whose notebook shows an exercise block: no warning under -W, the
    solution is a dropdown admonition, and another page's reference to the label lands."""
    monkeypatch.setenv(downloads.PAGE_DATA_ENV, str(tmp_path))
    shown = exercises.block([EXAMPLE])
    output = nbformat.v4.new_output(
        "display_data", data={"text/markdown": shown.data, "text/plain": "exercises"}
    )
    output.metadata = {"text/markdown": shown.metadata}
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A chapter"),
            nbformat.v4.new_code_cell("x", outputs=[output]),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    publishing.render_downloads_as_myst(notebook)
    book = tmp_path / "book"
    book.mkdir()
    nbformat.write(notebook, book / "chapter.ipynb")
    (book / "intro.md").write_text("# Intro\n\nTry {ref}`ex-test-ccmas`.\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapter\n")
    (book / "_config.yml").write_text(
        "title: t\nexecute:\n  execute_notebooks: 'off'\nparse:\n  myst_enable_extensions: "
        "[colon_fence, dollarmath]\nsphinx:\n  extra_extensions: [sphinx_exercise]\n"
        "  config:\n    nitpicky: true\n"
    )
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(book), "--all", "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = (book / "_build" / "html" / "chapter.html").read_text()
    assert 'class="solution dropdown admonition"' in html
    assert "CCMAS of a silent unit" in html and "<strong>1.00</strong>" in html
    assert (
        'href="chapter.html#ex-test-ccmas"' in (book / "_build" / "html" / "intro.html").read_text()
    )
