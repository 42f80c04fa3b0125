"""Activation maximisation: it drives units past the data set's maximum, is deterministic,
handles grey and colour images, caches, and refuses bad requests clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from compendium.methods import am
from compendium.networks.models import SmallAlexNet, SmallAlexNetConfig

TINY = SmallAlexNetConfig(widths=(4, 8, 8, 8, 8), fc_width=32, dropout=0.0)
FAST = am.AMConfig(images_per_unit=4, steps=20, lr=0.2)


@pytest.fixture(scope="module")
def tiny_net() -> SmallAlexNet:
    torch.manual_seed(0)
    return SmallAlexNet(TINY).eval()


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    """256 Fashion-MNIST test images, standardised as the network expects."""
    from compendium.inputs.datasets import load_fashion_mnist

    data = load_fashion_mnist("test").subset(256)
    return torch.from_numpy(data.standardise(data.images)[:, None])


def dataset_max(model: nn.Module, layer: str, x: torch.Tensor) -> np.ndarray:
    """Each unit's largest recorded-style activation (post-ReLU, conv: spatial max)."""
    from compendium.activations.recording import LayerRecorder

    with LayerRecorder(model, {layer: layer}) as rec, torch.inference_mode():
        model(x)
        return rec.take()[layer]["max"].max(axis=0)


@pytest.mark.parametrize("layer", ["conv5", "fc6", "fc8"])
def test_am_images_beat_the_dataset_maximum(tiny_net, photos, layer):
    torch.set_num_threads(1)
    maxima = dataset_max(tiny_net, layer, photos)
    units = np.flatnonzero(maxima > 0)[:3].tolist()  # a silent unit has no maximum to beat
    assert len(units) == 3
    result = am.maximise(
        tiny_net,
        layer,
        units,
        FAST,
        image=am.ImageSpec.fashion_mnist(),
        device="cpu",
        progress=False,
    )
    assert result.images.shape == (3, 4, 1, 28, 28) and result.images.dtype == np.uint8
    response = am.unit_response(tiny_net, result, image=am.ImageSpec.fashion_mnist(), device="cpu")
    top = maxima[units]
    assert (response.mean(axis=1) > top).all(), (response.mean(axis=1), top)


def test_same_seed_same_images_whatever_the_batch(tiny_net):
    spec = am.ImageSpec.fashion_mnist()
    together = am.maximise(tiny_net, "fc6", [3, 5], FAST, image=spec, device="cpu", progress=False)
    alone = am.maximise(tiny_net, "fc6", [5], FAST, image=spec, device="cpu", progress=False)
    again = am.maximise(tiny_net, "fc6", [3, 5], FAST, image=spec, device="cpu", progress=False)
    assert np.array_equal(together.images, again.images)
    difference = np.abs(together.unit(5).astype(int) - alone.unit(5).astype(int))
    assert difference.max() <= 2  # equal up to float rounding in differently sized batches
    other_seed = am.maximise(
        tiny_net,
        "fc6",
        [5],
        am.AMConfig(**{**FAST.to_dict(), "seed": 1, "scale": (0.95, 1.05)}),
        image=spec,
        device="cpu",
        progress=False,
    )
    assert not np.array_equal(other_seed.images, alone.images)


def test_diversity_makes_a_units_images_differ(tiny_net):
    result = am.maximise(
        tiny_net, "fc8", [0], FAST, image=am.ImageSpec.fashion_mnist(), device="cpu", progress=False
    )
    images = result.unit(0).reshape(4, -1).astype(float)
    assert all(np.abs(images[i] - images[j]).mean() > 1 for i in range(4) for j in range(i))


def test_colour_images_and_in_place_relus():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(6, 5, 3, padding=1),
        nn.ReLU(inplace=True),
    ).eval()
    spec = am.ImageSpec(3, 32, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "reflection")
    config = am.AMConfig(images_per_unit=2, steps=5, conv_position="mean")
    result = am.maximise(
        net, "relu", [1, 4], config, image=spec, device="cpu", layer_path="3", progress=False
    )
    assert result.images.shape == (2, 2, 3, 32, 32)
    # the objective is read before the in-place ReLU: the start can be negative
    with am._probe(net, "relu", "3") as probe:
        value = probe.run(net, torch.randn(8, 3, 32, 32))
    assert (value < 0).any()


def test_pixel_parameterisation_runs(tiny_net):
    config = am.AMConfig(images_per_unit=2, steps=3, parameterisation="pixel")
    result = am.maximise(
        tiny_net,
        "conv5",
        [0],
        config,
        image=am.ImageSpec.fashion_mnist(),
        device="cpu",
        progress=False,
    )
    assert result.objective.shape == (1, 2)


