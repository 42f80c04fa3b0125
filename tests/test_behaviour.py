"""The behavioural experiment: counterbalanced lists, panels, label matching, Table 1 on a
hand-made response table, model observers, and clear errors for bad response files."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from compendium.inputs.datasets import FASHION_MNIST_CLASSES
from compendium.methods import behaviour, observers
from compendium.methods.behaviour import BehaviourError, Synonyms

# --------------------------------------------------------------------------------------
# Design
# --------------------------------------------------------------------------------------


def test_paper_design_has_the_papers_lists():
    design = behaviour.paper_design()
    lists = design.lists
    assert len(lists) == 3299 and design.n_lists == 64
    assert lists.groupby("layer").size().to_dict() == {"conv5": 256, "fc6": 2048, "fc8": 995}
    assert not lists.duplicated(["layer", "unit"]).any()  # every panel in exactly one list
    comp = design.composition()
    assert set(comp["panels"]) == {51, 52}
    assert (comp["conv5"] == 4).all() and (comp["fc6"] == 32).all()
    assert set(comp["fc8"]) == {15, 16} and (comp["fc8"] == 16).sum() == 995 - 15 * 64
    assert (comp["participants"] == 5).sum() == 51 and (comp["participants"] == 6).sum() == 13
    assert len(design.participants) == 333
    judges = design.judges()
    assert set(judges["participants"]) == {5, 6}


@pytest.mark.parametrize("n_lists, n_people", [(1, 3), (3, 7), (4, 4), (5, 12)])
def test_any_design_is_balanced(n_lists, n_people):
    units = {"conv5": [3, 1, 7, 9, 2], "fc8": list(range(10)), "fc6": [11, 40, 5, 8, 21, 30, 6]}
    design = behaviour.design_experiment(units, n_lists, n_people, seed=3)
    lists = design.lists
    for layer, members in units.items():
        mine = lists[lists["layer"] == layer]
        assert sorted(mine["unit"]) == sorted(members)  # each unit exactly once
        per_list = mine.groupby("list").size().reindex(range(n_lists), fill_value=0)
        assert per_list.max() - per_list.min() <= 1
    sizes = design.composition()["panels"]
    assert sizes.max() - sizes.min() <= 1
    people = design.participants.groupby("list").size()
    assert len(people) == n_lists and people.max() - people.min() <= 1
    trials = design.trials(seed=1)
    assert len(trials) == sum(sizes[i] * people[i] for i in range(n_lists))
    assert not trials.duplicated(["participant", "layer", "unit"]).any()
    again = behaviour.design_experiment(units, n_lists, n_people, seed=3)
    assert again.lists.equals(lists)


def test_design_refuses_impossible_requests():
    with pytest.raises(BehaviourError, match="cannot cover 4 lists"):
        behaviour.design_experiment({"fc8": [0, 1]}, 4, 3)
    with pytest.raises(BehaviourError, match="lists a unit twice"):
        behaviour.design_experiment({"fc8": [0, 0]}, 1, 3)
    with pytest.raises(BehaviourError, match="at least 1"):
        behaviour.design_experiment({"fc8": [0]}, 0, 3)


# --------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------


def test_panel_grid_and_png():
    images = np.arange(6 * 4, dtype=np.uint8).reshape(6, 1, 2, 2) * 10
    grid = behaviour.panel_grid(images, columns=3, gap=1, zoom=1)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1)
    assert grid[1, 1] == 0 and grid[1, 4] == 40 and grid[0, 0] == 255
    png = behaviour.png_bytes(grid)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (10, 7)
    start = png.index(b"IDAT") + 4
    length = struct.unpack(">I", png[start - 8 : start - 4])[0]
    rows = np.frombuffer(zlib.decompress(png[start : start + length]), np.uint8).reshape(7, 11)
    assert np.array_equal(rows[:, 1:], grid) and (rows[:, 0] == 0).all()
    colour = behaviour.panel_grid(np.zeros((2, 3, 4, 4), np.uint8), columns=2)
    assert colour.shape[-1] == 3 and behaviour.png_bytes(colour)[25] == 2
    assert 'src="data:image/png;base64,' in behaviour.panels_html([(grid, "a <b>")])
    with pytest.raises(BehaviourError, match="uint8"):
        behaviour.panel_grid(np.zeros((2, 1, 4, 4)))


# --------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------


def test_synonym_table_matches_rough_synonyms():
    s = Synonyms.from_csv()
    assert s.groups("T-shirt/top") == {"t-shirt"}
    assert s.agree("trainers", "Sneaker") and s.agree("Running shoes", "Sneaker")
    assert s.agree("shoe", "Sandal") and s.agree("shoes", "Ankle boot")
    assert not s.agree("Sandal", "Sneaker") and not s.agree("Shirt", "T-shirt/top")
    assert s.agree("a long dress", "Dress")
    assert s.agree("apples", "apple") and not s.agree("apple", "pear")
    assert s.agree("green peppers or apples", "apple")
    assert s.groups("") == frozenset()


def test_custom_synonym_table(tmp_path):
    path = tmp_path / "syn.csv"
    path.write_text(
        "# drinks\nphrase,group\nbeer,drink\nglass,drink\ndrink,drink\nwine glass,drink\n"
    )
    s = Synonyms.from_csv(path)
    assert s.agree("beer", "wine glass") and s.agree("Glass", "drinks")
    (tmp_path / "bad.csv").write_text("word,group\nbeer,drink\n")
    with pytest.raises(BehaviourError, match="phrase,group"):
        Synonyms.from_csv(tmp_path / "bad.csv")


# --------------------------------------------------------------------------------------
# Table 1 on a hand-made response table
# --------------------------------------------------------------------------------------

CLASSES = pd.DataFrame(
    {
        "layer": ["fc8", "fc8", "fc8", "fc6", "fc6"],
        "unit": [0, 1, 2, 5, 7],
        "top_class": ["Sneaker", "Dress", "Bag", "Coat", "Bag"],
        "ccmas_class": ["Sneaker", "Coat", "Bag", "Coat", "Trouser"],
    }
)

# Five people; '-' means no. fc8 0: all yes (shoe words); fc8 1: 4 of 5 yes, 3 of the 4
# labels are dresses; fc8 2: 2 of 5 yes; fc6 5: nobody; fc6 7: all say bag.
ANSWERS = {
    ("fc8", 0): ["shoe", "sneaker", "Sneaker", "trainers", "shoes"],
    ("fc8", 1): ["dress", "dress", "gown", "bag", "-"],
    ("fc8", 2): ["bag", "bag", "-", "-", "-"],
    ("fc6", 5): ["-", "-", "-", "-", "-"],
    ("fc6", 7): ["bag", "Bag", "handbag", "purse", "bags"],
}


def hand_made() -> pd.DataFrame:
    rows = []
    for (layer, unit), said in ANSWERS.items():
        for person, text in enumerate(said):
            yes = text != "-"
            rows.append((f"p{person}", 0, layer, unit, "yes" if yes else "no", text if yes else ""))
    return pd.DataFrame(rows, columns=list(behaviour.RESPONSE_COLUMNS))


def test_table1_on_known_answers():
    table = behaviour.table1(hand_made(), CLASSES, Synonyms.from_csv(), layers=["fc6", "fc8"])
    fc8, fc6 = table.loc["fc8"], table.loc["fc6"]
    assert fc8["yes"] == pytest.approx(100 * 11 / 15)
    assert fc8["units_80"] == pytest.approx(100 * 2 / 3)
    assert fc8["overlap_humans"] == pytest.approx(100 * (1.0 + 0.75) / 2)
    assert fc8["overlap_top_class"] == pytest.approx(100.0)
    assert fc8["overlap_ccmas"] == pytest.approx(50.0)
    assert fc6["yes"] == pytest.approx(50.0) and fc6["units_80"] == pytest.approx(50.0)
    assert fc6["overlap_humans"] == pytest.approx(100.0)
    assert fc6["overlap_top_class"] == pytest.approx(100.0) and fc6["overlap_ccmas"] == 0.0
    # standard errors: (a) over people's own yes rates, (b) binomial over units
    per_person = np.array([3, 3, 2, 2, 1]) / 3
    assert fc8["yes_se"] == pytest.approx(100 * per_person.std(ddof=1) / np.sqrt(5))
    assert fc8["units_80_se"] == pytest.approx(100 * np.sqrt(2 / 3 * 1 / 3 / 3))
    assert fc8["overlap_ccmas_se"] == pytest.approx(50.0 / np.sqrt(2))
    assert list(table[["participants", "responses", "units", "units_consistent"]].loc["fc8"]) == [
        5,
        15,
        3,
        2,
    ]


def test_unit_judgements_name_the_consensus():
    judged = behaviour.unit_judgements(hand_made(), CLASSES, Synonyms.from_csv())
    row = judged.set_index(["layer", "unit"]).loc[("fc8", 1)]
    assert row["consensus"] == "dress" and row["share_yes"] == pytest.approx(0.8)
    assert bool(row["consistent"]) and row["label_agreement"] == pytest.approx(0.75)
    shoe = judged.set_index(["layer", "unit"]).loc[("fc8", 0)]
    assert shoe["consensus"] == "sneaker" and shoe["label_agreement"] == 1.0


def test_a_csv_in_the_schema_gives_the_same_table(tmp_path):
    path = tmp_path / "answers.csv"
    hand_made().to_csv(path, index=False)
    from_file = behaviour.read_responses(path, CLASSES)
    assert from_file["yes"].dtype == bool
    a = behaviour.table1(from_file, CLASSES, Synonyms.from_csv())
    b = behaviour.table1(hand_made(), CLASSES, Synonyms.from_csv())
    pd.testing.assert_frame_equal(a, b)


def test_response_file_with_missing_columns_is_refused(tmp_path):
    path = tmp_path / "answers.csv"
    hand_made().drop(columns=["label", "list"]).to_csv(path, index=False)
    with pytest.raises(BehaviourError, match=r"lacks the columns \['list', 'label'\]"):
        behaviour.read_responses(path)


def test_responses_for_unknown_units_are_refused():
    bad = pd.concat(
        [
            hand_made(),
            pd.DataFrame(
                [("p0", 0, "fc6", 99, "yes", "bag"), ("p0", 0, "fc7", 1, "no", "")],
                columns=list(behaviour.RESPONSE_COLUMNS),
            ),
        ]
    )
    with pytest.raises(BehaviourError, match="2 panels with no known unit .*fc6 99"):
        behaviour.table1(bad, CLASSES, Synonyms.from_csv())


def test_bad_yes_values_and_repeats_are_refused():
    bad = hand_made()
    bad.loc[3, "yes"] = "maybe"
    with pytest.raises(BehaviourError, match="yes/no.*'maybe'"):
        behaviour.check_responses(bad)
    repeated = pd.concat([hand_made(), hand_made().iloc[:1]])
    with pytest.raises(BehaviourError, match="more than once"):
        behaviour.check_responses(repeated)
    with pytest.raises(FileNotFoundError, match="no response file"):
        behaviour.read_responses("/nonexistent/answers.csv")


def test_sample_units_skips_silent_units():
    maxima = np.array([0.0, 1.0, 2.0, 0.0, 3.0])
    drawn = behaviour.sample_units(maxima, 2, seed=0)
    assert len(drawn) == 2 and set(drawn) <= {1, 2, 4}
    assert list(behaviour.sample_units(maxima, 3)) == [1, 2, 4]
    with pytest.raises(BehaviourError, match="cannot draw 4 units"):
        behaviour.sample_units(maxima, 4)
    with pytest.raises(BehaviourError, match="outside fc6"):
        behaviour.sample_units(maxima, [1, 5], layer="fc6")


# --------------------------------------------------------------------------------------
# Model observers
# --------------------------------------------------------------------------------------


def test_observer_rule():
    names = ["a", "b", "c"]
    sure_b = np.tile([0.05, 0.9, 0.05], (10, 1))
    assert observers.respond(sure_b, names) == (True, "b")
    unsure = np.tile([0.3, 0.4, 0.3], (10, 1))
    assert observers.respond(unsure, names) == (False, "")
    split = np.vstack([np.tile([0.9, 0.05, 0.05], (4, 1)), np.tile([0.05, 0.05, 0.9], (6, 1))])
    assert observers.respond(split, names) == (True, "c")
    assert observers.respond(split, names, agreement=0.7) == (False, "")


class _Says(nn.Module):
    """A stand-in classifier: class 1 for bright images, class 2 otherwise, confidently."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bright = (x.flatten(1).mean(1) > 0).float()
        return torch.stack([torch.zeros_like(bright), 10 * bright, 10 * (1 - bright)], 1)


