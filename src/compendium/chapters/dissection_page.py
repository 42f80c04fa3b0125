"""What chapter 4's page shows and says about one run: its tables, its charts and the
sentences it states as findings, each built from the run's numbers and, beside them, the
paper's (read from ``paper_numbers.csv`` through :func:`compendium.chapters.paper.reported`).

:mod:`compendium.chapters.other_cnns` runs the networks (a :class:`ChapterRun`); this module
turns a run into what the page displays. Each ``*_outputs`` function gives one cell's
displays in order (Markdown text, tables with their CSV downloads, charts), so a cell of
the notebook is one call and a loop of ``display``; the ``describe_*`` functions write the
sentences and take the numbers they state, so a test can change the numbers and watch the
words follow.

The verdict on the nominated units comes from the paper's three detector bars
(:mod:`compendium.chapters.detectors`), counted per network by `bar_counts`, for the
super-category as class A: a grandmother unit (every image of A above every other image),
a detector on the paper's reasonable reading (a threshold with more hits than misses and
more hits than false alarms) and Zhou et al.'s precision bar (the precision of the top 60,
`compendium.measures.groups.ZHOU_TOP`, at least the paper's ``detector_precision``). Silent units (one activation for every image) follow the
book's policy (`compendium.chapters.detectors.leave_out_silent`): left out of the counts
unless the page's ``include_silent`` is set, and always counted and named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import Markdown

from compendium.activations.reader import unit_activations
from compendium.chapters import detectors, downloads, exercises, page, paper, plots
from compendium.chapters.other_cnns import (
    PAPER_TABLES,
    ChapterRun,
    NetResult,
    Settings,
    beside_paper,
    display_table,
    format_summary,
    paper_display_table,
    paper_table,
    plot_sample,
    summarise,
    zhou_criterion,
)
from compendium.measures.groups import ZHOU_TOP

__all__ = [
    "BAR_HEADINGS",
    "BarTotals",
    "Fig6Panel",
    "PaperDetectors",
    "QuantileCheck",
    "bar_counts",
    "bar_counts_table",
    "bar_totals",
    "COMPACT_FONT",
    "compact",
    "base_rate",
    "base_rate_outputs",
    "ceiling_columns",
    "chapter_exercises",
    "describe_bar_layers",
    "describe_bars_column",
    "describe_base_rate",
    "describe_detectors",
    "describe_dissection_settings",
    "describe_fig6_panel",
    "describe_nominated",
    "describe_quantile_check",
    "describe_quantile_ceiling",
    "describe_standard_errors",
    "describe_super_category",
    "describe_verdict",
    "detector_table",
    "detector_table_outputs",
    "detectors_outputs",
    "fig6_chart",
    "fig6_outputs",
    "fig6_panel",
    "fig6_title",
    "label_overview",
    "network_slug",
    "network_title",
    "networks_outputs",
    "networks_table",
    "nominated_outputs",
    "nominated_units",
    "paper_detectors",
    "paper_table_outputs",
    "quantile_check",
    "quantile_outputs",
    "rerun_example",
    "run_description",
    "silent_split",
    "summarise_quantile_check",
    "summary_box",
    "summary_outputs",
    "summary_tables",
]


#: Font size of the page's widest tables (a network's Tables A3-A5, the summary beside the
#: paper), so that they fit the content column of the book at 1280 px.
COMPACT_FONT = "0.875em"


def compact(table: pd.DataFrame) -> Any:
    """`table` as a pandas Styler in `COMPACT_FONT`, for the page's widest tables."""
    styled = table.style.set_table_attributes('class="dataframe"')  # the book's table style
    return styled.set_table_styles([{"selector": "", "props": f"font-size: {COMPACT_FONT};"}])


def network_slug(name: str) -> str:
    """A network's name as part of a CSV file's name (``VGG (coarse)`` -> ``vgg-coarse``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "network"


# --------------------------------------------------------------------------------------
# What the run measured (the banner), and the settings of the dissection
# --------------------------------------------------------------------------------------


def run_description(settings: Settings, nets: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """What this page measures, for the banner at its top (`compendium.chapters.page.setup`
    with ``run=``): the images, the networks and what was recorded. The page trains and
    records its own networks, so the profile's own network is not what it shows."""
    if not settings.fashion:
        per_class = settings.max_per_class
        return {
            "Data": "the ImageNet-style folder `image_folder`"
            + (f", the first {per_class:,} images of each class" if per_class else ""),
            "Networks": "; ".join(
                f"{n['name']}: torchvision's `{n['model']}` with weights "
                f"`{n.get('weights', 'DEFAULT')}`, layer `{n['layer']}`"
                for n in nets
            )
            + "; nothing is trained here",
            "Recorded": "every image of the folder's selection; each unit of the layer "
            "summarised per image by its spatial maximum",
        }
    images = f"the first {settings.n_images:,}" if settings.n_images else "all"
    tasks = {"classes": "the ten classes", "coarse": "five coarse groups"}
    described = [
        f"{n['name']}: `{n['arch']}` trained on {tasks.get(n['task'], n['task'])} for "
        f"{_epochs(n.get('epochs', settings.epochs))}, layer `{n['layer']}` dissected"
        for n in nets
    ]
    training = "all" if settings.n_train is None else f"the first {settings.n_train:,}"
    return {
        "Data": f"Fashion-MNIST: {images} test images; {settings.super_category} plays the "
        "part of the paper's 'bus'",
        "Networks": "; ".join(described) + f" ({training} training images, seed "
        f"{settings.seed}; test accuracy and weights in the table of networks)",
        "Recorded": "every test image (not only the correctly classified ones, as in the "
        "paper's Appendix D); each unit of the dissected layer summarised per image by its "
        "spatial maximum",
    }


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_MODEL_NAMES = {"vgg16": "VGG-16", "googlenet": "GoogLeNet", "alexnet": "AlexNet"}


def network_title(settings: Settings, nets: Sequence[Mapping[str, Any]]) -> str:
    """What the page measured, for its title: "four small CNNs on Fashion-MNIST" for the
    networks trained here, "VGG-16 and GoogLeNet on ImageNet" for torchvision's."""
    if settings.fashion:
        n = len(nets)
        count = _COUNT_WORDS[n] if n < len(_COUNT_WORDS) else f"{n:,}"
        return f"{count} small CNN{'' if n == 1 else 's'} on Fashion-MNIST"
    models = list(dict.fromkeys(_MODEL_NAMES.get(n["model"], n["model"]) for n in nets))
    names = ", ".join(models[:-1]) + f" and {models[-1]}" if len(models) > 1 else models[0]
    return f"{names} on ImageNet"


