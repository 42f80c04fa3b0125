"""Chapter 3's page functions on small hand-made inputs: the paper's experiment in its own
numbers, the units and images of a run, the judges' answers, and the sentences written from
them (which must change when the numbers change). Nothing here trains a network."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from compendium.chapters import activation_maximisation as chapter
from compendium.chapters import activation_maximisation_page as words
from compendium.chapters import detectors, exercises, paper, plots
from compendium.chapters import experiment as browser
from compendium.chapters.paper import PaperNumbersError
from compendium.measures import present_class_measures
from compendium.methods import am, behaviour, generator, observers
from compendium.networks.models import SmallAlexNet, SmallAlexNetConfig

SPEC = am.ImageSpec.fashion_mnist()
TINY = SmallAlexNetConfig(widths=(4, 8, 8, 8, 8), fc_width=32, dropout=0.0)


def _edited(changes: dict[tuple[str, str | None, str], float]) -> pd.DataFrame:
    """The paper's numbers with some values replaced: (source, layer or None, measure)."""
    rows = paper.reported()
    for (source, layer, measure), value in changes.items():
        where = (rows["source"] == source) & (rows["measure"] == measure)
        where &= rows["layer"].isna() if layer is None else rows["layer"] == layer
        assert where.sum() == 1, (source, layer, measure)
        rows.loc[where, "value"] = value
    return rows


EXP = chapter.EXPERIMENT_SOURCE

# --------------------------------------------------------------------------------------
# The paper's experiment
# --------------------------------------------------------------------------------------


def test_the_papers_experiment_comes_from_the_data_file():
    experiment = chapter.paper_experiment()
    assert experiment.panels == {"conv5": 256, "fc6": 2048, "fc8": 995}
    assert experiment.layer_units == {"conv5": 256, "fc6": 4096, "fc8": 1000}
    assert experiment.list_panels == {"conv5": (4, 4), "fc8": (15, 16), "fc6": (32, 32)}
    assert (experiment.n_panels, experiment.n_lists, experiment.longest_list) == (3299, 64, 52)
    assert experiment.people == (5, 6) and experiment.lists_by_people == {5: 51, 6: 13}
    assert (experiment.images_per_unit, experiment.panel_side, experiment.threshold) == (
        100,
        10,
        0.8,
    )


def test_the_papers_method_and_sample_in_words():
    experiment = chapter.paper_experiment()
    method = chapter.paper_method_text(experiment)
    assert method.startswith(
        "They made 100 such activation-maximisation (AM) images for units of AlexNet's "
        "conv5, fc6 and fc8 layers, showed each unit's images as one 10 x 10 panel,"
    )
    sample = chapter.paper_sample_text(experiment)
    assert sample.startswith(
        "The paper made panels for all 256 conv5 units, a random half of fc6's 4,096 units "
        "and 995 of the 1,000 output units. Making 100 AM images costs"
    )
    other = chapter.paper_experiment(
        _edited(
            {
                (EXP, None, "images_per_unit"): 64,
                (EXP, None, "panel_side"): 8,
                (EXP, "fc6", "n_panels"): 4096,
                (EXP, "conv5", "n_panels"): 128,
            }
        )
    )
    assert "They made 64 such" in chapter.paper_method_text(other)
    assert "one 8 x 8 panel" in chapter.paper_method_text(other)
    changed = chapter.paper_sample_text(other)
    assert "for a random half of conv5's 256 units, all 4,096 fc6 units and 995" in changed
    assert "Making 64 AM images" in changed


def test_the_papers_lists_in_words():
    text = chapter.paper_design_text(chapter.paper_experiment())
    assert text.startswith(
        "In the paper, 3,299 panels (all 256 conv5 units, 2,048 fc6 units and 995 fc8 units) "
        "were split into 64 counterbalanced lists; each list held 4 conv5, 15 or 16 fc8 and "
        "32 fc6 panels, and each was seen by 5 or 6 people (51 lists by 5, 13 by 6). Every "
        "panel was therefore judged by 5 or 6 people, and nobody saw more than 52 panels."
    )
    other = chapter.paper_experiment(
        _edited(
            {
                (EXP, "fc8", "min_list_panels"): 16,
                (EXP, None, "min_list_participants"): 6,
                (EXP, None, "max_list_panels"): 53,
                (EXP, None, "n_lists"): 32,
            }
        )
    )
    changed = chapter.paper_design_text(other)
    assert "into 32 counterbalanced lists; each list held 4 conv5, 16 fc8 and 32 fc6" in changed
    assert "each was seen by 6 people (13 lists by 6)" in changed
    assert "nobody saw more than 53 panels" in changed


def test_table1_columns_name_the_papers_threshold():
    text = chapter.table1_columns_text(chapter.paper_experiment())
    assert "(0.8 in the paper and by default)" in text and text.count("\n- ") == 3
    other = chapter.paper_experiment(_edited({(EXP, None, "consistency_threshold"): 0.75}))
    assert "(0.75 in the paper and by default)" in chapter.table1_columns_text(other)


def test_a_missing_paper_number_is_named():
    rows = paper.reported()
    no_images = rows[~((rows["source"] == EXP) & (rows["measure"] == "images_per_unit"))]
    with pytest.raises(PaperNumbersError, match="images_per_unit"):
        chapter.paper_experiment(no_images)
    no_sizes = rows[rows["measure"] != "layer_units"]
    with pytest.raises(PaperNumbersError, match=r"layer_units\) for \['conv5', 'fc6'\]"):
        chapter.paper_experiment(no_sizes)
    with pytest.raises(PaperNumbersError, match="min_list_panels"):
        chapter.paper_experiment(rows[rows["measure"] != "min_list_panels"])


def test_the_papers_design_beside_the_rebuilt_one():
    design = behaviour.paper_design()
    table = chapter.design_beside_paper(design, paper.reported(EXP))
    assert list(table.columns) == ["this design", "paper"]
    assert (table["this design"] == table["paper"]).all()
    assert table.loc["n_panels", "paper"] == 3299 and table["paper"].dtype.kind == "i"
    assert table.index.name is None and "n_lists_6_participants" in table.index
    rows = paper.reported(EXP)
    with pytest.raises(PaperNumbersError, match="n_lists"):
        chapter.design_beside_paper(design, rows[rows["measure"] != "n_lists"])
    kinds = chapter.list_kinds(design)
    assert kinds["lists"].sum() == 64 and len(kinds) == 3
    assert set(kinds["panels"]) == {51, 52}


