"""Chapter 4: units that Network Dissection nominates as super-category detectors, in
several networks, measured the way the paper's Appendix D measures the 'bus' units.

The flow for one network: train it (or load it from the cache) with
:mod:`compendium.networks.training`; record its activations on the test images with
:mod:`compendium.activations.recording`; dissect one convolutional layer (cached) with
:mod:`compendium.methods.dissect`; then, for every unit the dissection nominates, compute
the columns of Tables A3-A5 and the signal-detection measures with the super-category as
class A (:func:`detector_table`, which reads them from :func:`layer_measures`, the
:func:`compendium.measures.groups.group_measures` of every unit of the layer, with the
columns of the paper's three detector bars). This module holds that flow, the paper's
Tables A3-A5 and Fig. 6 beside this run's, and their formatting (one number format,
`page_number`).

The page's parameters are a :class:`Settings` (checked by `Settings.from_parameters`);
:func:`run_networks` takes them and the profile's list of networks to a :class:`ChapterRun`,
which :mod:`compendium.chapters.dissection_page` turns into what the page shows and says.

A network is described by a profile entry, checked by
:func:`compendium.networks.zoo.net_specs`; :func:`net_training` turns its
:class:`compendium.networks.zoo.NetSpec` into a
:class:`compendium.networks.training.TrainConfig`, so the same entry always finds the same
cached weights.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from compendium.activations.reader import unit_activations
from compendium.chapters import detectors, paper
from compendium.inputs.categories import COARSE_GROUPS, SUPER_CATEGORIES
from compendium.measures.groups import GROUP_COLUMNS, ZHOU_TOP, group_measures
from compendium.methods.dissect import IOU_THRESHOLD, QUANTILE, cached_dissection, nominate
from compendium.networks.zoo import TASKS, NetSpec
from compendium.util.cache import parse_weights
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

__all__ = [
    "BAR_NAMES",
    "ChapterParameterError",
    "ChapterRun",
    "DATA_SOURCES",
    "DISPLAY_NAMES",
    "NetResult",
    "PAPER_CASES",
    "PAPER_DISPLAY_NAMES",
    "PAPER_TABLES",
    "Settings",
    "bars_cleared",
    "beside_paper",
    "detector_table",
    "display_table",
    "dissect_small_net",
    "figure6_rows",
    "format_summary",
    "imagenet_result",
    "layer_measures",
    "net_training",
    "page_number",
    "paper_display_table",
    "paper_table",
    "plot_sample",
    "precision_column",
    "precision_row",
    "run_networks",
    "summarise",
    "super_category_concepts",
    "zhou_criterion",
]

#: The page's two sources of networks and images (its ``data`` parameter).
DATA_SOURCES = ("fashion-mnist", "imagenet")


class ChapterParameterError(CompendiumError):
    """A parameter of chapter 4 that cannot be used."""


def net_training(spec: NetSpec, *, epochs: int, n_train: int | None = None, seed: int = 0) -> Any:
    """The :class:`compendium.networks.training.TrainConfig` of a network entry (made by
    :func:`compendium.networks.training.train_config`). ``epochs`` applies unless the entry
    sets its own (the default AlexNet keeps its 5 epochs, and so its shipped weights)."""
    from compendium.networks.training import train_config

    n_classes = len(COARSE_GROUPS) if spec.task == "coarse" else 10
    return train_config(
        {
            "model": {"arch": spec.arch, **(spec.model or {}), "n_classes": n_classes},
            "dataset": TASKS[spec.task],
            "seed": seed,
            "n_train": n_train,
            "epochs": spec.epochs if spec.epochs is not None else epochs,
        }
    )


# --------------------------------------------------------------------------------------
# The page's parameters, and every network of one run
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The parameters of chapter 4's page, other than its list of networks (see the
    notebook's parameters cell for what each means). Make it with `from_parameters`,
    which checks them."""

    data: str
    super_category: str
    super_category_classes: tuple[str, ...] | None = None
    quantile: float = QUANTILE
    iou_threshold: float = IOU_THRESHOLD
    published_quantile: float = QUANTILE
    nominate_rule: str = "label"
    epochs: int = 2
    n_train: int | None = None
    n_images: int | None = None
    top_n: int = 100
    max_points: int | None = None
    threads: int = 2
    seed: int = 0
    image_folder: Any = None
    synsets: Any = None
    max_per_class: int | None = 100

    @classmethod
    def from_parameters(cls, **parameters: Any) -> Settings:
        """The page's parameters, checked: ``data`` must be one of `DATA_SOURCES`."""
        data = parameters.get("data")
        if data not in DATA_SOURCES:
            raise ChapterParameterError(f"data must be 'fashion-mnist' or 'imagenet', not {data!r}")
        classes = parameters.get("super_category_classes")
        if classes is not None:
            parameters["super_category_classes"] = tuple(classes)
        return cls(**parameters)

    @property
    def fashion(self) -> bool:
        """Whether the networks are trained here on Fashion-MNIST (else torchvision's on
        ImageNet)."""
        return self.data == "fashion-mnist"


