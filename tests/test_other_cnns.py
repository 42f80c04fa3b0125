"""Chapter 4's helpers: super-category measures against brute force and against the
measures engine, network entries, the coarse task, and the small VGG / GoogLeNet nets."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
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
    for real in profiles.PARAMS.glob("*.yml"):  # the rerun recipe compares with them
        (tmp_path / real.name).write_text(real.read_text())
    monkeypatch.setattr(profiles, "PARAMS", tmp_path)
    [path] = pipeline.execute_notebooks(
        "generated-imagenet", ["04_other_cnns"], out_dir=tmp_path / "out"
    )
    notebook = nbformat.read(path, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    assert (
        "3 units nominated as bus detectors (numbered from 1): 494 (0.11), 828 (0.10), 569 (0.10)"
        in text
    )
    assert "beside Table A5, unit by unit" in text
    assert ":::{admonition} In short" in text and "torchvision's, whose unit numbers" in text
    assert "compendium run 04 --profile default" in text  # the rerun recipe at the end


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
    points, rule = chart["layer"][:2]  # the threshold's rule is drawn over the points
    assert "rule" in str(rule["mark"]) and "point" in str(points["mark"])
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
    assert list(shown.columns) == [
        "% > 0, A",
        "% > 0, not A",
        "mean A",
        "mean not A",
        "precision",
        "CCMAS",
        "recall at P = 1",
        "max. inform.",
        "its hit rate",
        "its false alarms",
        "bars cleared",
    ]
    assert shown["precision"].iloc[0] == f"{table['precision_100'].iloc[0]:.2f}"
    assert shown["% > 0, A"].iloc[0] == f"{table['pct_above_zero_A'].iloc[0]:.1f}"


def test_plot_sample_keeps_every_class_in_its_share():
    from compendium.chapters.other_cnns import ChapterParameterError, plot_sample

    labels = np.repeat(np.arange(10), [400, 100, 100, 100, 100, 300, 100, 300, 100, 300])
    kept = plot_sample(labels, [5, 7, 9], 190, seed=0)
    counts = np.bincount(labels[kept], minlength=10)
    assert counts.tolist() == [40, 10, 10, 10, 10, 30, 10, 30, 10, 30]
    assert (np.diff(kept) > 0).all()  # in image order, no repeats
    assert not np.array_equal(kept, plot_sample(labels, [5, 7, 9], 190, seed=1))
    assert plot_sample(labels, [5, 7, 9], None).size == labels.size
    assert plot_sample(labels, [5, 7, 9], 5000).size == labels.size
    assert np.bincount(labels[plot_sample(labels, [5], 10)], minlength=10).min() == 1
    with pytest.raises(ChapterParameterError, match="do not all occur"):
        plot_sample(labels, [5, 11], 100)


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


# --- the page: parameters, the run, and what the page shows and says ---------------------


def test_settings_check_the_data_source_and_keep_the_classes_as_a_tuple():
    from compendium.chapters.other_cnns import ChapterParameterError, Settings

    settings = Settings.from_parameters(
        data="imagenet", super_category="bus", super_category_classes=["n1", "n2"]
    )
    assert settings.super_category_classes == ("n1", "n2") and not settings.fashion
    assert Settings.from_parameters(data="fashion-mnist", super_category="footwear").fashion
    with pytest.raises(ChapterParameterError, match="data must be 'fashion-mnist' or 'imagenet'"):
        Settings.from_parameters(data="cifar", super_category="footwear")


def test_super_category_concepts_take_the_categories_or_the_given_classes():
    from compendium.chapters.other_cnns import ChapterParameterError, super_category_concepts

    concepts = {c.name: c.classes for c in super_category_concepts("footwear")}
    assert concepts["footwear"] == (5, 7, 9) and concepts["Bag"] == (8,) and len(concepts) == 12
    shoes = {c.name: c.classes for c in super_category_concepts("shoes", ["Sandal", "Sneaker"])}
    assert shoes["shoes"] == (5, 7) and "footwear" in shoes
    with pytest.raises(ChapterParameterError, match="give its classes as super_category_classes"):
        super_category_concepts("hats")


def test_the_imagenet_run_needs_an_image_folder_and_the_classes():
    from compendium.chapters.other_cnns import ChapterParameterError, Settings, run_networks

    entry = [{"name": "G", "model": "googlenet", "layer": "inception4e", "units": [1]}]
    settings = Settings.from_parameters(data="imagenet", super_category="bus")
    with pytest.raises(ChapterParameterError, match="need image_folder"):
        run_networks(settings, entry)
    with pytest.raises(ChapterParameterError, match="give super_category_classes"):
        run_networks(Settings(data="imagenet", super_category="bus", image_folder="x"), entry)


def test_paper_table_reads_the_numbers_it_is_given():
    from compendium.chapters import paper
    from compendium.chapters.other_cnns import ChapterParameterError, paper_table

    reported = paper.reported()
    changed = reported.copy()
    row = (changed["source"] == "Table A3") & (changed["unit"] == 20)
    changed.loc[row & (changed["measure"] == "ccmas"), "value"] = 0.11
    assert paper_table("Table A3").loc[1, "ccmas"] == 0.82
    assert paper_table("Table A3", changed).loc[1, "ccmas"] == 0.11
    with pytest.raises(ChapterParameterError, match="no paper table"):
        paper_table("Table A9")


def test_as_printed_drops_the_zero_before_the_point():
    from compendium.chapters.paper import as_printed

    assert [as_printed(v) for v in (0.58, 0.0, 0.75, -0.524, 1.5)] == [
        ".58",
        ".00",
        ".75",
        "-.52",
        "1.50",
    ]
    assert as_printed(0.0812, 3) == ".081"


FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def page_recording(path, n_per_class=20, n_units=6, seed=0, strong=2.0, weak=0.5, silent=(5,)):
    """A recording of one conv layer in which unit 2 prefers footwear (5, 7, 9) by `strong`,
    unit 4 by `weak`, and the `silent` units give every image 0."""
    from compendium.activations.writer import ActivationWriter, LayerSpec

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), n_per_class)
    x = np.maximum(rng.normal(size=(labels.size, n_units)), 0).astype(np.float32)
    footwear = np.isin(labels, [5, 7, 9])
    x[footwear, 2] += strong
    x[footwear, 4] += weak
    x[:, list(silent)] = 0
    with ActivationWriter(
        path,
        [LayerSpec("conv5", n_units, kind="conv")],
        FASHION_NAMES,
        {"model": "generated", "dataset": "generated"},
    ) as w:
        w.append({"conv5": {"max": x, "mean": x / 2}}, labels, np.arange(labels.size))
        w.finish()
    return path


def page_dissection(n_units=6, detectors=((2, 0.2), (4, 0.1)), bag=(0, 0.3), silent=(5,)):
    """A dissection of `n_units` units for the ten classes and the two super-categories:
    `detectors` (unit, IoU) are footwear's, `bag` a Bag detector, the `silent` units have
    IoU 0 with everything; the rest pass nothing."""
    from compendium.methods.dissect import Dissection

    concepts = [*FASHION_NAMES, "footwear", "upper body"]
    iou = np.full((n_units, len(concepts)), 0.01)
    for unit, value in detectors:
        iou[unit, concepts.index("footwear")] = value
    iou[bag[0], concepts.index("Bag")] = bag[1]
    iou[list(silent)] = 0.0
    return Dissection(
        layer="conv5",
        concepts=concepts,
        thresholds=np.linspace(0.1, 0.6, n_units),
        iou=iou,
        n_images=200,
        map_shape=(7, 7),
        mask_shape=(28, 28),
        quantile=0.05,
        iou_threshold=0.04,
        seconds={"threshold pass": 1.5, "IoU pass": 2.25},
        buffer_bytes=3 * 2**20,
        active_fraction=0.0123,
    )


def page_run(
    tmp_path,
    *,
    data="fashion-mnist",
    nominated=((2, 0.2), (4, 0.1)),
    paper=None,
    recording=None,
    info=None,
    **settings,
):
    """A `ChapterRun` of one network made of `page_recording` (with `recording`'s options)
    and `page_dissection`; for the fashion data every unit of the layer is measured."""
    from compendium.chapters.other_cnns import (
        ChapterRun,
        NetResult,
        Settings,
        detector_table,
        layer_measures,
    )
    from compendium.methods.dissect import nominate

    tmp_path.mkdir(parents=True, exist_ok=True)
    path = page_recording(tmp_path / "net.h5", **(recording or {}))
    dissection = page_dissection(detectors=nominated)
    units = nominate(dissection, "footwear")
    every = layer_measures(path, "conv5", range(6), (5, 7, 9), top=20)
    fashion = data == "fashion-mnist"
    table = detector_table(
        "Net", "conv5", units, path, (5, 7, 9), top=20, measured=every if fashion else None
    )
    options = {"super_category": "footwear", "top_n": 20, "quantile": 0.05, **settings}
    if not fashion:
        table.insert(3, "unit (from 1)", table["unit"] + 1)
    result = NetResult(
        "Net",
        "conv5",
        units,
        table,
        path,
        (5, 7, 9),
        list(FASHION_NAMES),
        dissection if fashion else None,
        {"arch": "generated", "task": "coarse", "paper": paper, **(info or {})},
        None,
        every if fashion else None,
    )
    return ChapterRun(Settings(data=data, **options), [result])


def markdown_texts(outputs):
    return [o.data for o in outputs if type(o).__name__ == "Markdown"]


@pytest.fixture(autouse=True)
def page_data(tmp_path, monkeypatch):
    """CSV downloads go to a temporary folder, as in a book build."""
    from compendium.chapters.downloads import PAGE_DATA_ENV

    folder = tmp_path / "page-data"
    monkeypatch.setenv(PAGE_DATA_ENV, str(folder))
    return folder


# --- the measures of the bars, for a fixed class -------------------------------------------


def brute_detector(x, is_a):
    """The reasonable bar for class A read off the definition, one threshold at a time."""
    best = None
    for t in np.unique(x):
        tp, fp = int(np.sum(is_a & (x >= t))), int(np.sum(~is_a & (x >= t)))
        if 2 * tp > is_a.sum() and (best is None or (tp - fp, t) > best[:2]):
            best = (tp - fp, t, tp / is_a.sum(), fp / (tp + fp))
    return best[0] > 0, best[2], best[3]


def test_fixed_class_detector_equals_brute_force_and_the_worked_cases():
    from compendium.measures.groups import fixed_class_detector

    rng = np.random.default_rng(5)
    for _ in range(120):
        n = int(rng.integers(4, 50))
        is_a = rng.random(n) < rng.uniform(0.1, 0.9)
        if is_a.all() or not is_a.any():
            continue
        x = np.round(rng.random((n, 3)) * rng.integers(1, 5), 1)
        x[is_a, 0] += rng.random()
        table = fixed_class_detector(x, is_a)
        for unit in range(3):
            expected = brute_detector(x[:, unit], is_a)
            got = table.loc[unit, ["detector", "detector_recall", "detector_false_alarm"]]
            assert (bool(got.iloc[0]), *got.iloc[1:]) == pytest.approx(expected)
    # A: 5, 4, 3, 1; the rest: 3.5, 0, 0, 0. With more hits than misses: t = 3 (3 hits, 1
    # false alarm, margin 2) and t = 1 (4 hits, 1 false alarm, margin 3): the bar reads t = 1
    x = np.array([5.0, 4, 3, 1, 3.5, 0, 0, 0])
    is_a = np.array([True, True, True, True, False, False, False, False])
    row = fixed_class_detector(x, is_a).iloc[0]
    assert bool(row["detector"]) and row["detector_recall"] == 1.0
    assert row["detector_false_alarm"] == 0.2
    ties = fixed_class_detector(np.array([5.0, 4, 3, 0, 3.5, 2, 0, 0]), is_a).iloc[0]
    assert ties["detector_recall"] == 0.75  # t = 3 and t = 0 both have margin 2: the higher
    flat = fixed_class_detector(np.zeros(8), is_a).iloc[0]  # a silent unit: every image in
    assert (
        not flat["detector"]
        and flat["detector_recall"] == 1
        and flat["detector_false_alarm"] == 0.5
    )
    with pytest.raises(ValueError, match="class and the rest must both"):
        fixed_class_detector(x, np.ones(8, bool))


def test_group_measures_carry_the_bars_and_silence():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(10), 10)
    x = rng.random((100, 4))
    x[np.isin(labels, [5, 7, 9]), 1] += 2  # every footwear image above every other: localist
    x[:, 2] = 0.0  # silent
    x[np.isin(labels, [5, 7, 9]), 3] -= 1  # prefers the rest: not silent, though its best
    table = group_measures(x, labels, [5, 7, 9], top=20)  # threshold takes in every image
    assert table["silent"].tolist() == [False, False, True, False]
    assert table["localist"].tolist() == [False, True, False, False]
    assert bool(table.loc[1, "detector"]) and table.loc[1, "detector_false_alarm"] == 0
    assert table.loc[3, "mi_recall"] == 1 and table.loc[3, "mi_specificity"] == 0
    assert table.loc[1, "precision_60"] == pytest.approx(0.5)  # 30 footwear images
    assert "precision_60" in group_measures(x, labels, [5, 7, 9], top=60)
    few = group_measures(x[:50], labels[:50], [0], top=5)
    assert few["precision_60"].isna().all()  # Zhou's top 60 needs 60 images


# --- the page: what it shows and says ------------------------------------------------------


def test_run_description_and_dissection_settings_name_what_was_measured():
    from compendium.chapters import dissection_page as pg
    from compendium.chapters.other_cnns import Settings

    settings = Settings(data="fashion-mnist", super_category="footwear", quantile=0.05)
    nets = [
        {"name": "V", "arch": "small-vgg", "task": "coarse", "layer": "conv3_3"},
        {"name": "A", "arch": "small-alexnet", "task": "classes", "layer": "conv5", "epochs": 1},
    ]
    run = pg.run_description(settings, nets)
    assert run["Data"].startswith("Fashion-MNIST: all test images; footwear plays")
    assert "V: `small-vgg` trained on five coarse groups for 2 epochs" in run["Networks"]
    assert "A: `small-alexnet` trained on the ten classes for 1 epoch," in run["Networks"]
    assert (
        "first 500"
        in pg.run_description(Settings(**{**vars(settings), "n_images": 500}), nets)["Data"]
    )
    imagenet = Settings(data="imagenet", super_category="bus", max_per_class=7)
    entry = [{"name": "G", "model": "googlenet", "layer": "inception4e"}]
    described = pg.run_description(imagenet, entry)
    assert "the first 7 images of each class" in described["Data"]
    assert "`googlenet` with weights `DEFAULT`" in described["Networks"]
    assert pg.network_title(settings, nets) == "two small CNNs on Fashion-MNIST"
    assert pg.network_title(settings, nets[:1]) == "one small CNN on Fashion-MNIST"
    assert pg.network_title(settings, nets * 6) == "12 small CNNs on Fashion-MNIST"
    torchvision = [{"model": "vgg16"}, {"model": "googlenet"}, {"model": "googlenet"}]
    assert pg.network_title(imagenet, torchvision) == "VGG-16 and GoogLeNet on ImageNet"
    assert pg.network_title(imagenet, [{"model": "resnet18"}]) == "resnet18 on ImageNet"
    text = pg.describe_dissection_settings(settings)
    assert "**0.05** (the top 5% of map values), not the published 0.005" in text
    assert text.endswith("the IoU threshold of step 5 is 0.04.")
    published = Settings(data="fashion-mnist", super_category="footwear", iou_threshold=0.1)
    assert "the published value, 0.005 (the top 0.5% of map values)" in (
        pg.describe_dissection_settings(published)
    )
    assert "threshold of step 5 is 0.1." in pg.describe_dissection_settings(published)


def test_networks_section_names_the_classes_tabulates_and_counts_the_silent(tmp_path, page_data):
    from compendium.chapters import dissection_page as pg

    run = page_run(tmp_path)
    assert pg.describe_super_category(run) == (
        "The super-category **footwear** is made of the classes Sandal, Sneaker, Ankle boot. "
        "The networks of this run:"
    )
    text, table, link, silent = pg.networks_outputs(run)
    assert list(table.columns) == ["Net"] and table.loc["arch", "Net"] == "generated"
    assert table.loc["kept values (MB)", "Net"] == 3.0
    assert "networks.csv" in link.data and (page_data / "networks.csv").is_file()
    assert silent.data.startswith("1 silent unit gives the same activation to every image")
    assert "(1 of Net's 6)" in silent.data
    none = page_run(tmp_path / "none", recording={"silent": ()})
    assert len(pg.networks_outputs(none)) == 3
    split = pg.silent_split(run, include_silent=True)
    assert len(split.kept) == 6 and split.n_silent == 1
    with pytest.raises(ValueError, match="True or False"):
        pg.silent_split(run, include_silent="no")


def test_quantile_check_counts_the_detectors_and_the_words_follow_them(tmp_path):
    from dataclasses import replace

    from compendium.chapters import dissection_page as pg
    from compendium.chapters.other_cnns import Settings

    run = page_run(tmp_path)
    settings = run.settings
    ceilings = pd.DataFrame(
        {
            "share of all pixels": [0.3, 0.1],
            **{c: [0.04, 0.4] for c in pg.ceiling_columns(settings)},
        },
        index=pd.Index(["footwear", "Bag"], name="concept"),
    )
    check = pg.summarise_quantile_check(run.results[0], page_dissection(), ceilings, settings)
    assert check.detector_counts.to_dict() == {"footwear": 2, "Bag": 1} and check.n_detectors == 3
    assert (check.best_iou, check.ceiling, check.n_units) == (0.2, 0.04, 6)
    text = pg.describe_quantile_check(check, settings)
    assert text.startswith(
        "With the published quantile (0.005), Net's `conv5` has 3 detectors of 6 units: "
        "2 footwear, 1 Bag. **2** of them are footwear detectors; the best footwear IoU of any "
        "unit is 0.200, against a ceiling of 0.040. After enlarging the maps, 1.23% of all"
    )
    assert text.endswith(
        "uses the quantile 0.05, under which a unit's masks can cover as much as the super-category's."
    )
    ceiling = pg.describe_quantile_ceiling(check, settings)
    assert "cover about 0.5% of all pixels, while footwear's masks cover 30.0% of them" in ceiling
    assert "footwear alone could not pass the IoU threshold of 0.04: its IoU is at most 0.040" in (
        ceiling
    )
    higher = replace(check, ceiling=0.05)
    assert "could reach an IoU of at most 0.050, barely above the threshold of 0.04" in (
        pg.describe_quantile_ceiling(higher, settings)
    )
    high = pg.describe_quantile_ceiling(replace(check, ceiling=0.3), settings)
    assert "could reach an IoU of 0.300, against the threshold of 0.04" in high
    fewer = pg.summarise_quantile_check(
        run.results[0], page_dissection(detectors=((3, 0.5),), bag=(0, 0.0)), ceilings, settings
    )
    other = pg.describe_quantile_check(fewer, settings)
    assert "has 1 detectors of 6 units: 1 footwear. **1** of them" in other
    assert "IoU of any unit is 0.500" in other
    none = pg.summarise_quantile_check(
        run.results[0], page_dissection(detectors=(), bag=(0, 0.0)), ceilings, settings
    )
    assert "0 detectors of 6 units: none. **0** of them" in pg.describe_quantile_check(
        none, settings
    )
    published = Settings(data="fashion-mnist", super_category="footwear", quantile=0.005)
    assert pg.describe_quantile_check(check, published).endswith(
        "quantile 0.005 (the published value)."
    )
    assert "needs concept masks" in pg.describe_quantile_check(None, settings)


def test_the_quantile_section_of_the_imagenet_data_is_one_sentence(tmp_path):
    from compendium.chapters import dissection_page as pg

    run = page_run(tmp_path, data="imagenet")
    assert pg.quantile_check(run) is None
    [text] = pg.quantile_outputs(run)
    assert "ImageNet does not have" in text.data


def test_label_overview_leaves_the_silent_units_out(tmp_path, page_data):
    from compendium.chapters import dissection_page as pg

    run = page_run(tmp_path)
    every = pg.label_overview(run.results)
    assert every.index.name == "best concept"
    assert every.loc["footwear", ("Net", "units")] == 2
    assert every.loc["footwear", ("Net", "detectors")] == 2
    assert every.loc["Bag", ("Net", "detectors")] == 1
    kept = pg.label_overview(run.results, {"Net": {5}})  # IoU 0 everywhere: "T-shirt/top"
    shirts = ("Net", "units")
    assert every.loc["T-shirt/top", shirts] == kept.loc["T-shirt/top", shirts] + 1
    assert kept[("Net", "units")].sum() == 5
    overview, link, note, *_ = pg.nominated_outputs(run)
    assert overview[("Net", "units")].sum() == 5 and (page_data / "best_concepts.csv").is_file()
    assert note.data.startswith("The 1 silent units of the layers")
    included = pg.nominated_outputs(run, include_silent=True)
    assert included[0][("Net", "units")].sum() == 6


def test_nominated_units_are_listed_from_0_here_and_from_1_for_the_paper(tmp_path):
    from compendium.chapters import dissection_page as pg

    run = page_run(tmp_path)
    result = run.results[0]
    assert pg.describe_nominated(result, "footwear", from_one=False) == (
        "**Net**, `conv5`: 2 units nominated as footwear detectors: 2 (0.20), 4 (0.10)"
    )
    assert pg.describe_nominated(result, "bus", from_one=True) == (
        "**Net**, `conv5`: 2 units nominated as bus detectors (numbered from 1): 3 (0.20), 5 (0.10)"
    )
    empty = page_run(tmp_path / "empty", nominated=()).results[0]
    assert pg.describe_nominated(empty, "footwear", from_one=False).endswith(
        "0 units nominated as footwear detectors."
    )
    assert len(pg.nominated_outputs(page_run(tmp_path / "in", data="imagenet"))) == 1


def test_each_network_is_one_table_in_one_number_format(tmp_path, page_data):
    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper

    run = page_run(tmp_path)
    table = pg.detector_table(run.results[0], run.settings)
    assert list(table.index) == [2, 4] and "label" not in table
    assert list(table.columns)[:2] == ["IoU", "% > 0, A"] and table.columns[-1] == "bars cleared"
    numbers = table.drop(columns=["bars cleared"]).to_numpy().ravel()
    assert all(re.fullmatch(r"\d+\.\d{1,2}|–", v) for v in numbers)
    assert table.loc[2, "bars cleared"] == "detector, Zhou"
    by_iou = page_run(tmp_path / "iou", nominate_rule="iou")
    assert "label" in pg.detector_table(by_iou.results[0], by_iou.settings)
    bars, heading, styled, link, errors = pg.detector_table_outputs(run, paper.reported())
    assert bars.data == pg.describe_bars_column(paper.reported())
    assert "*Zhou* (at least .75 of its 60 most active images in A)" in bars.data
    changed = paper.reported()
    changed.loc[changed["measure"] == "detector_precision", "value"] = 0.8
    assert "at least .80 of its 60" in pg.describe_bars_column(changed)
    assert heading.data == "**Net**, layer `conv5`" and styled.data.equals(table)
    assert (page_data / "net_nominated.csv").is_file()
    csv = pd.read_csv(page_data / "net_nominated.csv")
    assert {"sem_A", "recall_p95", "mi_fpr", "detector_recall"} <= set(csv.columns)
    assert "below 5 in Table A3 and below 2 in Tables A4-A5" in errors.data
    empty = page_run(tmp_path / "empty", nominated=())
    assert markdown_texts(pg.detector_table_outputs(empty, paper.reported()))[1:3] == [
        "**Net**, layer `conv5`",
        "No unit of this layer is nominated as a footwear detector.",
    ]


def test_standard_errors_are_stated_beside_the_papers_bounds(tmp_path):
    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper

    run = page_run(tmp_path)
    reported = paper.reported()
    largest = run.results[0].table[["sem_A", "sem_notA"]].max().max()
    text = pg.describe_standard_errors(run.results, reported)
    assert f"the largest is {largest:.3g}" in text
    changed = reported.copy()
    changed.loc[changed["source"] == "Table A4 caption", "value"] = 3
    said = pg.describe_standard_errors(run.results, changed)
    assert "below 5 in Table A3 and below 3 in Table A4 and below 2 in Table A5" in said


def test_paper_tables_are_shown_as_the_paper_prints_them(page_data):
    from compendium.chapters import dissection_page as pg

    shown = pg.paper_table_outputs()
    assert markdown_texts(shown)[::2] == [
        "**Table A3**: VGG-16 (Places-365), `conv5_3` (units numbered from 1)",
        "**Table A4**: GoogLeNet (Places-365), `inception4e` (units numbered from 1)",
        "**Table A5**: GoogLeNet (ImageNet), `inception4e` (units numbered from 1)",
    ]
    a3 = shown[1]
    assert a3.index.name == "unit" and a3.index[1] == 20
    assert a3.loc[20].tolist() == ["0.15", "Y", "99", "49.1", "157.6", "15.2", "0.53", "0.82"]
    assert shown[7].loc[541, "% > 0, A"] == "99.67"  # the paper's own digits
    assert (page_data / "paper_table_a5.csv").is_file()


def test_fig6_panel_draws_a_thinned_cloud_and_says_what_its_threshold_catches(tmp_path):
    from compendium.chapters import dissection_page as pg

    run = page_run(tmp_path)
    result = run.results[0]
    panel = pg.fig6_panel(result, run.settings)
    assert panel.unit == 2 and panel.label == "conv5.2" and panel.sample.size == 200
    assert panel.class_names == FASHION_NAMES
    title = pg.fig6_title(panel, 20)
    assert title[0] == "Net, conv5.2" and title[1].startswith("IoU 0.20, precision ")
    few = pg.fig6_panel(result, page_run(tmp_path / "few", max_points=80).settings)
    assert few.sample.size == 80 and pg.fig6_title(few, 20)[1].endswith(", 80 of 200 images drawn")
    assert np.bincount(few.labels[few.sample]).tolist() == [8] * 10  # every class its share
    assert "draws 80 of the 200 images" in pg.describe_fig6_sample([few])
    assert pg.describe_fig6_sample([panel]) == "Every image is drawn."
    chart = pg.fig6_chart(panel, run.settings).to_dict()
    assert chart["title"]["text"] == title
    row = {"mean_A": 2.5, "mean_notA": 0.75, "mi_recall": 0.934, "mi_false_alarm": 0.2}
    assert pg.describe_fig6_panel(row, "footwear") == (
        "Mean activation 2.50 for footwear and 0.75 for the rest; at the threshold of maximum "
        "informedness the unit finds 93% of the footwear images, and 20% of the images above "
        "that threshold are not footwear."
    )
    changed = pg.describe_fig6_panel({**row, "mi_recall": 0.5, "mean_A": 9.0}, "bus")
    assert "Mean activation 9.00 for bus" in changed and "finds 50% of the bus images" in changed
    sample, chart_, text, intro, numbers, link = pg.fig6_outputs(run)
    assert text.data == pg.describe_fig6_panel(panel.row, "footwear")
    assert numbers.loc[("Net", "conv5.2"), "source"] == "this run"
    assert numbers.loc[("VGG-16 (Places-365)", "conv5_3.20 (from 1)"), "precision"] == "0.53"
    empty = page_run(tmp_path / "empty", nominated=())
    assert pg.fig6_panel(empty.results[0], empty.settings) is None
    assert "**Net**: no nominated unit to plot." in markdown_texts(pg.fig6_outputs(empty))


def test_summary_sets_this_runs_networks_beside_the_papers_tables(tmp_path, page_data):
    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper

    run = page_run(tmp_path)
    assert list(pg.summary_tables(run.results)) == ["Net", "A3 (paper)", "A4 (paper)", "A5 (paper)"]
    styled, link = pg.summary_outputs(run)
    summary = styled.data
    assert list(summary.columns) == ["Net", "A3 (paper)", "A4 (paper)", "A5 (paper)"]
    assert summary.loc["nominated units", "A4 (paper)"] == "17"
    assert summary.loc["max informedness (max)", "A3 (paper)"] == "–"
    assert summary.loc["units with precision >= .75", "A5 (paper)"] == "0"
    changed = paper.reported()
    changed.loc[changed["measure"] == "detector_precision", "value"] = 0.5
    lower = pg.summary_outputs(run, changed)[0].data
    a5 = pg.paper_table("Table A5")["precision_100"]
    assert lower.loc["units with precision >= .50", "A5 (paper)"] == str((a5 >= 0.5).sum())
    assert (a5 >= 0.5).sum() > 0 == (a5 >= 0.75).sum()
    imagenet = page_run(tmp_path / "in", data="imagenet", paper="Table A5")
    shown = pg.summary_outputs(imagenet)
    assert markdown_texts(shown)[1] == "**Net** beside Table A5, unit by unit:"
    assert set(shown[-2]["unit (from 1)"]) == {3, 5}


def test_paper_detectors_come_from_the_papers_tables():
    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper

    reported = paper.reported()
    theirs = pg.paper_detectors(reported)
    assert (theirs.criterion, theirs.precision_max, theirs.n_at_criterion) == (0.75, 0.58, 0)
    assert (theirs.ccmas_min, theirs.ccmas_max) == (0.34, 0.82)
    assert theirs.pct_a == (93.7, 100.0) and theirs.pct_not_a == (22.3, 97.3)
    assert (theirs.disagreeing_network, theirs.disagreeing_unit) == ("GoogLeNet", 494)
    assert (theirs.disagreeing_iou, theirs.disagreeing_precision) == (0.11, 0.0)
    assert theirs.n_units == 49 and dict(theirs.units_per_table)["VGG-16 (Places-365)"] == 7
    changed = reported.copy()
    unit_494 = (changed["source"] == "Table A5") & (changed["unit"] == 494)
    changed.loc[unit_494 & (changed["measure"] == "precision_100"), "value"] = 0.9
    other = pg.paper_detectors(changed)
    assert (other.precision_max, other.n_at_criterion) == (0.9, 1)
    assert (other.disagreeing_unit, other.disagreeing_iou) == (384, 0.10)


def test_bar_counts_follow_the_units_and_the_silent_policy(tmp_path):
    from compendium.chapters import dissection_page as pg

    run = page_run(tmp_path)
    counts = pg.bar_counts(run)
    assert list(counts.index) == [("Net", "nominated"), ("Net", "other")]
    nominated, other = counts.loc[("Net", "nominated")], counts.loc[("Net", "other")]
    assert (nominated["units"], nominated["silent"], nominated["counted"]) == (2, 0, 2)
    assert (other["units"], other["silent"], other["counted"]) == (4, 1, 3)
    measured = run.results[0].layer_table.set_index("unit")
    assert nominated["detector"] == int(measured.loc[[2, 4], "detector"].sum())
    assert bool(measured.loc[2, "detector"]) and nominated["grandmother"] == 0
    kept = pg.bar_counts(run, include_silent=True)
    assert kept.loc[("Net", "other"), "counted"] == 4
    totals = pg.bar_totals(counts)
    assert (totals.counted, totals.detector) == (2, nominated["detector"])
    assert totals.networks_with_detectors == ("Net",)
    assert pg.bar_totals(counts, "other").counted == 3
    assert list(pg.bar_counts_table(counts).columns) == list(pg.BAR_HEADINGS.values())
    imagenet = page_run(tmp_path / "in", data="imagenet")
    assert list(pg.bar_counts(imagenet).index) == [("Net", "nominated")]
    assert pg.describe_bar_layers(pg.bar_counts(imagenet), "bus") == ""


def test_the_verdict_follows_the_detector_counts(tmp_path):
    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper

    theirs = pg.paper_detectors(paper.reported())

    def verdict(run):
        counts = pg.bar_counts(run)
        units = pg.nominated_units(run.results)
        return pg.describe_verdict(
            pg.bar_totals(counts), units, n_networks=1, super_category="footwear", theirs=theirs
        )

    strong = page_run(tmp_path / "strong", recording={"strong": 6.0})
    text = verdict(strong)
    detectors = int(pg.bar_counts(strong).loc[("Net", "nominated"), "detector"])
    assert detectors >= 1
    subject = "All 2 units" if detectors == 2 else f"{detectors} of the 2 units"
    assert text.startswith(f"**{subject} Network Dissection nominated are footwear detectors")
    one = page_run(tmp_path / "one", nominated=((2, 0.2),), recording={"strong": 6.0})
    assert verdict(one).startswith("**The one unit Network Dissection nominated is a footwear")
    assert "by the paper's reasonable test**" in text and "in 1 of the 1 networks" in text
    assert "1 of them is a grandmother unit" in text  # +6 lifts every footwear image above
    assert "The clearest is Net's unit 2: at its best threshold it finds 100%" in text
    assert "The paper could make no such count for its 49 'bus' units: it reports no " in text
    assert "(the best .58)" in text
    weak = page_run(tmp_path / "weak", nominated=((4, 0.1),), recording={"weak": 0.0})
    none = verdict(weak)
    assert none.startswith(
        "**The one unit Network Dissection nominated is not a footwear detector by the "
        "paper's tests**: none has a threshold with more hits than misses"
    )
    assert "and none is a grandmother unit" in none
    two = page_run(tmp_path / "two", recording={"weak": 0.0, "strong": 0.0})
    assert verdict(two).startswith("**None of the 2 units Network Dissection nominated is a")
    empty = page_run(tmp_path / "empty", nominated=())
    assert "no verdict on its nominations" in verdict(empty)


def test_describe_detectors_puts_the_verdict_first_then_the_ranges_beside_the_papers(tmp_path):
    from dataclasses import replace

    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper

    run = page_run(tmp_path)
    units = pg.nominated_units(run.results)
    assert len(units) == 2 and pg.nominated_units([]).empty
    assert {"zhou_detector", "iou", "detector"} <= set(units.columns)
    theirs = pg.paper_detectors(paper.reported())
    counts = pg.bar_counts(run)
    text = pg.describe_detectors(
        units,
        n_networks=1,
        super_category="footwear",
        top_n=20,
        theirs=theirs,
        totals=pg.bar_totals(counts),
        layers=pg.describe_bar_layers(counts, "footwear"),
    )
    verdict, ranges, disagreement, layers = text.split("\n\n")
    assert verdict == pg.describe_verdict(
        pg.bar_totals(counts), units, n_networks=1, super_category="footwear", theirs=theirs
    )
    prec = units["precision_20"]
    assert ranges.startswith(
        "**What the other measures show.** Across the 1 networks, the precision of the "
        "nominated units (the share of footwear among each unit's 20 most active images) "
        f"ranges from {prec.min():.2f} to {prec.max():.2f}, and "
        f"{int((prec >= 0.75).sum())} of them reach .75 (the paper: at most .58, none at .75)."
    )
    assert ranges.endswith("(the paper: 93.7-100% of bus images, 22.3-97.3% of the others).")
    worst = units.loc[prec.idxmin()]
    assert disagreement.startswith(
        f"The two methods can disagree outright: Net's unit {worst['unit']}"
    )
    assert "as the paper's GoogLeNet unit 494 (IoU .11, precision .00) did." in disagreement
    other = counts.loc[("Net", "other")]
    assert layers.startswith("The nominations and the reasonable bar agree only in part.")
    assert f"Network Dissection nominated {counts.loc[('Net', 'nominated'), 'detector']} of" in (
        layers
    )
    assert f"left {other['detector']} out" in layers
    changed = replace(theirs, precision_max=0.81, n_at_criterion=3, pct_not_a=(20.0, 97.0))
    again = pg.describe_detectors(
        units.assign(ccmas=[0.5, 0.25]),
        n_networks=3,
        super_category="bus",
        top_n=20,
        theirs=changed,
    )
    assert "Across the 3 networks" in again and "(the paper: at most .81, 3 at .75)" in again
    assert "CCMAS ranges from 0.25 to 0.50" in again and "20-97% of the others" in again
    assert "nothing to compare" in pg.describe_detectors(
        pd.DataFrame(), n_networks=1, super_category="footwear", top_n=20, theirs=theirs
    )
    table, link, shown = pg.detectors_outputs(run, paper.reported())
    assert shown.data == text and list(table.columns) == list(pg.BAR_HEADINGS.values())


def test_base_rate_beside_the_papers_buses(tmp_path):
    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper

    reported = paper.reported()
    run = page_run(tmp_path)
    assert pg.base_rate(run) == (0.3, 200)
    assert pg.describe_base_rate(0.3, 10_000, "footwear", reported) == (
        "In this run 30.0% of the 10,000 measured images belong to footwear (the paper: 300 of "
        "100,000 images, 0.3%, were buses). A unit with no preference at all would put about "
        "30 footwear images among its 100 most active ones here, and about 0.3 buses there."
    )
    changed = reported.copy()
    changed.loc[changed["measure"] == "n_images_A", "value"] = 600
    text = pg.describe_base_rate(0.125, 80, "shoes", changed, top_n=40)
    assert "(the paper: 600 of 100,000 images, 0.6%, were buses)" in text
    assert "12.5% of the 80 measured images belong to shoes" in text
    assert "about 5 shoes images among its 40 most active ones here, and about 0.24 buses" in text
    [shown] = pg.base_rate_outputs(run, reported)
    assert shown.data.startswith("In this run 30.0% of the 200 measured images")


def test_summary_box_states_the_paper_this_run_and_why_they_differ(tmp_path):
    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper
    from compendium.chapters.page import MYST

    reported = paper.reported()
    run = page_run(tmp_path, recording={"strong": 6.0})
    box = pg.summary_box(run, reported, "smoke")
    assert box.metadata[MYST] and box.data.startswith(":::{admonition} In short")
    totals = pg.bar_totals(pg.bar_counts(run))
    assert (
        "7 in VGG-16 (Places-365), 17 in GoogLeNet (Places-365) and 25 in GoogLeNet (ImageNet)"
        in box.data
    )
    assert "It reports no signal-detection measure for these units." in box.data
    assert f"**{totals.detector} clear the paper's reasonable bar for a detector**" in box.data
    assert "**This run** (profile `smoke`): Of the 2 units" in box.data
    assert "footwear is 3 of 10 classes here, 30.0% of the 200 images" in box.data
    assert "the paper's buses were 3 of 1,000 classes, 0.3% of its images" in box.data
    assert "Net was trained with footwear as one of its labels" in box.data
    assert "quantile is 0.05 rather than the published 0.005." in box.data
    changed = reported.copy()
    changed.loc[changed["measure"] == "n_images_A", "value"] = 500
    assert "were 5 of 1,000 classes, 0.5%" in pg.summary_box(run, changed, "smoke").data
    empty = page_run(tmp_path / "empty", nominated=())
    assert (
        "nominated no footwear unit with these settings"
        in pg.summary_box(empty, reported, "smoke").data
    )


def test_exercises_have_computed_solutions(tmp_path):
    from compendium.chapters import dissection_page as pg
    from compendium.chapters import paper

    reported = paper.reported()
    run = page_run(tmp_path)
    block = pg.chapter_exercises(run, reported).data
    for label in ("ex-other-cnns-precision", "ex-other-cnns-base-rate", "ex-other-cnns-coverage"):
        assert f":label: {label}" in block
    assert "so the bar asks for 2.5 times the base rate" in block
    assert "there it asked for 250 times" in block
    every = run.results[0].layer_table
    best = every.loc[every["max_informedness"].idxmax()]
    assert f"The highest max informedness is {best['max_informedness']:.2f}" in block
    left = int(pg.bar_counts(run).loc[("Net", "other"), "detector"])
    assert f"It left out {left} of them." in block
    stronger = pg.chapter_exercises(page_run(tmp_path / "s", recording={"strong": 6.0}), reported)
    assert stronger.data != block
    imagenet = pg.chapter_exercises(page_run(tmp_path / "in", data="imagenet"), reported)
    assert "ex-other-cnns-coverage" not in imagenet.data


def test_the_notebooks_prose_types_none_of_the_papers_chapter_4_numbers():
    """Every number of the paper that the page states comes from paper_numbers.csv: none is
    typed into a Markdown cell of the notebook (small whole numbers, such as the three bus
    classes or Fig. 6, are left out of the check)."""
    import jupytext

    from compendium.chapters import paper

    notebook = jupytext.read(profiles.NOTEBOOKS / "04_other_cnns.py")
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    typed = {t.rstrip(",.") for t in re.findall(r"(?<![\w.-])\.?\d[\d,]*(?:\.\d+)?%?", prose)}
    reported = paper.reported()
    chapter = reported[
        reported["source"].str.match(r"Table A[345]|Fig\. 6|Appendix D|Sec\. 2 p\. 6")
    ]
    values = set(chapter["value"].astype(float)) | set(chapter["unit"].dropna().astype(float))
    checked = [v for v in values if v != int(v) or v >= 10]
    assert len(checked) > 100  # the tables' numbers, unit numbers and the base rate's
    forms = {f"{v:g}" for v in checked} | {f"{v:g}%" for v in checked}
    forms |= {f"{v:,.0f}" for v in checked if v >= 1000}
    forms |= {paper.as_printed(v) for v in checked if v < 1} | {f"{100 * v:g}%" for v in checked}
    assert not typed & forms, sorted(typed & forms)
    assert {"0.3%", "300", ".58", "97.3%"} <= forms  # the check would catch the old prose