def describe_dissection_settings(settings: Settings) -> str:
    """The two constants of the dissection on this page, named where the method is
    explained: the quantile (and the published one, when this page uses another) and the
    IoU threshold."""
    quantile = settings.quantile
    if quantile == settings.published_quantile:
        which = f"the published value, {quantile} (the top {100 * quantile:g}% of map values)"
    else:
        which = (
            f"**{quantile}** (the top {100 * quantile:g}% of map values), not the published "
            f"{settings.published_quantile}: the section on the published quantile below shows "
            "what the published value does on these images"
        )
    return (
        f"On this page the quantile of step 2 is {which}; the IoU threshold of step 5 is "
        f"{settings.iou_threshold}."
    )


# --------------------------------------------------------------------------------------
# The networks, and the silent units of their layers
# --------------------------------------------------------------------------------------


def describe_super_category(run: ChapterRun) -> str:
    """Which classes make up the super-category (from the first network's class names)."""
    first = run.results[0]
    names = [first.class_names[c] for c in first.group]
    return (
        f"The super-category **{run.super_category}** is made of the classes "
        f"{', '.join(names)}. The networks of this run:"
    )


def networks_table(results: Sequence[NetResult]) -> pd.DataFrame:
    """One column per network: what it is, its layer and units, its test accuracy and
    weights, and how long it took (with the memory of the dissection's kept values)."""
    columns = {}
    for r in results:
        info = dict(r.info or {})
        if r.dissection is not None:
            info["kept values (MB)"] = round(r.dissection.buffer_bytes / 2**20, 1)
        columns[r.name] = info
    return pd.DataFrame(columns)


def silent_split(run: ChapterRun, include_silent: bool = False) -> detectors.SilentUnits:
    """Every measured unit of the run's layers (`NetResult.measured`) split by the book's
    policy on silent units (left out unless `include_silent`), grouped by network. A unit is
    silent when it gives every image the same activation (the ``silent`` column of
    `compendium.measures.groups.group_measures`)."""
    if not isinstance(include_silent, bool | np.bool_):
        raise detectors.DetectorTableError(
            f"include_silent must be True or False; got {include_silent!r}: True keeps the "
            "silent units in the counts, False (the default) leaves them out"
        )
    measured = [r.measured for r in run.results if len(r.measured)]
    table = pd.concat(measured, ignore_index=True) if measured else pd.DataFrame()
    if table.empty:
        table = pd.DataFrame({"network": [], "unit": [], "silent": []})
    silent = table["silent"].astype(bool)
    kept = table if include_silent else table[~silent]
    return detectors.SilentUnits(kept, table[silent], bool(include_silent), "network")


def networks_outputs(run: ChapterRun, include_silent: bool = False) -> list[Any]:
    """The displays of the page's section on the networks of this run: the super-category,
    the table of networks with its CSV, and how many silent units the layers have."""
    table = networks_table(run.results)
    shown: list[Any] = [
        Markdown(describe_super_category(run)),
        table,
        downloads.csv_download(table, "networks"),
    ]
    note = silent_split(run, include_silent).note()
    if note:
        shown.append(Markdown(f"{note} A silent unit has no mask, so it cannot be nominated."))
    return shown


# --------------------------------------------------------------------------------------
# What the published quantile means on these images
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantileCheck:
    """The first network dissected with the published quantile: its detectors by label
    (in `pandas.Series.value_counts` order), the best super-category IoU of any unit
    against that IoU's ceiling, and the share of pixels above the thresholds."""

    network: str
    layer: str
    quantile: float
    n_units: int
    detector_counts: pd.Series
    best_iou: float
    ceiling: float
    active_fraction: float
    ceilings: pd.DataFrame

    @property
    def n_detectors(self) -> int:
        return int(self.detector_counts.sum())


def ceiling_columns(settings: Settings) -> dict[str, float]:
    """The columns of the table of IoU ceilings: the published quantile's, then the page's."""
    return {
        f"ceiling at a = {settings.published_quantile}": settings.published_quantile,
        f"ceiling at a = {settings.quantile} (this page)": settings.quantile,
    }


def summarise_quantile_check(
    result: NetResult,
    dissection: Any,
    ceilings: pd.DataFrame,
    settings: Settings,
) -> QuantileCheck:
    """`QuantileCheck` of a `compendium.methods.dissect.Dissection` of ``result``'s layer
    made with the published quantile, and the ceilings of `ceiling_columns`."""
    labelled = dissection.table()
    column = next(iter(ceiling_columns(settings)))
    return QuantileCheck(
        network=result.name,
        layer=result.layer,
        quantile=settings.published_quantile,
        n_units=dissection.n_units,
        detector_counts=labelled[labelled["detector"]]["label"].value_counts(),
        best_iou=float(dissection.iou_table()[settings.super_category].max()),
        ceiling=float(ceilings.loc[settings.super_category, column]),
        active_fraction=float(dissection.active_fraction),
        ceilings=ceilings,
    )


def quantile_check(run: ChapterRun) -> QuantileCheck | None:
    """The first network dissected again with the published quantile (cached like every
    dissection), and the IoU ceilings of this run's images; None for the imagenet data,
    which have no concept masks."""
    if not run.fashion:
        return None
    from compendium.inputs.datasets import load_fashion_mnist
    from compendium.methods.dissect import cached_dissection, iou_ceilings

    settings = run.settings
    images = load_fashion_mnist("test")
    images = images.subset(settings.n_images) if settings.n_images else images
    first = run.results[0]
    dissection = cached_dissection(
        first.trained,
        images,
        first.layer,
        run.concepts,
        quantile=settings.published_quantile,
        iou_threshold=settings.iou_threshold,
    )
    ceilings = iou_ceilings(images, run.concepts, ceiling_columns(settings))
    return summarise_quantile_check(first, dissection, ceilings, settings)


def describe_quantile_ceiling(check: QuantileCheck, settings: Settings) -> str:
    """What the published quantile allows on these images, with this run's numbers: the
    super-category's share of all pixels against the share a unit's masks cover, and the
    ceiling that puts on its IoU beside the threshold."""
    category = settings.super_category
    share = float(check.ceilings.loc[category, "share of all pixels"])
    threshold = settings.iou_threshold
    if check.ceiling <= threshold:
        reach = f"could not pass the IoU threshold of {threshold}: its IoU is at most {check.ceiling:.3f}"
    elif check.ceiling < 2 * threshold:
        reach = (
            f"could reach an IoU of at most {check.ceiling:.3f}, barely above the threshold of "
            f"{threshold}"
        )
    else:
        reach = f"could reach an IoU of {check.ceiling:.3f}, against the threshold of {threshold}"
    return (
        f"With the published quantile a unit's masks cover about "
        f"{100 * settings.published_quantile:g}% of all pixels, while {category}'s masks "
        f"cover {100 * share:.1f}% of them: even a unit that fires on {category} alone "
        f"{reach}. A single class, covering less, can score higher and win the label. The "
        "table gives the ceilings for every concept; below it, the first network dissected "
        "with the published quantile."
    )