# --------------------------------------------------------------------------------------
# Units and images
# --------------------------------------------------------------------------------------


class FakeStore:
    """An open activation file, as far as the chapter reads one."""

    def __init__(self, acts: dict[str, np.ndarray], labels: np.ndarray, names: list[str]):
        self._acts, self.labels, self.class_names = acts, labels, names

    def activations(self, layer: str) -> np.ndarray:
        return self._acts[layer]

    def n_units(self, layer: str) -> int:
        return self._acts[layer].shape[1]


def _store() -> FakeStore:
    labels = np.repeat(np.arange(3), 4)
    conv5 = np.zeros((12, 5))
    conv5[labels == 2, 1] = 3.0  # unit 1: class 2 only
    conv5[labels == 0, 3] = 1.0  # unit 3: class 0 only; units 0, 2 and 4 are silent
    conv5[0, 3] = 5.0
    fc8 = np.tile(np.arange(3.0), (12, 1)) + labels[:, None]
    return FakeStore({"conv5": conv5, "fc8": fc8}, labels, ["a", "b", "c"])


def test_units_are_drawn_among_live_ones_or_taken_as_listed():
    store = _store()
    chosen = chapter.choose_units(store, ["conv5", "fc8"], {"conv5": 2, "fc8": [2, 0]}, seed=0)
    assert chosen["conv5"].tolist() == [1, 3]  # the only two units that respond
    assert chosen["fc8"].tolist() == [2, 0]
    classes = chapter.unit_classes(store, chosen)
    assert list(classes["layer"]) == ["conv5", "conv5", "fc8", "fc8"]
    conv5 = classes[classes["layer"] == "conv5"].set_index("unit")
    assert conv5.loc[1, "top_class"] == "c" and conv5.loc[3, "top_class"] == "a"
    assert conv5.loc[3, "dataset_max"] == 5.0
    with pytest.raises(behaviour.BehaviourError, match="respond to some image"):
        chapter.choose_units(store, ["conv5"], {"conv5": 3})


def test_settings_and_the_no_network_note():
    config = chapter.am_config(16, 5, 2, {"lr": 0.1})
    assert (config.images_per_unit, config.steps, config.seed, config.lr) == (16, 5, 2, 0.1)
    table = chapter.settings_table(config)
    assert table.index.name == "AM setting" and list(table.columns) == ["pixel-space"]
    assert table.loc["steps", "pixel-space"] == "5" and table.loc["scale", "pixel-space"] == (
        "[0.95, 1.05]"
    )
    latent = generator.LatentAMConfig(images_per_unit=16, steps=7, max_norm=2.0)
    both = chapter.settings_table(config, latent)
    assert list(both.columns) == ["pixel-space", "generator"]
    assert both.loc["steps"].tolist() == ["5", "7"]
    assert both.loc["max_norm"].tolist() == ["–", "2.0"]
    assert both.loc["decay", "generator"] == "–" and "method" not in both.index
    assert chapter.no_network_note("activations only").startswith(
        "**This profile has activations only.** No AM images"
    )


def _result(layer: str, units: list[int], values: list[int], seconds: float = 2.0):
    """Hand-made AM images: unit i's four images are all pixel value values[i]."""
    images = np.stack([np.full((4, 1, 28, 28), v, np.uint8) for v in values])  # (units, K, C, H, W)
    return am.AMResult(
        layer,
        np.asarray(units),
        images,
        np.zeros((len(units), 4), np.float32),
        np.full(len(units), seconds),
        am.AMConfig(images_per_unit=4, steps=3),
        from_cache=np.ones(len(units), bool),
    )


def test_images_are_made_cached_and_timed(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path))
    torch.manual_seed(0)
    net = SmallAlexNet(TINY).eval()
    config = am.AMConfig(images_per_unit=4, steps=3)
    chosen = {"fc6": [1, 2], "fc8": [0]}
    assert chapter.make_images(None, "x", chosen, config, image=SPEC, device="cpu") == {}
    made = chapter.make_images(net, "tiny", chosen, config, image=SPEC, device="cpu")
    assert list(made) == ["fc6", "fc8"] and made["fc6"].images.shape == (2, 4, 1, 28, 28)
    table = chapter.images_table({"pixel": made})
    assert table.index.names == ["method", "layer"] and table["units"].tolist() == [2, 1]
    assert table["steps"].tolist() == [3, 3] and not table["from cache"].any()
    again = chapter.make_images(net, "tiny", chosen, config, image=SPEC, device="cpu")
    assert chapter.images_table({"pixel": again})["from cache"].all()
    assert chapter.timing_note({}, "cpu", 1) is None
    hand = {"fc8": _result("fc8", [0, 1], [0, 255], seconds=2.0)}
    note = chapter.timing_note({"pixel": hand}, "cuda", 4)
    assert "(device `cuda`, 4 threads), one unit's 4 images took 2.0 s with the pixel-space" in note
    assert "(3 steps)" in note and "(s)" not in note
    slow = {"fc8": _result("fc8", [0], [9], seconds=5.0)}
    both = chapter.timing_note({"pixel": hand, "generator": slow}, "cpu", 1)
    assert "(device `cpu`, 1 thread)" in both
    assert "2.0 s with the pixel-space method (3 steps) and 5.0 s with the generator" in both


def test_ratios_of_the_images_and_their_summary():
    torch.manual_seed(0)
    net = SmallAlexNet(TINY).eval()
    made = {"fc8": _result("fc8", [0, 1], [40, 200])}
    classes = pd.DataFrame({"layer": "fc8", "unit": [0, 1], "dataset_max": [1e-6, 1e6]})
    assert chapter.image_ratios(net, {}, classes, image=SPEC, device="cpu") is None
    ratios = chapter.image_ratios(net, made, classes, image=SPEC, device="cpu")
    assert ratios["share above max"].tolist() == [1.0, 0.0]
    assert chapter.ratio_summary(None) is None and chapter.describe_ratios(None) is None
    hand = pd.DataFrame(
        {
            "layer": ["conv5", "conv5", "fc8"],
            "unit": [1, 2, 0],
            "ratio": [2.0, 3.0, 0.5],
            "share above max": [1.0, 0.5, 0.0],
        }
    )
    check = chapter.ratio_summary(hand)
    assert check.loc["conv5"].tolist() == [2, 2.5, 2.0, 75]
    assert chapter.describe_ratios(check) == (
        "**This run:** conv5: median ratio 2.5 (lowest 2), 75% of the images above the "
        "data set's maximum; fc8: median ratio 0.5 (lowest 0.5), 0% of the images above the "
        "data set's maximum."
    )
    hand.loc[2, "ratio"] = 1.25
    assert "fc8: median ratio 1.25" in chapter.describe_ratios(chapter.ratio_summary(hand))


