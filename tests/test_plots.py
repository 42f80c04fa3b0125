"""The Altair charts: layers, encodings, threshold rules, and input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compendium.chapters import plots

NAMES = ["cat", "dog", "owl"]


@pytest.fixture
def unit() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 20)
    return rng.uniform(0, 1, labels.size) + (labels == 1), labels


def layer_marks(spec: dict) -> list[str]:
    return [layer["mark"]["type"] for layer in spec["layer"]]


def inline_values(spec: dict, layer: dict) -> list[dict]:
    data = layer.get("data", spec.get("data"))
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


def test_jitterplot_encodes_activation_jitter_and_highlight(unit):
    x, y = unit
    spec = plots.jitterplot(x, y, NAMES, "fc6.1", highlight_class=1).to_dict()
    assert layer_marks(spec) == ["point"]
    enc = spec["layer"][0]["encoding"]
    assert enc["x"]["field"] == "activation" and enc["y"]["field"] == "jitter"
    assert enc["color"]["scale"]["domain"] == ["dog", plots.OTHER_CLASSES]
    assert enc["color"]["scale"]["range"] == [plots.HIGHLIGHT_COLOUR, plots.OTHER_COLOUR]
    assert {t["field"] for t in enc["tooltip"]} == {"image", "class", "activation"}
    values = inline_values(spec, spec["layer"][0])
    assert len(values) == x.size
    assert {v["group"] for v in values if v["class"] == "dog"} == {"dog"}
    assert "fc6.1" in spec["title"]["text"]


def test_jitterplot_draws_a_labelled_rule_per_threshold(unit):
    x, y = unit
    thresholds = {"top-60 cut": 1.2, "max-informedness threshold": 0.9}
    spec = plots.jitterplot(x, y, NAMES, "u", 1, thresholds=thresholds).to_dict()
    marks = layer_marks(spec)
    assert marks[0] == "rule" and marks[1] == "point" and marks.count("text") == 2
    rules = inline_values(spec, spec["layer"][0])
    assert {r["threshold"]: r["value"] for r in rules} == thresholds
    text_fields = {layer["encoding"]["text"]["field"] for layer in spec["layer"][2:]}
    assert text_fields == {"threshold"}


def test_jitter_is_repeatable_and_seeded(unit):
    x, y = unit
    first = plots.jitterplot(x, y, NAMES, "u", 0, seed=3).to_dict()
    again = plots.jitterplot(x, y, NAMES, "u", 0, seed=3).to_dict()
    other = plots.jitterplot(x, y, NAMES, "u", 0, seed=4).to_dict()
    jitter = lambda spec: [v["jitter"] for v in inline_values(spec, spec["layer"][0])]  # noqa: E731
    assert jitter(first) == jitter(again) != jitter(other)


@pytest.mark.parametrize("which, expected", [("class", 20), ("all", 60)])
def test_histogram_counts_the_chosen_images(unit, which, expected):
    x, y = unit
    chart = plots.histogram(x, y, NAMES, "u", 1, thresholds={"t": 1.5}, which=which, bins=8)
    spec = chart.to_dict()
    assert layer_marks(spec) == ["rule", "bar", "text"]
    bars = inline_values(spec, spec["layer"][1])
    assert len(bars) == 8 and sum(b["images"] for b in bars) == expected
    assert spec["layer"][1]["encoding"]["x2"]["field"] == "end"


@pytest.mark.parametrize(
    "x, y, highlight, message",
    [
        (np.zeros((4, 2)), np.zeros(4, int), 0, "one unit"),
        (np.zeros(4), np.zeros(3, int), 0, "one per image"),
        (np.array([0.0, np.nan]), np.zeros(2, int), 0, "NaN"),
        (np.zeros(2), np.array([0, 5]), 0, "class names"),
        (np.zeros(2), np.zeros(2, int), 7, "not a class number"),
    ],
)
def test_bad_input_names_the_problem(x, y, highlight, message):
    with pytest.raises(ValueError, match=message):
        plots.jitterplot(x, y, NAMES, "u", highlight)


def test_thresholds_must_be_finite(unit):
    x, y = unit
    with pytest.raises(ValueError, match="finite"):
        plots.jitterplot(x, y, NAMES, "u", 0, thresholds={"t": float("nan")})


def test_threshold_colours_follow_the_role_whatever_the_order():
    cut_first = plots.threshold_table({"top-60 cut": 0.2, "max-informedness threshold": 0.5})
    best_first = plots.threshold_table(
        {"max-informedness threshold for Sandal": 0.5, "top-60 cut": 0.2}
    )
    for table in (cut_first, best_first):
        colours = dict(zip(table["threshold"].str[:3], table["colour"], strict=True))
        assert colours == {"top": plots.TOP_CUT_COLOUR, "max": plots.MAX_INFORMEDNESS_COLOUR}
    other = plots.threshold_table({"zero": 0.0, "max. informedness": 1.0, "mean": 0.3})
    assert dict(zip(other["threshold"], other["colour"], strict=True)) == {
        "zero": plots.EXTRA_COLOURS[0],
        "mean": plots.EXTRA_COLOURS[1],
        "max. informedness": plots.MAX_INFORMEDNESS_COLOUR,
    }


def test_the_palette_gives_each_role_its_own_colour():
    roles = [
        plots.HIGHLIGHT_COLOUR,
        plots.OTHER_COLOUR,
        plots.TOP_CUT_COLOUR,
        plots.MAX_INFORMEDNESS_COLOUR,
        plots.PAPER_COLOUR,
        *plots.EXTRA_COLOURS,
    ]
    assert len(set(roles)) == len(roles)
    # A group's classes never take a threshold's colour (Fig. 6 draws a threshold on them).
    assert not set(plots.GROUP_COLOURS) & {plots.TOP_CUT_COLOUR, plots.MAX_INFORMEDNESS_COLOUR}


def test_scaling_chart_axes_span_the_data():
    table = pd.DataFrame(
        {
            "n_units": [64, 256, 1024, 64, 256, 1024],
            "method": ["package"] * 3 + ["argsort"] * 3,
            "seconds": [1.0, 4.0, 20.0, 1.1, 4.5, 22.0],
        }
    )
    spec = plots.scaling_chart(table, "n_units", "t", colours={"argsort": "#555555"}).to_dict()
    x, y = spec["encoding"]["x"]["scale"], spec["encoding"]["y"]["scale"]
    assert x["type"] == "log" and x["nice"] is False
    assert 50 < x["domain"][0] < 64 and 1024 < x["domain"][1] < 1200
    assert 0.8 < y["domain"][0] < 1.0 and 22 < y["domain"][1] < 25
    colour = spec["encoding"]["color"]["scale"]
    assert colour["domain"] == ["package", "argsort"]
    assert colour["range"] == [plots.HIGHLIGHT_COLOUR, "#555555"]
