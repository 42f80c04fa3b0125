"""What chapter 4's page shows and says about one run: its tables, its charts and the
sentences it states as findings, each built from the run's numbers and, beside them, the
paper's (read from ``paper_numbers.csv`` through :func:`compendium.chapters.paper.reported`).

:mod:`compendium.chapters.other_cnns` runs the networks (a :class:`ChapterRun`); this module
turns a run into what the page displays. Each ``*_outputs`` function gives one cell's
displays in order (Markdown text, tables, charts), so a cell of the notebook is one call
and a loop of ``display``; the ``describe_*`` functions write the sentences and take the
numbers they state, so a test can change the numbers and watch the words follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import Markdown

from compendium.activations.reader import unit_activations
from compendium.chapters import paper, plots
from compendium.chapters.other_cnns import (
    PAPER_TABLES,
    ChapterRun,
    NetResult,
    Settings,
    beside_paper,
    display_table,
    format_summary,
    paper_table,
    plot_sample,
    summarise,
)

__all__ = [
    "FIRST_SIGNAL_DETECTION_COLUMN",
    "Fig6Panel",
    "PaperDetectors",
    "QuantileCheck",
    "TIMING_NOTE",
    "base_rate",
    "base_rate_outputs",
    "ceiling_columns",
    "describe_base_rate",
    "describe_detectors",
    "describe_fig6_panel",
    "describe_nominated",
    "describe_quantile_check",
    "describe_super_category",
    "detector_table",
    "detector_table_outputs",
    "detectors_outputs",
    "dissection_timing",
    "fig6_chart",
    "fig6_outputs",
    "fig6_panel",
    "fig6_title",
    "label_overview",
    "networks_outputs",
    "networks_table",
    "nominated_outputs",
    "nominated_units",
    "paper_detectors",
    "paper_table_outputs",
    "quantile_check",
    "quantile_outputs",
    "summarise_quantile_check",
    "summary_outputs",
    "summary_tables",
]

#: The sentence above the table of `dissection_timing`.
TIMING_NOTE = (
    "Time per dissected layer on the machine that built this page (cached "
    "results keep the time of the run that computed them), and the most "
    "memory the threshold's buffer of kept values can take:"
)

#: Where the page's detector tables split: the paper's columns before it, the
#: signal-detection measures from it on.
FIRST_SIGNAL_DETECTION_COLUMN = "recall_p100"


# --------------------------------------------------------------------------------------
# The networks
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
    """One column per network: what it is, its layer and units, and how long it took."""
    return pd.DataFrame({r.name: r.info for r in results})


def networks_outputs(run: ChapterRun) -> list[Any]:
    """The displays of the page's section on the networks of this run."""
    return [Markdown(describe_super_category(run)), networks_table(run.results)]


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
    """The displays of the section on the published quantile: the ceilings and the check."""
    check = quantile_check(run)
    text = Markdown(describe_quantile_check(check, run.settings))
    return [text] if check is None else [check.ceilings, text]


# --------------------------------------------------------------------------------------
# The units Network Dissection nominates
# --------------------------------------------------------------------------------------


def label_overview(results: Sequence[NetResult]) -> pd.DataFrame:
    """Per network (column groups) and best concept (rows): how many units have that best
    concept, and how many of them pass the IoU threshold."""
    by_net = {
        r.name: r.dissection.table().groupby("label")["detector"].agg(units="size", detectors="sum")
        for r in results
    }
    overview = pd.concat(by_net, axis=1).fillna(0).astype(int)
    overview.index.name = "best concept"
    return overview


def dissection_timing(results: Sequence[NetResult]) -> pd.DataFrame:
    """Per network: the dissected layer, its units and map size, the seconds of each pass
    and the most memory the threshold's buffer can take."""
    return pd.DataFrame(
        {
            r.name: {
                "layer": r.layer,
                "units": r.dissection.n_units,
                "map": "x".join(map(str, r.dissection.map_shape)),
                **r.dissection.seconds,
                "kept values (MB)": round(r.dissection.buffer_bytes / 2**20, 1),
            }
            for r in results
        }
    ).T


def describe_nominated(result: NetResult, super_category: str, *, from_one: bool) -> str:
    """The units nominated as super-category detectors in one network, with their IoU;
    ``from_one``: number them as Network Dissection does (from 1), else from 0."""
    numbers = result.units["unit"] + (1 if from_one else 0)
    listed = ", ".join(f"{u} ({i:.3g})" for u, i in zip(numbers, result.units["iou"], strict=False))
    return (
        f"**{result.name}**, `{result.layer}`: {len(result.units)} units nominated as "
        f"{super_category} detectors"
        + (" (numbered from 1)" if from_one else "")
        + (f": {listed}" if len(result.units) else ".")
    )