def test_observer_responses_fill_the_schema():
    design = behaviour.design_experiment({"fc8": [0, 1]}, 1, ["o1", "o2"])
    spec = observers.ObserverSpec(name="o1")
    judges = [
        observers.Observer(spec, _Says(), 1.0, 0.0),
        observers.Observer(observers.ObserverSpec(name="o2"), _Says(), 1.0, 0.0),
    ]
    panels = {
        ("fc8", 0): np.full((4, 1, 28, 28), 250, np.uint8),
        ("fc8", 1): np.zeros((4, 1, 28, 28), np.uint8),
    }
    answers = observers.observer_responses(
        design, judges, panels, ["x", "bright", "dark"], device="cpu"
    )
    assert list(answers.columns) == list(behaviour.RESPONSE_COLUMNS) and len(answers) == 4
    labels = answers.set_index(["participant", "unit"])["label"]
    assert labels[("o1", 0)] == "bright" and labels[("o2", 1)] == "dark"
    with pytest.raises(ValueError, match="not observers"):
        observers.observer_responses(design, judges[:1], panels, ["x", "bright", "dark"])


def test_observer_specs_are_checked():
    with pytest.raises(ValueError, match="arch must be one of"):
        observers.ObserverSpec(name="x", arch="transformer")
    with pytest.raises(ValueError, match="needs a `name`"):
        observers.ObserverSpec.from_dict({"arch": "mlp"})
    assert observers.ObserverSpec(name="a").key == observers.ObserverSpec(name="b").key
    assert observers.LeNet(4)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert observers.MLP(16)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