def test_the_ratio_sentence_quotes_the_tables_rounded_share():
    """The text once said 98% where its table showed 0.97: both now print one number."""
    hand = pd.DataFrame(
        {
            "layer": ["conv5"] * 4,
            "unit": [1, 2, 3, 4],
            "ratio": [2.0, 2.1, 0.00264, 3.0],
            "share above max": [1.0, 1.0, 0.9, 1.0],
        }
    )
    check = chapter.ratio_summary(hand)
    shown = int(check.loc["conv5", chapter.ABOVE_MAX])
    assert shown == 98  # 97.5% rounds to the even 98, in the table and in the sentence
    text = chapter.describe_ratios(check)
    assert f"{shown}% of the images" in text and "(lowest 0.00264)" in text
    assert "0.00264" in chapter.ratio_table(check).to_html()
    methods = hand.assign(method="generator")
    by_method = chapter.ratio_summary(methods)
    assert by_method.index.names == ["method", "layer"]
    assert chapter.describe_ratios(by_method).startswith("**This run:** generator conv5:")


class _SaysFirst(nn.Module):
    """A stand-in classifier of three classes that always says class 0, confidently."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(x), 3)
        out[:, 0] = 10.0
        return out


def test_own_class_check_and_panels():
    made = {"fc8": _result("fc8", [0, 2], [10, 20]), "fc6": _result("fc6", [5], [30])}
    own = chapter.own_class_check(_SaysFirst(), made, ["a", "b", "c"], image=SPEC, device="cpu")
    assert own["class"].tolist() == ["a", "c"]
    assert own["share classified as the unit's class"].tolist() == [1.0, 0.0]
    del made["fc8"]
    assert chapter.own_class_check(_SaysFirst(), made, "abc", image=SPEC, device="cpu") is None
    picture = chapter.panel_picture(made["fc6"], 5)  # four images: two columns of two
    assert np.array_equal(picture, behaviour.panel_grid(made["fc6"].unit(5), columns=2, zoom=1))
    assert picture.shape != behaviour.panel_grid(made["fc6"].unit(5), columns=4, zoom=1).shape
    html = chapter.first_panels({"fc8": _result("fc8", [3, 4], [1, 2]), **made}).data
    assert html.count("<figure") == 2 and "fc8 unit 3" in html and "fc6 unit 5" in html
    assert chapter.first_panels({}) is None


# --------------------------------------------------------------------------------------
# Judges and answers
# --------------------------------------------------------------------------------------

CLASSES = pd.DataFrame(
    {
        "layer": ["fc6", "fc8", "fc8"],
        "unit": [5, 0, 1],
        "top_class": ["Bag", "T-shirt/top", "Trouser"],
        "ccmas_class": ["Bag", "T-shirt/top", "Trouser"],
    }
)
NAMES = ["T-shirt/top", "Trouser", "Bag"]


def _answers(said: dict[tuple[str, int], list[str]]) -> pd.DataFrame:
    rows = [
        (f"p{i}", 0, layer, unit, "no" if text == "-" else "yes", "" if text == "-" else text)
        for (layer, unit), texts in said.items()
        for i, text in enumerate(texts)
    ]
    return pd.DataFrame(rows, columns=list(behaviour.RESPONSE_COLUMNS))


def test_who_judges_and_how_observers_answer(tmp_path):
    path = tmp_path / "answers.csv"
    _answers({("fc8", 0): ["bag", "-", "-"], ("fc8", 1): ["-", "-", "-"]}).to_csv(path)
    assert chapter.participants(str(path), [{"name": "o"}]) == ["p0", "p1", "p2"]
    assert chapter.participants(None, [{"name": "o1"}, {"name": "o2"}]) == ["o1", "o2"]
    assert chapter.participants(None, []) == 5
    assert chapter.observer_rule(0.8, 0.5) == (
        "An observer looks at every image of a panel and says **yes** when at least 50% of "
        "them fall in one class, each with probability 0.80 or more; its label is that "
        "class's name."
    )
    assert "at least 70%" in chapter.observer_rule(0.9, 0.7)
    assert "probability 0.90" in chapter.observer_rule(0.9, 0.7)


def _judges(names: list[str]) -> list[observers.Observer]:
    return [
        observers.Observer(observers.ObserverSpec(name=n), _SaysFirst(), 1.0, 0.5) for n in names
    ]


def test_answers_from_a_file_from_observers_or_none(tmp_path, monkeypatch):
    made = {"fc6": _result("fc6", [5], [9]), "fc8": _result("fc8", [0, 1], [3, 4])}
    design = behaviour.design_experiment({"fc6": [5], "fc8": [0, 1]}, 1, ["o1", "o2"])
    common = dict(image=SPEC, confidence=0.8, agreement=0.5, device="cpu")
    direct = chapter.observer_answers(design, _judges(["o1", "o2"]), made, NAMES, **common)
    assert len(direct) == 6 and set(direct["label"]) == {"T-shirt/top"}

    def trained(specs):
        print("progress bars", file=sys.stderr)
        return _judges([s["name"] for s in specs])

    monkeypatch.setattr(observers, "trained_observers", trained)
    specs = [{"name": "o1"}, {"name": "o2"}]
    answers, shown = chapter.gather_answers(None, specs, design, CLASSES, made, NAMES, **common)
    assert answers.equals(direct) and shown["observer"].tolist() == ["o1", "o2"]
    assert chapter.gather_answers(None, specs, design, CLASSES, {}, NAMES, **common) == (
        None,
        None,
    )
    assert chapter.gather_answers(None, [], design, CLASSES, made, NAMES, **common) == (
        None,
        None,
    )
    path = tmp_path / "people.csv"
    _answers({("fc6", 5): ["bag", "bag"], ("fc8", 0): ["-", "shirt"]}).to_csv(path, index=False)
    answers, shown = chapter.gather_answers(str(path), specs, design, CLASSES, {}, NAMES, **common)
    assert len(answers) == 4 and shown is None
    _answers({("fc6", 9): ["bag"]}).to_csv(path, index=False)
    with pytest.raises(behaviour.BehaviourError, match="no known unit"):
        chapter.gather_answers(str(path), specs, design, CLASSES, {}, NAMES, **common)


def test_quiet_observers_hide_the_progress_bars(monkeypatch, capsys):
    def trained(specs):
        print("a progress bar", file=sys.stderr)
        return ["judge"]

    monkeypatch.setattr(observers, "trained_observers", trained)
    assert chapter.quiet_observers([{"name": "o"}]) == ["judge"]
    assert "progress" not in capsys.readouterr().err


def test_panels_are_judged_by_people_or_observers():
    answers = _answers({("fc6", 5): ["bag", "bag"], ("fc8", 0): ["-", "t-shirt"]})
    judged = chapter.judge_panels(
        answers, CLASSES[:2], NAMES, None, 0.8, ["conv5", "fc6", "fc8"], kind="people"
    )
    assert judged.judges == "people" and judged.judge == "participant" and judged.people
    assert list(judged.table.index) == ["fc6", "fc8"]  # conv5 has no answers: no row
    assert judged.table["yes"].tolist() == [100.0, 50.0]
    assert judged.units.set_index("unit")["consistent"].tolist() == [True, False]
    assert judged.label == "this run (people)"
    nobody = chapter.judge_panels(None, CLASSES, NAMES, None, 0.8, ["fc8"], kind="observers")
    assert nobody.table.empty and nobody.units.empty and nobody.judges == "model observers"
    assert nobody.label == "this run (model observers)" and not nobody.people
    scripted = chapter.Judged(judged.table, judged.units, "example")
    assert scripted.label == "this run (scripted example)" and not scripted.people
    with pytest.raises(chapter.ChapterThreeError, match="judges must be one of"):
        chapter.Judged(judged.table, judged.units, "robots")


# --------------------------------------------------------------------------------------
# Fig. 5 and the finding
# --------------------------------------------------------------------------------------


def _units(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "layer": layer,
                "unit": unit,
                "share_yes": share,
                "consensus": "bag" if share else "",
                "top_class": "Bag",
                "ccmas_class": "Bag",
            }
            for layer, unit, share in rows
        ]
    )


def test_fig5_panels_show_both_halves_or_say_there_are_none():
    made = {"fc8": _result("fc8", [0, 1], [5, 6])}
    shown = chapter.fig5_panels(_units([("fc8", 0, 1.0), ("fc8", 1, 0.5)]), made, 3)
    assert [type(s).__name__ for s in shown] == ["Markdown", "HTML", "Markdown"]
    assert shown[0].data == "**Judged to show an object by every judge**"
    assert "fc8 unit 0: 100% yes, label &#x27;bag&#x27;" in shown[1].data
    assert shown[2].data == "*Judged to show no object by any judge: no unit in this run.*"
    both = chapter.fig5_panels(_units([("fc8", 0, 1.0), ("fc8", 1, 0.0)]), made, 3)
    assert [type(s).__name__ for s in both] == ["Markdown", "HTML", "Markdown", "HTML"]
    assert chapter.fig5_panels(_units([("fc8", 0, 1.0)]), {}, 3) == []


def _table(rows: dict[str, tuple[float, float, float, int]]) -> pd.DataFrame:
    """This run's Table 1: yes, units_80, overlap_top_class, units_consistent per layer."""
    columns = ["yes", "units_80", "overlap_top_class", "units_consistent"]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("layer")
    return table.assign(units=[DRAWN[layer] for layer in table.index])


