"""The banner at the top of every page (compendium.chapters.page), what the build tells it
(compendium.build.page_context) and the rerun recipe at the end (compendium.build.recipes)."""

from __future__ import annotations

import os
import shlex

import nbformat
import pytest
import yaml

from compendium.build import page_context, pipeline, recipes
from compendium.build.profiles import available_profiles, load_profile
from compendium.chapters import page


@pytest.mark.parametrize(
    ("value", "comment", "meaning"),
    [
        (None, 'None: every unit; "START:STOP" for every layer', "every unit"),
        (None, "activation file; None: the profile's recording", "the profile's recording"),
        (None, "the output layer for Table A1; None leaves it out", "leaves it out"),
        ("", 'folder; "" = bench/results of this repository', "bench/results of this repository"),
        ({}, "other AMConfig fields", "other AMConfig fields: none given"),
        (None, "", "see the comment beside it in the notebook's parameters cell"),
    ],
)
def test_an_empty_parameter_says_what_it_stands_for(value, comment, meaning):
    assert page.value_meaning(value, comment) == meaning
    assert page.parameter_text("p", value, comment).endswith(f"({meaning})")
    assert page.parameter_text("seed", 3, comment) == "`seed = 3`"


def test_the_banner_shows_what_the_build_described(monkeypatch):
    monkeypatch.delenv(page.RUN_ENV, raising=False)
    outside = page.profile_banner("smoke", {"units": None}).data
    assert "listed here when the page is built" in outside
    context = {
        "run": {"Data": "Fashion-MNIST", "Network": "a small AlexNet; test accuracy 0.9"},
        "parameters": {"units": "None: every unit"},
    }
    with page.describing(context):
        assert os.environ[page.RUN_ENV]
        banner = page.profile_banner("smoke", {"units": None, "seed": 0}).data
        own = page.profile_banner("smoke", {}, run={"Data": "made up"}).data
    assert page.RUN_ENV not in os.environ
    assert "`units = None` (every unit), `seed = 0`" in banner
    assert "- **Data:** Fashion-MNIST\n- **Network:** a small AlexNet; test accuracy 0.9" in banner
    assert "- **Data:** made up" in own and "Fashion-MNIST" not in own


def test_a_myst_output_carries_its_marker():
    shown = page.myst("{ref}`x`")
    assert shown.data == "{ref}`x`" and shown.metadata == {page.MYST: True}


def test_parameter_help_reads_the_comments_of_the_parameters_cell(tmp_path):
    notebook = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    cell = nbformat.v4.new_code_cell(
        'profile = "default"  # the profile\nunits = None  # None: every unit',
        metadata={"tags": ["parameters"]},
    )
    notebook.cells = [cell]
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    assert page_context.parameter_help(path) == {
        "profile": "the profile",
        "units": "None: every unit",
    }


def test_the_run_description_of_each_source(monkeypatch):
    smoke = page_context.run_description("smoke")
    assert set(smoke) == {"Data", "Network", "Recorded"}
    train = load_profile("smoke").params["train"]
    assert f"for {train['epochs']} epoch" in smoke["Network"]
    assert f"the first {train['n_train']:,} training images" in smoke["Network"]
    assert "test accuracy" in smoke["Network"] or "not trained yet" in smoke["Network"]
    first = load_profile("smoke").params["record"]["n_images"]
    assert smoke["Recorded"].startswith(f"the first {first} test images, the correctly classified")
    assert "spatial maximum" in smoke["Recorded"]
    assert (
        "authors' published activation files"
        in page_context.run_description("alexnet-merged")["Data"]
    )
    monkeypatch.delenv("COMPENDIUM_IMAGENET", raising=False)
    missing = page_context.run_description("imagenet")
    assert list(missing) == ["Run"] and "COMPENDIUM_IMAGENET" in missing["Run"]


def test_the_rerun_command_is_one_that_the_cli_parses():
    command = recipes.rerun_command(
        "02_alexnet_results", {"units": "0:50", "layers": ["fc6", "fc7"], "fig4_unit": None}
    )
    assert command == (
        "compendium run 02 --profile default -p units 0:50 -p layers '[fc6, fc7]' -p fig4_unit null"
    )
    words = shlex.split(command)
    pairs = [(words[i + 1], words[i + 2]) for i, w in enumerate(words) if w == "-p"]
    assert {name: yaml.safe_load(v) for name, v in pairs} == {
        "units": "0:50",
        "layers": ["fc6", "fc7"],
        "fig4_unit": None,
    }


def test_the_recipe_lists_what_each_profile_changes():
    changes = recipes.profile_changes("01_measures")
    assert set(changes) == set(available_profiles()) - {recipes.BASE_PROFILE}
    smoke = load_profile("smoke").params["01_measures"]
    default = pipeline.chapter_parameters("default", "01_measures")
    for name, value in smoke.items():
        assert (f"`{name} = {value}`" in changes["smoke"]) == (default[name] != value)
    text = recipes.rerun_recipe("01_measures", {"n_items": 50}, reads_recording=False).data
    assert "compendium run 01 --profile default -p n_items 50" in text
    assert "book/generated/01_measures.ipynb" in text and "data from" not in text
    assert (
        "data from `alexnet-merged`"
        in recipes.profile_changes("02_alexnet_results")["alexnet-merged"]
    )
