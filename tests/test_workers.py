"""`unit_measures(..., workers=N)` and `compendium measures --workers N`: blocks of units
measured by several threads give the table of one worker, within the same memory budget."""

from __future__ import annotations

import threading

import h5py
import numpy as np
import pandas as pd
import pytest
from test_measures import relu_like

import compendium.measures as measures
from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.build.cli import main
from compendium.measures import MeasureInputError, available_cores, unit_measures

WORKERS = (1, 2, 3)


@pytest.fixture
def data():
    """Ties, exact zeros, a dead unit, negative values with -0.0, unequal classes."""
    x, labels = relu_like(np.random.default_rng(21), n_images=500, n_units=23)
    x[:, 4] = np.round(x[:, 4] - 0.6, 1)
    x[::3, 4] = -0.0
    return x, labels


@pytest.mark.parametrize("block_size", [None, 1, 4])
def test_tables_are_identical_for_any_number_of_workers(data, block_size):
    x, labels = data
    tables = [unit_measures(x, labels, block_size=block_size, workers=w) for w in WORKERS]
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0], check_exact=True)


def test_a_small_budget_splits_the_layer_and_gives_the_same_table(data):
    x, labels = data
    budget = 5 * measures.BYTES_PER_UNIT_IMAGE * x.shape[0]  # 5 units per block
    tables = [unit_measures(x, labels, memory_bytes=budget, workers=w) for w in WORKERS]
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0], check_exact=True)


def test_an_hdf5_dataset_gives_the_same_table_for_any_number_of_workers(data, tmp_path):
    x, labels = data
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("x", data=x, chunks=(128, 4))
    expected = unit_measures(x, labels, workers=1)
    with h5py.File(tmp_path / "a.h5", "r") as f:
        for w in WORKERS:
            for block in (None, 3):
                table = unit_measures(f["x"], labels, block_size=block, workers=w)
                pd.testing.assert_frame_equal(table, expected, check_exact=True)


def test_the_default_is_every_core(data):
    x, labels = data
    assert available_cores() >= 1
    pd.testing.assert_frame_equal(
        unit_measures(x, labels), unit_measures(x, labels, workers=1), check_exact=True
    )


def record_blocks(monkeypatch) -> list[tuple[int, str]]:
    """Make the numpy kernel note (units, thread name) of every block it measures."""
    seen: list[tuple[int, str]] = []
    kernel = measures._block_measures

    def noting(xt, classes, top):
        seen.append((xt.shape[0], threading.current_thread().name))
        return kernel(xt, classes, top)

    monkeypatch.setattr(measures, "_block_measures", noting)
    return seen


def test_workers_run_in_threads_and_share_the_memory_budget(data, monkeypatch):
    x, labels = data
    budget = 12 * measures.BYTES_PER_UNIT_IMAGE * x.shape[0]  # 12 units at once
    seen = record_blocks(monkeypatch)
    unit_measures(x, labels, memory_bytes=budget, workers=1)
    one = [units for units, _ in seen]
    seen.clear()
    unit_measures(x, labels, memory_bytes=budget, workers=3)
    assert max(one) == 12 and max(units for units, _ in seen) == 4  # 3 blocks of 4 at once
    assert {name.startswith("measures") for _, name in seen} == {True}
    assert sum(units for units, _ in seen) == x.shape[1]


def test_more_workers_than_the_budget_holds_units_use_fewer_threads(data, monkeypatch):
    x, labels = data
    budget = 2 * measures.BYTES_PER_UNIT_IMAGE * x.shape[0]  # 2 units at once
    seen = record_blocks(monkeypatch)
    unit_measures(x, labels, memory_bytes=budget, workers=3)
    assert {units for units, _ in seen} == {1}
    assert len({name for _, name in seen}) <= 2


def test_an_error_in_a_later_block_names_its_unit(data):
    x, labels = data
    x = x.copy()
    x[7, 17] = np.nan
    with pytest.raises(MeasureInputError, match="first unit 17"):
        unit_measures(x, labels, block_size=2, workers=3)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_worker_counts_are_refused(data, bad):
    x, labels = data
    with pytest.raises(MeasureInputError, match="workers must be a whole number"):
        unit_measures(x, labels, workers=bad)


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def activation_file(tmp_path, data):
    x, labels = data
    path = tmp_path / "acts.h5"
    with ActivationWriter(
        path,
        [LayerSpec("fc6", x.shape[1])],
        [f"c{i}" for i in range(6)],
        {"model": "test", "dataset": "generated"},
    ) as writer:
        writer.append({"fc6": {"max": x}}, labels, np.arange(labels.size))
        writer.finish()
    return path


def test_cli_tables_are_identical_for_any_number_of_workers(activation_file, tmp_path):
    tables = []
    for w in WORKERS:
        out = tmp_path / f"w{w}.csv"
        assert main(["measures", str(activation_file), "--out", str(out), "--workers", str(w)]) == 0
        tables.append(pd.read_csv(out))
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0], check_exact=True)


@pytest.mark.parametrize("bad", ["0", "two", "-3"])
def test_cli_refuses_bad_worker_counts(activation_file, tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as exit_:
        main(["measures", str(activation_file), "--out", str(tmp_path / "t.csv"), "--workers", bad])
    assert exit_.value.code == 2
    assert "--workers takes a whole number >= 1" in capsys.readouterr().err


def test_cli_refuses_workers_with_a_scheduler(activation_file, tmp_path, capsys):
    out = tmp_path / "t.csv"
    args = ["measures", str(activation_file), "--out", str(out), "--workers", "2"]
    assert main([*args, "--scheduler", "local"]) == 2
    assert "leave one of the two out" in capsys.readouterr().err
    assert not out.exists()