def describe_quantile_check(check: QuantileCheck | None, settings: Settings) -> str:
    """What the published quantile does to the first network, and which quantile the rest
    of the page uses; for the imagenet data (no check), why the section is empty."""
    if check is None:
        return (
            "This section needs concept masks, which ImageNet does not have; the "
            "IoU values below are the published ones."
        )
    category = settings.super_category
    counts = ", ".join(f"{n} {name}" for name, n in check.detector_counts.items()) or "none"
    rest = (
        " (the published value)."
        if settings.quantile == settings.published_quantile
        else ", under which a unit's masks can cover as much as the super-category's."
    )
    return (
        f"With the published quantile ({check.quantile}), {check.network}'s "
        f"`{check.layer}` has {check.n_detectors} detectors of {check.n_units} units: "
        f"{counts}. **{int(check.detector_counts.get(category, 0))}** of them are {category} "
        f"detectors; the best {category} IoU of any unit is {check.best_iou:.3f}, against a "
        f"ceiling of {check.ceiling:.3f}. After enlarging the maps, "
        f"{100 * check.active_fraction:.2f}% of all pixels lie above the units' thresholds "
        f"on average (the enlarged maps are smoother than the raw ones, so fewer of their "
        f"pixels pass). The rest of this page uses the quantile {settings.quantile}" + rest
    )


def quantile_outputs(run: ChapterRun) -> list[Any]:
    """The displays of the section on the published quantile: why it fails here, the
    ceilings with their CSV, and the check."""
    check = quantile_check(run)
    text = Markdown(describe_quantile_check(check, run.settings))
    if check is None:
        return [text]
    return [
        Markdown(describe_quantile_ceiling(check, run.settings)),
        check.ceilings,
        downloads.csv_download(check.ceilings, "iou_ceilings"),
        text,
    ]


# --------------------------------------------------------------------------------------
# The units Network Dissection nominates
# --------------------------------------------------------------------------------------


def label_overview(
    results: Sequence[NetResult], silent: Mapping[str, set[int]] | None = None
) -> pd.DataFrame:
    """Per network (column groups) and best concept (rows): how many units have that best
    concept, and how many of them pass the IoU threshold. ``silent`` (network -> unit
    numbers) are left out: a silent unit's IoU is 0 with every concept, so its "best
    concept" would be the first one."""
    silent = silent or {}
    by_net = {}
    for r in results:
        table = r.dissection.table()
        table = table[~table["unit"].isin(silent.get(r.name, set()))]
        by_net[r.name] = table.groupby("label")["detector"].agg(units="size", detectors="sum")
    overview = pd.concat(by_net, axis=1).fillna(0).astype(int)
    overview.index.name = "best concept"
    return overview


def describe_nominated(result: NetResult, super_category: str, *, from_one: bool) -> str:
    """The units nominated as super-category detectors in one network, with their IoU;
    ``from_one``: number them as Network Dissection does (from 1), else from 0."""
    numbers = result.units["unit"] + (1 if from_one else 0)
    listed = ", ".join(f"{u} ({i:.2f})" for u, i in zip(numbers, result.units["iou"], strict=False))
    return (
        f"**{result.name}**, `{result.layer}`: {len(result.units)} units nominated as "
        f"{super_category} detectors"
        + (" (numbered from 1)" if from_one else "")
        + (f": {listed}" if len(result.units) else ".")
    )


def nominated_outputs(run: ChapterRun, include_silent: bool = False) -> list[Any]:
    """The displays of the section on the nominated units: for the networks dissected here
    the overview of best concepts (silent units left out unless `include_silent`) with its
    CSV, then each network's nominated units."""
    shown: list[Any] = []
    if run.fashion:
        split = silent_split(run, include_silent)
        silent = {} if include_silent else _silent_by_network(split)
        overview = label_overview(run.results, silent)
        shown += [overview, downloads.csv_download(overview, "best_concepts")]
        if split.n_silent and not include_silent:
            shown.append(
                Markdown(
                    f"The {split.n_silent:,} silent units of the layers (see the networks "
                    "above) are not counted under any concept."
                )
            )
    shown += [
        Markdown(describe_nominated(r, run.super_category, from_one=not run.fashion))
        for r in run.results
    ]
    return shown


def _silent_by_network(split: detectors.SilentUnits) -> dict[str, set[int]]:
    if split.silent.empty:
        return {}
    return {
        str(name): set(part["unit"].astype(int))
        for name, part in split.silent.groupby("network", sort=False)
    }


# --------------------------------------------------------------------------------------
# Tables A3-A5: this run's, then the paper's
# --------------------------------------------------------------------------------------


def detector_table(result: NetResult, settings: Settings) -> pd.DataFrame | None:
    """One network's Tables A3-A5 as the page shows them, one table (`display_table`); None
    when no unit was nominated. Under the ``label`` rule every row's best concept is the
    super-category, so the label column is left out."""
    if result.table.empty:
        return None
    table = result.table.set_index("unit")
    if settings.nominate_rule == "label":
        table = table.drop(columns="label")
    return display_table(table)


def describe_standard_errors(results: Sequence[NetResult], reported: pd.DataFrame) -> str:
    """The largest standard error of a mean in this run's tables beside the bounds the
    paper's captions give (``sem_bound`` rows of ``paper_numbers.csv``)."""
    tables = [r.table for r in results if len(r.table)]
    bounds = reported[reported["measure"] == "sem_bound"]
    by_bound: dict[float, list[str]] = {}
    for _, row in bounds.iterrows():
        by_bound.setdefault(float(row["value"]), []).append(row["source"].split()[1])
    said = " and ".join(
        f"below {bound:g} in {_table_names(names)}" for bound, names in by_bound.items()
    )
    paper_part = f" The paper printed none, saying only that they were {said}." if said else ""
    if not tables:
        return "No unit was nominated, so there are no standard errors to report." + paper_part
    largest = max(float(t[["sem_A", "sem_notA"]].max().max()) for t in tables)
    return (
        "The tables leave out the standard errors of the means for width; they are in each "
        f"table's CSV file, and the largest is {largest:.3g} (in the activation's own units)."
        + paper_part
    )


def _table_names(names: Sequence[str]) -> str:
    """'Table A3', or 'Tables A4-A5' for several (given in order)."""
    return f"Table {names[0]}" if len(names) == 1 else f"Tables {names[0]}-{names[-1]}"


