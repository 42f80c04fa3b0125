"""Tests of compendium.measures.classes: `class_measures` against a slow reading of the spec
in exact fractions, against `unit_measures`, and the one-threshold helpers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from compendium.inputs.synthetic import worked_example
from compendium.measures import MeasureInputError, class_measures, unit_measures
from compendium.measures import classes as classes_module
from compendium.measures.classes import class_measure_columns, detection_at, top_n_cut


def brute_class_row(x: np.ndarray, in_class: np.ndarray, top: int) -> dict:
    """The spec read literally for one unit and class A: every distinct activation is a
    threshold (x >= t), counts by comparison, informedness as an exact fraction."""
    values = [float(v) for v in x]
    a = [v for v, m in zip(values, in_class, strict=True) if m]
    rest = [v for v, m in zip(values, in_class, strict=True) if not m]
    n_a, n_rest = len(a), len(rest)
    ranked = sorted(range(len(values)), key=lambda i: (-values[i], i))
    mu_a, mu_rest = sum(a) / n_a, sum(rest) / n_rest
    row = {
        "localist_gap": min(a) - max(rest),
        "localist": min(a) > max(rest),
        f"precision_{top}": sum(bool(in_class[i]) for i in ranked[:top]) / top,
        "ccmas": np.nan if mu_a + mu_rest == 0 else (mu_a - mu_rest) / (mu_a + mu_rest),
        "recall_p100": 0.0,
        "recall_p95": 0.0,
    }
    best = None
    for t in sorted(set(values), reverse=True):  # highest threshold first: it wins ties
        tp = sum(v >= t for v in a)
        fp = sum(v >= t for v in rest)
        if fp == 0:
            row["recall_p100"] = max(row["recall_p100"], tp / n_a)
        if Fraction(tp, tp + fp) >= Fraction(95, 100):
            row["recall_p95"] = max(row["recall_p95"], tp / n_a)
        j = Fraction(tp, n_a) - Fraction(fp, n_rest)
        if best is None or j > best[0]:
            best = (j, t, tp, fp)
    j, t, tp, fp = best
    row.update(
        {
            "max_informedness": float(j),
            "mi_threshold": t,
            "mi_recall": tp / n_a,
            "mi_specificity": 1 - fp / n_rest,
            "mi_false_alarm": fp / (tp + fp),
            "mi_fpr": fp / n_rest,
        }
    )
    return row


def tied_layer(rng, n_images=240, n_units=10, dtype=np.float32):
    """Activations with exact zeros, many ties, a dead unit, a unit with two values, a unit
    that separates class 1 perfectly, and negative values."""
    labels = rng.integers(0, 5, n_images)
    labels[:5] = np.arange(5)
    x = np.maximum(rng.normal(-0.2, 1, (n_images, n_units)) + rng.normal(0, 1, 5)[labels, None], 0)
    x = np.round(x, 1)
    x[:, 0] = 0  # dead
    x[:, 1] = np.where(labels == 1, 2.0, 0.5)  # two values: a perfect detector of class 1
    x[:, 2] = np.where(labels == 2, 1 + x[:, 2], x[:, 2] / 10)
    x[:, 3] = np.round(x[:, 3] - 0.5, 1)  # negative values
    x[::7, 4] = x[0, 4]  # a long run of ties
    return x.astype(dtype), labels


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_measures_equal_the_brute_force_reading_of_the_spec(seed, dtype):
    x, labels = tied_layer(np.random.default_rng(seed), dtype=dtype)
    for group in ([1], [2], [0, 3], [1, 2, 4]):
        in_class = np.isin(labels, group)
        table = class_measures(x, in_class, top=30)
        assert list(table.columns) == class_measure_columns(30)
        assert table.index.name == "unit" and list(table.index) == list(range(x.shape[1]))
        for unit in range(x.shape[1]):
            expected = brute_class_row(x[:, unit], in_class, 30)
            for column, value in expected.items():
                mine = table.loc[unit, column]
                assert mine == pytest.approx(value, rel=1e-6, abs=1e-12, nan_ok=True), (
                    group,
                    unit,
                    column,
                )


def test_the_worked_example_for_class_a():
    x, labels, _ = worked_example()
    row = class_measures(x[:, 0], labels == 0, top=5).iloc[0]
    assert row["precision_5"] == 0.6 and not row["localist"] and row["localist_gap"] == -4
    assert (row["recall_p100"], row["recall_p95"]) == (0.5, 0.5)
    assert row["max_informedness"] == pytest.approx(0.75 - 1 / 6)
    assert (row["mi_threshold"], row["mi_recall"], row["mi_false_alarm"]) == (5.0, 0.75, 0.25)
    assert row["mi_specificity"] == pytest.approx(5 / 6) and row["mi_fpr"] == pytest.approx(1 / 6)


def test_agrees_with_unit_measures_for_the_class_each_column_names():
    x, labels = tied_layer(np.random.default_rng(5), n_units=16)
    table = unit_measures(x, labels, top=(60,))
    per_class = [class_measures(x, labels == c, top=60) for c in range(5)]
    best = pd.concat([t["max_informedness"] for t in per_class], axis=1).max(axis=1)
    np.testing.assert_allclose(best, table["max_informedness"], rtol=0, atol=1e-12)
    for unit, row in table.iterrows():
        mi = per_class[row["mi_class"]].loc[unit]
        assert mi["mi_threshold"] == row["mi_threshold"]  # the same threshold, exactly
        for column in ("max_informedness", "mi_recall", "mi_specificity", "mi_false_alarm"):
            assert mi[column] == pytest.approx(row[column], abs=1e-12), (unit, column)
        top = per_class[row["top_class"]].loc[unit]
        assert (top["recall_p100"], top["recall_p95"]) == (row["recall_p100"], row["recall_p95"])
        assert top["localist"] == (row["localist"] and row["localist_class"] == row["top_class"])
        assert per_class[row["ccmas_class"]].loc[unit, "ccmas"] == pytest.approx(
            row["ccmas"], nan_ok=True
        )


def test_blocks_and_dtypes_do_not_change_the_table(monkeypatch):
    x, labels = tied_layer(np.random.default_rng(7))
    in_class = labels == 2
    whole = class_measures(x, in_class)
    monkeypatch.setattr(classes_module, "BLOCK_ENTRIES", 3 * x.shape[0])  # blocks of 3 units
    pd.testing.assert_frame_equal(class_measures(x, in_class), whole)
    pd.testing.assert_frame_equal(class_measures(x.astype(np.float64), in_class), whole)
    one = class_measures(x[:, 4], in_class)
    pd.testing.assert_frame_equal(one, whole.iloc[[4]].reset_index(drop=True).rename_axis("unit"))


@pytest.mark.parametrize(
    "activations, in_class, top, message",
    [
        (np.ones((6, 2)), np.arange(6) % 2, 2, "one boolean per image"),
        (np.ones((6, 2)), np.ones(5, bool), 2, "one boolean per image"),
        (np.ones((6, 2)), np.ones(6, bool), 2, "both have images"),
        (np.ones((6, 2)), np.arange(6) < 2, 7, "top must be between 1 and"),
        (np.full((6, 2), np.nan), np.arange(6) < 2, 2, "NaN"),
        (np.ones((6, 2, 2)), np.arange(6) < 2, 2, "2-D"),
    ],
)
def test_bad_input_names_the_fix(activations, in_class, top, message):
    with pytest.raises(MeasureInputError, match=message):
        class_measures(activations, in_class, top=top)


# --- one threshold of one unit -------------------------------------------------------------


def test_top_n_cut_is_the_nth_largest_activation_ties_included():
    x = [9, 7, 6, 5, 4, 3, 2, 1, 0, 0]
    assert top_n_cut(x, 5) == 4.0 and top_n_cut(x, 9) == 0.0 and top_n_cut(x, 1) == 9.0
    with pytest.raises(MeasureInputError, match="between 1 and"):
        top_n_cut([1.0, 2.0], 3)


def test_detection_at_counts_what_passes_the_threshold():
    x, labels, _ = worked_example()
    at = detection_at(x[:, 0], labels == 0, 5.0, prefix="t")
    assert (at["t_threshold"], at["t_hits"], at["t_false_positives"]) == (5.0, 3, 1)
    assert (at["t_recall"], at["t_false_alarm"]) == (0.75, 0.25)
    assert at["t_specificity"] == pytest.approx(5 / 6) and at["t_fpr"] == pytest.approx(1 / 6)
    assert np.isnan(detection_at(x[:, 0], labels == 0, 10.0, prefix="t")["t_false_alarm"])
    with pytest.raises(MeasureInputError, match="one unit"):
        detection_at(x, labels == 0, 5.0, prefix="t")


def test_detection_at_the_best_threshold_repeats_class_measures():
    x, labels = tied_layer(np.random.default_rng(9))
    in_class = np.isin(labels, [2, 3])
    table = class_measures(x, in_class)
    for unit, row in table.iterrows():
        at = detection_at(x[:, unit], in_class, row["mi_threshold"], prefix="mi")
        for column in ("mi_threshold", "mi_recall", "mi_specificity", "mi_false_alarm", "mi_fpr"):
            assert at[column] == row[column], (unit, column)