def test_identity_transform_keeps_the_image():
    x = torch.rand(3, 1, 28, 28)
    same = am.random_affine(x, torch.rand(3, 4), jitter=0.0, scale=(1.0, 1.0), rotate=0.0)
    assert torch.allclose(same, x, atol=1e-5)


def test_cache_reads_back_the_same_images(tiny_net, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path))
    spec = am.ImageSpec.fashion_mnist()
    config = am.AMConfig(images_per_unit=2, steps=3)
    first = am.am_images(
        tiny_net, "tiny", "fc8", [1, 2], config, image=spec, device="cpu", progress=False
    )
    assert not first.from_cache.any()
    second = am.am_images(
        tiny_net, "tiny", "fc8", [2, 1], config, image=spec, device="cpu", progress=False
    )
    assert second.from_cache.all() and list(second.units) == [2, 1]
    assert np.array_equal(second.unit(1), first.unit(1))
    assert len(list(tmp_path.rglob("*.npz"))) == 2


def test_unit_outside_the_layer_is_refused(tiny_net):
    with pytest.raises(am.AMError, match=r"outside layer 'fc8', which has units 0\.\.9"):
        am.maximise(tiny_net, "fc8", [3, 10], FAST, device="cpu", progress=False)
    with pytest.raises(am.AMError, match="listed twice"):
        am.maximise(tiny_net, "fc8", [3, 3], FAST, device="cpu", progress=False)


def test_unknown_layer_is_refused(tiny_net):
    with pytest.raises(am.AMError, match="no layer 'fc9'; choose one of conv1"):
        am.maximise(tiny_net, "fc9", [0], FAST, device="cpu", progress=False)


class _Frozen(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach()


def test_layer_without_gradient_is_refused():
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 5), _Frozen(), nn.Linear(5, 3)).eval()
    with pytest.raises(am.AMError, match="carries no gradient"):
        am.maximise(net, "frozen", [0], FAST, layer_path="2", device="cpu", progress=False)


def test_bad_settings_are_refused():
    with pytest.raises(am.AMError, match="steps=0"):
        am.AMConfig(steps=0)
    with pytest.raises(am.AMError, match="unknown AM settings"):
        am.AMConfig.from_dict({"stepz": 3})
    with pytest.raises(am.AMError, match="1 or 3 channels"):
        am.ImageSpec(channels=2, mean=(0, 0), std=(1, 1))


def test_ratio_and_own_class_tables(tiny_net):
    spec = am.ImageSpec.fashion_mnist()
    result = am.maximise(
        tiny_net,
        "fc8",
        [1, 4],
        am.AMConfig(images_per_unit=3, steps=4),
        image=spec,
        device="cpu",
        progress=False,
    )
    ratios = am.activation_ratios(
        tiny_net, [result], {("fc8", 1): 2.0, ("fc8", 4): 0.0}, image=spec, device="cpu"
    )
    assert list(ratios["unit"]) == [1, 4] and np.isnan(ratios["ratio"].iloc[1])
    assert ratios["ratio"].iloc[0] == pytest.approx(ratios["AM mean"].iloc[0] / 2.0)
    own = am.own_class_share(
        tiny_net, result, [f"c{i}" for i in range(10)], image=spec, device="cpu"
    )
    assert list(own["class"]) == ["c1", "c4"]
    assert own["share classified as the unit's class"].between(0, 1).all()


@pytest.mark.slow
def test_chapter_3_without_a_network(tmp_path, monkeypatch):
    """The alexnet-merged profile has activations but no weights: chapter 3 still runs,
    shows the design and the paper's Table 1, and makes no AM images."""
    import nbformat
    from helpers import synset_lines, write_merged_layer

    from compendium.build import pipeline

    rng = np.random.default_rng(0)
    lines = synset_lines(20)
    wnids = [lines[i].split()[0] for i in (2, 5, 9)]
    folder = tmp_path / "AlexNet_Merged"
    folder.mkdir()
    for layer, n_units in (("conv5", 8), ("fc6", 12), ("fc8", 12)):
        per_class = {w: np.maximum(rng.normal(0.2, 1, (20, n_units)), 0) for w in wnids}
        write_merged_layer(folder / f"AN_merged_{layer}_max.h5", per_class, lines)
    monkeypatch.setenv("COMPENDIUM_ALEXNET_MERGED", str(folder))
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    [path] = pipeline.execute_notebooks(
        "alexnet-merged", ["03_activation_maximisation"], out_dir=tmp_path / "out"
    )
    notebook = nbformat.read(path, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = " ".join(str(o.get("data", {})) for o in outputs)
    assert "No AM images can be made" in text and "71.2 (±0.6)" in text
    assert not list((tmp_path / "cache").rglob("*.npz"))