def describe_bars_column(reported: pd.DataFrame) -> str:
    """What the last column of this run's tables names: the paper's three bars, with Zhou et
    al.'s precision from ``paper_numbers.csv``."""
    criterion = paper.as_printed(zhou_criterion(reported))
    return (
        "The last column names the paper's detector bars the unit clears for A: "
        "*grandmother* (every image of A above every other image), *detector* (some "
        "threshold with more hits than misses and more hits than false alarms) and *Zhou* "
        f"(at least {criterion} of its {ZHOU_TOP} most active images in A)."
    )


def detector_table_outputs(run: ChapterRun, reported: pd.DataFrame) -> list[Any]:
    """The displays of the section on this run's Tables A3-A5: what the bars column names,
    then per network a heading and its table and CSV (or a note that no unit was
    nominated); then the standard errors."""
    shown: list[Any] = [Markdown(describe_bars_column(reported))]
    for result in run.results:
        shown.append(Markdown(f"**{result.name}**, layer `{result.layer}`"))
        table = detector_table(result, run.settings)
        if table is None:
            shown.append(
                Markdown(f"No unit of this layer is nominated as a {run.super_category} detector.")
            )
            continue
        shown += [
            compact(table),
            downloads.csv_download(result.table, f"{network_slug(result.name)}_nominated"),
        ]
    shown.append(Markdown(describe_standard_errors(run.results, reported)))
    return shown


def paper_table_outputs(reported: pd.DataFrame | None = None) -> list[Any]:
    """The paper's Tables A3-A5, each under a heading that names its network and layer,
    with its CSV."""
    shown: list[Any] = []
    for source, (network, layer) in PAPER_TABLES.items():
        table = paper_table(source, reported)
        shown += [
            Markdown(f"**{source}**: {network}, `{layer}` (units numbered from 1)"),
            paper_display_table(table),
            downloads.csv_download(table, f"paper_{source.replace(' ', '_').lower()}"),
        ]
    return shown


# --------------------------------------------------------------------------------------
# Fig. 6
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Fig6Panel:
    """What one panel of Fig. 6 draws: the top-IoU nominated unit of a network, the images
    it draws (`sample`, into the recording) and its activations, labels and class names."""

    result: NetResult
    row: pd.Series
    activations: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    sample: np.ndarray

    @property
    def unit(self) -> int:
        return int(self.row["unit"])

    @property
    def label(self) -> str:
        return f"{self.result.layer}.{self.unit}"


def fig6_panel(result: NetResult, settings: Settings) -> Fig6Panel | None:
    """The panel of ``result``'s top-IoU nominated unit (None when none was nominated); at
    most about ``max_points`` images are drawn, every class in its share."""
    if result.table.empty:
        return None
    row = result.table.iloc[0]
    acts, labels, names = unit_activations(
        result.activations_path, result.layer, [int(row["unit"])]
    )
    sample = plot_sample(labels, result.group, settings.max_points, settings.seed)
    return Fig6Panel(result, row, acts[:, 0], labels, [n.split(",")[0] for n in names], sample)


def fig6_title(panel: Fig6Panel, top_n: int) -> list[str]:
    """The two lines above a panel: the unit, then its IoU, precision and CCMAS (and how
    many images are drawn when not all are)."""
    row, n_all, n_shown = panel.row, panel.labels.size, panel.sample.size
    note = "" if n_shown == n_all else f", {n_shown:,} of {n_all:,} images drawn"
    return [
        f"{panel.result.name}, {panel.label}",
        f"IoU {row['iou']:.2f}, precision {row[f'precision_{top_n}']:.2f}, "
        f"CCMAS {row['ccmas']:.2f}{note}",
    ]


def fig6_chart(panel: Fig6Panel, settings: Settings) -> Any:
    """The jitterplot of one panel, with the threshold of maximum informedness drawn over
    the points."""
    shown = panel.sample
    return plots.group_jitterplot(
        panel.activations[shown],
        panel.labels[shown],
        panel.class_names,
        panel.label,
        panel.result.group,
        thresholds={"max. informedness": float(panel.row["mi_threshold"])},
        seed=settings.seed,
        title=fig6_title(panel, settings.top_n),
    )


def describe_fig6_panel(row: Mapping[str, Any], super_category: str) -> str:
    """The plotted unit's means and what its threshold of maximum informedness catches."""
    return (
        f"Mean activation {row['mean_A']:.2f} for {super_category} and "
        f"{row['mean_notA']:.2f} for the rest; at the threshold of maximum informedness the "
        f"unit finds {100 * row['mi_recall']:.0f}% of the {super_category} images, and "
        f"{100 * row['mi_false_alarm']:.0f}% of the images above that threshold are not "
        f"{super_category}."
    )


def describe_fig6_sample(panels: Sequence[Fig6Panel]) -> str:
    """How the drawn points were chosen: all of them, or a seeded sample in which every
    class keeps its share (the numbers and the threshold come from every image)."""
    drawn = [p for p in panels if p.sample.size < p.labels.size]
    if not drawn:
        return "Every image is drawn."
    first = drawn[0]
    return (
        f"To keep the clouds readable each panel draws {first.sample.size:,} of the "
        f"{first.labels.size:,} images, a seeded random sample in which every class keeps "
        "its share, so the picture shows the super-category's true base rate; the numbers "
        "and the threshold come from every image. Set `max_points = None` to draw them all."
    )


def fig6_outputs(run: ChapterRun) -> list[Any]:
    """The displays of the Fig. 6 section: how the points were chosen, each network's chart
    and its sentence, then the numbers under the panels beside the paper's, with a CSV."""
    from compendium.chapters.other_cnns import figure6_rows

    panels = [fig6_panel(r, run.settings) for r in run.results]
    shown: list[Any] = [Markdown(describe_fig6_sample([p for p in panels if p is not None]))]
    for result, panel in zip(run.results, panels, strict=True):
        if panel is None:
            shown.append(Markdown(f"**{result.name}**: no nominated unit to plot."))
            continue
        shown += [
            fig6_chart(panel, run.settings),
            Markdown(describe_fig6_panel(panel.row, run.super_category)),
        ]
    rows = figure6_rows(run.results).set_index(["network", "unit"])
    numbers = rows.drop(columns="source").map(lambda v: paper_number_text(v))
    numbers["source"] = rows["source"]
    shown += [
        Markdown(
            "The numbers the paper prints under its three panels, beside the same numbers "
            "for this run's plotted units (the paper's IoU is the one Network Dissection's "
            "website gave):"
        ),
        numbers,
        downloads.csv_download(rows, "fig6_numbers"),
    ]
    return shown


