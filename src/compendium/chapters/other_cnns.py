"""Chapter 4: units that Network Dissection nominates as super-category detectors, in
several networks, measured the way the paper's Appendix D measures the 'bus' units.

The flow for one network: train it (or load it from the cache) with
:mod:`compendium.networks.training`; record its activations on the test images with
:mod:`compendium.activations.recording`; dissect one convolutional layer with :mod:`compendium.methods.dissect`;
then, for every unit the dissection nominates, compute the columns of Tables A3-A5 and the
signal-detection measures with the super-category as class A (:func:`detector_table`,
which calls :func:`group_measures`).

A network is described by a small mapping (a profile entry), for example
``{"name": "GoogLeNet (coarse)", "arch": "small-googlenet", "task": "coarse",
"layer": "inception4b"}``; :func:`train_config` turns it into a
:class:`compendium.networks.training.TrainConfig`, so the same entry always finds the same cached
weights.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from compendium.inputs.categories import COARSE_GROUPS
from compendium.networks.models import SMALL_NETWORKS, network_config

log = logging.getLogger(__name__)

__all__ = [
    "DISPLAY_NAMES",
    "GROUP_COLUMNS",
    "NetResult",
    "NetSpec",
    "PAPER_CASES",
    "PAPER_TABLES",
    "TASKS",
    "beside_paper",
    "cached_dissection",
    "detector_table",
    "display_table",
    "dissect_small_net",
    "figure6_rows",
    "format_summary",
    "group_measures",
    "group_signal_detection",
    "imagenet_result",
    "iou_ceilings",
    "net_specs",
    "nominate",
    "paper_table",
    "plot_sample",
    "precision_column",
    "summarise",
    "train_config",
    "unit_activations",
]

#: Training tasks: the ten classes, or the five coarse groups of compendium.inputs.categories.
TASKS = {"classes": "fashion-mnist", "coarse": "fashion-mnist-coarse"}
_SPEC_KEYS = {"name", "arch", "task", "layer", "epochs", "model"}


@dataclass(frozen=True)
class NetSpec:
    """One network of the chapter: a display name, an architecture, a training task, the
    layer to dissect, and optional overrides (epochs, network settings)."""

    name: str
    arch: str
    task: str
    layer: str
    epochs: int | None = None
    model: Mapping[str, Any] | None = None


def net_specs(entries: Sequence[Mapping[str, Any]]) -> list[NetSpec]:
    """Check profile entries and turn them into `NetSpec` objects."""
    if not entries:
        raise ValueError("`nets` is empty: list at least one network to dissect")
    specs = []
    for k, entry in enumerate(entries):
        unknown = set(entry) - _SPEC_KEYS
        missing = {"name", "arch", "task", "layer"} - set(entry)
        if unknown or missing:
            raise ValueError(
                f"nets[{k}] has unknown keys {sorted(unknown)} or lacks "
                f"{sorted(missing)}; each network needs name, arch, task and "
                f"layer (optional: epochs, model)"
            )
        if entry["arch"] not in SMALL_NETWORKS:
            raise ValueError(
                f"nets[{k}]: unknown arch {entry['arch']!r}; choose one of "
                f"{', '.join(SMALL_NETWORKS)}"
            )
        if entry["task"] not in TASKS:
            raise ValueError(
                f"nets[{k}]: unknown task {entry['task']!r}; choose one of {', '.join(TASKS)}"
            )
        specs.append(NetSpec(**entry))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"network names must differ; got {names}")
    return specs


def train_config(spec: NetSpec, *, epochs: int, n_train: int | None = None, seed: int = 0) -> Any:
    """The :class:`compendium.networks.training.TrainConfig` of a network entry. ``epochs`` applies
    unless the entry sets its own (the default AlexNet keeps its 5 epochs, and so its
    cached weights)."""
    from compendium.networks.training import TrainConfig

    n_classes = len(COARSE_GROUPS) if spec.task == "coarse" else 10
    model = network_config({"arch": spec.arch, **(spec.model or {}), "n_classes": n_classes})
    return TrainConfig(
        model=model,
        dataset=TASKS[spec.task],
        seed=seed,
        n_train=n_train,
        epochs=spec.epochs if spec.epochs is not None else epochs,
    )


# --------------------------------------------------------------------------------------
# Tables A3-A5: one super-category (class A = several classes) against the rest
# --------------------------------------------------------------------------------------

#: The columns of `group_measures`, in order: the paper's Tables A3-A5, then the
#: signal-detection measures for the same class A.
GROUP_COLUMNS = [
    "pct_above_zero_A",
    "pct_above_zero_notA",
    "mean_A",
    "sem_A",
    "mean_notA",
    "sem_notA",
    "precision_100",
    "ccmas",
    "recall_p100",
    "recall_p95",
    "max_informedness",
    "mi_threshold",
    "mi_recall",
    "mi_false_alarm",
    "mi_fpr",
]


def group_measures(
    activations: Any,
    labels: Any,
    classes: Sequence[int],
    *,
    units: Sequence[int] | None = None,
    top: int = 100,
) -> pd.DataFrame:
    """Selectivity of each unit for one group of classes ``A`` (e.g. footwear, or the
    paper's three bus classes) against all other images, one row per unit.

    ``activations`` is (n_images, n_units); ``units`` names its columns (default 0..).
    Columns (`GROUP_COLUMNS`): the share of activations above zero in A and in not-A (%),
    their means with standard errors (sample standard deviation / sqrt(n)), the share of
    A among the ``top`` most active images (ties by image order), CCMAS with A's mean
    against the pooled mean of the rest, recall at precision 1 and at precision >= .95,
    and the maximum informedness for A with its threshold, hit rate, false-alarm
    proportion FP / (TP + FP) and false-positive rate FP / N_notA. Thresholds follow the
    measures' convention: an image is detected when x >= t, t at the activation values.
    """
    x, is_a = _group_inputs(activations, labels, classes, top)
    a, rest = x[is_a], x[~is_a]
    mean_a, mean_rest = a.mean(0), rest.mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ccmas = (mean_a - mean_rest) / (mean_a + mean_rest)
    order = np.argsort(-x, axis=0, kind="stable")
    table = pd.DataFrame(
        {
            "pct_above_zero_A": 100 * (a > 0).mean(0),
            "pct_above_zero_notA": 100 * (rest > 0).mean(0),
            "mean_A": mean_a,
            "sem_A": _sem(a),
            "mean_notA": mean_rest,
            "sem_notA": _sem(rest),
            "precision_100": is_a[order[:top]].mean(0),
            "ccmas": ccmas,
            **group_signal_detection(x, is_a, order),
        }
    )
    table.index = pd.Index(list(units) if units is not None else range(x.shape[1]), name="unit")
    return table[GROUP_COLUMNS].rename(columns={"precision_100": f"precision_{top}"})


def _group_inputs(
    activations: Any, labels: Any, classes: Sequence[int], top: int
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(activations, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(
            f"activations must be (n_images, n_units) with one label per image; "
            f"got {x.shape} and {y.shape} labels"
        )
    if not np.isfinite(x).all():
        raise ValueError("activations contain NaN or infinity; measure finite values only")
    is_a = np.isin(y, list(classes))
    if is_a.all() or not is_a.any():
        raise ValueError(
            f"classes {list(classes)} hold {int(is_a.sum())} of {len(y)} images; "
            "class A and the rest must both have images"
        )
    if not 1 <= top <= len(y):
        raise ValueError(f"top must be between 1 and the number of images ({len(y)}), not {top}")
    return x, is_a


def _sem(values: np.ndarray) -> np.ndarray:
    if len(values) < 2:
        return np.full(values.shape[1], np.nan)
    return values.std(0, ddof=1) / np.sqrt(len(values))


def group_signal_detection(
    x: np.ndarray, is_a: np.ndarray, order: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Recall at precision 1 and >= .95, and maximum informedness, for class A given by
    the boolean ``is_a``, for every column of ``x`` (n_images, n_units) at once.

    Thresholds are the distinct activation values (an image counts when x >= t); ties in
    informedness go to the higher threshold. Counts are integers, so equal informedness
    values compare equal exactly.
    """
    n = x.shape[0]
    order = np.argsort(-x, axis=0, kind="stable") if order is None else order
    ranked = np.take_along_axis(x, order, 0)
    hits = np.cumsum(is_a[order], axis=0)
    false_alarms = np.arange(1, n + 1)[:, None] - hits
    run_end = np.ones_like(ranked, bool)
    run_end[:-1] = ranked[:-1] != ranked[1:]
    n_a, n_rest = int(is_a.sum()), int((~is_a).sum())
    recall = hits / n_a
    perfect = run_end & (false_alarms == 0)
    precise = run_end & (20 * hits >= 19 * (hits + false_alarms))
    scaled = np.where(run_end, hits * n_rest - false_alarms * n_a, np.iinfo(np.int64).min)
    best = np.argmax(scaled, axis=0)[None]
    tp = np.take_along_axis(hits, best, 0)[0]
    fp = np.take_along_axis(false_alarms, best, 0)[0]
    return {
        "recall_p100": np.where(perfect, recall, 0.0).max(0),
        "recall_p95": np.where(precise, recall, 0.0).max(0),
        "max_informedness": tp / n_a - fp / n_rest,
        "mi_threshold": np.take_along_axis(ranked, best, 0)[0],
        "mi_recall": tp / n_a,
        "mi_false_alarm": fp / (tp + fp),
        "mi_fpr": fp / n_rest,
    }


# --------------------------------------------------------------------------------------
# One network, from training to its nominated units (the default data)
# --------------------------------------------------------------------------------------


@dataclass
class NetResult:
    """What the chapter shows for one network: its nominated units with their IoU and
    their Tables A3-A5 measures, and where to read any unit's activations again."""

    name: str
    layer: str
    units: pd.DataFrame
    table: pd.DataFrame
    activations_path: Any
    group: tuple[int, ...]
    class_names: list[str]
    dissection: Any = None
    info: dict[str, Any] | None = None
    trained: Any = None


def dissection_cache_path(
    model_name: str,
    weights_sha256: str,
    layer: str,
    data_name: str,
    n_images: int,
    concepts: Sequence[Any],
    quantile: float,
    iou_threshold: float,
    background: int,
) -> Any:
    """Where a dissection is cached: named by the network and layer, keyed by every input
    that changes the result."""
    import hashlib
    import json

    from compendium.methods.dissect import DISSECT_CODE_VERSION
    from compendium.util.cache import cache_dir

    key = {
        "weights": weights_sha256,
        "layer": layer,
        "data": data_name,
        "n": n_images,
        "concepts": [[c.name, list(c.classes)] for c in concepts],
        "quantile": quantile,
        "iou_threshold": iou_threshold,
        "background": background,
        "code": DISSECT_CODE_VERSION,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "dissection" / f"{model_name}__{layer}__{digest}.npz"


def cached_dissection(
    trained: Any,
    data: Any,
    layer: str,
    concepts: Sequence[Any],
    *,
    quantile: float,
    iou_threshold: float,
    background: int = 0,
    batch_size: int = 250,
) -> Any:
    """Dissect ``layer`` of a trained small network on ``data``, or load the cached result
    of the same dissection."""
    from compendium.methods.dissect import Dissection, dissect_imageset

    path = dissection_cache_path(
        trained.name,
        trained.weights_sha256,
        layer,
        data.name,
        len(data),
        concepts,
        quantile,
        iou_threshold,
        background,
    )
    if path.is_file():
        log.info("read cached dissection %s", path)
        return Dissection.load(path)
    result = dissect_imageset(
        trained.model,
        data,
        layer,
        concepts,
        quantile=quantile,
        iou_threshold=iou_threshold,
        background=background,
        batch_size=batch_size,
    )
    result.save(path)
    log.info("wrote %s", path)
    return result


def nominate(dissection: Any, concept: str, rule: str = "label") -> pd.DataFrame:
    """The units a dissection nominates as detectors of ``concept``.

    ``rule="label"``: Network Dissection's labelling, the units whose best concept is
    ``concept`` with an IoU above the threshold (the lists the paper took from Zhou et
    al.). ``rule="iou"``: every unit whose IoU with ``concept`` is above the threshold,
    whatever its best concept (the wording of the paper's Appendix D).
    """
    if rule == "label":
        rows = dissection.detectors(concept)
    elif rule == "iou":
        rows = dissection.concept_units(concept)
    else:
        raise ValueError(f"rule must be 'label' or 'iou', not {rule!r}")
    return rows[["unit", "iou", "label"]].reset_index(drop=True)


def unit_activations(
    path: Any, layer: str, units: Sequence[int], summary: str = "max"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Activations (n_images, len(units)) of some units of a recorded layer, with the
    images' labels and the class names. Units are numbered from 0."""
    from compendium.activations.store import open_activations

    units = [int(u) for u in units]
    with open_activations(path) as source:
        acts = source.activations(layer, summary)
        bad = [u for u in units if not 0 <= u < acts.shape[1]]
        if bad:
            raise ValueError(
                f"units {bad} are outside layer {layer!r}, which has units "
                f"0..{acts.shape[1] - 1} (numbered from 0)"
            )
        wanted = sorted(set(units))
        block = acts[:, wanted] if wanted else np.zeros((source.n_images, 0), np.float32)
        columns = [wanted.index(u) for u in units]
        return np.asarray(block)[:, columns], source.labels, list(source.class_names)


def detector_table(
    name: str,
    layer: str,
    units: pd.DataFrame,
    path: Any,
    group: Sequence[int],
    *,
    top: int = 100,
    summary: str = "max",
) -> pd.DataFrame:
    """Tables A3-A5 for one network: each nominated unit's IoU and label beside its
    `group_measures` for the super-category ``group``."""
    if units.empty:
        return pd.DataFrame(columns=["network", "layer", "unit", "iou", "label", *GROUP_COLUMNS])
    acts, labels, _ = unit_activations(path, layer, units["unit"], summary)
    measures = group_measures(acts, labels, group, units=list(units["unit"]), top=top)
    table = units.set_index("unit").join(measures).reset_index()
    table.insert(0, "layer", layer)
    table.insert(0, "network", name)
    return table


def prepare_small_net(
    spec: NetSpec,
    *,
    epochs: int,
    n_train: int | None,
    seed: int,
    n_images: int | None,
    threads: int = 2,
) -> tuple[Any, Any]:
    """Train (or load) one network and record it on the Fashion-MNIST test images, keeping
    every image (as the paper's Appendix D does); returns the trained model and the
    recording's path."""
    import torch

    from compendium.activations.recording import record_small_alexnet
    from compendium.networks.training import trained_model

    torch.set_num_threads(threads)
    trained = trained_model(
        train_config(spec, epochs=epochs, n_train=n_train, seed=seed), threads=threads
    )
    if spec.layer not in trained.model.layer_names:
        raise ValueError(
            f"{spec.name} has no layer {spec.layer!r}; its layers are "
            f"{', '.join(trained.model.layer_names)}"
        )
    recorded = record_small_alexnet(trained, split="test", n_images=n_images, keep="all")
    return trained, recorded.path


def dissect_small_net(
    spec: NetSpec,
    *,
    super_category: str,
    concepts: Sequence[Any],
    quantile: float,
    iou_threshold: float,
    rule: str = "label",
    epochs: int,
    n_train: int | None = None,
    seed: int = 0,
    n_images: int | None = None,
    top: int = 100,
    threads: int = 2,
) -> NetResult:
    """Everything the chapter needs for one small network on Fashion-MNIST."""
    from compendium.inputs.datasets import load_fashion_mnist

    trained, path = prepare_small_net(
        spec, epochs=epochs, n_train=n_train, seed=seed, n_images=n_images, threads=threads
    )
    data = load_fashion_mnist("test")
    data = data.subset(n_images) if n_images else data
    dissection = cached_dissection(
        trained, data, spec.layer, concepts, quantile=quantile, iou_threshold=iou_threshold
    )
    group = next(c.classes for c in concepts if c.name == super_category)
    units = nominate(dissection, super_category, rule)
    table = detector_table(spec.name, spec.layer, units, path, group, top=top)
    info = {
        "arch": spec.arch,
        "task": spec.task,
        "layer": spec.layer,
        "units": dissection.n_units,
        "epochs": trained.config.epochs,
        "test accuracy": trained.report["test_accuracy"],
        "training s": trained.report["seconds_total"],
        "dissection s": round(sum(dissection.seconds.values()), 1),
    }
    return NetResult(
        spec.name,
        spec.layer,
        units,
        table,
        path,
        tuple(group),
        list(data.class_names),
        dissection,
        info,
        trained,
    )


def iou_ceilings(
    data: Any, concepts: Sequence[Any], active: Mapping[str, float], background: int = 0
) -> pd.DataFrame:
    """The largest IoU a unit can reach with each concept: a unit's mask covers about a
    share ``a`` of all pixels and a concept's masks a share ``m``, so the intersection is
    at most min(a, m) and the union at least max(a, m). ``active`` maps a column name to a
    share ``a`` (e.g. the quantile, or a dissection's measured active fraction)."""
    from compendium.methods.dissect import ForegroundMasks

    masks = ForegroundMasks(concepts, len(data.class_names), background)
    share = masks.pixel_counts(data.images, data.labels) / data.images.size
    table = pd.DataFrame({"concept": [c.name for c in concepts], "share of all pixels": share})
    for name, a in active.items():
        table[name] = np.minimum(a, share) / np.maximum(a, share)
    return table.set_index("concept")


# --------------------------------------------------------------------------------------
# The paper's Tables A3-A5, and summaries to set beside them
# --------------------------------------------------------------------------------------

#: The paper's three tables: source -> (network, layer).
PAPER_TABLES = {
    "Table A3": ("VGG-16 (Places-365)", "conv5_3"),
    "Table A4": ("GoogLeNet (Places-365)", "inception4e"),
    "Table A5": ("GoogLeNet (ImageNet)", "inception4e"),
}
#: The ``case`` of the paper's rows in compendium/data/paper_numbers.csv -> network.
PAPER_CASES = {
    "vgg16-places365": "VGG-16 (Places-365)",
    "googlenet-places365": "GoogLeNet (Places-365)",
    "googlenet-imagenet": "GoogLeNet (ImageNet)",
}
_PAPER_COLUMNS = [
    "iou",
    "top4_match",
    "pct_above_zero_A",
    "pct_above_zero_notA",
    "mean_A",
    "mean_notA",
    "precision_100",
    "ccmas",
]


def paper_table(source: str) -> pd.DataFrame:
    """One of the paper's Tables A3-A5 in this chapter's layout, in the paper's row
    order. ``unit`` is the paper's (Network Dissection's) number, counted from 1."""
    from compendium.chapters.paper import reported

    if source not in PAPER_TABLES:
        raise ValueError(f"no paper table {source!r}; choose one of {', '.join(PAPER_TABLES)}")
    rows = reported(source)
    order = list(dict.fromkeys(rows["unit"].astype(int)))
    wide = rows.pivot_table(index="unit", columns="measure", values="value", sort=False)
    wide.index = wide.index.astype(int)
    wide = wide.loc[order, _PAPER_COLUMNS].reset_index()
    wide.columns.name = None
    wide["top4_match"] = wide["top4_match"].map({1.0: "Y", 0.0: "N"})
    network, layer = PAPER_TABLES[source]
    wide.insert(0, "layer", layer)
    wide.insert(0, "network", network)
    return wide


def precision_column(table: pd.DataFrame) -> str:
    """The top-N precision column of a detector table (``precision_100`` for N = 100)."""
    found = [c for c in table.columns if c.startswith("precision_")]
    if len(found) != 1:
        raise KeyError(f"expected one precision_<N> column, found {found}")
    return found[0]


def summarise(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per network: how many units were nominated and the range of what the
    measures say about them (the signal-detection columns only where measured)."""
    rows = {}
    for name, t in tables.items():
        row: dict[str, Any] = {"nominated units": len(t)}
        if len(t):
            row.update(
                {
                    "IoU (max)": t["iou"].max(),
                    "% > 0, A (mean)": t["pct_above_zero_A"].mean(),
                    "% > 0, not A (mean)": t["pct_above_zero_notA"].mean(),
                    "mean A / mean not A (median)": (t["mean_A"] / t["mean_notA"]).median(),
                    "precision (max)": t[precision_column(t)].max(),
                    "units with precision >= .75": int((t[precision_column(t)] >= 0.75).sum()),
                    "CCMAS (min)": t["ccmas"].min(),
                    "CCMAS (max)": t["ccmas"].max(),
                }
            )
            if "max_informedness" in t:
                best = t.loc[t["max_informedness"].idxmax()]
                row.update(
                    {
                        "recall at precision 1 (max)": t["recall_p100"].max(),
                        "recall at precision .95 (max)": t["recall_p95"].max(),
                        "max informedness (max)": best["max_informedness"],
                        "its hit rate": best["mi_recall"],
                        "its false-alarm proportion": best["mi_false_alarm"],
                    }
                )
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def figure6_rows(results: Sequence[NetResult]) -> pd.DataFrame:
    """Fig. 6's numbers for the top-IoU nominated unit of each network (as the paper
    prints them under each panel), beside the paper's three panels."""
    from compendium.chapters.paper import reported

    rows = []
    for r in results:
        if r.table.empty:
            continue
        top = r.table.iloc[0]
        rows.append(
            {
                "network": r.name,
                "unit": f"{r.layer}.{int(top['unit'])}",
                "IoU": top["iou"],
                "precision": top[precision_column(r.table)],
                "CCMAS": top["ccmas"],
                "mean A": top["mean_A"],
                "mean not A": top["mean_notA"],
                "source": "this run",
            }
        )
    paper, every = reported("Fig. 6"), reported()
    for (source, case, layer, unit), part in paper.groupby(
        ["source", "case", "layer", "unit"], sort=True
    ):
        values = part.set_index("measure")["value"]
        iou = every[
            (every["case"] == case) & (every["unit"] == unit) & (every["measure"] == "iou")
        ]["value"]
        rows.append(
            {
                "network": PAPER_CASES.get(case, case),
                "unit": f"{layer}.{int(unit)} (from 1)",
                "IoU": float(iou.iloc[0]) if len(iou) else np.nan,
                "precision": values["precision_100"],
                "CCMAS": values["ccmas"],
                "mean A": values["mean_A"],
                "mean not A": values["mean_notA"],
                "source": f"paper, {source}",
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# The imagenet profile: torchvision networks and published unit lists
# --------------------------------------------------------------------------------------

_IMAGENET_KEYS = {
    "name",
    "model",
    "weights",
    "num_classes",
    "layer",
    "paper",
    "units",
    "dissection_csv",
    "label",
}


def imagenet_result(
    entry: Mapping[str, Any],
    *,
    image_folder: Any,
    synsets: Any,
    max_per_class: int | None,
    group_wnids: Sequence[str],
    super_category: str,
    iou_threshold: float,
    top: int = 100,
    batch_size: int = 32,
    seed: int = 0,
) -> NetResult:
    """One torchvision network on an ImageNet-style folder: record ``layer`` for the first
    ``max_per_class`` images of each class (all images kept), then measure the units the
    entry lists.

    The entry names its units either as ``units`` (Network Dissection's numbers, counted
    from 1, as the paper's Tables A3-A5 print them; their IoU comes from the ``paper``
    table if given) or as ``dissection_csv`` (a Network Dissection result; the units
    labelled ``label``, default the super-category, with a score above ``iou_threshold``).
    ``weights``: a torchvision weights name (``DEFAULT``), a state-dict file, or ``none``
    for seeded random weights.
    """
    from pathlib import Path

    from compendium.activations.recording import activation_path, record_torchvision
    from compendium.inputs.datasets import imagenet_synsets, read_synsets
    from compendium.methods.dissect import nominated_units, read_dissection_csv

    entry = _check_imagenet_entry(entry)
    wnids = read_synsets(synsets)[0] if synsets else imagenet_synsets()[0]
    missing = [w for w in group_wnids if w not in wnids]
    if missing or not group_wnids:
        raise ValueError(
            f"super-category classes {missing or '(none)'} are not in the class "
            "list; give WordNet ids such as n04146614"
        )
    group = tuple(sorted(wnids.index(w) for w in group_wnids))
    weights = (
        None
        if str(entry.get("weights", "DEFAULT")).lower() == "none"
        else entry.get("weights", "DEFAULT")
    )
    folder = Path(image_folder).resolve()
    stem = Path(str(weights)).stem if weights else f"random{seed}"
    path = activation_path(
        f"{entry['model']}-{stem}-{entry['layer']}",
        f"{folder}-first{max_per_class or 'all'}",
        "all",
    )
    record_torchvision(
        entry["model"],
        folder,
        weights=weights,
        synsets=synsets,
        max_per_class=max_per_class,
        layers=[entry["layer"]],
        keep="all",
        path=path,
        batch_size=batch_size,
        seed=seed,
        num_classes=int(entry.get("num_classes", 1000)),
    )
    if entry.get("dissection_csv"):
        listed = nominated_units(
            read_dissection_csv(entry["dissection_csv"]),
            entry.get("label", super_category),
            iou_threshold,
        )
        units = pd.DataFrame(
            {"unit": listed["unit_index"], "iou": listed["score"], "label": listed["label"]}
        )
    else:
        units = _listed_units(entry, super_category)
    table = detector_table(entry["name"], entry["layer"], units, path, group, top=top)
    table.insert(3, "unit (from 1)", table["unit"] + 1)
    info = {
        "model": entry["model"],
        "weights": str(weights),
        "layer": entry["layer"],
        "images": int(max_per_class or 0) or "all",
        "paper": entry.get("paper"),
    }
    class_names = unit_activations(path, entry["layer"], [])[2]
    return NetResult(
        entry["name"], entry["layer"], units, table, path, group, class_names, None, info
    )


def _check_imagenet_entry(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    unknown = set(entry) - _IMAGENET_KEYS
    missing = {"name", "model", "layer"} - set(entry)
    if unknown or missing:
        raise ValueError(
            f"network entry {entry.get('name', entry)!r} has unknown keys "
            f"{sorted(unknown)} or lacks {sorted(missing)}; keys: "
            f"{sorted(_IMAGENET_KEYS)}"
        )
    if not entry.get("units") and not entry.get("dissection_csv"):
        raise ValueError(
            f"network entry {entry['name']!r} needs `units` (Network "
            "Dissection's numbers, from 1) or `dissection_csv`"
        )
    if entry.get("paper") and entry["paper"] not in PAPER_TABLES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_TABLES)}, not {entry['paper']!r}")
    return entry


def _listed_units(entry: Mapping[str, Any], label: str) -> pd.DataFrame:
    numbers = [int(u) for u in entry["units"]]
    if min(numbers) < 1:
        raise ValueError(
            f"{entry['name']}: units are Network Dissection's numbers, counted "
            f"from 1; got {min(numbers)}"
        )
    iou = pd.Series(np.nan, index=numbers)
    if entry.get("paper"):
        table = paper_table(entry["paper"]).set_index("unit")["iou"]
        iou = iou.fillna(table.reindex(numbers))
    return pd.DataFrame({"unit": [n - 1 for n in numbers], "iou": iou.to_numpy(), "label": label})


def beside_paper(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """This run's Tables A3-A5 columns beside the paper's, unit by unit (units matched
    by Network Dissection's number, counted from 1)."""
    paper = paper_table(source).set_index("unit")
    ours = table.set_index("unit (from 1)")
    rows = []
    for unit in ours.index:
        for column in (
            "pct_above_zero_A",
            "pct_above_zero_notA",
            "mean_A",
            "mean_notA",
            "precision_100",
            "ccmas",
        ):
            mine = precision_column(table) if column == "precision_100" else column
            rows.append(
                {
                    "unit (from 1)": unit,
                    "measure": mine,
                    "this run": ours.loc[unit, mine],
                    "paper": paper[column].get(unit, np.nan),
                }
            )
    return pd.DataFrame(rows)


def plot_sample(
    labels: np.ndarray, group: Sequence[int], max_points: int | None, seed: int = 0
) -> np.ndarray:
    """Indices of the images a jitterplot draws: every image of the group, and as many of
    the others (a seeded random sample, in image order) as keep the total at
    ``max_points``; all images when ``max_points`` is None or not exceeded."""
    labels = np.asarray(labels)
    if max_points is None or labels.size <= max_points:
        return np.arange(labels.size)
    member = np.isin(labels, list(group))
    others = np.flatnonzero(~member)
    room = max(0, max_points - int(member.sum()))
    chosen = np.random.default_rng(seed).choice(others, size=min(room, others.size), replace=False)
    return np.sort(np.concatenate([np.flatnonzero(member), chosen]))


#: Short headings for `display_table` (the measures' column names are long for a page).
DISPLAY_NAMES = {
    "iou": "IoU",
    "pct_above_zero_A": "% > 0, A",
    "pct_above_zero_notA": "% > 0, not A",
    "ccmas": "CCMAS",
    "recall_p100": "recall at P = 1",
    "recall_p95": "recall at P ≥ .95",
    "max_informedness": "max. informedness",
    "mi_threshold": "at threshold",
    "mi_recall": "hit rate",
    "mi_false_alarm": "false-alarm prop.",
    "mi_fpr": "FP rate",
}


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """A detector table as text for a page: short headings, each mean with its standard
    error ("12.3 ± 0.4"), shares in % with one decimal, other values to 3 digits."""
    shown = pd.DataFrame(index=table.index)
    for column in table.columns:
        values = table[column]
        if column in ("sem_A", "sem_notA", "network", "layer"):
            continue
        if column in ("mean_A", "mean_notA"):
            se = table["sem_A" if column == "mean_A" else "sem_notA"]
            shown[column.replace("_", " ").replace("notA", "not A") + " ± SE"] = [
                f"{m:.3g} ± {s:.2g}" for m, s in zip(values, se, strict=False)
            ]
        elif column.startswith("pct_"):
            shown[DISPLAY_NAMES[column]] = values.map(lambda v: f"{v:.1f}")
        elif column.startswith("precision_"):
            shown[f"precision (top {column.split('_')[1]})"] = values.map(lambda v: f"{v:.2f}")
        elif pd.api.types.is_float_dtype(values):
            shown[DISPLAY_NAMES.get(column, column)] = values.map(lambda v: f"{v:.3g}")
        else:
            shown[DISPLAY_NAMES.get(column, column)] = values
    return shown


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """`summarise`'s table turned for a page (networks as columns), as text: counts as
    whole numbers, values to 2 decimals, and "–" where a value was not measured."""

    def text(row: str, value: Any) -> str:
        if pd.isna(value):
            return "–"
        if row in ("nominated units", "units with precision >= .75"):
            return f"{int(value)}"
        return f"{value:.1f}" if row.startswith("%") else f"{value:.2f}"

    turned = summary.T
    return pd.DataFrame(
        {c: [text(r, v) for r, v in turned[c].items()] for c in turned.columns}, index=turned.index
    )
