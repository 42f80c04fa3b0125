"""Chapter 3's page functions on small hand-made inputs: the paper's experiment in its own
numbers, the units and images of a run, the judges' answers, and the sentences written from
them (which must change when the numbers change). Nothing here trains a network."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from compendium.chapters import activation_maximisation as chapter
from compendium.chapters import paper
from compendium.chapters.paper import PaperNumbersError
from compendium.methods import am, behaviour, observers
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
    assert table.index.name == "AM setting" and table.loc["steps", "value"] == 5
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
    table = chapter.images_table(made)
    assert table.index.name == "layer" and table["units"].tolist() == [2, 1]
    assert not table["from cache"].any()
    again = chapter.make_images(net, "tiny", chosen, config, image=SPEC, device="cpu")
    assert chapter.images_table(again)["from cache"].all()
    assert chapter.timing_note({}, "cpu", 1) is None
    hand = {"fc8": _result("fc8", [0, 1], [0, 255], seconds=2.0)}
    note = chapter.timing_note(hand, "cuda", 4)
    assert "device `cuda`, 4 thread(s)), one unit's 4 images took 2.0 s" in note
    assert "(3 steps)" in note


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
    assert check.loc["conv5"].tolist() == [2, 2.5, 2.0, 0.75]
    assert chapter.describe_ratios(check) == (
        "**This run:** conv5: median ratio 2.50 (lowest 2.00), 75% of the images above the "
        "data set's maximum; fc8: median ratio 0.50 (lowest 0.50), 0% of the images above the "
        "data set's maximum."
    )
    hand.loc[2, "ratio"] = 1.25
    assert "fc8: median ratio 1.25" in chapter.describe_ratios(chapter.ratio_summary(hand))


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
    path = tmp_path / "people.csv"
    _answers({("fc6", 5): ["bag", "bag"], ("fc8", 0): ["-", "shirt"]}).to_csv(path, index=False)
    answers, shown = chapter.gather_answers(str(path), specs, design, CLASSES, {}, NAMES, **common)
    assert len(answers) == 4
    assert shown.data == f"Read `{path}`: 4 responses from 2 participants."


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
        answers, CLASSES[:2], NAMES, None, 0.8, ["fc6", "fc8"], people=True
    )
    assert judged.judges == "people" and judged.judge == "participant"
    assert judged.table["yes"].tolist() == [100.0, 50.0]
    assert judged.units.set_index("unit")["consistent"].tolist() == [True, False]
    nobody = chapter.judge_panels(None, CLASSES, NAMES, None, 0.8, ["fc8"], people=False)
    assert nobody.table.empty and nobody.units.empty and nobody.judges == "model observers"


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
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("layer")


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
    judged = chapter.Judged(_table(DEFAULT_RUN), units, False, _own_class([1.0, 1.0, 0.5]))
    assert chapter.describe_judgements(judged, paper.reported("Table 1")) == (
        "With model observers as judges, the output layer's panels drew yes in 52% of answers "
        "and 30% of its units were consistently interpretable (the paper's people: 71% and "
        "59%). In the hidden layers: conv5 70% yes, 75% of units consistent; fc6 17% yes, 0% "
        "of units consistent (the paper: about 21% yes and 3 to 4% of units in conv5 and "
        "fc6). Where the output units' panels were named consistently, the name matched the "
        "unit's own class in 100% of cases (the paper: 95%). So here at least one hidden "
        "layer drew more yes answers than the output layer; in the paper the output layer "
        "drew far more, so on this point the run and the paper differ. The network that made "
        "the images filed at least 90% of them under their unit's class for 1 output unit(s) "
        "(class 1) that no observer called an object at all: images that convince their own "
        "network need not look like anything to another viewer."
    )


def test_the_finding_follows_this_runs_numbers():
    run = {**DEFAULT_RUN, "conv5": (20.0, 10.0, np.nan, 0), "fc8": (80.0, 60.0, 50.0, 0)}
    units = _units([("fc8", 0, 0.5)])
    judged = chapter.Judged(_table(run), units, True, _own_class([1.0]))
    text = chapter.describe_judgements(judged, paper.reported("Table 1"))
    assert text.startswith("With people as judges, the output layer's panels drew yes in 80%")
    assert "conv5 20% yes, 10% of units consistent" in text
    assert "Where the output units' panels" not in text  # no consistent output unit
    assert "drew fewer yes answers than the output layer; the paper found the same" in text
    assert "filed at least" not in text  # the only output unit drew some yes answers
    hidden_only = chapter.Judged(_table({"fc6": DEFAULT_RUN["fc6"]}), units, False)
    assert chapter.describe_judgements(hidden_only, paper.reported("Table 1")).startswith(
        "In the hidden layers: fc6 17% yes"
    )
    empty = chapter.Judged(_table({}), units.iloc[:0], False)
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
    judged = chapter.Judged(_table(DEFAULT_RUN), _units([("fc8", 0, 0.8)]), False)
    text = chapter.describe_judgements(judged, reported)
    assert "(the paper's people: 10% and 59%)" in text
    assert "(the paper: 22 to 30% yes and about 4% of units in conv5 and fc6)" in text
    assert "(the paper: 80%)" in text
    assert "drew more yes answers than the output layer; the paper found the same" in text


def test_the_chapter_module_imports_no_progress_bars():
    """The page shows the paper's method before its set-up silences tqdm's notebook
    warning, so the module must not import tqdm (nor torch) itself."""
    code = (
        "import sys, compendium.chapters.activation_maximisation; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tqdm', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
