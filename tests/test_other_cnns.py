"""Chapter 4's helpers: super-category measures against brute force and against the
measures engine, network entries, the coarse task, and the small VGG / GoogLeNet nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compendium.activations.recording import LayerRecorder
from compendium.build import pipeline, profiles
from compendium.chapters.other_cnns import net_training
from compendium.inputs.categories import COARSE_GROUPS, CategoryError, coarse_labels
from compendium.measures import unit_measures
from compendium.measures.groups import group_measures
from compendium.networks.models import (
    SmallGoogLeNet,
    SmallGoogLeNetConfig,
    SmallVGG,
    SmallVGGConfig,
    build_network,
    layer_paths,
    network_config,
)
from compendium.networks.training import TrainConfig
from compendium.networks.zoo import net_specs


def brute_group(x, is_a):
    """Every threshold at every distinct value, by loops."""
    n_a, n_rest = is_a.sum(), (~is_a).sum()
    best = (-np.inf, None)
    r100 = r95 = 0.0
    for t in sorted(set(x), reverse=True):
        tp, fp = np.sum((x >= t) & is_a), np.sum((x >= t) & ~is_a)
        if fp == 0:
            r100 = max(r100, tp / n_a)
        if tp / (tp + fp) >= 0.95:
            r95 = max(r95, tp / n_a)
        j = tp / n_a - fp / n_rest
        if j > best[0] + 1e-12:
            best = (j, (t, tp, fp))
    t, tp, fp = best[1]
    return {
        "recall_p100": r100,
        "recall_p95": r95,
        "max_informedness": best[0],
        "mi_threshold": t,
        "mi_recall": tp / n_a,
        "mi_false_alarm": fp / (tp + fp),
        "mi_fpr": fp / n_rest,
    }


def test_group_measures_equal_brute_force():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, 300)
    x = np.maximum(rng.normal(size=(300, 5)), 0)
    x[:, 1] = np.round(x[:, 1] * 2) / 2  # ties
    x[labels == 2, 2] += 3  # a unit that likes class 2
    x[:, 3] = 0.0  # dead
    classes = (2, 4)
    table = group_measures(x, labels, classes, units=[10, 11, 12, 13, 14], top=50)
    is_a = np.isin(labels, classes)
    for k, unit in enumerate(table.index):
        for column, value in brute_group(x[:, k], is_a).items():
            assert table.loc[unit, column] == pytest.approx(value, abs=1e-12), (unit, column)
        assert table.loc[unit, "mean_A"] == pytest.approx(x[is_a, k].mean())
        assert table.loc[unit, "sem_notA"] == pytest.approx(
            x[~is_a, k].std(ddof=1) / np.sqrt((~is_a).sum())
        )
        assert table.loc[unit, "pct_above_zero_A"] == pytest.approx(100 * np.mean(x[is_a, k] > 0))
        top = np.argsort(-x[:, k], kind="stable")[:50]
        assert table.loc[unit, "precision_50"] == pytest.approx(is_a[top].mean())
    assert np.isnan(table.loc[13, "ccmas"])


def test_group_measures_agree_with_the_measures_engine_for_one_class():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 40)
    x = rng.random((200, 8))
    x[labels == 0] += rng.random((40, 8)) * 0.8
    ours = group_measures(x, labels, [0])
    engine = unit_measures(x, labels)
    for unit in range(8):
        if engine.loc[unit, "top_class"] == 0:
            assert ours.loc[unit, "recall_p100"] == pytest.approx(engine.loc[unit, "recall_p100"])
            assert ours.loc[unit, "recall_p95"] == pytest.approx(engine.loc[unit, "recall_p95"])
        if engine.loc[unit, "mi_class"] == 0:
            assert ours.loc[unit, "max_informedness"] == pytest.approx(
                engine.loc[unit, "max_informedness"]
            )
            assert ours.loc[unit, "mi_false_alarm"] == pytest.approx(
                engine.loc[unit, "mi_false_alarm"]
            )
        if engine.loc[unit, "ccmas_class"] == 0:
            assert ours.loc[unit, "ccmas"] == pytest.approx(engine.loc[unit, "ccmas"])


def test_group_measures_refuse_bad_input():
    x, labels = np.ones((10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match="both have images"):
        group_measures(x, labels, [7])
    with pytest.raises(ValueError, match="top must be"):
        group_measures(x, labels, [0], top=11)
    with pytest.raises(ValueError, match="NaN"):
        group_measures(np.full((10, 2), np.nan), labels, [0])
    with pytest.raises(ValueError, match="one label per image"):
        group_measures(x, labels[:5], [0])


def test_coarse_labels():
    labels = np.arange(10)
    assert coarse_labels(labels).tolist() == [1, 2, 1, 3, 1, 0, 1, 0, 4, 0]
    assert list(COARSE_GROUPS)[0] == "footwear"
    with pytest.raises(CategoryError, match="belong to no coarse group"):
        coarse_labels(labels, groups={"footwear": ("Sandal",)})


def test_net_entries_and_their_training_configs():
    specs = net_specs(
        [
            {
                "name": "A",
                "arch": "small-alexnet",
                "task": "classes",
                "layer": "conv5",
                "epochs": 5,
            },
            {"name": "G", "arch": "small-googlenet", "task": "coarse", "layer": "inception4b"},
        ]
    )
    assert net_training(specs[0], epochs=2).key == TrainConfig().key  # the shipped default net
    coarse = net_training(specs[1], epochs=2, n_train=100)
    assert coarse.dataset == "fashion-mnist-coarse" and coarse.model.n_classes == 5
    assert coarse.epochs == 2 and isinstance(coarse.model, SmallGoogLeNetConfig)
    assert TrainConfig.from_dict(coarse.to_dict()).key == coarse.key
    with pytest.raises(ValueError, match="unknown arch"):
        net_specs([{"name": "x", "arch": "resnet", "task": "classes", "layer": "c"}])
    with pytest.raises(ValueError, match="unknown task"):
        net_specs([{"name": "x", "arch": "small-vgg", "task": "scenes", "layer": "c"}])
    with pytest.raises(ValueError, match="lacks"):
        net_specs([{"name": "x", "arch": "small-vgg"}])
    with pytest.raises(ValueError, match="empty"):
        net_specs([])


@pytest.mark.parametrize(
    "config,top,shape",
    [
        (SmallVGGConfig(), "conv3_3", (48, 7, 7)),
        (SmallGoogLeNetConfig(), "inception4b", (96, 7, 7)),
    ],
)
def test_small_vgg_and_googlenet_layers_are_post_relu(config, top, shape):
    torch.manual_seed(0)
    model = build_network(config).eval()
    paths = layer_paths(model)
    assert top in paths
    with LayerRecorder(model, paths) as rec, torch.inference_mode():
        out = model(torch.randn(3, 1, 28, 28))
    assert out.shape == (3, 10) and rec.shapes[top] == shape
    acts = rec.take()
    assert all((acts[n]["max"] >= 0).all() for n in paths if n not in ("fc8", "fc"))
    assert layer_paths(config.network_name) == paths


def test_network_config_from_a_profile_mapping():
    config = network_config({"arch": "small-vgg", "blocks": [[4], [8, 8]], "fc_width": 16})
    assert config.blocks == ((4,), (8, 8))
    assert isinstance(build_network(config), SmallVGG)
    assert isinstance(build_network(network_config({"arch": "small-googlenet"})), SmallGoogLeNet)
    with pytest.raises(ValueError, match="unknown arch"):
        network_config({"arch": "lenet"})
    with pytest.raises(ValueError, match="no settings"):
        network_config({"arch": "small-vgg", "widths": [1]})


TINY_NETS = [
    {
        "name": "VGG (coarse)",
        "arch": "small-vgg",
        "task": "coarse",
        "layer": "conv2_1",
        "model": {"blocks": [[4], [6]], "fc_width": 8},
    },
    {
        "name": "GoogLeNet (classes)",
        "arch": "small-googlenet",
        "task": "classes",
        "layer": "inception3a",
        "model": {"stem": [4, 6], "blocks": [[4, 4, 4, 2, 2, 2]], "blocks_at_14": 1},
    },
]


def test_tiny_nets_train_record_and_dissect(tmp_path, monkeypatch):
    from compendium.chapters.other_cnns import dissect_small_net
    from compendium.inputs.categories import SUPER_CATEGORIES
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES
    from compendium.methods.dissect import class_concepts

    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path))
    concepts = class_concepts(list(FASHION_MNIST_CLASSES), SUPER_CATEGORIES)
    for spec in net_specs(TINY_NETS):
        kw = dict(
            super_category="footwear",
            concepts=concepts,
            quantile=0.05,
            iou_threshold=0.0,
            rule="iou",
            epochs=1,
            n_train=256,
            n_images=150,
            top=50,
            threads=1,
        )
        result = dissect_small_net(spec, **kw)
        assert result.info["test accuracy"] is not None and result.group == (5, 7, 9)
        assert result.dissection.iou.shape == (result.dissection.n_units, 12)
        assert len(result.units) == len(result.table) > 0  # threshold 0: every unit with IoU > 0
        assert list(result.table["iou"]) == sorted(result.table["iou"], reverse=True)
        assert {"precision_50", "max_informedness", "mi_false_alarm"} <= set(result.table)
        again = dissect_small_net(spec, **kw)  # weights, recording and dissection are cached
        np.testing.assert_array_equal(again.dissection.iou, result.dissection.iou)
    assert len(list((tmp_path / "dissection").glob("*.npz"))) == 2
    assert len(list((tmp_path / "models").glob("*.pt"))) == 2


def generated_image_folder(root, wnids, per_class=3, size=48):
    from PIL import Image

    rng = np.random.default_rng(0)
    for wnid in wnids:
        (root / wnid).mkdir(parents=True)
        for k in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / wnid / f"{wnid}_{k}.JPEG")
    return root


BUS = ["n04146614", "n04487081", "n03769881"]


def synset_file(path, wnids):
    path.write_text("".join(f"{w} class {w}\n" for w in wnids))
    return path


def test_imagenet_entry_with_random_weights_and_generated_images(tmp_path, monkeypatch):
    from compendium.chapters.other_cnns import beside_paper, imagenet_result

    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    wnids = [*BUS, "n01440764"]
    folder = generated_image_folder(tmp_path / "images", wnids, per_class=3)
    synsets = synset_file(tmp_path / "synsets.txt", sorted(wnids))
    entry = {
        "name": "GoogLeNet (ImageNet)",
        "model": "googlenet",
        "weights": "none",
        "layer": "inception4e",
        "paper": "Table A5",
        "units": [494, 828],
    }
    common = dict(
        image_folder=folder,
        synsets=synsets,
        max_per_class=2,
        group_wnids=BUS,
        super_category="bus",
        iou_threshold=0.04,
        top=4,
    )
    result = imagenet_result(entry, **common)
    table = result.table
    assert table["unit (from 1)"].tolist() == [494, 828]
    assert table["unit"].tolist() == [493, 827]
    assert table["iou"].tolist() == [0.11, 0.10]
    assert result.group == (1, 2, 3) and len(result.class_names) == 4
    compared = beside_paper(table, "Table A5")
    assert compared[compared["measure"] == "mean_A"]["paper"].tolist() == [72.5, 109.4]

    csv = tmp_path / "tally.csv"
    csv.write_text(
        "unit,category,label,score\n3,object,bus,0.2\n7,object,car,0.3\n9,object,bus,0.01\n"
    )
    listed = imagenet_result({**entry, "units": None, "dissection_csv": str(csv)}, **common)
    assert listed.table["unit (from 1)"].tolist() == [3]
    with pytest.raises(ValueError, match="counted from 1"):
        imagenet_result({**entry, "units": [0, 5]}, **common)
    with pytest.raises(ValueError, match="needs `units`"):
        imagenet_result({**entry, "units": None}, **common)
    with pytest.raises(ValueError, match="not in the class list"):
        imagenet_result(entry, **{**common, "group_wnids": ["n99999999"]})


@pytest.mark.slow
def test_chapter_runs_in_imagenet_mode_on_generated_images(tmp_path, monkeypatch):
    """The imagenet profile's code path: torchvision GoogLeNet (random weights), the
    paper's units, a few generated images."""
    import nbformat
    import yaml

    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    wnids = [*BUS, "n01440764", "n01443537"]
    folder = generated_image_folder(tmp_path / "images", wnids, per_class=2)
    params = {
        "04_other_cnns": {
            "data": "imagenet",
            "image_folder": str(folder),
            "synsets": str(synset_file(tmp_path / "synsets.txt", sorted(wnids))),
            "max_per_class": 2,
            "super_category": "bus",
            "super_category_classes": BUS,
            "top_n": 5,
            "max_points": 6,
            "nets": [
                {
                    "name": "GoogLeNet (ImageNet)",
                    "model": "googlenet",
                    "weights": "none",
                    "layer": "inception4e",
                    "paper": "Table A5",
                    "units": [494, 828, 569],
                }
            ],
        }
    }
    (tmp_path / "generated-imagenet.yml").write_text(yaml.safe_dump(params))
    monkeypatch.setattr(profiles, "PARAMS", tmp_path)
    [path] = pipeline.execute_notebooks(
        "generated-imagenet", ["04_other_cnns"], out_dir=tmp_path / "out"
    )
    notebook = nbformat.read(path, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    assert (
        "3 units nominated as bus detectors (numbered from 1): 494 (0.11), 828 (0.1), 569 (0.1)"
        in text
    )
    assert "beside Table A5, unit by unit" in text


def test_group_jitterplot_colours_each_member_class():
    from compendium.chapters import plots

    labels = np.arange(60) % 10
    chart = plots.group_jitterplot(
        np.linspace(0, 1, 60),
        labels,
        [f"c{i}" for i in range(10)],
        "conv5.3",
        [5, 7, 9],
        {"t": 0.5},
        title=["a", "b"],
    ).to_dict()
    points = chart["layer"][1]
    assert points["encoding"]["shape"]["scale"]["range"] == [
        "square",
        "triangle-up",
        "diamond",
        "circle",
    ]
    assert points["encoding"]["color"]["scale"]["domain"] == ["c5", "c7", "c9", "other classes"]
    assert chart["title"]["text"] == ["a", "b"]
    with pytest.raises(ValueError, match="different classes"):
        plots.group_jitterplot(np.zeros(60), labels, [f"c{i}" for i in range(10)], "u", [5, 5])
    with pytest.raises(ValueError, match="not a class number"):
        plots.group_jitterplot(np.zeros(60), labels, [f"c{i}" for i in range(10)], "u", [5, 12])


def test_paper_tables_summary_and_display():
    from compendium.chapters.other_cnns import (
        PAPER_TABLES,
        display_table,
        figure6_rows,
        paper_table,
        plot_sample,
        summarise,
    )

    sizes = {source: len(paper_table(source)) for source in PAPER_TABLES}
    assert sizes == {"Table A3": 7, "Table A4": 17, "Table A5": 25}
    a3 = paper_table("Table A3")
    assert a3.loc[1, ["unit", "mean_A", "mean_notA", "ccmas"]].tolist() == [20, 157.6, 15.2, 0.82]
    summary = summarise({s: paper_table(s) for s in PAPER_TABLES})
    assert summary.loc["Table A5", "precision (max)"] == 0.58
    assert summary["units with precision >= .75"].sum() == 0
    fig6 = figure6_rows([])
    assert fig6["unit"].tolist() == [
        "inception4e.494 (from 1)",
        "inception4e.824 (from 1)",
        "conv5_3.20 (from 1)",
    ]
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 400)
    x = rng.random((400, 2))
    table = group_measures(x, labels, [5, 7, 9])
    shown = display_table(table)
    assert "mean A ± SE" in shown.columns and "precision (top 100)" in shown.columns
    kept = plot_sample(labels, [5, 7, 9], 200, seed=0)
    assert np.isin([5, 7, 9], labels[kept]).all() and len(kept) == 200
    assert np.isin(labels, [5, 7, 9]).sum() == np.isin(labels[kept], [5, 7, 9]).sum()


