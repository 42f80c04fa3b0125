"""The paper's 'detector' columns of `unit_measures` (spec/beyond.md, "The paper's own
detector criteria"): the spec's worked example, units whose answer is known by hand, and a
brute-force reading of the definitions on random data with ties and zeros, for the numpy
and the torch (CPU) backends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import detector_oracle
from test_measures import relu_like

from compendium.inputs.synthetic import worked_example
from compendium.measures import COLUMNS, unit_measures

DETECTOR_COLUMNS = ["detector", "detector_class", "detector_recall", "detector_false_alarm"]
BACKENDS = [{}, {"backend": "torch", "device": "cpu"}]


def measured(x: np.ndarray, labels: np.ndarray, backend: dict, **options) -> pd.DataFrame:
    return unit_measures(x, labels, top=(1,), progress=False, **backend, **options)


def assert_matches_oracle(table: pd.DataFrame, x: np.ndarray, labels: np.ndarray) -> None:
    oracle = pd.DataFrame(
        [detector_oracle(x[:, u].astype(np.float64), labels) for u in range(x.shape[1])]
    )
    for column in DETECTOR_COLUMNS:
        mine, theirs = table[column].to_numpy(), oracle[column].to_numpy()
        if column in ("detector_recall", "detector_false_alarm"):
            np.testing.assert_allclose(
                mine, theirs.astype(float), rtol=0, atol=1e-12, err_msg=column
            )
        else:
            np.testing.assert_array_equal(mine, theirs, err_msg=column)


def test_the_columns_are_part_of_every_table():
    assert set(DETECTOR_COLUMNS) <= set(COLUMNS)
    x, labels = relu_like(np.random.default_rng(0), n_units=3)
    table = unit_measures(x, labels)
    assert table["detector"].dtype == bool and table["detector_class"].dtype == np.int64
    empty = unit_measures(x[:, :0], labels)
    assert list(empty.columns) == COLUMNS and empty["detector"].dtype == bool


@pytest.mark.parametrize("backend", BACKENDS)
def test_worked_example_of_the_spec(backend):
    # Class A (4 images): at t = 5 three hits (recall .75 > .5) and one false alarm, the
    # largest TP - FP; B and C need their lowest thresholds for recall > .5 and lose there.
    x, labels, _ = worked_example()
    row = measured(x, labels, backend).iloc[0]
    assert bool(row.detector) and row.detector_class == 0
    assert row.detector_recall == 0.75 and row.detector_false_alarm == 0.25


@pytest.mark.parametrize("backend", BACKENDS)
def test_equal_margins_go_to_the_higher_threshold(backend):
    # Class 0 (4 images): 3 hits and 0 false alarms at 8, 4 hits and 1 false alarm at 6:
    # both TP - FP = 3; the higher threshold (recall .75, no false alarm) is the one taken.
    x = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], np.float32)[:, None]
    labels = np.array([0, 0, 0, 1, 0, 1, 1, 1, 1, 1])
    row = measured(x, labels, backend).iloc[0]
    assert bool(row.detector) and row.detector_class == 0
    assert (row.detector_recall, row.detector_false_alarm) == (0.75, 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_equal_margins_between_classes_go_to_the_lower_class(backend):
    # Class 1 (3 images) has its two best on top: TP - FP = 2 at 8, no false alarm. Class 0
    # (4 images) comes next: at its last member, 6, 4 hits and 2 false alarms (class 1's),
    # TP - FP = 2 as well. The lower class is taken, with its own recall and false alarms.
    x = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], np.float32)[:, None]
    labels = np.array([1, 1, 0, 0, 0, 0, 2, 2, 2, 1])
    row = measured(x, labels, backend).iloc[0]
    assert bool(row.detector) and row.detector_class == 0
    assert row.detector_recall == 1.0 and row.detector_false_alarm == pytest.approx(1 / 3)
    assert detector_oracle(x[:, 0], labels)["detector_class"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_units_with_a_known_answer(backend):
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 25)
    x = np.zeros((100, 4), np.float32)  # unit 0: silent
    x[:, 1] = np.where(labels == 2, 1 + rng.random(100), 0)  # a grandmother unit for class 2
    x[:, 2] = np.where(labels == 3, 1.0, 0.5)  # two values: every class 3 image on top
    x[:, 3] = np.round(rng.random(100), 1)  # unrelated to the classes
    table = measured(x, labels, backend)
    silent, grandmother, two_valued = table.iloc[0], table.iloc[1], table.iloc[2]
    # A silent unit's only threshold takes in every image: TP = 25 < FP = 75 for each class.
    assert not silent.detector and silent.detector_class == 0
    assert (silent.detector_recall, silent.detector_false_alarm) == (1.0, 0.75)
    assert grandmother.detector and grandmother.detector_class == 2
    assert (grandmother.detector_recall, grandmother.detector_false_alarm) == (1.0, 0.0)
    assert two_valued.detector and two_valued.detector_class == 3
    assert_matches_oracle(table, x, labels)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_class_with_most_of_the_images_makes_even_a_silent_unit_a_detector(backend):
    # The bar counts images: with 60 of 100 images in class 1, taking every image in gives
    # more hits (60) than misses (0) and than false alarms (40).
    labels = np.repeat([0, 1], [40, 60])
    row = measured(np.zeros((100, 1), np.float32), labels, backend).iloc[0]
    assert row.detector and row.detector_class == 1
    assert (row.detector_recall, row.detector_false_alarm) == (1.0, 0.4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_brute_force_on_data_with_ties_and_zeros(backend, seed):
    rng = np.random.default_rng(seed)
    x, labels = relu_like(rng, n_images=300, n_units=20, n_classes=5, decimals=seed % 2)
    table = measured(x, labels, backend, block_size=6)
    assert_matches_oracle(table, x, labels)


@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_brute_force_with_negative_values_unequal_classes_and_integers(backend):
    rng = np.random.default_rng(7)
    labels = rng.choice(4, 250, p=[0.1, 0.2, 0.3, 0.4])
    labels[:4] = np.arange(4)
    shift = rng.normal(0, 1.2, (4, 12))[labels]
    x = np.round(rng.normal(0, 1, (250, 12)) + shift, 1).astype(np.float32)
    x[:, 0] = -0.0  # one unit at -0.0 and 0.0
    x[::3, 0] = 0.0
    assert_matches_oracle(measured(x, labels, backend), x, labels)
    counts = rng.integers(0, 4, (250, 6))  # integer activations: few values, many ties
    assert_matches_oracle(measured(counts, labels, backend), counts, labels)


def test_both_backends_agree_on_a_larger_layer():
    x, labels = relu_like(np.random.default_rng(9), n_images=600, n_units=40, n_classes=8)
    numpy_table = unit_measures(x, labels)[DETECTOR_COLUMNS]
    torch_table = unit_measures(x, labels, backend="torch", device="cpu")[DETECTOR_COLUMNS]
    pd.testing.assert_frame_equal(numpy_table, torch_table)


def test_shuffling_the_images_changes_nothing():
    rng = np.random.default_rng(11)
    x, labels = relu_like(rng)
    order = rng.permutation(len(labels))
    pd.testing.assert_frame_equal(
        unit_measures(x, labels)[DETECTOR_COLUMNS],
        unit_measures(x[order], labels[order])[DETECTOR_COLUMNS],
    )


def test_a_new_measure_makes_cached_tables_stale(tmp_path, monkeypatch):
    from compendium.measures import tables

    path = tmp_path / "acts.h5"
    path.write_bytes(b"stand-in: only its size and time enter the key")
    before = tables._cache_file(path, ["fc6"], None, "max", tmp_path)
    monkeypatch.setattr(tables, "COLUMNS", [c for c in COLUMNS if c not in DETECTOR_COLUMNS])
    assert tables._cache_file(path, ["fc6"], None, "max", tmp_path) != before
