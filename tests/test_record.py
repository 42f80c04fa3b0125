"""Recording activations: hooks, summaries, selection of correct images, resuming."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compendium.activations.reader import open_activations
from compendium.activations.recording import record_activations, record_torchvision
from compendium.activations.writer import partial_path
from compendium.inputs.datasets import ImageSet
from compendium.networks.models import SmallAlexNet, SmallAlexNetConfig, layer_paths

PROV = {"model": "tiny-alexnet", "dataset": "fake", "weights_sha256": "x", "preprocessing": "std"}


def tiny_model(seed=0):
    torch.manual_seed(seed)
    config = SmallAlexNetConfig(widths=(4, 6, 8, 8, 5), fc_width=12, n_classes=3)
    return SmallAlexNet(config).eval()


def fake_images(n=37, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return ImageSet(images, rng.integers(0, 3, n).astype(np.int64), ["a", "b", "c"], "fake")


def direct(model, data):
    """Reference activations computed without the recorder."""
    x = torch.from_numpy(data.standardise(data.images)[:, None])
    with torch.inference_mode():
        conv2 = model.conv2(model.pool1(model.conv1(x)))
        logits = model(x)
    return conv2, logits


def record(model, data, path, **kw):
    kw.setdefault("batch_size", 8)
    return record_activations(
        model,
        data,
        path,
        layers=layer_paths(model),
        class_names=["a", "b", "c"],
        provenance=PROV,
        **kw,
    )


def test_records_every_layer_with_spatial_max_and_mean(tmp_path):
    model, data = tiny_model(), fake_images()
    result = record(model, data, tmp_path / "all.h5", keep="all")
    assert result.n_images == result.n_seen == 37
    conv2, logits = direct(model, data)
    with open_activations(result.path) as f:
        assert f.layers == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
        assert f.image_index.tolist() == list(range(37))
        assert f.labels.tolist() == data.labels.tolist()
        assert f.attrs["selection"] == "all" and f.attrs["model"] == "tiny-alexnet"
        np.testing.assert_allclose(f.activations("conv2")[:], conv2.amax((2, 3)), rtol=1e-5)
        np.testing.assert_allclose(
            f.activations("conv2", "mean")[:], conv2.mean((2, 3)), rtol=1e-5, atol=1e-7
        )
        np.testing.assert_allclose(f.activations("fc8")[:], logits, rtol=1e-5, atol=1e-6)
        assert f.layer_info("conv2") == {
            "kind": "conv",
            "shape": (6, 14, 14),
            "n_units": 6,
            "summaries": ["max", "mean"],
        }
        assert f.summaries("fc6") == ["max"]
        assert (f.activations("fc7")[:] >= 0).all()


def test_keeps_only_correct_images_by_default(tmp_path):
    model, data = tiny_model(), fake_images()
    _, logits = direct(model, data)
    correct = np.flatnonzero(logits.argmax(1).numpy() == data.labels)
    assert 0 < len(correct) < len(data)
    result = record(model, data, tmp_path / "correct.h5")
    with open_activations(result.path) as f:
        assert f.image_index.tolist() == correct.tolist()
        assert f.labels.tolist() == data.labels[correct].tolist()
        assert f.attrs["selection"] == "correctly classified"
        np.testing.assert_allclose(f.activations("fc8")[:], logits[correct], rtol=1e-5, atol=1e-6)


class Interrupting:
    """A dataset that raises KeyboardInterrupt when item ``stop_at`` is fetched."""

    def __init__(self, data, stop_at):
        self.data, self.stop_at = data, stop_at

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        if i == self.stop_at:
            raise KeyboardInterrupt
        return self.data[i]


@pytest.mark.parametrize("keep", ["correct", "all"])
def test_interrupted_recording_resumes_without_loss_or_duplicates(tmp_path, keep):
    model, data = tiny_model(), fake_images()
    reference = record(model, data, tmp_path / "reference.h5", keep=keep).path
    path = tmp_path / "resumed.h5"
    k_batches = 3
    with pytest.raises(KeyboardInterrupt):
        record(model, Interrupting(data, stop_at=8 * k_batches + 2), path, keep=keep, commit_rows=5)
    assert not path.exists() and partial_path(path).exists()
    with pytest.raises(FileNotFoundError, match="interrupted"):
        open_activations(path)
    result = record(model, data, path, keep=keep, commit_rows=5)
    assert result.n_seen == len(data) - 8 * k_batches  # only the rest was processed
    with open_activations(reference) as a, open_activations(path) as b:
        assert b.image_index.tolist() == a.image_index.tolist()
        assert b.labels.tolist() == a.labels.tolist()
        for layer in a.layers:
            np.testing.assert_array_equal(b.activations(layer)[:], a.activations(layer)[:])
    again = record(model, data, path, keep=keep)  # finished: nothing to do
    assert again.n_seen == 0 and again.n_images == result.n_images


def test_unknown_module_and_keep(tmp_path):
    model, data = tiny_model(), fake_images(5)
    with pytest.raises(KeyError, match="no modules"):
        record_activations(
            model,
            data,
            tmp_path / "x.h5",
            layers={"fc9": "fc9"},
            class_names=data.class_names,
            provenance=PROV,
        )
    with pytest.raises(ValueError, match="keep must be one of"):
        record(model, data, tmp_path / "y.h5", keep="some")


def test_torchvision_on_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for wnid in ["n04146614", "n01440764"]:
        (tmp_path / "imgs" / wnid).mkdir(parents=True)
        for k in range(2):
            pixels = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / wnid / f"{k}.png")
    result = record_torchvision(
        "alexnet",
        tmp_path / "imgs",
        weights=None,
        layers=["conv5", "fc6"],
        keep="all",
        path=tmp_path / "alexnet.h5",
        batch_size=3,
    )
    with open_activations(result.path) as f:
        assert f.layers == ["conv5", "fc6"] and f.n_images == 4
        assert f.labels.tolist() == [0, 0, 779, 779] and len(f.class_names) == 1000
        assert f.activations("conv5").shape == (4, 256)
        assert f.layer_info("conv5")["shape"] == (256, 13, 13)
        assert f.attrs["weights_sha256"] == "random(seed=0)"


def test_command_line_errors_are_one_line(capsys):
    from compendium.build.cli import main

    assert main(["record", "--model", "alexnet"]) == 2
    assert "give --images FOLDER" in capsys.readouterr().err
    assert main(["train", "--epochs", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err


def test_one_torchvision_layer_is_recorded_once_into_the_cache(tmp_path, monkeypatch):
    from PIL import Image

    from compendium.activations.recording import record_torchvision_layer

    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(1)
    for wnid in ["n04146614", "n01440764"]:
        (tmp_path / "imgs" / wnid).mkdir(parents=True)
        for k in range(3):
            pixels = rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / wnid / f"{k}.png")
    options = {"weights": None, "max_per_class": 2, "batch_size": 4, "seed": 5}
    path = record_torchvision_layer("alexnet", "conv5", tmp_path / "imgs", **options)
    assert path.parent == tmp_path / "cache" / "activations"
    assert path.name.startswith("alexnet-random5-conv5__") and path.name.endswith("first2__all.h5")
    with open_activations(path) as f:
        assert f.layers == ["conv5"] and f.n_images == 4  # every image kept, 2 per class
        assert f.labels.tolist() == [0, 0, 779, 779]
    written = path.stat().st_mtime_ns
    assert record_torchvision_layer("alexnet", "conv5", tmp_path / "imgs", **options) == path
    assert path.stat().st_mtime_ns == written
