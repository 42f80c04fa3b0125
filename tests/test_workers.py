"""`unit_measures(..., workers=N)` and `compendium measures --workers N`: blocks of units
measured by several workers (forked processes, or threads) give the table of one worker,
within the same memory budget."""

from __future__ import annotations

import os
import threading
from functools import partial

import h5py
import numpy as np
import pandas as pd
import pytest
from test_measures import relu_like

import compendium.measures as measures
from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.build.cli import main
from compendium.measures import MeasureInputError, available_cores, unit_measures
from compendium.measures._run import SlabReader, can_fork, piece_rows

WORKERS = (1, 2, 3)


@pytest.fixture(autouse=True)
def small_layers_in_parallel(monkeypatch):
    """These layers are small: let them be measured by several workers all the same."""
    monkeypatch.setattr(measures, "PARALLEL_MIN_ENTRIES", 0)


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


def test_the_default_leaves_a_core_to_the_reader_when_one_reads_ahead(monkeypatch):
    from compendium.measures import _run

    monkeypatch.setattr(_run, "available_cores", lambda: 4)
    assert _run.worker_count(None) == 4 and _run.worker_count(None, reading=True) == 3
    monkeypatch.setattr(_run, "available_cores", lambda: 1)
    assert _run.worker_count(None, reading=True) == 1
    assert _run.worker_count(2, reading=True) == 2 and _run.worker_count(None, "torch") == 1


class BlockLog:
    """The numpy kernel, made to note (units, process id, thread name) of every block it
    measures in a file, which forked workers append to as well."""

    def __init__(self, monkeypatch, path) -> None:
        self.path = path
        kernel = measures._block_measures

        def noting(xt, classes, top):
            with open(path, "a", encoding="utf-8") as log:
                log.write(f"{xt.shape[0]} {os.getpid()} {threading.current_thread().name}\n")
            return kernel(xt, classes, top)

        monkeypatch.setattr(measures, "_block_measures", noting)

    def take(self) -> list[tuple[int, int, str]]:
        if not self.path.exists():
            return []
        rows = [line.split() for line in self.path.read_text(encoding="utf-8").splitlines()]
        self.path.unlink()
        return [(int(units), int(pid), name) for units, pid, name in rows]


def test_workers_run_apart_and_share_the_memory_budget(data, monkeypatch, tmp_path):
    x, labels = data
    budget = 12 * measures.BYTES_PER_UNIT_IMAGE * x.shape[0]  # 12 units at once
    blocks = BlockLog(monkeypatch, tmp_path / "blocks.txt")
    unit_measures(x, labels, memory_bytes=budget, workers=1)
    one = blocks.take()
    unit_measures(x, labels, memory_bytes=budget, workers=3)
    three = blocks.take()
    assert max(units for units, _, _ in one) == 12
    assert max(units for units, _, _ in three) == 4  # 3 blocks of 4 at once
    assert {pid for _, pid, _ in one} == {os.getpid()}
    if can_fork():  # forked processes, else threads of this process
        assert os.getpid() not in {pid for _, pid, _ in three}
        assert len({pid for _, pid, _ in three}) <= 3
    else:
        assert {name.startswith("measures") for _, _, name in three} == {True}
    assert sum(units for units, _, _ in three) == x.shape[1]


def test_more_workers_than_the_budget_holds_units_use_fewer_workers(data, monkeypatch, tmp_path):
    x, labels = data
    budget = 2 * measures.BYTES_PER_UNIT_IMAGE * x.shape[0]  # 2 units at once
    blocks = BlockLog(monkeypatch, tmp_path / "blocks.txt")
    unit_measures(x, labels, memory_bytes=budget, workers=3)
    seen = blocks.take()
    assert {units for units, _, _ in seen} == {1}
    assert len({(pid, name) for _, pid, name in seen}) <= 2


def test_a_small_layer_is_measured_by_one_worker(data, monkeypatch, tmp_path):
    x, labels = data
    monkeypatch.setattr(measures, "PARALLEL_MIN_ENTRIES", x.size + 1)
    budget = 5 * measures.BYTES_PER_UNIT_IMAGE * x.shape[0]
    blocks = BlockLog(monkeypatch, tmp_path / "blocks.txt")
    unit_measures(x, labels, memory_bytes=budget, workers=3)
    assert {(pid, name) for _, pid, name in blocks.take()} == {
        (os.getpid(), threading.current_thread().name)
    }