@dataclass
class ChapterRun:
    """Every network of one run of the page, with the settings that produced them and,
    for the networks trained here, the concepts they were dissected for."""

    settings: Settings
    results: list[NetResult]
    concepts: list[Any] | None = None

    @property
    def fashion(self) -> bool:
        return self.settings.fashion

    @property
    def super_category(self) -> str:
        return self.settings.super_category


def super_category_concepts(
    super_category: str, super_category_classes: Sequence[str] | None = None
) -> list[Any]:
    """The concepts the networks trained here are dissected for: the ten classes and the
    super-categories of :mod:`compendium.inputs.categories`, with ``super_category`` made
    of ``super_category_classes`` (class names) where given."""
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES
    from compendium.methods.dissect import class_concepts

    groups = dict(SUPER_CATEGORIES)
    if super_category_classes is not None:
        groups[super_category] = tuple(super_category_classes)
    if super_category not in groups:
        raise ChapterParameterError(
            f"super_category {super_category!r} is not one of "
            f"{', '.join(groups)}; give its classes as super_category_classes"
        )
    return class_concepts(list(FASHION_MNIST_CLASSES), groups)


def run_networks(settings: Settings, nets: Sequence[Mapping[str, Any]]) -> ChapterRun:
    """Every network of the page, from its profile entry to its nominated units and their
    measures: the networks trained here (`dissect_small_net`) or, for the imagenet data,
    torchvision's networks with the paper's units (`imagenet_result`)."""
    if settings.fashion:
        return _run_small_nets(settings, nets)
    return _run_imagenet_nets(settings, nets)


def _run_small_nets(settings: Settings, nets: Sequence[Mapping[str, Any]]) -> ChapterRun:
    from compendium.networks.zoo import net_specs

    specs = net_specs(nets)
    concepts = super_category_concepts(settings.super_category, settings.super_category_classes)
    results = [
        dissect_small_net(
            spec,
            super_category=settings.super_category,
            concepts=concepts,
            quantile=settings.quantile,
            iou_threshold=settings.iou_threshold,
            rule=settings.nominate_rule,
            epochs=settings.epochs,
            n_train=settings.n_train,
            seed=settings.seed,
            n_images=settings.n_images,
            top=settings.top_n,
            threads=settings.threads,
        )
        for spec in specs
    ]
    return ChapterRun(settings, results, concepts)


def _run_imagenet_nets(settings: Settings, nets: Sequence[Mapping[str, Any]]) -> ChapterRun:
    if settings.image_folder is None:
        raise ChapterParameterError(
            "the imagenet data need image_folder: the folder of ILSVRC-2012 "
            "images with one sub-folder per WordNet id (set it in "
            "notebooks/params/imagenet.yml)"
        )
    if not settings.super_category_classes:
        raise ChapterParameterError(
            "give super_category_classes: the WordNet ids of the super-category "
            "(for 'bus': n04146614, n04487081, n03769881)"
        )
    results = [
        imagenet_result(
            entry,
            image_folder=settings.image_folder,
            synsets=settings.synsets,
            max_per_class=settings.max_per_class,
            group_wnids=settings.super_category_classes,
            super_category=settings.super_category,
            iou_threshold=settings.iou_threshold,
            top=settings.top_n,
            seed=settings.seed,
        )
        for entry in nets
    ]
    return ChapterRun(settings, results)


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
    layer_table: pd.DataFrame | None = None

    @property
    def measured(self) -> pd.DataFrame:
        """Every measured unit of the layer with the bars of :mod:`compendium.chapters.detectors`
        (all units of the dissected layer where they were measured, else the nominated
        ones), with a ``nominated`` column."""
        table = self.table if self.layer_table is None else self.layer_table
        if table.empty:
            return table.assign(nominated=pd.Series(dtype=bool))
        nominated = table["unit"].isin(set(self.table["unit"]))
        return detectors.with_bars(table).assign(network=self.name, nominated=nominated)


