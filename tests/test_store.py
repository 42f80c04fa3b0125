"""Activation files: the compendium's own format and the authors' AlexNet_Merged layout."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from helpers import merged_example, write_merged_layer

from compendium.activations import store
from compendium.activations.file import ActivationFileError
from compendium.activations.reader import is_complete, open_activations
from compendium.activations.writer import ActivationWriter, LayerSpec, partial_path

CLASSES = ["a", "b", "c"]
PROV = {"model": "tiny", "dataset": "toy:test", "weights_sha256": "00", "preprocessing": "none"}
LAYERS = [LayerSpec("conv1", 4, kind="conv", shape=(4, 5, 5)), LayerSpec("fc6", 7)]


def batch(rng, n):
    return {
        "conv1": {"max": rng.random((n, 4)), "mean": rng.random((n, 4))},
        "fc6": {"max": rng.random((n, 7))},
    }


def write(path, batches, **kw):
    with ActivationWriter(path, LAYERS, CLASSES, PROV, **kw) as w:
        start = 0
        for b, labels in batches:
            n = len(labels)
            w.append(b, labels, np.arange(start, start + n), source_done=start + n)
            start += n
        w.finish()


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    b1, b2 = batch(rng, 5), batch(rng, 3)
    path = tmp_path / "acts.h5"
    write(path, [(b1, [0, 1, 2, 0, 1]), (b2, [2, 2, 0])], expected_images=8, commit_rows=4)
    assert is_complete(path) and not partial_path(path).exists()
    with open_activations(path) as f:
        assert f.format == "compendium"
        assert f.layers == ["conv1", "fc6"]
        assert f.class_names == CLASSES
        assert f.labels.tolist() == [0, 1, 2, 0, 1, 2, 2, 0]
        assert f.image_index.tolist() == list(range(8))
        assert f.attrs["model"] == "tiny" and f.attrs["format_version"] == 1
        assert f.attrs["package_version"] and f.attrs["created"]
        acts = f.activations("conv1")
        assert acts.shape == (8, 4)
        expected = np.concatenate([b1["conv1"]["max"], b2["conv1"]["max"]]).astype(np.float32)
        np.testing.assert_array_equal(acts[:, 1:3], expected[:, 1:3])
        mean = np.concatenate([b1["conv1"]["mean"], b2["conv1"]["mean"]]).astype(np.float32)
        np.testing.assert_array_equal(f.activations("conv1", "mean")[:], mean)
        assert f.summaries("fc6") == ["max"]
        assert f.layer_info("conv1") == {
            "kind": "conv",
            "shape": (4, 5, 5),
            "n_units": 4,
            "summaries": ["max", "mean"],
        }
    with h5py.File(path) as raw:
        assert raw["layers/fc6/max"].chunks == (8, 7)
        assert raw["labels"].dtype == np.int64


def test_interrupted_file_is_never_complete_and_resumes(tmp_path):
    rng = np.random.default_rng(1)
    batches = [(batch(rng, 2), [0, 1]) for _ in range(5)]
    path = tmp_path / "acts.h5"
    with pytest.raises(RuntimeError):
        with ActivationWriter(path, LAYERS, CLASSES, PROV, commit_rows=4) as w:
            for k, (b, labels) in enumerate(batches[:3]):
                w.append(b, labels, [2 * k, 2 * k + 1], source_done=2 * k + 2)
            raise RuntimeError("interrupted")
    assert not path.exists() and partial_path(path).exists()
    assert not is_complete(partial_path(path))
    with pytest.raises(FileNotFoundError, match="interrupted"):
        open_activations(path)
    with pytest.raises(ActivationFileError, match="unfinished"):
        open_activations(partial_path(path))

    with ActivationWriter(path, LAYERS, CLASSES, PROV, commit_rows=4) as w:
        assert w.n_committed == 6 and w.source_done == 6  # buffered rows were committed on exit
        for k in range(3, 5):
            b, labels = batches[k]
            w.append(b, labels, [2 * k, 2 * k + 1], source_done=2 * k + 2)
        w.finish()
    with open_activations(path) as f:
        assert f.image_index.tolist() == list(range(10))
        full = np.concatenate([b["fc6"]["max"] for b, _ in batches]).astype(np.float32)
        np.testing.assert_array_equal(f.activations("fc6")[:, :], full)


def test_rows_past_the_last_commit_are_dropped(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "acts.h5"
    w = ActivationWriter(path, LAYERS, CLASSES, PROV, commit_rows=100)
    w.append(batch(rng, 3), [0, 0, 0], [0, 1, 2], source_done=3)
    w.flush()
    # Simulate a crash half-way through a later flush: rows written, count not updated.
    w._file["layers/fc6/max"].resize(5, axis=0)
    w._file.close()
    with ActivationWriter(path, LAYERS, CLASSES, PROV) as w2:
        assert w2.n_committed == 3 and w2.source_done == 3
        assert w2._file["layers/fc6/max"].shape == (3, 7)


def test_resume_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "acts.h5"
    ActivationWriter(path, LAYERS, CLASSES, PROV).close()
    with pytest.raises(ActivationFileError, match="other settings.*model.*resume=False"):
        ActivationWriter(path, LAYERS, CLASSES, {**PROV, "model": "other"})
    with ActivationWriter(path, LAYERS, CLASSES, {**PROV, "model": "other"}, resume=False) as w:
        assert w.n_committed == 0


def test_corrupt_partial_starts_over(tmp_path):
    path = tmp_path / "acts.h5"
    partial_path(path).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with ActivationWriter(path, LAYERS, CLASSES, PROV) as w:
        assert w.n_committed == 0


def test_partial_cut_off_while_created_starts_over(tmp_path):
    path = tmp_path / "acts.h5"
    with h5py.File(partial_path(path), "w") as raw:
        raw.attrs["format"] = "compendium-activations"
    with ActivationWriter(path, LAYERS, CLASSES, PROV) as w:
        assert w.n_committed == 0


def test_finished_file_is_not_overwritten(tmp_path):
    path = tmp_path / "acts.h5"
    write(path, [])
    with pytest.raises(FileExistsError, match="delete it"):
        ActivationWriter(path, LAYERS, CLASSES, PROV)


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda b: b.pop("fc6"), "lacks layer 'fc6'"),
        (lambda b: b["conv1"].pop("mean"), "lacks summary 'mean'"),
        (lambda b: b["fc6"].update(max=np.zeros((2, 7))), r"expected shape \(3, 7\)"),
        (lambda b: b["fc6"]["max"].__setitem__((0, 0), np.nan), "NaN"),
    ],
)
def test_bad_batches_are_refused(tmp_path, bad, message):
    b = batch(np.random.default_rng(3), 3)
    bad(b)
    with ActivationWriter(tmp_path / "x.h5", LAYERS, CLASSES, PROV) as w:
        with pytest.raises(ValueError, match=message):
            w.append(b, [0, 1, 2], [0, 1, 2])


def test_bad_labels_and_provenance(tmp_path):
    b = batch(np.random.default_rng(3), 3)
    with ActivationWriter(tmp_path / "x.h5", LAYERS, CLASSES, PROV) as w:
        with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
            w.append(b, [0, 1, 3], [0, 1, 2])
    with pytest.raises(ValueError, match="provenance lacks"):
        ActivationWriter(tmp_path / "y.h5", LAYERS, CLASSES, {"model": "m"})


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="compendium record"):
        open_activations(tmp_path / "missing.h5")
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(ActivationFileError, match="not an HDF5 file"):
        open_activations(text)
    good = tmp_path / "good.h5"
    write(good, [(batch(np.random.default_rng(4), 20), [0] * 20)])
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ActivationFileError, match="truncated or corrupt"):
        open_activations(truncated)
    with open_activations(good) as f:
        with pytest.raises(ActivationFileError, match="no layer 'fc9'; it has conv1, fc6"):
            f.activations("fc9")
        with pytest.raises(ActivationFileError, match="no 'mean' summary"):
            f.activations("fc6", "mean")
    with h5py.File(good, "a") as raw:
        del raw["labels"]
    with pytest.raises(ActivationFileError, match="lacks /labels"):
        open_activations(good)
    empty = tmp_path / "empty.h5"
    h5py.File(empty, "w").close()
    with pytest.raises(ActivationFileError, match="neither"):
        open_activations(empty)


# -- the authors' AlexNet_Merged layout ----------------------------------------------------


@pytest.mark.parametrize("h5_suffix", [False, True])
def test_merged_single_file(tmp_path, h5_suffix):
    rng = np.random.default_rng(5)
    lines, per_class = merged_example(rng)
    path = write_merged_layer(
        tmp_path / "AN_merged_fc6_max.h5", per_class, lines, h5_suffix=h5_suffix
    )
    order = sorted(per_class)  # groups in sorted order define the image order
    expected = np.concatenate([per_class[w] for w in order])
    with open_activations(path) as f:
        assert f.format == "alexnet-merged"
        assert f.layers == ["fc6"]
        assert len(f.class_names) == 10 and f.class_names[2] == "class 2, thing 2"
        assert f.class_ids == [line.split()[0] for line in lines]
        wnid_index = {w: f.class_ids.index(w) for w in per_class}
        assert f.labels.tolist() == [wnid_index[w] for w in order for _ in per_class[w]]
        acts = f.activations("fc6")
        assert acts.shape == expected.shape
        np.testing.assert_array_equal(acts[:, 1:4], expected[:, 1:4])
        np.testing.assert_array_equal(acts[:, :], expected)
        np.testing.assert_array_equal(np.asarray(acts), expected)
        np.testing.assert_array_equal(acts[2:7, 5], expected[2:7, 5])
        np.testing.assert_array_equal(acts[4], expected[4])
        np.testing.assert_array_equal(acts[::3, [4, 0, 4]], expected[::3][:, [4, 0, 4]])
        np.testing.assert_array_equal(acts[-2:, -1], expected[-2:, -1])
        assert acts[3:3, 0:2].shape == (0, 2)
        assert f.image_names()[0] == f"{order[0]}_0.JPEG"


def test_merged_folder(tmp_path):
    rng = np.random.default_rng(6)
    lines, per_class = merged_example(rng)
    _, other = merged_example(rng, n_units=3)
    write_merged_layer(tmp_path / "AN_merged_fc6_max.h5", per_class, lines)
    write_merged_layer(tmp_path / "AN_merged_conv5_max.h5", other, lines)
    with open_activations(tmp_path) as f:
        assert f.layers == ["conv5", "fc6"]
        assert f.activations("conv5").shape == (10, 3)
        assert f.layer_info("conv5")["kind"] == "conv"
        with pytest.raises(ActivationFileError, match="no layer 'fc7'; it has conv5, fc6"):
            f.activations("fc7")


def test_merged_folder_mismatch_and_damage(tmp_path):
    rng = np.random.default_rng(7)
    lines, per_class = merged_example(rng)
    write_merged_layer(tmp_path / "AN_merged_fc6_max.h5", per_class, lines)
    _, fewer = merged_example(rng, counts=(3, 4, 2))
    write_merged_layer(tmp_path / "AN_merged_fc7_max.h5", fewer, lines)
    with pytest.raises(ActivationFileError, match="same recording"):
        open_activations(tmp_path)
    (tmp_path / "empty_folder").mkdir()
    with pytest.raises(FileNotFoundError, match="no .h5 files"):
        open_activations(tmp_path / "empty_folder")
    damaged = tmp_path / "damaged.h5"
    write_merged_layer(damaged, per_class, lines)
    with h5py.File(damaged, "a") as raw:
        del raw[sorted(per_class)[1]]["activations"]
    with pytest.raises(ActivationFileError, match="no 'activations' dataset"):
        open_activations(damaged)
    stranger = tmp_path / "stranger.h5"
    write_merged_layer(stranger, {"n99999999": np.ones((2, 6))}, lines)
    with pytest.raises(ActivationFileError, match="not in its 'labels' synset list"):
        open_activations(stranger)


def test_the_store_module_is_the_door_to_the_writer_and_the_readers(tmp_path):
    names = set(store.__all__)
    assert {"ActivationWriter", "LayerSpec", "open_activations", "is_complete"} <= names
    assert store.open_activations is open_activations and store.ActivationWriter is ActivationWriter
    path = tmp_path / "door.h5"
    rng = np.random.default_rng(3)
    with store.ActivationWriter(path, LAYERS, CLASSES, PROV) as w:
        w.append(batch(rng, 4), [0, 1, 2, 0], range(4))
        w.finish()
    assert store.is_complete(path)
    with store.open_activations(path) as f:
        assert f.n_images == 4 and f.layers == ["conv1", "fc6"]