# --------------------------------------------------------------------------------------
# Presentation helpers
# --------------------------------------------------------------------------------------


def test_design_summary_matches_the_papers_stated_numbers():
    from compendium.chapters import paper

    stated = paper.reported("Sec. 2 behavioural experiment")
    stated = stated[stated["layer"].isna()].set_index("measure")["value"]
    summary = behaviour.design_summary(behaviour.paper_design())
    assert (summary == stated.reindex(summary.index)).all()


def test_table1_beside_the_papers():
    from compendium.chapters import paper

    table = behaviour.table1(hand_made(), CLASSES, Synonyms.from_csv(), layers=["fc6", "fc8"])
    from compendium.chapters.activation_maximisation import table1_beside_paper

    shown = table1_beside_paper(
        table, paper.reported("Table 1"), "this run", ["conv5", "fc6", "fc8"]
    )
    assert shown.loc[("fc8", "this run"), "(a) % 'yes' responses"].startswith("73.3 (±")
    assert shown.loc[("fc8", "paper (people)"), "(a) % 'yes' responses"] == "71.2 (±0.6)"
    assert shown.loc[("conv5", "paper (people)"), "(e) % overlap with the CCMAS class"] == "0.0"
    assert shown.loc[("conv5", "this run"), "(a) % 'yes' responses"] == "–"