def detector_table(
    name: str,
    layer: str,
    units: pd.DataFrame,
    path: Any,
    group: Sequence[int],
    *,
    top: int = 100,
    summary: str = "max",
    measured: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Tables A3-A5 for one network: each nominated unit's IoU and label beside its
    `group_measures` for the super-category ``group`` (read from ``measured``, a
    `layer_measures` table that holds them, when given)."""
    if units.empty:
        return pd.DataFrame(columns=["network", "layer", "unit", "iou", "label", *GROUP_COLUMNS])
    if measured is None:
        measured = layer_measures(path, layer, units["unit"], group, top=top, summary=summary)
    measured = measured.set_index("unit").drop(columns="layer", errors="ignore")
    table = units.set_index("unit").join(measured, how="left").reset_index()
    table.insert(0, "layer", layer)
    table.insert(0, "network", name)
    return table


def layer_measures(
    path: Any,
    layer: str,
    units: Sequence[int],
    group: Sequence[int],
    *,
    top: int = 100,
    summary: str = "max",
) -> pd.DataFrame:
    """`group_measures` of ``units`` of a recorded layer for the super-category ``group``, as
    a table with ``layer`` and ``unit`` columns (one row per unit, in the given order)."""
    acts, labels, _ = unit_activations(path, layer, list(units), summary)
    measures = group_measures(acts, labels, group, units=list(units), top=top)
    return measures.reset_index().assign(layer=layer)


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
        net_training(spec, epochs=epochs, n_train=n_train, seed=seed), threads=threads
    )
    if spec.layer not in trained.model.layer_names:
        raise ChapterParameterError(
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
    every = layer_measures(path, spec.layer, range(dissection.n_units), group, top=top)
    table = detector_table(spec.name, spec.layer, units, path, group, top=top, measured=every)
    info = {
        "arch": spec.arch,
        "task": spec.task,
        "layer": spec.layer,
        "units": dissection.n_units,
        "epochs": trained.config.epochs,
        "test accuracy": round(float(trained.report["test_accuracy"]), 3),
        "weights": f"{trained.provenance}, sha256 {trained.weights_sha256[:12]}…",
        "training s": round(float(trained.report["seconds_total"]), 1),
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
        every,
    )


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


def paper_table(source: str, reported: pd.DataFrame | None = None) -> pd.DataFrame:
    """One of the paper's Tables A3-A5 in this chapter's layout, in the paper's row
    order. ``unit`` is the paper's (Network Dissection's) number, counted from 1.
    ``reported``: the paper's numbers (default: :func:`compendium.chapters.paper.reported`)."""
    if source not in PAPER_TABLES:
        raise ChapterParameterError(
            f"no paper table {source!r}; choose one of {', '.join(PAPER_TABLES)}"
        )
    every = paper.reported() if reported is None else reported
    rows = every[every["source"] == source]
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
    """The top-N precision column of a detector table (``precision_100`` for N = 100): the
    one ``precision_<N>`` column besides Zhou et al.'s ``precision_60`` (which is the
    column when N is 60)."""
    found = [c for c in table.columns if re.fullmatch(r"precision_\d+", str(c))]
    if len(found) > 1:
        found = [c for c in found if c != f"precision_{ZHOU_TOP}"]
    if len(found) != 1:
        raise KeyError(f"expected one precision_<N> column besides precision_60, found {found}")
    return found[0]


def zhou_criterion(reported: pd.DataFrame | None = None) -> float:
    """The precision Zhou et al. asked of a detector, as the paper quotes it
    (``detector_precision`` in ``paper_numbers.csv``)."""
    every = paper.reported() if reported is None else reported
    found = every.loc[every["measure"] == "detector_precision", "value"]
    if len(found) != 1:
        raise ChapterParameterError(
            f"paper_numbers.csv holds {len(found)} rows of detector_precision, not one: "
            "restore the row 'Sec. 2 p. 6,,,,detector_precision,...'"
        )
    return float(found.iloc[0])