#: Units drawn per layer on the default run (the 'units' column of its Table 1).
DRAWN = {"conv5": 4, "fc6": 6, "fc8": 10}


DEFAULT_RUN = {
    "conv5": (70.0, 75.0, 100.0, 3),
    "fc6": (16.7, 0.0, np.nan, 0),
    "fc8": (52.0, 30.0, 100.0, 3),
}


def _own_class(shares: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": range(len(shares)),
            "class": [f"class {i}" for i in range(len(shares))],
            "share classified as the unit's class": shares,
        }
    )


def test_the_finding_as_the_default_run_wrote_it():
    units = _units([("fc8", 0, 0.8), ("fc8", 1, 0.0), ("fc8", 2, 0.0)])
    judged = chapter.Judged(_table(DEFAULT_RUN), units, "observers", _own_class([1.0, 1.0, 0.5]))
    text = chapter.describe_judgements(judged, paper.reported("Table 1"))
    assert text == (
        "With model observers as judges, the output layer's panels drew yes in 52.0% of "
        "answers and 30.0% of its units were consistently interpretable (the paper's people: "
        "71.2% and 59.3%). In the hidden layers: conv5 70.0% yes, 75.0% of units consistent; "
        "fc6 16.7% yes, 0.0% of units consistent (the paper's people: conv5 21.7% and 4.3%; "
        "fc6 21.0% and 3.1%). Where the output units' panels were named consistently, the "
        "name matched the class of the unit's most active image in 100.0% of cases (the "
        "paper: 95.4%). So here at least one hidden layer drew more yes answers than the "
        "output layer; in the paper none of its hidden layers did, so on this point the run "
        "and the paper differ. The network that made the images filed at least 90% of them "
        "under their unit's class for 1 output unit (class 1) that no observer called an "
        "object at all: images that convince their own network need not look like anything "
        "to another viewer."
    )
    # Issue 12's misquote: the paper's 4.3% and 3.1% are quoted, not '3 to 4%'.
    assert "3 to 4%" not in text and "(s)" not in text


def test_the_finding_follows_this_runs_numbers():
    run = {**DEFAULT_RUN, "conv5": (20.0, 10.0, np.nan, 0), "fc8": (80.0, 60.0, 50.0, 0)}
    units = _units([("fc8", 0, 0.5)])
    judged = chapter.Judged(_table(run), units, "people", _own_class([1.0]))
    text = chapter.describe_judgements(judged, paper.reported("Table 1"))
    assert text.startswith("With people as judges, the output layer's panels drew yes in 80.0%")
    assert "conv5 20.0% yes, 10.0% of units consistent" in text
    assert "Where the output units' panels" not in text  # no consistent output unit
    assert "no hidden layer drew more yes answers than the output layer; the paper found" in text
    assert "filed at least" not in text  # the only output unit drew some yes answers
    two = chapter.Judged(
        _table(DEFAULT_RUN),
        _units([("fc8", 1, 0.0), ("fc8", 2, 0.0)]),
        "observers",
        _own_class([0.0, 1.0, 1.0]),
    )
    assert "for 2 output units (class 1, class 2)" in chapter.describe_judgements(
        two, paper.reported("Table 1")
    )
    hidden_only = chapter.Judged(_table({"fc6": DEFAULT_RUN["fc6"]}), units, "observers")
    assert chapter.describe_judgements(hidden_only, paper.reported("Table 1")).startswith(
        "In the hidden layers: fc6 16.7% yes"
    )
    empty = chapter.Judged(_table({}), units.iloc[:0], "observers")
    assert chapter.describe_judgements(empty, paper.reported("Table 1")) == ""