def nominated_outputs(run: ChapterRun) -> list[Any]:
    """The displays of the section on the nominated units: for the networks dissected here
    the overview of labels and the timing, then each network's nominated units."""
    shown: list[Any] = []
    if run.fashion:
        shown += [
            label_overview(run.results),
            Markdown(TIMING_NOTE),
            dissection_timing(run.results),
        ]
    shown += [
        Markdown(describe_nominated(r, run.super_category, from_one=not run.fashion))
        for r in run.results
    ]
    return shown


# --------------------------------------------------------------------------------------
# Tables A3-A5
# --------------------------------------------------------------------------------------


def detector_table(result: NetResult, settings: Settings) -> list[pd.DataFrame]:
    """One network's Tables A3-A5 as the page shows them, in two narrower tables (the
    paper's columns, then the signal-detection measures); none when no unit was nominated.
    Under the ``label`` rule every row's best concept is the super-category, so the label
    column is left out."""
    if result.table.empty:
        return []
    table = result.table.set_index("unit")
    if settings.nominate_rule == "label":
        table = table.drop(columns="label")
    split = table.columns.get_loc(FIRST_SIGNAL_DETECTION_COLUMN)
    return [display_table(table.iloc[:, :split]), display_table(table.iloc[:, split:])]


def detector_table_outputs(run: ChapterRun) -> list[Any]:
    """The displays of the section on Tables A3-A5: per network a heading, then its
    `detector_table` or a note that no unit was nominated."""
    shown: list[Any] = []
    for result in run.results:
        shown.append(Markdown(f"**{result.name}**, layer `{result.layer}`"))
        tables = detector_table(result, run.settings)
        shown += tables or [
            Markdown(f"No unit of this layer is nominated as a {run.super_category} detector.")
        ]
    return shown


def paper_table_outputs(reported: pd.DataFrame | None = None) -> list[Any]:
    """The paper's Tables A3-A5, each under a heading that names its network and layer."""
    shown: list[Any] = []
    for source, (network, layer) in PAPER_TABLES.items():
        shown.append(Markdown(f"**{source}**: {network}, `{layer}`"))
        table = paper_table(source, reported).drop(columns=["network", "layer"])
        shown.append(table.set_index("unit"))
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
    """The panel of ``result``'s top-IoU nominated unit (None when none was nominated);
    every image of the super-category is drawn, and at most ``max_points`` in all."""
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
    note = "" if n_shown == n_all else f", {n_shown:,} of {n_all:,} images"
    return [
        f"{panel.result.name}, {panel.label}",
        f"IoU {row['iou']:.3f}, precision {row[f'precision_{top_n}']:.2f}, "
        f"CCMAS {row['ccmas']:.2f}{note}",
    ]


def fig6_chart(panel: Fig6Panel, settings: Settings) -> Any:
    """The jitterplot of one panel, with the threshold of maximum informedness."""
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


def fig6_outputs(run: ChapterRun) -> list[Any]:
    """The displays of the Fig. 6 section: each network's chart and its sentence."""
    shown: list[Any] = []
    for result in run.results:
        panel = fig6_panel(result, run.settings)
        if panel is None:
            shown.append(Markdown(f"**{result.name}**: no nominated unit to plot."))
            continue
        shown += [
            fig6_chart(panel, run.settings),
            Markdown(describe_fig6_panel(panel.row, run.super_category)),
        ]
    return shown


# --------------------------------------------------------------------------------------
# Beside the paper
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


def summary_outputs(run: ChapterRun, reported: pd.DataFrame | None = None) -> list[Any]:
    """The displays of the section beside the paper: one column per network, and for the
    imagenet data each network beside its table of the paper, unit by unit."""
    shown: list[Any] = [format_summary(summarise(summary_tables(run.results, reported)))]
    if not run.fashion:
        for r in run.results:
            if r.info.get("paper"):
                shown.append(Markdown(f"**{r.name}** beside {r.info['paper']}, unit by unit:"))
                shown.append(beside_paper(r.table, r.info["paper"]))
    return shown


