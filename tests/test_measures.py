"""Tests of compendium.measures: the spec's worked example, an independent oracle built on
scikit-learn's curves, properties that must hold whatever the data, and bad input."""

from __future__ import annotations

from collections import Counter

import h5py
import numpy as np
import pandas as pd
import pytest
from helpers import detector_oracle
from sklearn.metrics import precision_recall_curve, roc_curve

from compendium.inputs.synthetic import figure_a2_cases, worked_example
from compendium.measures import (
    CLASS_COLUMNS,
    COLUMNS,
    MeasureInputError,
    measure_columns,
    present_class_measures,
    unit_measures,
)


def test_worked_example_of_the_spec():
    x, labels, _ = worked_example()
    row = unit_measures(x, labels, top=(5,)).iloc[0]
    assert row.top_class == 0 and not row.localist
    assert (row.precision_5, row.precision_5_class, row.n_classes_top5) == (0.6, 0, 3)
    assert row.ccmas == pytest.approx((5.75 - 14 / 6) / (5.75 + 14 / 6))
    assert row.ccmas == pytest.approx(0.4227, abs=1e-4)
    assert row.ccmas_classmean == pytest.approx(0.4375)
    assert (row.ccmas_2_class, row.ccmas_2) == (1, pytest.approx(-2 / 7))
    assert row.recall_p100 == 0.5 and row.recall_p95 == 0.5
    assert row.max_informedness == pytest.approx(0.75 - 1 / 6)
    assert (row.mi_class, row.mi_threshold) == (0, 5.0)
    assert row.mi_recall == 0.75
    assert row.mi_specificity == pytest.approx(5 / 6)
    assert row.mi_false_alarm == 0.25
    assert row.mi_fpr == pytest.approx(1 / 6)


# --- the oracle: a slow, per-unit, per-class reading of the spec using scikit-learn ------


def oracle_row(x: np.ndarray, y: np.ndarray, top=(60, 100)) -> dict:
    classes = np.arange(y.max() + 1)
    top_class = y[np.argmax(x)]  # argmax: first (lowest index) of the tied maxima
    gaps = [x[y == c].min() - x[y != c].max() for c in classes]
    row = {
        "top_class": top_class,
        "localist_class": int(np.argmax(gaps)),
        "localist_gap": max(gaps),
        "localist": max(gaps) > 0,
    }
    ranked = sorted(range(len(x)), key=lambda i: (-x[i], i))
    for n in top:
        counts = Counter(y[i] for i in ranked[:n])
        best = max(counts.values())
        row[f"precision_{n}"] = best / n
        row[f"precision_{n}_class"] = next(y[i] for i in ranked[:n] if counts[y[i]] == best)
        row[f"n_classes_top{n}"] = len(counts)
    means = np.array([x[y == c].mean() for c in classes])
    a, b = np.argsort(-means, kind="stable")[:2]
    for name, c in (("ccmas", a), ("ccmas_2", b)):
        mu_c, mu_rest = x[y == c].mean(), x[y != c].mean()
        row[name] = np.nan if mu_c + mu_rest == 0 else (mu_c - mu_rest) / (mu_c + mu_rest)
        row[f"{name}_class"] = c
    mu_other = np.delete(means, a).mean()
    with np.errstate(invalid="ignore"):  # a dead unit: 0 / 0
        row["ccmas_classmean"] = (means[a] - mu_other) / (means[a] + mu_other)
    precision, recall, _ = precision_recall_curve(y == top_class, x)
    row["recall_p100"] = recall[precision == 1].max()
    row["recall_p95"] = recall[precision >= 0.95 - 1e-12].max()
    row.update(oracle_informedness(x, y, classes))
    row.update(detector_oracle(x, y))
    return row


def oracle_informedness(x: np.ndarray, y: np.ndarray, classes: np.ndarray) -> dict:
    points = []
    for c in classes:
        fpr, tpr, thresholds = roc_curve(y == c, x, drop_intermediate=False)
        finite = np.isfinite(thresholds)  # sklearn adds +inf (nothing above it)
        for j, t in zip((tpr - fpr)[finite], thresholds[finite], strict=False):
            points.append((j, t, c))
    best = max(j for j, _, _ in points)
    _, t, c = min(
        ((j, t, c) for j, t, c in points if j >= best - 1e-12), key=lambda p: (-p[1], p[2])
    )
    above = x >= t
    tp, fp = np.sum(above & (y == c)), np.sum(above & (y != c))
    n_other = np.sum(y != c)
    return {
        "max_informedness": best,
        "mi_class": c,
        "mi_threshold": t,
        "mi_recall": tp / np.sum(y == c),
        "mi_specificity": 1 - fp / n_other,
        "mi_false_alarm": fp / (tp + fp),
        "mi_fpr": fp / n_other,
    }


