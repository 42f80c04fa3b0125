"""A careless or hostile user must never lose data nor meet a traceback for their own mistake:
outputs that are inputs, labels a file does not name, folders given as files, the Python API's
own checks, one error type, and a memory budget the user sets (issue 10)."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from helpers import merged_example, write_merged_layer

import compendium
from compendium.activations.file import ActivationFileError
from compendium.activations.reader import open_activations
from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.build import cli, pipeline
from compendium.build.cli import main
from compendium.build.profiles import BOOK, NOTEBOOKS, ROOT
from compendium.build.stages import Step
from compendium.measures import (
    KERNEL_BYTES_PER_UNIT_IMAGE,
    MeasureInputError,
    memory_plan,
    unit_measures,
)
from compendium.measures.tables import checked_units, parse_memory, parse_units
from compendium.util.errors import CompendiumError
from compendium.util.files import OutputError, atomic_path, refuse_overwriting_inputs

CLASSES = [f"class{i}" for i in range(10)]


def write_acts(path: Path, labels: np.ndarray, n_units: int = 5, seed: int = 0) -> Path:
    """A compendium activation file of one fc layer for these labels."""
    rng = np.random.default_rng(seed)
    acts = np.maximum(rng.normal(size=(len(labels), n_units)), 0).astype(np.float32)
    with ActivationWriter(
        path, [LayerSpec("fc6", n_units)], CLASSES, {"model": "m", "dataset": "d"}
    ) as w:
        w.append({"fc6": {"max": acts}}, labels, np.arange(len(labels)))
        w.finish()
    return path


@pytest.fixture
def acts_file(tmp_path):
    return write_acts(tmp_path / "acts.h5", np.repeat(np.arange(10), 12))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def no_training(monkeypatch, tmp_path):
    """A cache of this test's own, and no network trained or loaded: a command that gets
    as far as training has not refused its output first."""
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))

    def refuse(*args, **kwargs):
        raise AssertionError("the command started work before checking its outputs")

    monkeypatch.setattr("compendium.networks.training.trained_model", refuse)
    monkeypatch.setattr("compendium.activations.recording.record_torchvision", refuse)
    return tmp_path / "cache"


# --- 1. an output that is an input ----------------------------------------------------------


def _same_as(kind: str, target: Path) -> Path:
    """A path that names `target`: itself, through '..', a symbolic link or a hard link."""
    if kind == "same":
        return target
    if kind == "dotdot":
        (target.parent / "sub").mkdir()
        return target.parent / "sub" / ".." / target.name
    link = target.parent / f"{kind}.csv"
    (os.symlink if kind == "symlink" else os.link)(target, link)
    return link


@pytest.mark.parametrize("kind", ["same", "dotdot", "symlink", "hardlink"])
def test_measures_refuses_an_output_that_is_its_input(acts_file, capsys, kind):
    before = acts_file.read_bytes()
    out = _same_as(kind, acts_file)
    assert main(["measures", str(acts_file), "--out", str(out)]) == 2
    err = one_error_line(capsys)
    assert f"the output {out} is the input {acts_file}" in err
    assert acts_file.read_bytes() == before


def test_measures_refuses_one_of_the_authors_files_of_its_folder(tmp_path, capsys):
    lines, per_class = merged_example(np.random.default_rng(0))
    layer = write_merged_layer(tmp_path / "AN_merged_fc6_max.h5", per_class, lines)
    before = layer.read_bytes()
    assert main(["measures", str(tmp_path), "--out", str(layer)]) == 2
    assert f"is the input {layer}" in one_error_line(capsys)
    assert layer.read_bytes() == before


def test_record_refuses_its_inputs_before_any_work(tmp_path, capsys, no_training):
    images, synsets = tmp_path / "images", tmp_path / "synsets.txt"
    (images / "n01440764").mkdir(parents=True)
    synsets.write_text("n01440764 tench\n")
    base = ["record", "--model", "alexnet", "--images", str(images), "--weights", "none"]
    assert main([*base, "--synsets", str(synsets), "--out", str(synsets)]) == 2
    assert f"the output {synsets} is the input {synsets}" in one_error_line(capsys)
    assert synsets.read_text() == "n01440764 tench\n"
    assert main([*base, "--out", str(images / "n01440764" / "acts.h5")]) == 2
    assert f"lies inside {images}" in one_error_line(capsys)


def test_record_refuses_an_output_among_the_trained_networks(tmp_path, capsys, no_training):
    (no_training / "models").mkdir(parents=True)
    out = no_training / "models" / "acts.h5"
    assert main(["record", "--out", str(out)]) == 2
    assert f"lies inside {no_training / 'models'}" in one_error_line(capsys)


def test_dissect_refuses_one_file_for_two_outputs_and_its_cache(tmp_path, capsys, no_training):
    out = tmp_path / "result.csv"
    args = ["dissect", "--layer", "conv5", "--out", str(out)]
    assert main([*args, "--iou-table", str(tmp_path / "." / "result.csv")]) == 2
    assert "two outputs are one file" in one_error_line(capsys)
    (no_training / "dissection").mkdir(parents=True)
    inside = no_training / "dissection" / "x.csv"
    assert main(["dissect", "--layer", "conv5", "--out", str(inside)]) == 2
    assert "lies inside" in one_error_line(capsys)


@pytest.fixture
def no_notebook_runs(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("notebooks started before their outputs were checked")

    monkeypatch.setattr(pipeline, "ensure_kernel", refuse)
    monkeypatch.setattr(pipeline, "_execute_one", refuse)
    monkeypatch.setattr(pipeline, "_copy_book_source", refuse)
    steps = [Step(step.section, refuse) for step in pipeline.PRE_NOTEBOOK_STEPS]
    monkeypatch.setattr(pipeline, "PRE_NOTEBOOK_STEPS", steps)


def test_notebooks_never_land_on_their_sources(tmp_path, no_notebook_runs):
    name, source = next(iter(pipeline.notebook_sources().items()))
    with pytest.raises(OutputError, match="lies inside"):
        pipeline.execute_notebooks("smoke", names=[name], out_dir=NOTEBOOKS)
    (tmp_path / f"{name}.ipynb").symlink_to(source)
    with pytest.raises(OutputError, match=f"is the input {source}"):
        pipeline.execute_notebooks("smoke", names=[name], out_dir=tmp_path)


def test_a_book_built_elsewhere_never_replaces_the_book_sources(no_notebook_runs):
    assert (ROOT / "book") == BOOK
    with pytest.raises(OutputError, match="lies inside"):
        pipeline.build_book("smoke", workdir=ROOT)
    assert BOOK.is_dir()


def test_the_check_itself(tmp_path):
    data, out = tmp_path / "data.h5", tmp_path / "out.csv"
    data.write_text("x")
    refuse_overwriting_inputs([out, None], [data, None])  # distinct paths pass
    with pytest.raises(OutputError, match=f"the output {data} is the input {data}"):
        refuse_overwriting_inputs([data], [data])
    with pytest.raises(OutputError, match="the output folder .* holds"):
        refuse_overwriting_inputs([tmp_path], [data], folder_outputs=True)


# --- 2. labels that the file does not name ---------------------------------------------------


@pytest.mark.parametrize(
    "value, dtype, shown",
    [(12, np.int64, "12"), (-1, np.int64, "-1"), (2.5, np.float64, "2.5")],
)
def test_labels_outside_the_class_names_are_refused(tmp_path, capsys, value, dtype, shown):
    labels = np.repeat(np.arange(10), 12)
    path = write_acts(tmp_path / "acts.h5", labels)
    bad = labels.astype(dtype)
    bad[37] = value
    with h5py.File(path, "a") as f:
        del f["labels"]
        f.create_dataset("labels", data=bad)
    out = tmp_path / "t.csv"
    assert main(["measures", str(path), "--out", str(out)]) == 2
    err = one_error_line(capsys)
    assert f"{path}: /labels holds {shown} at image 37" in err and "0..9" in err
    assert not out.exists()


def test_whole_float_labels_are_read_as_classes(tmp_path):
    labels = np.repeat(np.arange(10), 12)
    path = write_acts(tmp_path / "acts.h5", labels)
    with h5py.File(path, "a") as f:
        del f["labels"]
        f.create_dataset("labels", data=labels.astype(np.float32))
    with open_activations(path) as source:
        assert source.labels.dtype == np.int64 and source.labels.tolist() == labels.tolist()


@pytest.mark.parametrize("stray", ["n99999999", "other"])
def test_merged_labels_must_name_the_class_of_their_group(tmp_path, stray):
    lines, per_class = merged_example(np.random.default_rng(1))
    path = write_merged_layer(tmp_path / "AN_merged_fc6_max.h5", per_class, lines)
    groups = sorted(per_class)
    value = groups[0] if stray == "other" else stray
    with h5py.File(path, "a") as f:
        mappings = f[groups[1]]["label_mappings"][:]
        mappings[1, 0] = value.encode()
        del f[groups[1]]["label_mappings"]
        f[groups[1]].create_dataset("label_mappings", data=mappings)
    image = per_class[groups[0]].shape[0] + 1
    with pytest.raises(ActivationFileError) as error:
        open_activations(path)
    message = str(error.value)
    assert str(path) in message and f"/{groups[1]}/label_mappings" in message
    assert f"holds '{value}' at image {image}" in message


# --- 3. a folder given as the output file ----------------------------------------------------


def test_an_existing_folder_as_out_is_one_line(acts_file, tmp_path, capsys):
    folder = tmp_path / "tables"
    folder.mkdir()
    assert main(["measures", str(acts_file), "--out", str(folder)]) == 2
    assert f"the output {folder} is an existing folder" in one_error_line(capsys)
    with pytest.raises(OutputError, match="existing folder"), atomic_path(folder):
        pass


# --- 4. the Python API's own checks ----------------------------------------------------------

LABELS = np.repeat(np.arange(3), 40)


@pytest.mark.parametrize(
    "activations",
    [np.full((120, 2), "a"), np.full((120, 2), None, dtype=object), np.ones((120, 2)) * 1j],
)
def test_activations_that_are_not_numbers(activations):
    with pytest.raises(MeasureInputError, match=f"real numbers .*got dtype {activations.dtype}"):
        unit_measures(activations, LABELS, top=(10,))


class Strings:
    """A lazily read source without a dtype that yields text."""

    shape = (120, 3)

    def __getitem__(self, key):
        return np.full((120, 3), "x")[key]


def test_a_source_without_dtype_is_checked_as_it_is_read():
    with pytest.raises(MeasureInputError, match="real numbers"):
        unit_measures(Strings(), LABELS, top=(10,))


def test_zero_images():
    with pytest.raises(MeasureInputError, match=r"no images \(shape \(0, 4\)\)"):
        unit_measures(np.zeros((0, 4)), np.zeros(0, int))


def test_zero_units_give_an_empty_table_with_every_column():
    x = np.random.default_rng(2).random((120, 3))
    full = unit_measures(x, LABELS, top=(10, 20))
    empty = unit_measures(x[:, :0], LABELS, top=(10, 20), unit_offset=7)
    assert len(empty) == 0 and list(empty.columns) == list(full.columns)
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()
    assert empty.index.name == "unit"


def test_a_negative_label_names_the_classes_inferred():
    labels = LABELS.copy()
    labels[5] = -1
    with pytest.raises(MeasureInputError) as error:
        unit_measures(np.ones((120, 2)), labels, top=(10,))
    message = str(error.value)
    assert "0..C-1 = 0..2 (C = labels.max() + 1 = 3" in message and "-1 at image 5" in message
    assert str(np.iinfo(np.intp).max - 1) not in message


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, bool])
def test_integer_and_boolean_activations_are_ranked_as_numbers(dtype):
    rng = np.random.default_rng(3)
    x = (rng.random((120, 4)) * 3).astype(dtype)
    x[:40, 0] = 2 if dtype is not bool else True  # class 0 on top of unit 0
    pd.testing.assert_frame_equal(
        unit_measures(x, LABELS, top=(10,)), unit_measures(x.astype(np.float64), LABELS, top=(10,))
    )


def test_a_reversed_unit_range(acts_file, tmp_path, capsys):
    with pytest.raises(MeasureInputError, match="10:5 is reversed .*did you mean 5:10"):
        parse_units("10:5")
    with pytest.raises(MeasureInputError, match="5:5 is empty"):
        parse_units("5:5")
    with pytest.raises(MeasureInputError, match="reversed"):
        checked_units(slice(4, 2), 5, "fc6")
    with pytest.raises(SystemExit):
        main(["measures", str(acts_file), "--out", str(tmp_path / "t.csv"), "--units", "10:5"])
    assert "is reversed" in capsys.readouterr().err


# --- 5. one error type -----------------------------------------------------------------------


def _package_modules():
    for info in pkgutil.walk_packages(compendium.__path__, "compendium."):
        yield importlib.import_module(info.name)


def test_every_error_class_of_the_package_is_a_compendium_error():
    errors = {
        f"{module.__name__}.{name}": cls
        for module in _package_modules()
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Exception)
        and cls.__module__ == module.__name__
        and not name.startswith("_")
    }
    assert len(errors) >= 10
    assert [name for name, cls in errors.items() if not issubclass(cls, CompendiumError)] == []


def test_errors_that_were_bare_builtins_are_compendium_errors(tmp_path):
    from compendium.activations.recording import LayerRecorder
    from compendium.measures.cluster import measure_layer_on_cluster

    with pytest.raises(CompendiumError, match="usable as an HDF5 group name"):
        LayerSpec("a/b", 3)
    with pytest.raises(CompendiumError) as error:
        LayerRecorder(__import__("torch").nn.Linear(2, 2), {"x": "nothing"})
    assert isinstance(error.value, KeyError) and str(error.value).startswith("model has no")
    path = write_acts(tmp_path / "acts.h5", np.repeat(np.arange(10), 12))
    with pytest.raises(CompendiumError) as error:
        ActivationWriter(path, [LayerSpec("fc6", 5)], CLASSES, {"model": "m", "dataset": "d"})
    assert isinstance(error.value, FileExistsError)
    with pytest.raises(CompendiumError, match="units_per_task"):
        measure_layer_on_cluster(path, "fc6", units_per_task=0)
    with pytest.raises(CompendiumError, match="memory size"):
        parse_memory("lots")


@pytest.mark.parametrize("bug", [ValueError("a bug"), KeyError("a bug"), TypeError("a bug")])
def test_a_bug_keeps_its_traceback(acts_file, tmp_path, monkeypatch, bug):
    def broken(*args, **kwargs):
        raise bug

    monkeypatch.setattr("compendium.measures.tables.measure_layers", broken)
    with pytest.raises(type(bug), match="a bug"):
        main(["measures", str(acts_file), "--out", str(tmp_path / "t.csv")])


def test_user_errors_are_exactly_the_package_s_and_missing_files():
    assert cli.USER_ERRORS == (
        CompendiumError,
        FileNotFoundError,
        PermissionError,
        IsADirectoryError,
        NotADirectoryError,
    )


# --- 6. a memory budget the user sets --------------------------------------------------------


@pytest.mark.parametrize(
    "text, size",
    [
        ("2GB", 2 * 10**9),
        ("512MiB", 512 * 2**20),
        ("1.5G", 3 * 2**29),
        ("536870912", 536870912),
        (" 3 kb ", 3000),
        ("64k", 65536),
    ],
)
def test_memory_sizes(text, size):
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["lots", "-1GB", "2XB", "", "0", "1e9"])
def test_bad_memory_sizes(text):
    with pytest.raises(MeasureInputError, match="memory size"):
        parse_memory(text)


def test_memory_on_the_command_line(acts_file, tmp_path, capsys):
    out = tmp_path / "t.csv"
    with pytest.raises(SystemExit):
        main(["measures", str(acts_file), "--out", str(out), "--memory", "lots"])
    assert "a memory size is a number" in capsys.readouterr().err
    assert main(["measures", str(acts_file), "--out", str(out), "--memory", "1000"]) == 2
    err = one_error_line(capsys)
    assert "too small for one unit of 120 images" in err and "at least 1MiB" in err
    assert not out.exists()
    assert main(["measures", str(acts_file), "--out", str(out), "--memory", "1MiB"]) == 0
    assert len(pd.read_csv(out)) == 5


@pytest.fixture(scope="module")
def stored_layer(tmp_path_factory):
    """A chunked float32 dataset of 20,000 images and 256 units, read lazily."""
    path = tmp_path_factory.mktemp("layer") / "layer.h5"
    rng = np.random.default_rng(4)
    with h5py.File(path, "w") as f:
        x = np.maximum(rng.normal(size=(20_000, 256)), 0).astype(np.float32)
        f.create_dataset("x", data=x, chunks=(4000, 32))
    return path, rng.integers(0, 10, 20_000)


@pytest.mark.parametrize("mib", [4, 16, 64])
def test_the_read_and_the_block_fit_the_budget_together(stored_layer, mib):
    path, _ = stored_layer
    budget = mib * 2**20
    with h5py.File(path) as f:
        block, width = memory_plan(f["x"], budget)
        n_images = f["x"].shape[0]
    used = block * KERNEL_BYTES_PER_UNIT_IMAGE["numpy"] * n_images + width * 4 * n_images
    assert used <= budget and 1 <= block <= width


@pytest.mark.parametrize("mib", [4, 16])
def test_the_peak_follows_the_budget(stored_layer, mib):
    """numpy's allocations during a whole measurement stay within the budget, plus the
    per-image arrays of the labels. One worker, so that tracemalloc sees every block (it
    cannot see into forked workers)."""
    path, labels = stored_layer
    with h5py.File(path) as f:
        tracemalloc.start()
        try:
            unit_measures(f["x"], labels, memory_bytes=mib * 2**20, progress=False, workers=1)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak <= mib * 2**20 + 64 * len(labels)
