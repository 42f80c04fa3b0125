"""Network Dissection: the streamed quantile and the IoU against brute force, masks, the
result CSV reader, and the errors for bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from compendium.inputs.datasets import ImageSet
from compendium.methods.dissect import (
    Concept,
    Dissection,
    DissectionError,
    ForegroundMasks,
    TopQuantile,
    class_concepts,
    dissect,
    dissect_imageset,
    nominated_units,
    read_dissection_csv,
)
from compendium.networks.models import SmallAlexNet, SmallAlexNetConfig


@pytest.mark.parametrize("quantile", [0.005, 0.1, 0.37, 0.9])
@pytest.mark.parametrize("total,chunk", [(1, 1), (7, 3), (1000, 64), (5000, 999)])
def test_streamed_quantile_equals_numpy(quantile, total, chunk):
    rng = np.random.default_rng(total)
    values = rng.normal(size=(3, total)).astype(np.float32)
    values[1] = np.round(values[1])  # many ties
    values[2] = 0.0  # a dead unit
    stream = TopQuantile(3, total, quantile)
    for start in range(0, total, chunk):
        stream.update(values[:, start : start + chunk])
    expected = np.quantile(values.astype(np.float64), 1 - quantile, axis=1)
    np.testing.assert_allclose(stream.thresholds(), expected, rtol=1e-12, atol=1e-12)
    assert stream.keep <= total


def test_streamed_quantile_keeps_only_the_top():
    stream = TopQuantile(2, 200_000, 0.005)
    assert stream.keep == 1001  # floor(0.995 * 199,999) = 198,999: keep the values from there
    for start in range(0, 200_000, 10_000):
        stream.update(np.random.default_rng(start).random((2, 10_000)))
        assert stream._kept.shape[1] <= stream.keep
    assert stream.thresholds().shape == (2,)


def test_streamed_quantile_refuses_bad_use():
    with pytest.raises(DissectionError, match="between 0 and 1"):
        TopQuantile(2, 10, 1.5)
    stream = TopQuantile(2, 10, 0.1)
    with pytest.raises(DissectionError, match="shape"):
        stream.update(np.zeros((3, 4)))
    with pytest.raises(DissectionError, match="NaN"):
        stream.update(np.full((2, 4), np.nan))
    stream.update(np.zeros((2, 4)))
    with pytest.raises(DissectionError, match="only 4 of 10"):
        stream.thresholds()
    with pytest.raises(DissectionError, match="more values than announced"):
        stream.update(np.zeros((2, 7)))


def identity_batches(maps, masks, size):
    def batches():
        for start in range(0, len(maps), size):
            yield torch.from_numpy(maps[start : start + size]), masks[start : start + size]

    return batches


def brute_force(maps, masks, quantile):
    """Thresholds with np.quantile over each unit's whole maps, then loops over images,
    units and concepts."""
    n, units = maps.shape[:2]
    thresholds = np.quantile(
        maps.transpose(1, 0, 2, 3).reshape(units, -1).astype(np.float64), 1 - quantile, axis=1
    )
    up = F.interpolate(
        torch.from_numpy(maps), size=masks.shape[2:], mode="bilinear", align_corners=False
    ).numpy()
    iou = np.zeros((units, masks.shape[1]))
    for u in range(units):
        for k in range(masks.shape[1]):
            inter = union = 0
            for i in range(n):
                on = up[i, u] > np.float32(thresholds[u])
                inter += np.sum(on & masks[i, k])
                union += np.sum(on | masks[i, k])
            iou[u, k] = inter / union if union else 0.0
    return thresholds, iou


@pytest.mark.parametrize("map_size,mask_size", [(4, 12), (5, 5), (3, 8)])
def test_iou_equals_brute_force(map_size, mask_size):
    rng = np.random.default_rng(map_size)
    maps = np.maximum(rng.normal(size=(23, 4, map_size, map_size)), 0).astype(np.float32)
    masks = rng.random((23, 3, mask_size, mask_size)) < 0.3
    masks[:, 2] &= (np.arange(23) % 2 == 0)[:, None, None]  # a concept in half the images
    result = dissect(
        nn.Sequential(nn.Identity()),
        "0",
        identity_batches(maps, masks, 5),
        23,
        ["a", "b", "c"],
        quantile=0.1,
        progress=False,
    )
    thresholds, iou = brute_force(maps, masks, 0.1)
    np.testing.assert_allclose(result.thresholds, thresholds, rtol=1e-12)
    np.testing.assert_allclose(result.iou, iou, rtol=1e-12)
    assert result.map_shape == (map_size, map_size)
    assert result.mask_shape == (mask_size, mask_size)
    assert 0.05 < result.active_fraction < 0.15


def test_table_detectors_and_result_frame():
    iou = np.array([[0.01, 0.05, 0.02], [0.30, 0.10, 0.0], [0.0, 0.03, 0.039], [0.05, 0.2, 0.06]])
    d = Dissection("conv", ["x", "foot", "y"], np.ones(4), iou, 10, (2, 2), (4, 4))
    table = d.table()
    assert table["label"].tolist() == ["foot", "x", "y", "foot"]
    assert table["detector"].tolist() == [True, True, False, True]
    assert d.detectors("foot")["unit"].tolist() == [3, 0]
    assert d.concept_units("foot")["unit"].tolist() == [3, 1, 0]
    assert d.concept_units("foot")["label"].tolist() == ["foot", "x", "foot"]
    frame = d.result_frame()
    assert frame["unit"].tolist() == [1, 2, 3, 4]
    assert nominated_units(frame, "foot")["unit"].tolist() == [4, 1]
    with pytest.raises(DissectionError, match="no concept 'bus'"):
        d.detectors("bus")


def test_dissection_saves_and_loads(tmp_path):
    d = Dissection(
        "conv",
        ["a", "b"],
        np.array([1.0, 2.0]),
        np.array([[0.1, 0.2], [0.3, 0.0]]),
        10,
        (2, 2),
        (4, 4),
        seconds={"IoU pass": 1.5},
        active_fraction=0.01,
    )
    back = Dissection.load(d.save(tmp_path / "d.npz"))
    assert back.concepts == ["a", "b"] and back.map_shape == (2, 2) and back.seconds == d.seconds
    np.testing.assert_array_equal(back.iou, d.iou)


def test_foreground_masks():
    images = np.zeros((3, 2, 2), np.uint8)
    images[:, 0, 0] = 200
    images[1, 1, 1] = 5
    labels = np.array([0, 1, 2])
    concepts = [Concept("zero", (0,)), Concept("one-two", (1, 2))]
    masks = ForegroundMasks(concepts, 3)
    out = masks(images, labels)
    assert out.shape == (3, 2, 2, 2) and out.dtype == bool
    assert out[0, 0].sum() == 1 and out[0, 1].sum() == 0
    assert out[1, 1].sum() == 2 and out[2, 1].sum() == 1 and out[1, 0].sum() == 0
    np.testing.assert_array_equal(
        masks.pixel_counts(images, labels), out.reshape(3, 2, -1).sum((0, 2))
    )
    assert ForegroundMasks(concepts, 3, background=10)(images, labels)[1, 1].sum() == 1


def test_class_concepts():
    names = ["Sandal", "Shirt", "Sneaker"]
    concepts = class_concepts(names, {"footwear": ["Sneaker", "Sandal"]})
    assert [c.name for c in concepts] == ["Sandal", "Shirt", "Sneaker", "footwear"]
    assert concepts[-1].classes == (0, 2)
    only = class_concepts(names, {"footwear": ["Sandal"]}, include_classes=False)
    assert [c.name for c in only] == ["footwear"]
    with pytest.raises(ValueError, match="Boot"):
        class_concepts(names, {"footwear": ["Boot"]})


def tiny_data(n=40, classes=3):
    rng = np.random.default_rng(0)
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 6:22, 8:20] = rng.integers(1, 256, (n, 16, 12))
    return ImageSet(
        images, (np.arange(n) % classes).astype(np.int64), ["a", "b", "c"][:classes], "tiny"
    )


def tiny_net():
    torch.manual_seed(0)
    return SmallAlexNet(SmallAlexNetConfig(widths=(4, 6, 8, 8, 5), fc_width=12, n_classes=3))


def test_dissect_imageset_runs_on_a_small_network():
    data = tiny_data()
    concepts = class_concepts(data.class_names, {"ab": ["a", "b"]})
    result = dissect_imageset(tiny_net(), data, "conv5", concepts, batch_size=16, progress=False)
    assert result.iou.shape == (5, 4) and result.mask_shape == (28, 28)
    assert result.map_shape == (7, 7) and (result.iou >= 0).all() and (result.iou <= 1).all()
    assert set(result.seconds) == {"threshold pass", "IoU pass"}


def test_a_layer_without_maps_is_refused():
    data = tiny_data()
    with pytest.raises(DissectionError, match="no spatial map.*convolutional layer"):
        dissect_imageset(tiny_net(), data, "fc6", class_concepts(data.class_names), progress=False)
    with pytest.raises(DissectionError, match="no layer 'conv9'"):
        dissect_imageset(tiny_net(), data, "conv9", class_concepts(data.class_names))


def test_a_concept_without_pixels_is_refused():
    data = tiny_data(classes=2)  # class "c" never occurs
    concepts = [Concept("a", (0,)), Concept("c", (2,))]
    data.class_names = ["a", "b", "c"]
    with pytest.raises(DissectionError, match=r"\['c'\] have no masked pixels"):
        dissect_imageset(tiny_net(), data, "conv5", concepts, progress=False)
    masks = np.zeros((6, 1, 4, 4), bool)
    maps = np.random.default_rng(0).random((6, 2, 2, 2)).astype(np.float32)
    with pytest.raises(DissectionError, match="no masked pixels"):
        dissect(
            nn.Sequential(nn.Identity()),
            "0",
            identity_batches(maps, masks, 3),
            6,
            ["z"],
            progress=False,
        )


def test_bad_parameters_are_refused():
    maps = np.zeros((2, 1, 2, 2), np.float32)
    masks = np.ones((2, 1, 2, 2), bool)
    net = nn.Sequential(nn.Identity())
    with pytest.raises(DissectionError, match="quantile"):
        dissect(net, "0", identity_batches(maps, masks, 2), 2, ["a"], quantile=0)
    with pytest.raises(DissectionError, match="iou_threshold"):
        dissect(net, "0", identity_batches(maps, masks, 2), 2, ["a"], iou_threshold=2)
    with pytest.raises(DissectionError, match="no module 'nope'"):
        dissect(net, "nope", identity_batches(maps, masks, 2), 2, ["a"])
    with pytest.raises(DissectionError, match="not the 3 announced"):
        dissect(net, "0", identity_batches(maps, masks, 2), 3, ["a"], progress=False)


def write_csv(path, text):
    path.write_text(text)
    return path


def test_reads_a_dissection_csv_with_units_from_one(tmp_path):
    path = write_csv(
        tmp_path / "tally.csv",
        "unit,category,label,score,object-label\n"
        "1,object,bus,0.15,bus\n2,scene,street,0.07,car\n3,object,bus,0.03,bus\n"
        "4,object,bus,0.08,bus\n",
    )
    table = read_dissection_csv(path)
    assert table["unit"].tolist() == [1, 2, 3, 4]
    assert table["unit_index"].tolist() == [0, 1, 2, 3]
    assert "object-label" in table.columns
    assert nominated_units(table, "bus")["unit_index"].tolist() == [0, 3]


@pytest.mark.parametrize(
    "text,match",
    [
        (
            "neuron,concept,iou\n1,bus,0.1\n",
            r"lacks the columns \['unit', 'category', 'label', 'score'\]",
        ),
        ("unit,category,label,score\n0,object,bus,0.1\n", "numbers units from 1"),
        ("unit,category,label,score\n1,object,bus,0.1\n1,object,car,0.2\n", "appear twice"),
        ("unit,category,label,score\n1,object,bus,high\n", "between 0 and 1"),
        ("unit,category,label,score\n1.5,object,bus,0.1\n", "whole numbers"),
        ("unit,category,label,score\n", "no rows"),
    ],
)
def test_bad_dissection_csv(tmp_path, text, match):
    with pytest.raises(DissectionError, match=match):
        read_dissection_csv(write_csv(tmp_path / "bad.csv", text))


def test_missing_dissection_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match="tally.csv"):
        read_dissection_csv(tmp_path / "none.csv")


def test_result_frame_round_trips_through_the_reader(tmp_path):
    d = Dissection(
        "conv",
        ["a", "b"],
        np.ones(3),
        np.array([[0.1, 0.0], [0.0, 0.2], [0.01, 0.0]]),
        5,
        (2, 2),
        (4, 4),
    )
    path = tmp_path / "mine.csv"
    d.result_frame().to_csv(path, index=False)
    back = read_dissection_csv(path)
    pd.testing.assert_series_equal(back["unit_index"], d.table()["unit"], check_names=False)


@pytest.mark.slow
def test_cli_dissect_writes_a_result_csv(tmp_path, monkeypatch, capsys):
    from compendium.build.cli import main

    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "tally.csv"
    argv = [
        "dissect",
        "--out",
        str(out),
        "--layer",
        "conv2_1",
        "--arch",
        "small-vgg",
        "--task",
        "coarse",
        "--epochs",
        "1",
        "--n-train",
        "128",
        "--n-images",
        "120",
        "--quantile",
        "0.05",
        "--iou-table",
        str(tmp_path / "iou.csv"),
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    table = read_dissection_csv(out)
    assert table["unit"].tolist() == list(range(1, 33))  # conv2_1 of the default VGG: 32
    assert "units of small-vgg-" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "iou.csv").shape == (32, 13)
    assert main([*argv[:4], "fc6", *argv[5:]]) == 2  # the same cached network
    assert "no spatial map" in capsys.readouterr().err