def paper_number_text(value: Any) -> str:
    """A number of a table that sets the paper's beside this run's: 2 decimals."""
    return "–" if pd.isna(value) else f"{value:.2f}"


# --------------------------------------------------------------------------------------
# The three detector bars, counted
# --------------------------------------------------------------------------------------

#: Column headings of `bar_counts_table`.
BAR_HEADINGS = {
    "counted": "units counted",
    "grandmother": "grandmother units",
    "detector": "detectors (reasonable bar)",
    "zhou": f"Zhou's bar (top-{ZHOU_TOP} precision)",
}


def bar_counts(run: ChapterRun, include_silent: bool = False) -> pd.DataFrame:
    """Per network and group of units (``nominated`` by Network Dissection, or ``other``
    units of the layer, where the whole layer was measured): the units measured, silent
    and counted (silent units only with `include_silent`), and how many of those counted
    clear each of the paper's three bars for the super-category
    (`compendium.chapters.detectors.detector_counts`)."""
    split = silent_split(run, include_silent)
    columns = ["units", "silent", "counted", *detectors.BARS]
    every = (
        split.kept
        if split.included or not split.n_silent
        else pd.concat([split.kept, split.silent])
    )
    if every.empty:
        return pd.DataFrame(columns=columns)
    by = ["network", "units of the layer"]
    group = {True: "nominated", False: "other"}
    every = every.assign(**{by[1]: every["nominated"].map(group)})
    kept = split.kept.assign(**{by[1]: split.kept["nominated"].map(group)})
    order = [(r.name, g) for r in run.results for g in group.values()]
    index = pd.MultiIndex.from_tuples(
        [key for key in order if key in set(every.groupby(by).size().index)], names=by
    )
    counts = detectors.detector_counts(kept, by=by, include_silent=True).reindex(index)
    counts["units"] = every.groupby(by).size().reindex(index)
    counts["silent"] = every.groupby(by)["silent"].sum().reindex(index)
    return counts[columns].fillna(0).astype(int)


def bar_counts_table(counts: pd.DataFrame) -> pd.DataFrame:
    """`bar_counts` for the page: the units counted and the three bars, headed in words."""
    return counts[list(BAR_HEADINGS)].rename(columns=BAR_HEADINGS)


@dataclass(frozen=True)
class BarTotals:
    """The three bars summed over the networks for one group of units (``nominated`` or
    ``other``): units counted, and how many clear each bar."""

    counted: int
    grandmother: int
    detector: int
    zhou: int
    networks_with_detectors: tuple[str, ...]


def bar_totals(counts: pd.DataFrame, group: str = "nominated") -> BarTotals:
    """`BarTotals` of one group of units (a value of the second level of `bar_counts`)."""
    if counts.empty or group not in set(counts.index.get_level_values(1)):
        return BarTotals(0, 0, 0, 0, ())
    part = counts.xs(group, level=1)
    return BarTotals(
        counted=int(part["counted"].sum()),
        grandmother=int(part["grandmother"].sum()),
        detector=int(part["detector"].sum()),
        zhou=int(part["zhou"].sum()),
        networks_with_detectors=tuple(str(n) for n in part.index[part["detector"] > 0]),
    )


def _clearest(units: pd.DataFrame) -> pd.Series | None:
    """The nominated unit that clears the reasonable bar by the widest margin: the largest
    ``min(detector_recall - .5, .5 - detector_false_alarm)``; None without a detector."""
    found = units[units["detector"].astype(bool)]
    if found.empty:
        return None
    margin = np.minimum(found["detector_recall"] - 0.5, 0.5 - found["detector_false_alarm"])
    return found.loc[margin.idxmax()]


# --------------------------------------------------------------------------------------
# Beside the paper: the summary, the verdict, the base rate
# --------------------------------------------------------------------------------------


