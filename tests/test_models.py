"""Networks: the small AlexNet's layout and the torchvision loaders (random weights)."""

from __future__ import annotations

import urllib.error

import pytest
import torch

from compendium.activations.recording import LayerRecorder, probe_layers
from compendium.networks.models import (
    ModelError,
    SmallAlexNet,
    SmallAlexNetConfig,
    layer_paths,
    load_torchvision,
)


def recorded_shapes(model, size):
    paths = layer_paths(model)
    with LayerRecorder(model, paths) as rec, torch.inference_mode():
        out = model(torch.randn(2, *size))
        return out, rec.shapes, rec.take()


def test_small_alexnet_layers_are_post_relu():
    torch.manual_seed(0)
    model = SmallAlexNet().eval()
    out, shapes, acts = recorded_shapes(model, (1, 28, 28))
    assert out.shape == (2, 10)
    assert list(shapes) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert shapes["conv1"] == (24, 28, 28) and shapes["conv5"] == (64, 7, 7)
    assert shapes["fc6"] == (1024,) and shapes["fc8"] == (10,)
    for name in ["conv1", "conv5", "fc6", "fc7"]:
        assert (acts[name]["max"] >= 0).all()
    assert (acts["fc8"]["max"] < 0).any()  # logits, no ReLU
    torch.testing.assert_close(torch.from_numpy(acts["fc8"]["max"]), out)
    kinds = {
        s.name: s.kind for s in probe_layers(model, layer_paths(model), torch.zeros(1, 28, 28))
    }
    assert kinds["conv5"] == "conv" and kinds["fc6"] == "fc"


def test_small_alexnet_config_and_errors():
    model = SmallAlexNet(SmallAlexNetConfig(widths=(4, 4, 4, 4, 4), fc_width=8, n_classes=3))
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 3)
    with pytest.raises(ModelError, match="too small"):
        SmallAlexNet(SmallAlexNetConfig(image_size=8))


def test_torchvision_alexnet_layer_table():
    torch.manual_seed(0)
    model = load_torchvision("alexnet", weights=None)
    assert not model.training
    out, shapes, acts = recorded_shapes(model, (3, 64, 64))
    assert list(shapes) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert shapes["conv5"][0] == 256 and shapes["fc6"] == (4096,) and shapes["fc8"] == (1000,)
    assert all((acts[n]["max"] >= 0).all() for n in ["conv5", "fc6", "fc7"])


def test_torchvision_googlenet_layer_table():
    torch.manual_seed(0)
    model = load_torchvision("googlenet", weights=None)
    out, shapes, acts = recorded_shapes(model, (3, 64, 64))
    assert shapes["inception4e"][0] == 832
    assert "fc" in shapes and out.shape == (2, 1000)
    assert (acts["inception4e"]["max"] >= 0).all()


def test_vgg16_layer_table():
    model = load_torchvision("vgg16", weights=None)
    paths = layer_paths(model)
    assert paths["conv1_1"] == "features.1" and paths["conv5_3"] == "features.29"
    assert paths["fc6"] == "classifier.1" and len(paths) == 16
    assert isinstance(dict(model.named_modules())["features.29"], torch.nn.ReLU)


def test_local_weights_file(tmp_path):
    torch.manual_seed(0)
    source = load_torchvision("googlenet", weights=None)
    path = tmp_path / "googlenet.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    loaded = load_torchvision("googlenet", weights=path)
    for (k, a), b in zip(source.state_dict().items(), loaded.state_dict().values(), strict=False):
        assert torch.equal(a, b), k


def test_weights_that_do_not_fit(tmp_path):
    path = tmp_path / "wrong.pt"
    torch.save({"features.0.weight": torch.zeros(3), "extra.bias": torch.zeros(1)}, path)
    with pytest.raises(ModelError, match="does not fit.*missing.*unexpected.*shape mismatch"):
        load_torchvision("alexnet", weights=path)
    with pytest.raises(ModelError, match="no weights file"):
        load_torchvision("alexnet", weights=tmp_path / "none.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="not a readable torch weights file"):
        load_torchvision("alexnet", weights=junk)


def test_unknown_model_and_weights_names():
    with pytest.raises(ModelError, match="choose one of alexnet, vgg16, googlenet"):
        load_torchvision("resnet50")
    with pytest.raises(ModelError, match="no weights 'IMAGENET9K'.*IMAGENET1K_V1"):
        load_torchvision("alexnet", weights="IMAGENET9K")


def test_offline_download_names_the_fix(monkeypatch):
    import torchvision.models._api as api

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(api, "load_state_dict_from_url", offline)
    with pytest.raises(ModelError, match="machine with internet.*pass its path"):
        load_torchvision("alexnet", weights="DEFAULT")


# -- training (on a tiny fake data set) ------------------------------------------------------


@pytest.fixture
def tiny_training(tmp_path, monkeypatch):
    import numpy as np

    from compendium.inputs.datasets import ImageSet
    from compendium.networks import training as train_module
    from compendium.networks.training import TrainConfig

    def fake_load(split):
        rng = np.random.default_rng(0 if split == "train" else 1)
        n = 64 if split == "train" else 32
        labels = rng.integers(0, 3, n)
        images = (rng.random((n, 28, 28)) * 60 + labels[:, None, None] * 60).astype(np.uint8)
        return ImageSet(images, labels.astype(np.int64), ["a", "b", "c"], f"fake:{split}")

    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path))
    monkeypatch.setattr(train_module, "load_fashion_mnist", fake_load)
    model = SmallAlexNetConfig(widths=(4, 4, 4, 4, 4), fc_width=8, n_classes=3)
    return TrainConfig(model=model, epochs=2, batch_size=16, seed=3), tmp_path


def test_training_is_cached_and_deterministic(tiny_training, monkeypatch):
    import json

    from compendium.networks import training as train_module
    from compendium.networks.training import trained_model

    config, cache = tiny_training
    first = trained_model(config, threads=1)
    assert first.weights_path == cache / "models" / f"{config.key}.pt"
    report = json.loads(first.weights_path.with_suffix(".json").read_text())
    assert [e["epoch"] for e in report["epochs"]] == [1, 2]
    assert report["seconds_per_epoch"] > 0 and 0 <= report["test_accuracy"] <= 1
    assert report["config"]["model"]["widths"] == [4, 4, 4, 4, 4]
    again = trained_model(config, retrain=True, threads=1)
    assert again.weights_sha256 == first.weights_sha256  # same seed, same weights
    monkeypatch.setattr(train_module, "fit", lambda *a, **k: pytest.fail("retrained"))
    cached = trained_model(config)
    assert cached.weights_sha256 == first.weights_sha256 and not cached.model.training


def test_damaged_cache_is_retrained(tiny_training):
    from compendium.networks.training import TrainConfig, load_trained, trained_model

    config, _ = tiny_training
    first = trained_model(config, threads=1)
    first.weights_path.write_bytes(b"damaged")
    assert load_trained(config) is None
    assert trained_model(config, threads=1).weights_sha256 == first.weights_sha256
    assert TrainConfig(seed=1).key != TrainConfig(seed=2).key
    with pytest.raises(ValueError, match="unknown training parameters"):
        TrainConfig.from_dict({"epoch": 3})
    assert TrainConfig.from_dict({"model": {"widths": [1, 2, 3, 4, 5]}}).model.widths == (
        1,
        2,
        3,
        4,
        5,
    )