def test_the_finding_follows_the_papers_numbers():
    reported = _edited(
        {
            ("Table 1", "fc8", "yes"): 10.0,
            ("Table 1", "conv5", "units_80"): 4.0,
            ("Table 1", "fc6", "units_80"): 3.5,
            ("Table 1", "fc6", "yes"): 30.0,
            ("Table 1", "fc8", "overlap_top_class"): 80.4,
        }
    )[lambda rows: rows["source"] == "Table 1"]
    judged = chapter.Judged(_table(DEFAULT_RUN), _units([("fc8", 0, 0.8)]), "observers")
    text = chapter.describe_judgements(judged, reported)
    assert "(the paper's people: 10.0% and 59.3%)" in text
    assert "(the paper's people: conv5 21.7% and 4.0%; fc6 30.0% and 3.5%)" in text
    assert "(the paper: 80.4%)" in text
    assert "drew more yes answers than the output layer; the paper found the same" in text


# --------------------------------------------------------------------------------------
# Silent units, the generator method, both methods' checks
# --------------------------------------------------------------------------------------


def test_silent_units_are_drawn_only_on_request():
    store = _store()
    with pytest.raises(behaviour.BehaviourError, match="respond to some image"):
        chapter.choose_units(store, ["conv5"], {"conv5": 5})
    every = chapter.choose_units(store, ["conv5"], {"conv5": 5}, include_silent=True)
    assert every["conv5"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(chapter.ChapterThreeError, match=r"no number of units for \['fc8'\]"):
        chapter.choose_units(store, ["conv5", "fc8"], {"conv5": 1})


def test_the_silent_note_says_whether_they_are_drawn():
    table = _measured()
    left_out = chapter.silent_note(detectors.leave_out_silent(table))
    assert left_out.startswith("1 silent unit gives the same activation to every image")
    assert left_out.endswith("Nor are they drawn: a unit no image activates has no panel to judge.")
    kept = chapter.silent_note(detectors.leave_out_silent(table, True))
    assert "they are kept" in kept and kept.endswith("They may be drawn too.")
    assert chapter.silent_note(detectors.leave_out_silent(table[table["unit"] != 2])) == ""


def _blob_generator() -> generator.TrainedGenerator:
    torch.manual_seed(0)
    pixels = torch.zeros((64, 1, 28, 28))
    pixels[:, :, 6:20, 8:18] = torch.rand(64, 1, 1, 1)
    config = generator.GeneratorConfig(latent=4, width=4, epochs=2, batch_size=32)
    return generator.trained_generator(config, pixels=pixels)


def test_the_generator_method_runs_or_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path))
    chosen = {"fc8": [0, 1]}
    settings = {"steps": 2, "train": {"epochs": 1}}
    none = chapter.make_generator_images(
        None, "x", chosen, settings, 4, 0, image=SPEC, device="cpu"
    )
    assert not none.ran and none.reason == "this profile has no network to draw for"
    assert none.config.steps == 2 and none.config.images_per_unit == 4
    torch.manual_seed(0)
    net = SmallAlexNet(TINY).eval()
    big = am.ImageSpec.imagenet(64)
    other = chapter.make_generator_images(net, "x", chosen, settings, 4, 0, image=big, device="cpu")
    assert not other.ran and "draws 1 x 28 x 28 images and this network takes 3 x 64 x 64" in (
        other.reason
    )
    asked = []
    blob = _blob_generator()

    def trained(config):
        asked.append(config)
        return blob

    monkeypatch.setattr(generator, "trained_generator", trained)
    made = chapter.make_generator_images(
        net, "tiny", chosen, settings, 4, 3, image=SPEC, device="cpu"
    )
    assert made.ran and asked[0].epochs == 1 and made.config.seed == 3
    assert made.made["fc8"].images.shape == (2, 4, 1, 28, 28)
    pixel = {"fc8": _result("fc8", [0, 1], [1, 2])}
    both = chapter.by_method(pixel, made)
    assert list(both) == ["pixel", "generator"]
    assert list(chapter.by_method(pixel, none)) == ["pixel"]
    about = chapter.generator_table(made)
    assert about.loc["latent", "generator"] == "4" and about.loc["weights", "generator"] == (
        "trained now"
    )
    assert chapter.generator_table(none) is None and chapter.generator_samples(none, 4) is None
    samples = chapter.generator_samples(made, 9, seed=1).data
    assert samples.count("<figure") == 1 and "9 pictures the generator draws" in samples


def test_both_methods_own_class_checks_and_their_sentence():
    methods = {
        "pixel": {"fc8": _result("fc8", [0, 2], [10, 20])},
        "generator": {"fc8": _result("fc8", [0, 2], [30, 40])},
    }
    own = chapter.own_class_by_method(
        _SaysFirst(), methods, ["a", "b", "c"], image=SPEC, device="cpu"
    )
    assert list(own.columns) == ["pixel-space", "generator"]
    assert own.index.tolist() == [(0, "a"), (2, "c")] and own["generator"].tolist() == [1.0, 0.0]
    assert chapter.describe_own_class(own) == (
        "Over the 2 output units drawn, the network that made the images filed 50% of the "
        "pixel-space images and 50% of the generator images under the unit's own class. Both "
        "methods convince it equally often."
    )
    own.loc[(2, "c"), "generator"] = 0.9
    assert "95% of the generator images" in chapter.describe_own_class(own)
    assert "convince it more often" in chapter.describe_own_class(own)
    assert chapter.describe_own_class(None) is None
    no_output = {"pixel": {"fc6": _result("fc6", [5], [1])}}
    assert (
        chapter.own_class_by_method(_SaysFirst(), no_output, "abc", image=SPEC, device="cpu")
        is None
    )