def summary_tables(
    results: Sequence[NetResult], reported: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """The detector table of each network of this run, then the paper's Tables A3-A5
    (named by table: ``"A3 (paper)"``)."""
    return {
        **{r.name: r.table for r in results},
        **{
            f"{source.split()[-1]} (paper)": paper_table(source, reported)
            for source in PAPER_TABLES
        },
    }


def nominated_units(results: Sequence[NetResult]) -> pd.DataFrame:
    """The detector tables of all networks in one, with the three bars (empty when no unit
    was nominated)."""
    tables = [detectors.with_bars(r.table) for r in results if len(r.table)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


@dataclass(frozen=True)
class PaperDetectors:
    """What the paper's Tables A3-A5 say about its 'bus' units, for the page to set beside
    this run's: how many units each table lists, the ranges of its measures, how many units
    reach Zhou et al.'s precision, and the unit on which IoU and precision disagree most
    (the lowest precision, and of those the highest IoU)."""

    criterion: float
    precision_max: float
    n_at_criterion: int
    ccmas_min: float
    ccmas_max: float
    pct_a: tuple[float, float]
    pct_not_a: tuple[float, float]
    disagreeing_network: str
    disagreeing_unit: int
    disagreeing_iou: float
    disagreeing_precision: float
    units_per_table: tuple[tuple[str, int], ...] = ()

    @property
    def n_units(self) -> int:
        return sum(n for _, n in self.units_per_table)


def paper_detectors(reported: pd.DataFrame) -> PaperDetectors:
    """`PaperDetectors` from the paper's numbers (``reported``, as
    :func:`compendium.chapters.paper.reported` gives them)."""
    per_table = {s: paper_table(s, reported) for s in PAPER_TABLES}
    tables = pd.concat(per_table.values(), ignore_index=True)
    criterion = zhou_criterion(reported)
    worst = tables.sort_values(
        ["precision_100", "iou"], ascending=[True, False], kind="stable"
    ).iloc[0]
    return PaperDetectors(
        criterion=criterion,
        precision_max=float(tables["precision_100"].max()),
        n_at_criterion=int((tables["precision_100"] >= criterion).sum()),
        ccmas_min=float(tables["ccmas"].min()),
        ccmas_max=float(tables["ccmas"].max()),
        pct_a=(float(tables["pct_above_zero_A"].min()), float(tables["pct_above_zero_A"].max())),
        pct_not_a=(
            float(tables["pct_above_zero_notA"].min()),
            float(tables["pct_above_zero_notA"].max()),
        ),
        disagreeing_network=str(worst["network"]).split(" (")[0],
        disagreeing_unit=int(worst["unit"]),
        disagreeing_iou=float(worst["iou"]),
        disagreeing_precision=float(worst["precision_100"]),
        units_per_table=tuple((PAPER_TABLES[s][0], len(t)) for s, t in per_table.items()),
    )


def _paper_number(reported: pd.DataFrame, measure: str) -> float:
    """The one number of the data file named ``measure``."""
    found = reported.loc[reported["measure"] == measure, "value"]
    if len(found) != 1:
        raise KeyError(f"the paper's numbers hold {len(found)} rows of {measure!r}, not one")
    return float(found.iloc[0])


def _percent_range(low_high: tuple[float, float]) -> str:
    """A range of percentages as the data file holds them (``93.7-100``)."""
    return "-".join(f"{v:g}" for v in low_high)


def _units(n: int) -> str:
    return f"{n:,} unit" if n == 1 else f"{n:,} units"


def _paper_units(theirs: PaperDetectors) -> str:
    """'7 (VGG-16 (Places-365)), 17 (...) and 25 (...)': the paper's units per network."""
    parts = [f"{n} in {network}" for network, n in theirs.units_per_table]
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def _paper_verdict(theirs: PaperDetectors) -> str:
    """What the paper said about its units, with the caution that it measured no
    signal-detection number for them."""
    none_at = "none" if theirs.n_at_criterion == 0 else f"only {theirs.n_at_criterion}"
    return (
        f"The paper could make no such count for its {theirs.n_units} 'bus' units: it "
        "reports no signal-detection measure for them, and judged them by their jitterplots, "
        f"precision and CCMAS; by precision {none_at} reached Zhou et al.'s "
        f"{paper.as_printed(theirs.criterion)} (the best {paper.as_printed(theirs.precision_max)})."
    )


def describe_verdict(
    totals: BarTotals,
    units: pd.DataFrame,
    *,
    n_networks: int,
    super_category: str,
    theirs: PaperDetectors,
) -> str:
    """The page's verdict on the nominated units, first and plainly, from the counts of the
    paper's three bars (`bar_totals` of the nominated units) and the unit that clears the
    reasonable bar most clearly; then what the paper could say about its own."""
    n = totals.counted
    if n == 0:
        return (
            f"Network Dissection nominated no {super_category} unit with these settings, so "
            "there is no verdict on its nominations."
        )
    criterion = paper.as_printed(theirs.criterion)
    zhou = (
        f"{totals.zhou:,} reach Zhou et al.'s precision bar (at least {criterion} of the "
        f"{ZHOU_TOP} most active images)"
    )
    recall_p1 = float(units["recall_p100"].max())
    if totals.detector == 0:
        subject = (
            "The one unit Network Dissection nominated is not"
            if n == 1
            else f"None of the {n:,} units Network Dissection nominated is"
        )
        head = (
            f"**{subject} a {super_category} detector by the paper's tests**: "
            "none has a threshold with more hits than misses "
            "and more hits than false alarms, and "
            + ("none" if totals.grandmother == 0 else f"{totals.grandmother:,}")
            + f" is a grandmother unit (recall at perfect precision is at most "
            f"{recall_p1:.2f}); {zhou}."
        )
        return f"{head} {_paper_verdict(theirs)}"
    best = _clearest(units)
    networks = len(totals.networks_with_detectors)
    are = "is a" if totals.detector == 1 else "are"
    if totals.detector == n:
        subject = "The one unit" if n == 1 else f"All {n:,} units"
    else:
        subject = f"{totals.detector:,} of the {_units(n)}"
    head = (
        f"**{subject} Network Dissection nominated {are} "
        f"{super_category} detector{'s' if totals.detector != 1 else ''} by the paper's "
        f"reasonable test** (a threshold at which the unit takes in most {super_category} "
        f"images and more {super_category} images than others), in {networks} of the "
        f"{n_networks} networks. "
        + (
            f"{totals.grandmother:,} of them {'is a grandmother unit' if totals.grandmother == 1 else 'are grandmother units'} "
            f"(every {super_category} image above every other image)"
            if totals.grandmother
            else f"None is a grandmother unit (recall at perfect precision is at most {recall_p1:.2f})"
        )
        + f", and {zhou}. The clearest is {best['network']}'s unit {int(best['unit'])}: at "
        f"its best threshold it finds {100 * best['detector_recall']:.0f}% of the "
        f"{super_category} images, and {100 * best['detector_false_alarm']:.0f}% of what it "
        "takes in is something else."
    )
    return f"{head} {_paper_verdict(theirs)}"


def describe_bar_layers(counts: pd.DataFrame, super_category: str) -> str:
    """How Network Dissection's nominations and the reasonable bar agree over the whole
    dissected layers (empty when only the nominated units were measured)."""
    other = bar_totals(counts, "other")
    nominated = bar_totals(counts, "nominated")
    if other.counted == 0:
        return ""
    every = other.detector + nominated.detector
    missed = nominated.counted - nominated.detector
    return (
        f"The nominations and the reasonable bar agree only in part. Over the whole dissected "
        f"layers ({_units(other.counted + nominated.counted)} counted), {every:,} clear the "
        f"bar for {super_category}; Network Dissection nominated {nominated.detector:,} of "
        f"them and left {other.detector:,} out, and {missed:,} of its "
        f"{nominated.counted:,} nominations miss the bar."
    )


def describe_detectors(
    units: pd.DataFrame,
    *,
    n_networks: int,
    super_category: str,
    top_n: int,
    theirs: PaperDetectors,
    totals: BarTotals | None = None,
    layers: str = "",
) -> str:
    """The page's finding on the nominated units of all networks (`nominated_units`): the
    verdict from the bars first (`describe_verdict`, with `totals`), then their range of
    precision and CCMAS beside the paper's, where the IoU and the measures disagree most,
    and (`layers`, from `describe_bar_layers`) how the nominations cover the layers."""
    if units.empty:
        return (
            f"No network nominated a {super_category} detector with these "
            "settings, so there is nothing to compare."
        )
    totals = totals or _totals_of(units)
    prec = f"precision_{top_n}"
    worst = units.loc[units[prec].idxmin()]
    none_at = "none" if theirs.n_at_criterion == 0 else f"{theirs.n_at_criterion}"
    criterion = paper.as_printed(theirs.criterion)
    verdict = describe_verdict(
        totals, units, n_networks=n_networks, super_category=super_category, theirs=theirs
    )
    ranges = (
        f"**What the other measures show.** Across the {n_networks} networks, the precision of "
        f"the nominated units (the share of {super_category} among each unit's {top_n} most "
        f"active images) ranges from {units[prec].min():.2f} to {units[prec].max():.2f}, and "
        f"{int((units[prec] >= theirs.criterion).sum())} of them reach {criterion} (the "
        f"paper: at most {paper.as_printed(theirs.precision_max)}, {none_at} at {criterion}). "
        f"CCMAS ranges from {units['ccmas'].min():.2f} to {units['ccmas'].max():.2f} (the "
        f"paper: {paper.as_printed(theirs.ccmas_min)} to {paper.as_printed(theirs.ccmas_max)}). "
        f"On average {units['pct_above_zero_A'].mean():.1f}% of {super_category} images and "
        f"{units['pct_above_zero_notA'].mean():.1f}% of the other images activate a nominated "
        f"unit above zero (the paper: {_percent_range(theirs.pct_a)}% of bus images, "
        f"{_percent_range(theirs.pct_not_a)}% of the others)."
    )
    disagreement = (
        f"The two methods can disagree outright: {worst['network']}'s unit "
        f"{int(worst['unit'])} has an IoU of {worst['iou']:.2f} with {super_category} but a "
        f"precision of {worst[prec]:.2f} and a CCMAS of {worst['ccmas']:.2f}, as the "
        f"paper's {theirs.disagreeing_network} unit {theirs.disagreeing_unit} (IoU "
        f"{paper.as_printed(theirs.disagreeing_iou)}, precision "
        f"{paper.as_printed(theirs.disagreeing_precision)}) did. The IoU asks *where* in "
        f"an image a unit's strongest responses fall; the measures ask *which* images drive "
        f"the unit hardest, and the two need not agree."
    )
    return "\n\n".join(part for part in (verdict, ranges, disagreement, layers) if part)


def _totals_of(units: pd.DataFrame) -> BarTotals:
    """`BarTotals` straight from a table of units with the bars (all counted)."""
    marked = detectors.with_bars(units)
    networks = marked.groupby("network", sort=False)["detector"].sum()
    return BarTotals(
        counted=len(marked),
        grandmother=int(marked["localist"].sum()),
        detector=int(marked["detector"].sum()),
        zhou=int(marked["zhou_detector"].sum()),
        networks_with_detectors=tuple(str(n) for n in networks.index[networks > 0]),
    )


def detectors_outputs(
    run: ChapterRun, reported: pd.DataFrame, include_silent: bool = False
) -> list[Any]:
    """The displays of the page's finding: the counts at the three bars with their CSV,
    then the verdict and the other measures beside the paper's."""
    counts = bar_counts(run, include_silent)
    units = nominated_units(run.results)
    text = describe_detectors(
        units,
        n_networks=len(run.results),
        super_category=run.super_category,
        top_n=run.settings.top_n,
        theirs=paper_detectors(reported),
        totals=bar_totals(counts),
        layers=describe_bar_layers(counts, run.super_category),
    )
    if counts.empty:
        return [Markdown(text)]
    table = bar_counts_table(counts)
    return [table, downloads.csv_download(counts, "detector_bars"), Markdown(text)]


def summary_outputs(run: ChapterRun, reported: pd.DataFrame | None = None) -> list[Any]:
    """The displays of the section beside the paper: one column per network with its CSV,
    and for the imagenet data each network beside its table of the paper, unit by unit."""
    every = paper.reported() if reported is None else reported
    summary = summarise(summary_tables(run.results, every), zhou_criterion(every))
    shown: list[Any] = [
        compact(format_summary(summary)),
        downloads.csv_download(summary, "beside_paper"),
    ]
    if not run.fashion:
        for r in run.results:
            if r.info.get("paper"):
                shown.append(Markdown(f"**{r.name}** beside {r.info['paper']}, unit by unit:"))
                compared = beside_paper(r.table, r.info["paper"])
                shown += [
                    compared,
                    downloads.csv_download(compared, f"{network_slug(r.name)}_beside_paper"),
                ]
    return shown


def base_rate(run: ChapterRun) -> tuple[float, int]:
    """The share of the measured images (those of the first network's recording) that
    belong to the super-category, and how many images there are."""
    first = run.results[0]
    labels = unit_activations(first.activations_path, first.layer, [])[1]
    return float(np.isin(labels, first.group).mean()), int(labels.size)


def describe_base_rate(
    share: float, n_images: int, super_category: str, reported: pd.DataFrame, top_n: int = 100
) -> str:
    """The super-category's share of this run's images beside the buses' share of the
    paper's (Appendix D), and what a unit with no preference would put among its top N."""
    n_paper = _paper_number(reported, "n_images_all")
    n_buses = _paper_number(reported, "n_images_A")
    return (
        f"In this run {100 * share:.1f}% of the {n_images:,} measured images belong "
        f"to {super_category} (the paper: {n_buses:,.0f} of {n_paper:,.0f} images, "
        f"{100 * n_buses / n_paper:.1f}%, were buses). A unit with no preference at all "
        f"would put about {share * top_n:.3g} {super_category} images among its {top_n} most "
        f"active ones here, and about {n_buses / n_paper * top_n:.2g} buses there."
    )


def base_rate_outputs(run: ChapterRun, reported: pd.DataFrame) -> list[Any]:
    """The display of the super-category's share of this run's images beside the paper's."""
    share, n_images = base_rate(run)
    return [
        Markdown(
            describe_base_rate(share, n_images, run.super_category, reported, run.settings.top_n)
        )
    ]


# --------------------------------------------------------------------------------------
# The box at the top of the page
# --------------------------------------------------------------------------------------


def summary_box(
    run: ChapterRun, reported: pd.DataFrame, profile: str, include_silent: bool = False
) -> Markdown:
    """The short box at the top of the page (MyST): what the paper found, what profile
    `profile` finds (the verdict from the bar counts) and why the two may differ."""
    theirs = paper_detectors(reported)
    counts = bar_counts(run, include_silent)
    totals = bar_totals(counts)
    share, n_images = base_rate(run)
    found = (
        f"Of the {_units(totals.counted)} Network Dissection nominated as {run.super_category} "
        f"detectors in {len(run.results)} networks, **{totals.detector:,} clear the paper's "
        f"reasonable bar for a detector**, {totals.grandmother:,} "
        f"{'is a grandmother unit' if totals.grandmother == 1 else 'are grandmother units'} "
        f"and {totals.zhou:,} reach Zhou et al.'s precision bar."
        if totals.counted
        else f"Network Dissection nominated no {run.super_category} unit with these settings."
    )
    lines = [
        ":::{admonition} In short",
        ":class: tip",
        "",
        f"- **The paper** (Sec. 3.3, Appendix D) measured the units Network Dissection had "
        f"named 'bus' detectors: {_paper_units(theirs)}. None reached Zhou et al.'s "
        f"precision of {paper.as_printed(theirs.criterion)} (the best: "
        f"{paper.as_printed(theirs.precision_max)}); from their jitterplots it read some "
        "sensitivity to buses and poor specificity. It reports no signal-detection measure "
        "for these units.",
        f"- **This run** (profile `{profile}`): {found}",
        f"- **Why they may differ:** {describe_why(run, reported, share, n_images)}",
        ":::",
    ]
    return page.myst("\n".join(lines))


def describe_why(run: ChapterRun, reported: pd.DataFrame, share: float, n_images: int) -> str:
    """Why this run's verdict may differ from the paper's: the base rate (how many classes
    make up the super-category among how many), the training task and the masks."""
    n_paper = _paper_number(reported, "n_images_all")
    n_buses = _paper_number(reported, "n_images_A")
    n_classes = _paper_number(reported, "n_classes")
    bus_classes = n_buses / (n_paper / n_classes)
    first = run.results[0]
    base = (
        f"{run.super_category} is {len(first.group)} of {len(first.class_names):,} classes here, "
        f"{100 * share:.1f}% of the {n_images:,} images; the paper's buses were "
        f"{bus_classes:.0f} of {n_classes:,.0f} classes, {100 * n_buses / n_paper:.1f}% of its "
        "images, so a unit needs far less selectivity here to reach a high precision or to "
        "clear the bars."
    )
    if not run.fashion:
        return (
            base + " The networks are torchvision's, whose unit numbers name the paper's units "
            "only with Network Dissection's own weights."
        )
    coarse = [r.name for r in run.results if (r.info or {}).get("task") == "coarse"]
    parts = [base]
    if coarse:
        were, their = ("was", "its") if len(coarse) == 1 else ("were", "their")
        parts.append(
            f"{' and '.join(coarse)} {were} trained with {run.super_category} as one of "
            f"{their} labels; the paper's Places-365 networks never saw 'bus' as a label."
        )
    parts.append(
        "The concept masks are whole garments on a black ground, and the dissection's "
        f"quantile is {run.settings.quantile}"
        + (
            f" rather than the published {run.settings.published_quantile}."
            if run.settings.quantile != run.settings.published_quantile
            else "."
        )
    )
    return " ".join(parts)


# --------------------------------------------------------------------------------------
# Exercises and the rerun recipe
# --------------------------------------------------------------------------------------


def chapter_exercises(run: ChapterRun, reported: pd.DataFrame, include_silent: bool = False) -> Any:
    """The chapter's exercises, with solutions written from this run's numbers."""
    units = nominated_units(run.results)
    share, _ = base_rate(run)
    items = [_base_rate_exercise(run, share, reported)]
    if len(units):
        items.insert(0, _precision_exercise(units, run))
    counts = bar_counts(run, include_silent)
    if bar_totals(counts, "other").counted:
        items.append(_coverage_exercise(run, counts))
    return exercises.block(items)


def _precision_exercise(units: pd.DataFrame, run: ChapterRun) -> exercises.Exercise:
    prec = f"precision_{run.settings.top_n}"
    misses = units[~units["detector"].astype(bool)]
    category = run.super_category
    if misses.empty:
        row = units.loc[units[prec].idxmin()]
        solution = (
            f"On this run every nominated unit clears the reasonable bar, so there is no such "
            f"unit. The least precise, {row['network']}'s unit {int(row['unit'])} "
            f"(precision {row[prec]:.2f}), still finds {100 * row['detector_recall']:.0f}% "
            f"of the {category} images at its best threshold with "
            f"{100 * row['detector_false_alarm']:.0f}% false alarms."
        )
    else:
        row = misses.loc[misses[prec].idxmax()]
        solution = (
            f"{row['network']}'s unit {int(row['unit'])} has a precision of {row[prec]:.2f}, "
            f"yet at the threshold with the largest hits minus false alarms among those that "
            f"take in more than half of {category} it finds "
            f"{100 * row['detector_recall']:.0f}% of the {category} images, and "
            f"{100 * row['detector_false_alarm']:.0f}% of what it takes in is something else. "
            f"Precision reads only the {run.settings.top_n} most active images: a unit can be "
            f"pure at the very top and indiscriminate below it, which its Fig. 6-style "
            "jitterplot would show as a few coloured points at the far right and a mixed "
            "cloud elsewhere."
        )
    return exercises.Exercise(
        label="ex-other-cnns-precision",
        title="Precise but not a detector",
        question=(
            f"Find a nominated unit with a high top-{run.settings.top_n} precision that "
            "misses the reasonable detector bar (the tables' last column). What do its hit "
            "rate and false alarms say that its precision does not?"
        ),
        solution=solution,
    )


def _base_rate_exercise(
    run: ChapterRun, share: float, reported: pd.DataFrame
) -> exercises.Exercise:
    criterion = zhou_criterion(reported)
    paper_share = _paper_number(reported, "n_images_A") / _paper_number(reported, "n_images_all")
    category = run.super_category
    return exercises.Exercise(
        label="ex-other-cnns-base-rate",
        title="How much does the base rate help?",
        question=(
            f"A unit's precision must reach {paper.as_printed(criterion)} for Zhou et al.'s "
            f"bar. How many times the share of {category} in this run's images is that, and "
            "how many times the share of buses in the paper's images?"
        ),
        solution=(
            f"Here {category} is {100 * share:.1f}% of the images, so the bar asks for "
            f"{criterion / share:.2g} times the base rate; buses were "
            f"{100 * paper_share:.1f}% of the paper's images, so there it asked for "
            f"{criterion / paper_share:,.0f} times. A unit with only a mild preference for "
            f"{category} clears the bar here, which is one reason the bars fall differently "
            "than in the paper."
        ),
    )


def _coverage_exercise(run: ChapterRun, counts: pd.DataFrame) -> exercises.Exercise:
    every = pd.concat(
        [r.measured for r in run.results if r.layer_table is not None], ignore_index=True
    )
    best = every.loc[every["max_informedness"].idxmax()]
    nominated = "was" if bool(best["nominated"]) else "was not"
    other = bar_totals(counts, "other")
    return exercises.Exercise(
        label="ex-other-cnns-coverage",
        title="Does the dissection find the detectors?",
        question=(
            f"Use the table of the three bars: how many of the layers' {run.super_category} "
            "detectors (reasonable bar) did Network Dissection leave out? Which unit of the "
            f"layers has the highest max informedness for {run.super_category}, and was it "
            "nominated?"
        ),
        solution=(
            f"It left out {other.detector:,} of them. The highest max informedness is "
            f"{best['max_informedness']:.2f}, {best['network']}'s unit {int(best['unit'])}, "
            f"which {nominated} nominated: the IoU rewards a unit whose strongest responses "
            "fall on the garment's pixels, which is not the same as firing for the right "
            "images."
        ),
    )


def rerun_example() -> dict[str, Any]:
    """The parameters the chapter's rerun recipe changes, as an example."""
    return {"quantile": 0.02, "nominate_rule": "iou"}
