"""Chapter 1 (compendium.chapters.measures_page): the worked example, the made-up units of
Fig. A2, and sentences and exercises that follow the run's numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compendium.chapters import measures_page as chapter
from compendium.chapters import paper
from compendium.inputs import synthetic
from compendium.measures import unit_measures

REPORTED = paper.reported()


@pytest.fixture(scope="module")
def worked():
    x, labels, names = synthetic.worked_example()
    table, measures = chapter.worked_example(x, labels)
    return x, labels, names, table, measures


def units(n_classes: int = 10, n_items: int = 100) -> tuple[dict, pd.DataFrame]:
    cases = synthetic.figure_a2_cases(n_classes, n_items, seed=0)
    return cases, chapter.fig_a2_measures(cases)


def test_the_worked_example_matches_the_hand_calculation(worked):
    _, _, names, table, measures = worked
    assert list(table.columns) == ["by hand", "this run"]
    assert measures["mi_threshold"] == 5.0
    assert chapter.example_table(*worked[:3]).loc["class"].tolist()[:3] == ["A", "A", "B"]


def test_a_wrong_hand_value_stops_the_chapter(worked, monkeypatch):
    monkeypatch.setitem(chapter.BY_HAND, "ccmas", 0.5)
    with pytest.raises(chapter.WorkedExampleError, match=r"\['ccmas'\]"):
        chapter.worked_example(worked[0], worked[1])


def test_the_fig_a2_verdict_follows_the_comparison():
    _, measures = units()
    comparison = chapter.fig_a2_comparison(measures, REPORTED)
    text = chapter.describe_fig_a2(comparison, 100, "default")
    wrong = comparison[~comparison["agrees"]].index.tolist()
    if wrong:
        assert text.count(" here, ") == len(wrong)
    agreeing = comparison.assign(agrees=True)
    assert "matches every reported number" in chapter.describe_fig_a2(agreeing, 100, "default")
    assert "no class can fill a top 100" in chapter.describe_fig_a2(agreeing, 40, "smoke")


def test_the_lessons_follow_the_numbers():
    _, measures = units()
    text = chapter.describe_lessons(measures, REPORTED, 100)
    assert "the same CCMAS, 1.00 and 1.00" in text and "is localist" in text
    assert "lands on the same value to two decimals" in text
    other = REPORTED.copy()
    row = (other["case"] == "c_one_class_above") & (other["measure"] == "ccmas")
    other.loc[row, "value"] = 0.5
    assert "The paper reports .50; this run's value differs" in chapter.describe_lessons(
        measures, other, 100
    )
    changed = measures.copy()
    changed.loc["a_one_active_item", "ccmas"] = 0.4
    assert "get a CCMAS, 0.40 and 1.00." in chapter.describe_lessons(changed, REPORTED, 100)


def test_the_takeaway_names_what_precision_and_ccmas_show():
    _, measures = units()
    text = chapter.describe_takeaway(measures)
    a60 = measures.loc["a_one_active_item", "precision_60"]
    assert f"({a60:.2f} against 1.00 for the top 60)" in text
    assert "a CCMAS of 1.00 is consistent with a unit like (b)" in text
    changed = measures.copy()
    changed.loc["a_one_active_item", "ccmas"] = 0.3
    assert "CCMAS gives (a) 0.30 and (b) 1.00" in chapter.describe_takeaway(changed)


@pytest.mark.parametrize(
    ("n_items", "where"), [(100, "falls inside class 0"), (40, "falls below them")]
)
def test_the_plot_captions_say_where_the_top_60_cut_falls(n_items, where):
    cases, measures = units(5, n_items)
    x, y = cases["b_grandmother"]
    assert where in chapter.describe_case_plot("b_grandmother", x, y, measures.loc["b_grandmother"])
    x, y = cases["a_one_active_item"]
    text = chapter.describe_case_plot("a_one_active_item", x, y, measures.loc["a_one_active_item"])
    assert "a single image of class 0 stands at 1" in text and "59 silent ones" in text


def test_the_expected_share_is_computed_and_compared():
    assert chapter.expected_class0_share(10, 100) == pytest.approx((1 + 99 * 99 / 999) / 100)
    assert "0.108, which rounds to the paper's .11" in chapter.describe_expected_share(
        10, 100, REPORTED
    )
    assert "against the paper's .11" in chapter.describe_expected_share(5, 40, REPORTED)


def test_the_seed_experiment_is_described_from_its_numbers():
    _, measures = units(5, 40)
    seeds = chapter.precision_seeds(5, 40, 4)
    assert list(seeds.index) == [0, 1, 2, 3]
    text = chapter.describe_precision_seeds(seeds, measures, 0, REPORTED)
    p100 = seeds["precision_100"].astype(float)
    assert f"averages {p100.mean():.3f}" in text and "The paper reports .11" in text
    assert set(chapter.seeds_summary(seeds).columns) == {
        "precision_60",
        "precision_100",
        "max_informedness",
    }


def test_the_exercises_solutions_are_computed(worked):
    x, labels, _, _, measures = worked
    _, fig = units(5, 40)
    seeds = chapter.precision_seeds(5, 40, 3)
    found = {e.label: e for e in chapter.exercises(x, labels, measures, fig, seeds)}
    assert len(found) == 4 and all(label.startswith("ex-measures-") for label in found)
    assert "= 0.333" in found["ex-measures-threshold"].solution
    kept = labels != 2
    after = unit_measures(x[kept], labels[kept], top=(5,)).iloc[0]
    assert f"to {after['ccmas']:.3f}" in found["ex-measures-remove-class"].solution
    assert "CCMAS above 0.9: (a) one active item, (b) grandmother cell" in (
        found["ex-measures-detectors"].solution
    )
    mi = seeds["max_informedness"].astype(float)
    assert f"from {mi.min():.4f}" in found["ex-measures-ties"].solution


def test_the_banner_says_the_units_are_made_up():
    run = chapter.run_description(5, 40, 3)
    assert "5 classes of 40 images (seed 3)" in run["Data"] and run["Network"].startswith("none")
    cases, measures = units()
    x, _ = cases["b_grandmother"]
    cuts = chapter.case_thresholds(x, measures.loc["b_grandmother"])
    assert list(cuts) == ["top-60 cut", "max-informedness threshold"]
    assert np.isfinite(list(cuts.values())).all()