def test_profiles_give_chapter_4_declared_parameters_and_the_papers_units(tmp_path):
    import jupytext
    import nbformat
    import papermill

    from compendium.chapters.other_cnns import paper_table

    notebook = tmp_path / "04.ipynb"
    nbformat.write(jupytext.read(profiles.NOTEBOOKS / "04_other_cnns.py"), notebook)
    declared = set(papermill.inspect_notebook(str(notebook)))
    for name in profiles.available_profiles():
        params = profiles.load_profile(name).params.get("04_other_cnns") or {}
        assert set(params) <= declared, (name, set(params) - declared)
    imagenet = profiles.load_profile("imagenet").params["04_other_cnns"]
    for entry in imagenet["nets"]:  # the unit lists are the paper's, in its order, from 1
        assert entry["units"] == paper_table(entry["paper"])["unit"].tolist()


@pytest.mark.slow
def test_imagenet_entry_for_vgg16_conv5_3(tmp_path, monkeypatch):
    from compendium.chapters.other_cnns import imagenet_result

    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    wnids = [*BUS, "n01440764"]
    folder = generated_image_folder(tmp_path / "images", wnids, per_class=1)
    entry = {
        "name": "VGG-16 (Places-365)",
        "model": "vgg16",
        "weights": "none",
        "num_classes": 365,
        "layer": "conv5_3",
        "paper": "Table A3",
        "units": [191, 20, 333, 145, 113, 443, 131],
    }
    result = imagenet_result(
        entry,
        image_folder=folder,
        synsets=synset_file(tmp_path / "s.txt", sorted(wnids)),
        max_per_class=1,
        group_wnids=BUS,
        super_category="bus",
        iou_threshold=0.04,
        top=2,
    )
    assert result.table["unit (from 1)"].tolist() == entry["units"]
    assert result.table["iou"].tolist() == [0.15, 0.15, 0.08, 0.07, 0.06, 0.04, 0.04]