def test_blocks_are_even_shares_of_the_units_read_at_once(data, monkeypatch, tmp_path):
    x, labels = data
    blocks = BlockLog(monkeypatch, tmp_path / "blocks.txt")
    unit_measures(x, labels, workers=2)  # 23 units, 11 per worker by the budget
    assert sorted(units for units, _, _ in blocks.take()) == [5, 6, 6, 6]  # not 11, 11 and 1


def test_threads_measure_where_no_process_can_be_forked(data, monkeypatch):
    from compendium.measures import _run

    x, labels = data
    monkeypatch.setattr(_run, "can_fork", lambda: False)
    budget = 5 * measures.BYTES_PER_UNIT_IMAGE * x.shape[0]
    pd.testing.assert_frame_equal(
        unit_measures(x, labels, memory_bytes=budget, workers=2),
        unit_measures(x, labels, workers=1),
        check_exact=True,
    )


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


def test_slabs_read_ahead_from_a_file_give_the_same_table(data, tmp_path, monkeypatch):
    x, labels = data
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("x", data=x, chunks=(100, 2))
    expected = unit_measures(x, labels, workers=1)
    n = x.shape[0]
    budget = 2 * measures.BYTES_PER_UNIT_IMAGE * n + 30 * 4 * n  # blocks of 2; 30 values
    with h5py.File(tmp_path / "a.h5", "r") as f:
        _, width = measures.memory_plan(f["x"], budget, block_size=2)
        # 10 units: each held in this slab, the next (read meanwhile) and the piece read
        assert width == 10
        for w in (1, 2):
            table = unit_measures(f["x"], labels, memory_bytes=budget, block_size=2, workers=w)
            pd.testing.assert_frame_equal(table, expected, check_exact=True)


def test_the_slab_reader_gives_each_slab_read_ahead_or_not(data):
    x, _ = data
    for ahead, transpose in ((True, False), (False, False), (True, True), (False, True)):
        with SlabReader(x, 10, ahead, transpose) as slabs:
            got = []
            for start in range(0, x.shape[1], 10):
                got.append(slabs.take(start))
                slabs.read_ahead(start + 10)
        assert [g.shape[1] for g in got] == [10, 10, 3]
        assert all(g.T.flags.c_contiguous for g in got) == transpose
        np.testing.assert_array_equal(np.concatenate(got, axis=1), x)


def test_a_transposed_read_from_hdf5_comes_in_whole_chunks(data, tmp_path, monkeypatch):
    from compendium.measures import _run

    x, _ = data
    monkeypatch.setattr(_run, "TRANSPOSED_PIECE_IMAGES", 300)  # pieces of 2 chunks of 128
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("x", data=x, chunks=(128, 4))
    with h5py.File(tmp_path / "a.h5", "r") as f, SlabReader(f["x"], 8, True, True) as slabs:
        assert piece_rows(f["x"]) == 256
        np.testing.assert_array_equal(slabs.take(8), x[:, 8:16])


def test_no_read_ahead_where_two_slabs_do_not_fit_the_budget(tmp_path):
    x = np.zeros((10_000, 3), np.float32)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("x", data=x)
    smallest = measures.BYTES_PER_UNIT_IMAGE * 10_000 + 4 * 10_000  # one block, one unit read
    with h5py.File(tmp_path / "a.h5", "r") as f:
        block, width = measures.memory_plan(f["x"], smallest)
        assert (block, width) == (1, 1)
        assert not measures.reads_ahead(f["x"], block, width, smallest)
        roomy = smallest + 3 * 4 * 10_000
        assert measures.reads_ahead(f["x"], block, width, roomy)
        assert not measures.reads_ahead(x, block, width, roomy)  # in memory: nothing to read


def test_a_runner_lets_go_of_its_slab_when_its_block_ends():
    import gc
    import weakref

    from compendium.measures._run import parallel_map

    for workers in (1, 2):
        slab = np.ones((4, 4))
        seen = weakref.ref(slab)
        with parallel_map(workers, partial(np.sum, slab)) as run:
            assert list(run([(), ()])) == [16.0, 16.0]
        del slab
        gc.collect()
        assert seen() is None, f"the slab outlived the block with {workers} worker(s)"
        with pytest.raises(RuntimeError, match="inside its block"):
            run([()])