def relu_like(rng, n_images=400, n_units=24, n_classes=6, decimals=1):
    """Post-ReLU-like activations with exact zeros and many ties, some units selective."""
    labels = rng.integers(0, n_classes, n_images)
    labels[:n_classes] = np.arange(n_classes)  # every class present
    shift = rng.normal(0, 1.5, (n_classes, n_units))
    x = np.maximum(rng.normal(-0.3, 1, (n_images, n_units)) + shift[labels], 0)
    x = np.round(x, decimals).astype(np.float32)
    x[:, 0] = 0  # a dead unit
    x[:, 1] = np.where(labels == 2, 1 + x[:, 1], 0)  # a grandmother unit for class 2
    x[:, 2] = np.where(labels == 3, 0.5, 0.2)  # two values only
    return x, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_oracle_on_data_with_ties_and_zeros(seed):
    x, labels = relu_like(np.random.default_rng(seed))
    table = unit_measures(x, labels, block_size=5)
    oracle = pd.DataFrame(
        [oracle_row(x[:, u].astype(np.float64), labels) for u in range(x.shape[1])]
    )
    for column in COLUMNS:
        mine, theirs = table[column].to_numpy(), oracle[column].to_numpy()
        if mine.dtype.kind == "f":
            np.testing.assert_allclose(
                mine, theirs.astype(float), rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=column
            )
        else:
            np.testing.assert_array_equal(mine, theirs, err_msg=column)


def test_matches_the_oracle_deep_in_the_ranking():
    """Few large classes: recall at .95 precision and the best threshold lie deep in the
    ranking, beyond the first ranks the kernel keeps, or in the last run (the zeros)."""
    rng = np.random.default_rng(14)
    x, labels = relu_like(rng, n_images=1500, n_units=9, n_classes=3, decimals=2)
    x[:, 3] = np.where(labels == 1, rng.uniform(0.5, 1, labels.size), 0)  # all of class 1
    x[:, 4] = np.where(labels == 1, np.where(rng.random(labels.size) < 0.97, 1.0, 0), 0.0)
    x[rng.random(labels.size) < 0.04, 4] = 1.0  # precision about .95 down to its last rank
    x[:, 5] = np.where(labels == 0, 0.0, 0.3)  # the best threshold is the lowest value
    x[:, 6] = np.round(x[:, 6] - 1.5, 1)  # negative, nearly every image at the lowest value
    table = unit_measures(x, labels)
    for u in range(x.shape[1]):
        expected = oracle_row(x[:, u].astype(np.float64), labels)
        for column in COLUMNS:
            assert table[column].iloc[u] == pytest.approx(expected[column], nan_ok=True), (
                u,
                column,
            )


def test_negative_activations_match_the_oracle():
    x, labels = relu_like(np.random.default_rng(10), n_units=8)
    x = np.round(x - 0.6, 1).astype(np.float32)  # fc8-like: negative values, ties at -0.0
    x[:, 3] = -0.0
    x[::2, 3] = 0.0
    table = unit_measures(x, labels)
    for u in range(x.shape[1]):
        expected = oracle_row(x[:, u].astype(np.float64), labels)
        for column in (
            "top_class",
            "precision_100",
            "recall_p100",
            "recall_p95",
            "max_informedness",
            "mi_class",
            "mi_threshold",
            "localist_gap",
        ):
            assert table[column].iloc[u] == pytest.approx(expected[column]), (u, column)


def test_float64_and_float32_activations_agree():
    x, labels = relu_like(np.random.default_rng(11))
    pd.testing.assert_frame_equal(
        unit_measures(x, labels), unit_measures(x.astype(np.float64), labels)
    )


def test_known_units_in_the_generated_data():
    x, labels = relu_like(np.random.default_rng(0))
    table = unit_measures(x, labels)
    dead, grandmother, two_valued = table.iloc[0], table.iloc[1], table.iloc[2]
    assert np.isnan(dead.ccmas) and dead.max_informedness == 0
    assert grandmother.localist and grandmother.localist_class == 2
    assert grandmother.recall_p100 == 1 and grandmother.max_informedness == 1
    assert two_valued.localist and two_valued.mi_threshold == 0.5


# --- properties ----------------------------------------------------------------------------


def continuous(rng, sizes=(37, 53, 61, 71, 83), n_units=16):
    """No ties anywhere, unequal class sizes: every measure is then order-free."""
    labels = np.repeat(np.arange(len(sizes)), sizes)
    x = (
        rng.gamma(1.0, 1.0, (labels.size, n_units))
        + rng.normal(0, 1, (len(sizes), n_units))[labels]
    )
    return x, labels


def test_shuffling_images_changes_nothing():
    rng = np.random.default_rng(3)
    x, labels = continuous(rng)
    order = rng.permutation(len(labels))
    pd.testing.assert_frame_equal(unit_measures(x, labels), unit_measures(x[order], labels[order]))


def test_shuffling_keeps_threshold_measures_even_with_ties():
    rng = np.random.default_rng(4)
    x, labels = relu_like(rng)
    order = rng.permutation(len(labels))
    tie_free = [
        "localist",
        "localist_gap",
        "ccmas",
        "ccmas_2",
        "ccmas_classmean",
        "max_informedness",
        "mi_threshold",
        "mi_class",
        "mi_false_alarm",
    ]
    pd.testing.assert_frame_equal(
        unit_measures(x, labels)[tie_free], unit_measures(x[order], labels[order])[tie_free]
    )


