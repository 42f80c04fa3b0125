"""`compendium run`: one chapter rerun with other parameters, the book rebuilt around it."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from compendium.build import rerun
from compendium.build.cli import main
from compendium.build.profiles import PipelineError


def test_a_chapter_is_named_by_number_or_by_name():
    assert rerun.chapter_name("2") == rerun.chapter_name("02") == "02_alexnet_results"
    assert rerun.chapter_name("01_measures") == "01_measures"
    with pytest.raises(PipelineError, match="no chapter '99'"):
        rerun.chapter_name("99")


def test_values_are_read_as_papermill_reads_them():
    values = rerun.parse_overrides([("n", "50"), ("layers", "[fc6]"), ("units", "0:50")])
    assert values == {"n": 50, "layers": ["fc6"], "units": "0:50"}
    with pytest.raises(PipelineError, match="not a YAML value"):
        rerun.parse_overrides([("x", "[unclosed")])


def test_an_unknown_chapter_is_one_line_on_the_command_line(capsys):
    assert main(["run", "99", "--profile", "smoke"]) == 2
    assert "no chapter '99'" in capsys.readouterr().err


@pytest.mark.slow
def test_rerun_replaces_one_parameter_and_rebuilds_the_book(smoke_book: Path, tmp_path: Path):
    source = tmp_path / "book"
    shutil.copytree(smoke_book.parents[1], source)
    done = rerun.rerun_chapter("01", "smoke", {"n_items": 37}, source=source)
    executed = nbformat.read(done.notebook, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "n_items = 37" in injected[0].source
    assert done.html == source / "_build" / "html"
    assert (done.html / "generated" / "01_measures.html").is_file()