def test_both_methods_ratios_in_one_table():
    torch.manual_seed(0)
    net = SmallAlexNet(TINY).eval()
    methods = {
        "pixel": {"fc8": _result("fc8", [0], [40])},
        "generator": {"fc8": _result("fc8", [0], [200])},
    }
    classes = pd.DataFrame({"layer": "fc8", "unit": [0], "dataset_max": [1e-6]})
    ratios = chapter.method_ratios(net, methods, classes, image=SPEC, device="cpu")
    assert ratios["method"].tolist() == ["pixel-space", "generator"]
    assert chapter.method_ratios(net, {}, classes, image=SPEC, device="cpu") is None
    chart = plots.am_ratio_chart(ratios).to_dict()
    assert chart["layer"][1]["encoding"]["color"]["field"] == "method"


# --------------------------------------------------------------------------------------
# Are the drawn units detectors?
# --------------------------------------------------------------------------------------


def _measured() -> pd.DataFrame:
    """The measures of three fc6 units of 60 images, 3 classes: unit 0 fires for class 0
    only (a detector), unit 1 for every image alike but one, unit 2 never."""
    labels = np.repeat(np.arange(3), 20)
    acts = np.zeros((60, 3))
    acts[labels == 0, 0] = 1.0
    acts[:, 1] = np.linspace(0.1, 1.0, 60)[np.random.default_rng(0).permutation(60)]
    table = present_class_measures(acts, labels, top=(60,)).reset_index()
    table.insert(0, "layer", "fc6")
    return table


def test_drawn_units_with_their_detector_bars():
    bars = chapter.drawn_bars(_measured(), {"fc6": [2, 0]})
    assert bars["unit"].tolist() == [2, 0]
    assert bars["detector"].tolist() == [False, True]
    assert bars["zhou_detector"].tolist() == [False, False]  # 20 of the top 60 is below .75
    assert bars["localist"].tolist() == [False, True]
    assert list(bars.columns[:2]) == ["layer", "unit"] and "max_informedness" in bars


def _named(rows: list[tuple[int, bool, bool]]) -> pd.DataFrame:
    """Judged units (unit, consistent, detector) with the bars' other columns False."""
    return pd.DataFrame(
        [
            {
                "layer": "fc6",
                "unit": unit,
                "share_yes": 1.0 if consistent else 0.0,
                "consistent": consistent,
                "detector": detector,
                "zhou_detector": False,
                "localist": False,
                "max_informedness": 0.9 if detector else 0.2,
            }
            for unit, consistent, detector in rows
        ]
    )


def test_named_and_selective_units_in_words():
    joined = chapter.named_and_selective(
        _units([("fc6", 0, 1.0), ("fc6", 2, 0.0)]).assign(consistent=[True, False]),
        chapter.drawn_bars(_measured(), {"fc6": [0, 2]}),
    )
    assert joined["detector"].tolist() == [True, False]
    shown = chapter.selective_table(joined)
    assert shown.index.names == ["layer", "unit"]
    assert list(shown.columns) == [
        "yes",
        "interpretable",
        "max inf.",
        "detector",
        "Zhou",
        "grandmother",
    ]
    text = chapter.describe_named_and_selective(joined, "model observers")
    assert text == (
        "Of the 1 unit whose panels model observers found consistently interpretable, 1 clear "
        "the reasonable detector bar, 0 Zhou's precision bar and 1 the grandmother bar; of the "
        "1 others, 0 clear the reasonable detector bar, 0 Zhou's precision bar and 0 the "
        "grandmother bar. Here the named units are more often detectors than the others: a "
        "judgement of the pictures and the counts of hits and false alarms point the same way."
    )
    flipped = chapter.describe_named_and_selective(
        _named([(0, True, False), (1, False, True)]), "people"
    )
    assert "no more often detectors than the others" in flipped
    assert chapter.describe_named_and_selective(_named([])[:0], "people") == ""
    only_named = chapter.describe_named_and_selective(_named([(0, True, True)]), "people")
    assert only_named.startswith("Of the 1 unit whose panels people") and "others" not in only_named