def test_localist_iff_perfect_recall_at_perfect_precision():
    rng = np.random.default_rng(5)
    for x, labels in [relu_like(rng), *figure_a2_cases().values()]:
        table = unit_measures(x.reshape(len(labels), -1), labels)
        np.testing.assert_array_equal(table.localist, table.recall_p100 == 1)


def test_relabelling_classes_permutes_class_columns():
    rng = np.random.default_rng(6)
    x, labels = continuous(rng)
    perm = rng.permutation(labels.max() + 1)
    before, after = unit_measures(x, labels), unit_measures(x, perm[labels])
    for column in CLASS_COLUMNS:
        np.testing.assert_array_equal(perm[before[column]], after[column], err_msg=column)
    values = [c for c in COLUMNS if c not in CLASS_COLUMNS]
    pd.testing.assert_frame_equal(before[values], after[values])


def test_blocks_and_hdf5_give_the_same_table(tmp_path):
    x, labels = relu_like(np.random.default_rng(7), n_units=40)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("x", data=x, chunks=(64, 8))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        from_file = unit_measures(f["x"], labels, block_size=16)
    for block in (1, 7, None):
        pd.testing.assert_frame_equal(unit_measures(x, labels, block_size=block), from_file)


def test_absent_classes_keep_their_numbers():
    x, labels = continuous(np.random.default_rng(12))
    sparse_labels = np.array([3, 10, 11, 40, 99])[labels]
    dense, sparse = unit_measures(x, labels), present_class_measures(x, sparse_labels)
    for column in CLASS_COLUMNS:
        np.testing.assert_array_equal(np.array([3, 10, 11, 40, 99])[dense[column]], sparse[column])
    pd.testing.assert_series_equal(dense.max_informedness, sparse.max_informedness)


def test_unit_offset_numbers_the_index():
    x, labels = relu_like(np.random.default_rng(8), n_units=5)
    assert list(unit_measures(x, labels, unit_offset=100).index) == [100, 101, 102, 103, 104]


def test_columns_follow_the_top_sizes():
    assert measure_columns((5, 10))[4:9] == [
        "precision_5",
        "precision_5_class",
        "precision_10",
        "precision_10_class",
        "n_classes_top10",
    ]


# --- the paper's Fig. A2 cases --------------------------------------------------------------


def test_figure_a2_cases_reproduce_the_papers_point():
    table = {
        name: unit_measures(x[:, None], y).iloc[0] for name, (x, y) in figure_a2_cases().items()
    }
    a, b, c = table["a_one_active_item"], table["b_grandmother"], table["c_one_class_above"]
    assert a.ccmas == 1 and b.ccmas == 1  # same CCMAS ...
    assert a.precision_100 < 0.2 and b.precision_100 == 1  # ... very different precision
    assert c.ccmas == pytest.approx(0.06, abs=0.005) and c.precision_100 == 1
    assert b.localist and c.localist and not a.localist


# --- bad input -----------------------------------------------------------------------------


@pytest.fixture
def good():
    return relu_like(np.random.default_rng(9), n_units=3)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda x, y: (x[:-1], y), "one integer per image"),
        (lambda x, y: (x[:, 0], y), "2-D"),
        (lambda x, y: (np.where(np.arange(x.shape[1]) == 2, np.nan, x), y), "NaN or infinite"),
        (lambda x, y: (np.where(np.arange(x.shape[1]) == 1, np.inf, x), y), "first unit 1"),
        (lambda x, y: (x, y.astype(float)), "integers"),
        (lambda x, y: (x, np.where(np.arange(y.size) == 5, -1, y)), "must lie in"),
        (lambda x, y: (x, np.where(y == 3, 4, y)), "have no images"),
        (lambda x, y: (x, np.zeros_like(y)), "at least 2 classes"),
        (lambda x, y: (x[:80], y[:80]), "at least 100 images"),
        (lambda x, y: ([[1.0]], y), "convert it"),
    ],
)
def test_bad_input_names_the_problem(good, mutate, message):
    x, labels = mutate(*good)
    with pytest.raises(MeasureInputError, match=message):
        unit_measures(x, labels)


def test_labels_beyond_n_classes_are_refused(good):
    x, labels = good
    with pytest.raises(MeasureInputError, match=r"0\.\.3"):
        unit_measures(x, labels, n_classes=4)


def test_block_results_do_not_hold_the_block():
    """Each unit's row must not keep a view of the (units, images) work arrays alive:
    over a layer of thousands of blocks that would grow memory without bound."""
    from compendium.measures import ClassIndex, _block_measures

    x, labels = relu_like(np.random.default_rng(13), n_units=4)
    classes = ClassIndex.from_labels(labels, len(labels), None)
    out = _block_measures(np.ascontiguousarray(x.T), classes, (60, 100))
    for name, values in out.items():
        assert values.base is None or values.base.size <= values.size, name