def nominated_units(results: Sequence[NetResult]) -> pd.DataFrame:
    """The detector tables of all networks in one (empty when no unit was nominated)."""
    tables = [r.table for r in results if len(r.table)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


@dataclass(frozen=True)
class PaperDetectors:
    """What the paper's Tables A3-A5 say about its 'bus' units, for the page to set beside
    this run's: the ranges of its measures, how many units reach Zhou et al.'s precision,
    and the unit on which IoU and precision disagree most (the lowest precision, and of
    those the highest IoU)."""

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


def paper_detectors(reported: pd.DataFrame) -> PaperDetectors:
    """`PaperDetectors` from the paper's numbers (``reported``, as
    :func:`compendium.chapters.paper.reported` gives them)."""
    tables = pd.concat([paper_table(s, reported) for s in PAPER_TABLES], ignore_index=True)
    criterion = _paper_number(reported, "detector_precision")
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


def describe_detectors(
    units: pd.DataFrame,
    *,
    n_networks: int,
    super_category: str,
    top_n: int,
    theirs: PaperDetectors,
) -> str:
    """The page's finding on the nominated units of all networks (`nominated_units`):
    their range of precision and CCMAS beside the paper's, where the IoU and the measures
    disagree most, and how far the best unit is from a detector in the strict sense."""
    if units.empty:
        return (
            f"No network nominated a {super_category} detector with these "
            "settings, so there is nothing to compare."
        )
    prec = f"precision_{top_n}"
    best_mi = units.loc[units["max_informedness"].idxmax()]
    worst = units.loc[units[prec].idxmin()]
    none_at = "none" if theirs.n_at_criterion == 0 else f"{theirs.n_at_criterion}"
    criterion = paper.as_printed(theirs.criterion)
    ranges = (
        f"**What this run shows.** Across the {n_networks} networks, Network Dissection "
        f"nominated {len(units)} {super_category} units. Their precision (the share of "
        f"{super_category} among each unit's {top_n} most active images) ranges from "
        f"{units[prec].min():.2f} to {units[prec].max():.2f}, and "
        f"{int((units[prec] >= theirs.criterion).sum())} of them reach the "
        f"{theirs.criterion} that Zhou et al. (2015) asked of a detector (the paper: at most "
        f"{paper.as_printed(theirs.precision_max)}, {none_at} at {criterion}). CCMAS ranges "
        f"from {units['ccmas'].min():.2f} to {units['ccmas'].max():.2f} (the paper: "
        f"{paper.as_printed(theirs.ccmas_min)} to {paper.as_printed(theirs.ccmas_max)}). On "
        f"average {units['pct_above_zero_A'].mean():.1f}% of {super_category} images and "
        f"{units['pct_above_zero_notA'].mean():.1f}% of the other images activate a nominated "
        f"unit above zero (the paper: {_percent_range(theirs.pct_a)}% of bus images, "
        f"{_percent_range(theirs.pct_not_a)}% of the others)."
    )
    disagreement = (
        f"The two methods can disagree outright: {worst['network']}'s unit "
        f"{int(worst['unit'])} has an IoU of {worst['iou']:.3f} with {super_category} but a "
        f"precision of {worst[prec]:.2f} and a CCMAS of {worst['ccmas']:.2f}, as the "
        f"paper's {theirs.disagreeing_network} unit {theirs.disagreeing_unit} (IoU "
        f"{paper.as_printed(theirs.disagreeing_iou)}, precision "
        f"{paper.as_printed(theirs.disagreeing_precision)}) did. The IoU asks *where* in "
        f"an image a unit's strongest responses fall; the measures ask *which* images drive "
        f"the unit hardest, and the two need not agree."
    )
    strict = (
        f"No nominated unit is a detector in the strict sense: recall at perfect precision "
        f"is at most {units['recall_p100'].max():.2f}, so every unit's most active non-"
        f"{super_category} image outranks a large part of the {super_category} images. The "
        f"best maximum informedness, {best_mi['max_informedness']:.2f} ({best_mi['network']}, "
        f"unit {int(best_mi['unit'])}), comes with a hit rate of {best_mi['mi_recall']:.2f} "
        f"and a false-alarm proportion of {best_mi['mi_false_alarm']:.2f}."
    )
    return "\n\n".join([ranges, disagreement, strict])


def detectors_outputs(run: ChapterRun, reported: pd.DataFrame) -> list[Any]:
    """The display of the page's finding on all nominated units."""
    text = describe_detectors(
        nominated_units(run.results),
        n_networks=len(run.results),
        super_category=run.super_category,
        top_n=run.settings.top_n,
        theirs=paper_detectors(reported),
    )
    return [Markdown(text)]


def base_rate(run: ChapterRun) -> tuple[float, int]:
    """The share of the measured images (those of the first network's recording) that
    belong to the super-category, and how many images there are."""
    first = run.results[0]
    labels = unit_activations(first.activations_path, first.layer, [])[1]
    return float(np.isin(labels, first.group).mean()), int(labels.size)


def describe_base_rate(
    share: float, n_images: int, super_category: str, reported: pd.DataFrame
) -> str:
    """The super-category's share of this run's images beside the buses' share of the
    paper's (Appendix D)."""
    n_paper = _paper_number(reported, "n_images_all")
    n_buses = _paper_number(reported, "n_images_A")
    return (
        f"In this run {100 * share:.1f}% of the {n_images:,} measured images belong "
        f"to {super_category} (the paper: {n_buses:,.0f} of {n_paper:,.0f} images, "
        f"{100 * n_buses / n_paper:.1f}%, were buses)."
    )


def base_rate_outputs(run: ChapterRun, reported: pd.DataFrame) -> list[Any]:
    """The display of the super-category's share of this run's images beside the paper's."""
    share, n_images = base_rate(run)
    return [Markdown(describe_base_rate(share, n_images, run.super_category, reported))]