def precision_row(criterion: float) -> str:
    """The row of `summarise` that counts the units at Zhou et al.'s precision."""
    return f"units with precision >= {paper.as_printed(criterion)}"


def summarise(tables: Mapping[str, pd.DataFrame], criterion: float | None = None) -> pd.DataFrame:
    """One row per network: how many units were nominated and the range of what the
    measures say about them (the signal-detection columns only where measured).
    ``criterion``: the precision counted as a detector's (default: `zhou_criterion`)."""
    criterion = zhou_criterion() if criterion is None else criterion
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
                    precision_row(criterion): int((t[precision_column(t)] >= criterion).sum()),
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
    from compendium.activations.recording import record_torchvision_layer
    from compendium.inputs.datasets import imagenet_synsets, read_synsets
    from compendium.methods.dissect import nominated_units, read_dissection_csv

    entry = _check_imagenet_entry(entry)
    wnids = read_synsets(synsets)[0] if synsets else imagenet_synsets()[0]
    missing = [w for w in group_wnids if w not in wnids]
    if missing or not group_wnids:
        raise ChapterParameterError(
            f"super-category classes {missing or '(none)'} are not in the class "
            "list; give WordNet ids such as n04146614"
        )
    group = tuple(sorted(wnids.index(w) for w in group_wnids))
    weights = parse_weights(entry.get("weights", "DEFAULT"))
    path = record_torchvision_layer(
        entry["model"],
        entry["layer"],
        image_folder,
        weights=weights,
        synsets=synsets,
        max_per_class=max_per_class,
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
        raise ChapterParameterError(
            f"network entry {entry.get('name', entry)!r} has unknown keys "
            f"{sorted(unknown)} or lacks {sorted(missing)}; keys: "
            f"{sorted(_IMAGENET_KEYS)}"
        )
    if not entry.get("units") and not entry.get("dissection_csv"):
        raise ChapterParameterError(
            f"network entry {entry['name']!r} needs `units` (Network "
            "Dissection's numbers, from 1) or `dissection_csv`"
        )
    if entry.get("paper") and entry["paper"] not in PAPER_TABLES:
        raise ChapterParameterError(
            f"paper must be one of {', '.join(PAPER_TABLES)}, not {entry['paper']!r}"
        )
    return entry


def _listed_units(entry: Mapping[str, Any], label: str) -> pd.DataFrame:
    numbers = [int(u) for u in entry["units"]]
    if min(numbers) < 1:
        raise ChapterParameterError(
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
    mine = {column: column for column in _COMPARED_COLUMNS}
    mine["precision_100"] = precision_column(table)
    ours = table.set_index("unit (from 1)")[list(mine.values())]
    theirs = paper_table(source).melt(
        id_vars="unit", value_vars=list(mine), var_name="measure", value_name="value"
    )
    theirs["measure"] = theirs["measure"].map(mine)
    theirs = theirs.rename(columns={"unit": "unit (from 1)"})
    return paper.beside_paper(ours, theirs, key="unit (from 1)")


#: The columns of Tables A3-A5 that this run's table has too.
_COMPARED_COLUMNS = (
    "pct_above_zero_A",
    "pct_above_zero_notA",
    "mean_A",
    "mean_notA",
    "precision_100",
    "ccmas",
)


def plot_sample(
    labels: np.ndarray, group: Sequence[int], max_points: int | None, seed: int = 0
) -> np.ndarray:
    """Indices of the images a jitterplot draws (in image order): all of them when
    ``max_points`` is None or not exceeded, else a seeded random sample of about
    ``max_points`` in which every class keeps its share of the images (at least one image
    of each class), so that the plot shows the super-category's true base rate. ``group``
    is checked against the labels but draws no extra images."""
    labels = np.asarray(labels)
    if not np.isin(list(group), labels).all():
        raise ChapterParameterError(
            f"the super-category's classes {list(group)} do not all occur among the images"
        )
    if max_points is None or labels.size <= max_points:
        return np.arange(labels.size)
    if max_points < 1:
        raise ChapterParameterError(
            f"max_points must be a positive number or None, not {max_points}"
        )
    rng = np.random.default_rng(seed)
    share = max_points / labels.size
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        take = max(1, round(share * members.size))
        chosen.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(chosen))


#: The columns of a network's table on the page, in order, with their headings: the
#: paper's columns of Tables A3-A5, then the signal-detection measures for the same class A
#: (``precision_100`` stands for the table's top-N precision, whatever its N). The standard
#: errors, recall at precision .95, thresholds and false-positive rates are in the table's
#: CSV file, to keep the table within the page.
DISPLAY_NAMES = {
    "iou": "IoU",
    "pct_above_zero_A": "% > 0, A",
    "pct_above_zero_notA": "% > 0, not A",
    "mean_A": "mean A",
    "mean_notA": "mean not A",
    "precision_100": "precision",
    "ccmas": "CCMAS",
    "recall_p100": "recall at P = 1",
    "max_informedness": "max. inform.",
    "mi_recall": "its hit rate",
    "mi_false_alarm": "its false alarms",
}

#: The paper's columns of Tables A3-A5 with their headings on the page.
PAPER_DISPLAY_NAMES = {
    "iou": "IoU",
    "top4_match": "top-4 match",
    "pct_above_zero_A": "% > 0, A",
    "pct_above_zero_notA": "% > 0, not A",
    "mean_A": "mean A",
    "mean_notA": "mean not A",
    "precision_100": "precision (top 100)",
    "ccmas": "CCMAS",
}

#: What the page's "bars" column calls each of the paper's three detector bars.
BAR_NAMES = {"localist": "grandmother", "detector": "detector", "zhou_detector": "Zhou"}


def page_number(column: str, value: Any) -> str:
    """The page's one number format: shares in % to 1 decimal, every other value to 2
    decimals (as the paper's tables print them), "–" where there is no value."""
    if isinstance(value, str):
        return value
    if pd.isna(value):
        return "–"
    return f"{value:.1f}" if column.startswith("pct_") else f"{value:.2f}"


def bars_cleared(table: pd.DataFrame) -> pd.Series:
    """Per unit, the detector bars it clears (`BAR_NAMES`), as words; "–" for none."""
    marked = detectors.with_bars(table)
    return pd.Series(
        [
            ", ".join(name for column, name in BAR_NAMES.items() if row[column]) or "–"
            for _, row in marked.iterrows()
        ],
        index=table.index,
    )


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """A network's table (`detector_table`) as text for a page, one row per unit (the index):
    the columns of `DISPLAY_NAMES` in `page_number`'s format (the top-N precision whatever
    its N), the ``label`` where the table has one, and the bars each unit clears (where
    measured)."""
    precision = precision_column(table)
    shown = pd.DataFrame(index=table.index)
    if "label" in table:
        shown["label"] = table["label"]
    for column, heading in DISPLAY_NAMES.items():
        if column == "precision_100":
            column = precision
        if column in table:
            shown[heading] = [page_number(column, v) for v in table[column]]
    if {"localist", "detector"} <= set(table.columns):
        shown["bars cleared"] = bars_cleared(table)
    return shown


def paper_display_table(table: pd.DataFrame) -> pd.DataFrame:
    """One of the paper's tables (`paper_table`) as text for a page, one row per unit (the
    index, numbered from 1): its numbers as the paper prints them."""
    shown = table.set_index("unit")[list(PAPER_DISPLAY_NAMES)]
    return shown.rename(columns=PAPER_DISPLAY_NAMES).map(
        lambda v: v if isinstance(v, str) else f"{v:g}"
    )


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """`summarise`'s table turned for a page (networks as columns), as text: counts as
    whole numbers, every other value in `page_number`'s format, and "–" where a value was
    not measured."""

    def text(row: str, value: Any) -> str:
        if pd.isna(value):
            return "–"
        if row == "nominated units" or row.startswith("units with"):
            return f"{int(value)}"
        return page_number("pct_" if row.startswith("%") else row, value)

    turned = summary.T
    return pd.DataFrame(
        {c: [text(r, v) for r, v in turned[c].items()] for c in turned.columns}, index=turned.index
    )