def test_fig5_examples_and_captions():
    judged = behaviour.unit_judgements(hand_made(), CLASSES, Synonyms.from_csv())
    named, unnamed = behaviour.fig5_examples(judged, 3)
    assert list(zip(named["layer"], named["unit"], strict=False)) == [("fc6", 7), ("fc8", 0)]
    assert list(zip(unnamed["layer"], unnamed["unit"], strict=False)) == [("fc6", 5)]
    text = behaviour.caption(named.iloc[0])
    assert text.startswith("fc6 unit 7: 100% yes, label 'bag'") and "CCMAS class: Trouser" in text


def test_torchvision_observers_and_default_synonyms():
    with pytest.raises(ValueError, match="needs `network`"):
        observers.ObserverSpec(name="x", arch="torchvision")
    spec = observers.ObserverSpec(
        name="alex", arch="torchvision", network="alexnet", weights="none"
    )
    judge = observers.trained_observer(spec)
    assert judge.model(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)
    fashion = behaviour.default_synonyms(list(FASHION_MNIST_CLASSES))
    assert fashion.agree("trainers", "Sneaker")
    plain = behaviour.default_synonyms(["tench, Tinca tinca", "goldfish, Carassius auratus"])
    assert plain.agree("tench", "tench, Tinca tinca") and not plain.agree("tench", "goldfish")