def test_the_chapter_module_imports_no_progress_bars():
    """The page shows the paper's method before its set-up silences tqdm's notebook
    warning, so the module must not import tqdm (nor torch) itself."""
    code = (
        "import sys, compendium.chapters.activation_maximisation; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tqdm', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------
# The page's prose (compendium.chapters.activation_maximisation_page)
# --------------------------------------------------------------------------------------


def test_the_responses_parameter_names_a_file_the_example_or_nobody(tmp_path):
    assert words.response_file(None) is None and words.response_file("") is None
    example = words.response_file("example")
    assert example == browser.example_responses() and words.judges_kind(example) == "example"
    assert words.judges_kind(None) == "observers"
    mine = tmp_path / "answers.csv"
    mine.write_text(example.read_text())
    assert words.response_file(str(mine)) == mine and words.judges_kind(mine) == "people"
    with pytest.raises(chapter.ChapterThreeError, match="'nowhere.csv': no such file"):
        words.response_file("nowhere.csv")


def test_the_smoke_profile_reads_the_shipped_example():
    from compendium.build.pipeline import chapter_parameters

    params = chapter_parameters("smoke", "03_activation_maximisation")
    assert params["responses"] == words.EXAMPLE and params["am_method"] == "generator"
    answers = behaviour.read_responses(words.response_file(params["responses"]))
    assert answers["participant"].str.startswith("scripted-").all()
    assert chapter_parameters("default", "03_activation_maximisation")["responses"] is None


def test_who_answered_names_people_observers_or_scripted_participants():
    table = _answers({("fc8", 0): ["shirt", "-", "top"], ("fc6", 5): ["-", "-", "bag"]})
    scripted = words.who_answered(table, "example")
    assert scripted.startswith("**Who answered: 3 scripted participants** (participants p0")
    assert "not real answers" in scripted and "people**" not in scripted
    assert words.who_answered(table, "people").startswith("**Who answered: 3 people**")
    observers_text = words.who_answered(table, "observers")
    assert observers_text.startswith("**Who answered: 3 model observers**")
    assert "6 responses to 2 panels in 1 list, 3 judges per panel" in observers_text
    assert words.who_answered(None, "observers").startswith("**No one answered**")
    assert "outside its 10 classes" in words.judges_intro("observers", 10)
    assert "outside its 1,000 classes" in words.judges_intro("observers", 1000)
    assert "shipped example file" in words.judges_intro("example", 10)
    assert "from people" in words.judges_intro("people", 10)
    assert words.judges_intro("observers", 10, answered=False).startswith("Nobody answers")


def test_the_methods_are_described_from_their_settings():
    pixel = am.AMConfig(steps=5)
    none = chapter.GeneratorRun(None, generator.LatentAMConfig(), {}, "no network here")
    text = words.methods_text(pixel, none, "generator", 1)
    assert "This page has no generator for this network (no network here)" in text
    assert "28 x 28 greyscale pictures" in text  # experiment.method_text: shown instead
    assert (
        "shifted by up to 4% of their side, zoomed by 0.95 to 1.05 and rotated by up to 5" in text
    )
    assert "(weight 0.05)" in text and "colour-opponent" not in text
    assert "read at the centre of its map" in text
    plain = am.AMConfig(
        parameterisation="pixel", diversity=0.0, jitter=0.0, rotate=0.0, scale=(1, 1)
    )
    bare = words.pixel_method_text(plain, 3)
    assert bare == "- The pixels themselves are the numbers optimised."
    assert "colour-opponent" in words.pixel_method_text(am.AMConfig(), 3)
    assert "by its mean over the map" in words.objective_text("mean")
    blob = _blob_generator()
    latent = generator.LatentAMConfig(steps=12, lr=0.5, max_norm=2.0)
    ran = chapter.GeneratorRun(blob, latent, {"fc8": _result("fc8", [0], [1])})
    made = words.methods_text(pixel, ran, "generator", 1)
    assert (
        "trains a variational auto-encoder on 64 Fashion-MNIST training images for 2 epochs" in made
    )
    assert "a code of 4 numbers" in made and "12 steps of Adam (learning rate 0.5)" in made
    assert "more than 2 times its expected length" in made
    assert "`am_method: generator`" in made


def test_the_synonym_table_is_described_from_the_table(tmp_path):
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES

    shipped = words.synonyms_text(list(FASHION_MNIST_CLASSES), None)
    table = behaviour.Synonyms.from_csv().table
    assert f"{len(table):,} phrases" in shipped and "lets 'top' agree with each of" in shipped
    assert "'wine glass' and 'beer'" in shipped
    imagenet = words.synonyms_text(["tench, Tinca tinca", "goldfish"], None)
    assert "No synonym table is given for these classes" in imagenet
    mine = tmp_path / "mine.csv"
    mine.write_text("phrase,group\nbus,bus\ncoach,bus\nminibus,bus\n")
    custom = words.synonyms_text(["bus"], mine)
    assert "(`mine.csv`, 3 phrases in 1 groups) puts 'bus', 'coach' and 'minibus' in one" in custom
    assert "agree with each" not in custom


def test_the_design_sentences_follow_the_numbers():
    experiment = chapter.paper_experiment()
    assert "the paper's 64 lists hold" in words.lists_text(experiment)
    other = chapter.paper_experiment(_edited({(EXP, None, "n_lists"): 32}))
    assert "the paper's 32 lists hold" in words.lists_text(other)
    design = behaviour.design_experiment({"fc6": [5], "fc8": [0, 1]}, 2, ["a", "b", "c"])
    assert words.design_text(design, experiment).startswith(
        "This page's experiment is smaller than the paper's: its 3 panels are dealt into 2 "
        "lists (the profile's `n_lists`) for 3 judges"
    )


def test_the_box_at_the_top_from_the_run_and_the_paper():
    reported = paper.reported("Table 1")
    experiment = chapter.paper_experiment()
    judged = chapter.Judged(_table(DEFAULT_RUN), _units([("fc8", 0, 0.8)]), "observers")
    box = words.summary_box(
        judged,
        reported,
        experiment,
        network="the small AlexNet on Fashion-MNIST",
        n_classes=10,
        paper_classes=1000,
        method="generator",
        selective="SELECTIVE.",
    )
    assert box.startswith(":::{admonition} This run beside the paper") and box.endswith(":::")
    assert (
        "people said yes to 71.2% of their answers about output units' panels, and 59.3% of "
        "output units were consistently interpretable (at least 80% yes), against conv5: 21.7% "
        "yes and 4.3% of units consistent; fc6: 21.0% yes and 3.1% of units consistent"
    ) in box
    assert (
        "**This run** (the small AlexNet on Fashion-MNIST, 10 classes): model observers judged "
        "the 20 panels of the generator method (fc8: 52.0% yes and 30.0% of units consistent; "
        "conv5: 70.0% yes and 75.0% of units consistent; fc6: 16.7% yes and 0.0% of units "
        "consistent). So it does not show the paper's pattern"
    ) in box
    assert "SELECTIVE." in box and "Here 10 classes against the paper's 1,000" in box
    assert "3,299 panels and 5 or 6 people per panel" in box
    assert "the judges are model observers" in box
    # a planted run that shows the pattern: the verdict turns
    planted = {
        "conv5": (10.0, 0.0, np.nan, 0),
        "fc6": (20.0, 5.0, np.nan, 0),
        "fc8": DEFAULT_RUN["fc8"],
    }
    turned = chapter.Judged(_table(planted), _units([("fc8", 0, 0.8)]), "people")
    assert words.pattern_holds(turned.table) is True
    side = words.run_side(turned, "net", 10, "pixel")
    assert "people judged the 20 panels of the pixel-space method" in side
    assert "So it shows the paper's pattern" in side
    assert words.pattern_holds(_table({"fc6": DEFAULT_RUN["fc6"]})) is None
    same = words.why_side("example", 1000, 1000, "pixel", experiment)
    assert "classes against" not in same and "scripted" in same and "pixel space" in same
    assert "has no answers" in words.run_side(None, "AlexNet", 1000, "pixel")
    edited = _edited({("Table 1", "fc8", "yes"): 65.0})[lambda r: r["source"] == "Table 1"]
    assert "people said yes to 65.0% of their answers" in words.paper_side(edited, 0.8)


def test_the_reading_notes_follow_the_run():
    units = _units([("fc8", 0, 0.8), ("fc6", 5, 0.0)]).assign(n=[5, 4])
    judged = chapter.Judged(_table(DEFAULT_RUN), units, "observers")
    classes = pd.DataFrame(
        {
            "layer": ["conv5", "fc6", "fc8"],
            "unit": [1, 5, 0],
            "top_class": ["Bag", "Bag", "Coat"],
            "ccmas_class": ["Bag", "Coat", "Coat"],
        }
    )
    notes = words.reading_notes(judged, classes, 10, 1000, "SELECTIVE.")
    assert notes.count("\n- ") == 3 and notes.startswith("- **The pattern")
    assert "With 4 conv5, 6 fc6 and 10 fc8 units and 4 to 5 judges per panel" in notes
    assert "by up to 25 points" in notes
    assert "one of 10 classes" in notes and "A 10-class network is not AlexNet" in notes
    assert "the same for 1 of the 2 hidden units drawn here" in notes
    assert "**Interpretable is not the same as selective.** SELECTIVE." in notes
    people_notes = words.reading_notes(
        chapter.Judged(judged.table, units, "people"), classes, 1000, 1000, ""
    )
    assert "Model observers" not in people_notes and "like the paper's 1,000" in people_notes
    assert "Interpretable" not in people_notes
    empty = chapter.Judged(_table({}), units.iloc[:0], "observers")
    assert words.reading_notes(empty, classes, 10, 1000, "") == ""


def test_the_exercises_have_computed_solutions():
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES

    experiment = chapter.paper_experiment()
    only = words.exercises(experiment, None, None, CLASSES, NAMES, None, None, None)
    assert [e.label for e in only] == ["ex-am-design"]
    assert "judged by 5 or 6 people, and nobody saw more than 52 panels" in only[0].solution
    other = chapter.paper_experiment(_edited({(EXP, None, "max_list_panels"): 60}))
    assert (
        "nobody saw more than 60 panels"
        in words.exercises(other, None, None, CLASSES, NAMES, None, None, None)[0].solution
    )
    names = list(FASHION_MNIST_CLASSES)
    classes = CLASSES.assign(top_class=["Bag", "T-shirt/top", "Trouser"])
    answers = _answers({("fc6", 5): ["bag", "bag", "-"], ("fc8", 0): ["t-shirt"] * 3})
    judged = chapter.judge_panels(answers, classes, names, None, 0.6, ["fc6", "fc8"], kind="people")
    own = pd.DataFrame({"pixel-space": [1.0, 0.5], "generator": [0.9, 0.9]})
    selective = _named([(5, True, False), (7, False, True)])
    items = words.exercises(experiment, judged, answers, classes, names, None, own, selective)
    assert [e.label for e in items] == [
        "ex-am-design",
        "ex-am-threshold",
        "ex-am-methods",
        "ex-am-selective",
    ]
    by_label = {e.label: e.solution for e in items}
    assert "fc6: 1 then 0 of 1 and fc8: 1 then 1 of 1" in by_label["ex-am-threshold"]
    assert (
        "75% of the pixel-space images and 90% of the generator images" in by_label["ex-am-methods"]
    )
    assert "so the generator images convince the network more often" in by_label["ex-am-methods"]
    assert (
        "named but not detectors: fc6 unit 5 (max informedness 0.20)" in by_label["ex-am-selective"]
    )
    assert (
        "detectors that were not named: fc6 unit 7 (max informedness 0.90)"
        in (by_label["ex-am-selective"])
    )
    assert exercises.block(items, in_book=True).data.count("{solution}") == 4


def test_the_bars_paragraph_quotes_the_detector_module():
    text = words.bars_text()
    share = detectors.ZHOU_SHARE[0] / detectors.ZHOU_SHARE[1]
    assert f"at least {share:.0%} of its {detectors.ZHOU_TOP} most active images" in text


# --------------------------------------------------------------------------------------
# The notebook
# --------------------------------------------------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_activation_maximisation.py"


def _markdown_cells() -> list[str]:
    import jupytext

    notebook = jupytext.read(NOTEBOOK)
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


def _printed_forms(value: float) -> set[str]:
    """How a paper number could be typed: 71.2, 3,299 or 3299, 80%, 0.8 ..."""
    forms = {f"{value:g}", f"{value:,.0f}" if value == int(value) else f"{value:g}"}
    if 0 < value < 1:
        forms |= {f"{100 * value:g}%", f"{value:.2f}"}
    return forms


def test_no_paper_number_is_typed_in_the_notebooks_text():
    """Issue 12: the paper's Table 1 and experiment numbers reach the page only through
    paper_numbers.csv, never typed into a markdown cell (small counts such as 5 or 10,
    which name figures and sections too, are left out of the check)."""
    rows = paper.reported()
    mine = rows[rows["source"].isin(["Table 1", EXP])]
    forms = {f for v in mine["value"] if v >= 13 or v != int(v) for f in _printed_forms(v)}
    forms.discard("0")
    text = "\n".join(_markdown_cells())
    found = sorted(
        f for f in forms if re.search(rf"(?<![\w.,]){re.escape(f)}(?![\w%]|[.,]\d)", text)
    )
    assert found == [], f"paper numbers typed in the notebook's markdown: {found}"
    for old in ("28 x 28 clothing network", "which often coincide", "3 to 4%", "64 lists"):
        assert old not in text


def test_the_title_names_what_was_measured():
    first = _markdown_cells()[0]
    assert "{glue:text}`ch3_network`" in first.splitlines()[1]


def test_the_papers_fig5_units_beside_this_runs():
    units = _units([("fc8", 1, 1.0), ("fc6", 2, 0.0), ("fc6", 3, 0.5)])
    table = chapter.fig5_beside_paper(units, paper.reported(), 3)
    theirs = table.loc["paper"]
    assert theirs.index.tolist() == ["(a)", "(b)", "(c)", "(d)", "(e)", "(f)"]
    assert theirs["unit"].tolist() == [183, 319, 969, 65, 103, 865]
    assert theirs.loc["(a)", "labels and classes"] == (
        "label 'dogs'; most active image 'flat-coated retriever'; CCMAS class 'monitor'"
    )
    assert theirs.loc["(d)", "judged"] == "no judge said yes"
    ours = table.loc["this run"]
    assert ours["unit"].tolist() == [1, 2]  # unit 3 was neither named by all nor by none
    assert ours["judged"].tolist() == ["every judge said yes", "no judge said yes"]
    assert (
        ours["labels and classes"].iloc[0] == "label 'bag'; most active image Bag; CCMAS class Bag"
    )
    rows = paper.reported()
    with pytest.raises(PaperNumbersError, match="Fig. 5"):
        chapter.fig5_beside_paper(units, rows[rows["source"] != "Fig. 5"], 3)
