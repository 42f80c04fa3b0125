"""Summaries of a measures table the way the paper reports them (its Section 3.1 and
Appendices B-C): per-layer distributions (Fig. 3), the counts its text quotes, the top units
of each layer (Table A1), the correlations between measures (Table A2) and CCMAS against
CCMAS2 (Appendix C).

Every function takes the long table that `compendium.measures.tables.measure_layers` returns: one
row per (layer, unit) with the columns of `compendium.measures`, and returns a small
pandas table ready to show beside the paper's numbers.

The last part serves the chapter's page (notebooks/02_alexnet_results.py), whose cells only
call and display: its parameters (`TopN`, `measure_options`) and activation file
(`open_source`, `ChapterSource`), the tables it shows beside the paper's, and the
``describe_*`` functions that write each finding about this run from the run's numbers, with
the paper's numbers taken from its data file (`compendium.chapters.paper.reported`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from compendium.activations.reader import open_activations
from compendium.chapters import paper
from compendium.measures import tables
from compendium.measures.classes import class_measures, detection_at, top_n_cut
from compendium.util.errors import CompendiumError

#: The nine panels of the paper's Fig. 3: column -> panel title.
FIG3_PANELS = {
    "precision_60": "a. Precision (top 60)",
    "n_classes_top100": "b. No. of classes in top 100",
    "ccmas": "c. CCMAS",
    "recall_p100": "d. Recall (precision = 1)",
    "recall_p95": "e. Recall (precision = .95)",
    "max_informedness": "f. Max. informedness",
    "mi_specificity": "g. Specificity (at max. informedness)",
    "mi_recall": "h. Recall (at max. informedness)",
    "mi_false_alarm": "i. False alarm proportion (at max. informedness)",
}

#: The measures Table A2 correlates, in its order.
TABLE_A2_MEASURES = ["precision_100", "ccmas", "recall_p95", "max_informedness", "n_classes_top100"]


def layer_distributions(
    table: pd.DataFrame, measures: Sequence[str] = tuple(FIG3_PANELS)
) -> pd.DataFrame:
    """Per layer and measure: n, mean, standard error, median, quartiles, min and max
    (the statistics behind Fig. 3's box plots, means and standard errors), and the ends of
    the whiskers: the most extreme values within 1.5 interquartile ranges of the box, with
    the number of units beyond them (the paper's red crosses)."""
    long = table.melt(id_vars="layer", value_vars=list(measures), var_name="measure")
    long["value"] = long["value"].astype(float)
    grouped = long.groupby(["layer", "measure"], sort=False)["value"]
    stats = grouped.agg(
        n="count",
        mean="mean",
        sem="sem",
        median="median",
        q25=lambda v: v.quantile(0.25),
        q75=lambda v: v.quantile(0.75),
        min="min",
        max="max",
    )
    whiskers = pd.DataFrame({key: _whiskers(values) for key, values in grouped}).T
    whiskers.index.names = ["layer", "measure"]
    whiskers["n_outliers"] = whiskers["n_outliers"].astype(int)
    return stats.join(whiskers).reset_index()


def _whiskers(values: pd.Series) -> dict[str, float]:
    """Tukey's whiskers of one distribution, and how many values lie beyond them."""
    v = values.dropna().to_numpy()
    if v.size == 0:
        return {"whisker_low": np.nan, "whisker_high": np.nan, "n_outliers": 0}
    q25, q75 = np.quantile(v, [0.25, 0.75])
    low, high = q25 - 1.5 * (q75 - q25), q75 + 1.5 * (q75 - q25)
    inside = v[(v >= low) & (v <= high)]
    return {
        "whisker_low": float(inside.min()),
        "whisker_high": float(inside.max()),
        "n_outliers": int(v.size - inside.size),
    }


def fig3_panels(top_n: Sequence[int] = (60, 100)) -> dict[str, str]:
    """`FIG3_PANELS` for other top-N sizes: precision of the top ``top_n[0]`` and the number
    of classes among the top ``max(top_n)``."""
    small, large = int(top_n[0]), int(max(top_n))
    renamed = {"precision_60": f"precision_{small}", "n_classes_top100": f"n_classes_top{large}"}
    titles = {
        "precision_60": f"a. Precision (top {small})",
        "n_classes_top100": f"b. No. of classes in top {large}",
    }
    return {renamed.get(c, c): titles.get(c, t) for c, t in FIG3_PANELS.items()}


def table_a2_measures(top_n: Sequence[int] = (60, 100)) -> list[str]:
    """`TABLE_A2_MEASURES` for other top-N sizes (precision and classes of the top max(N))."""
    large = int(max(top_n))
    names = {"precision_100": f"precision_{large}", "n_classes_top100": f"n_classes_top{large}"}
    return [names.get(m, m) for m in TABLE_A2_MEASURES]


def quoted_counts(
    table: pd.DataFrame, threshold: float = 0.9, precision: str = "precision_60"
) -> pd.DataFrame:
    """The counts Section 3.1 quotes, per layer: units with precision (`precision`, the top
    60 by default) and CCMAS above `threshold`, localist units, and the best recall at
    perfect precision and best max informedness with the false-alarm proportion there."""
    by_layer = table.groupby("layer", sort=False)
    return pd.DataFrame(
        {
            "units": by_layer.size(),
            f"n_precision_above_{threshold}": by_layer[precision].apply(
                lambda v: int((v > threshold).sum())
            ),
            f"n_ccmas_above_{threshold}": by_layer["ccmas"].apply(
                lambda v: int((v > threshold).sum())
            ),
            "n_localist": by_layer["localist"].sum().astype(int),
            "best_recall_p100": by_layer["recall_p100"].max(),
            "best_max_informedness": by_layer["max_informedness"].max(),
            "min_mi_false_alarm": by_layer["mi_false_alarm"].min(),
        }
    )


def top_unit(table: pd.DataFrame, by: str, layer: str | None = None) -> pd.Series:
    """The row of the unit with the highest `by` (in `layer`, or over all layers); ties:
    the first layer, then the lowest unit number."""
    rows = table if layer is None else table[table["layer"] == layer]
    if rows.empty:
        raise KeyError(f"no units in layer {layer!r}; layers: {sorted(set(table['layer']))}")
    return rows.loc[rows[by].idxmax()]


def most_detector_like(table: pd.DataFrame, precision: str = "precision_60") -> pd.Series:
    """The unit with the highest `precision`; ties (many units reach 1.0 when there are few
    classes) go to the higher CCMAS, then the first layer and the lowest unit number. It
    is the unit that the two popular measures together would most readily call a
    detector, the role fc6.1199 plays in the paper's Fig. 4."""
    order = table.assign(
        _layer=pd.factorize(table["layer"])[0], _ccmas=table["ccmas"].astype(float).fillna(-np.inf)
    )
    order = order.sort_values(
        [precision, "_ccmas", "_layer", "unit"], ascending=[False, False, True, True], kind="stable"
    )
    return table.loc[order.index[0]]


def top_units(
    table: pd.DataFrame,
    measures: Sequence[str] = ("ccmas", "precision_100"),
    layers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Table A1: for each layer and each measure, the unit that scores highest on it,
    with both its CCMAS and its precision (top 100). `layers` gives the rows' order
    (default: the table's)."""
    rows = []
    for measure in measures:
        for layer in layers if layers is not None else table["layer"].unique():
            unit = top_unit(table, measure, layer)
            scores = {m: unit[m] for m in dict.fromkeys(["ccmas", *measures])}
            rows.append({"ranked by": measure, "layer": layer, "unit": int(unit["unit"]), **scores})
    return pd.DataFrame(rows)


def measure_correlations(
    table: pd.DataFrame, measures: Sequence[str] = TABLE_A2_MEASURES
) -> pd.DataFrame:
    """Table A2: Pearson correlations between measures over all units of `table`
    (dead units, whose CCMAS is undefined, are left out pairwise)."""
    return table[list(measures)].astype(float).corr(method="pearson")


def correlation_pairs(corr: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The lower triangle of a correlation matrix as rows (a, b, correlation), in the
    order Table A2 lists them. With the measures `table` they came from, each row also
    gets the number of units the pair had (``n``) and a two-sided p-value from Fisher's z
    (``p``; exact enough for the hundreds of units a layer has)."""
    names = list(corr.columns)
    pairs = [(a, b) for j, b in enumerate(names) for a in names[:j]]
    rows = [{"pair": f"{a}|{b}", "correlation": corr.loc[a, b]} for a, b in pairs]
    if table is not None:
        for row, (a, b) in zip(rows, pairs, strict=False):
            n = int(table[[a, b]].astype(float).dropna().shape[0])
            row["n"], row["p"] = n, correlation_p_value(row["correlation"], n)
    return pd.DataFrame(rows)


def correlation_p_value(r: float, n: int) -> float:
    """Two-sided p-value of a Pearson correlation `r` over `n` pairs, from Fisher's z
    transform (normal approximation); NaN when it is undefined."""
    if not np.isfinite(r) or n < 4:
        return float("nan")
    if abs(r) >= 1:
        return 0.0
    z = abs(math.atanh(r)) * math.sqrt(n - 3)
    return math.erfc(z / math.sqrt(2))


def ccmas_vs_ccmas2(table: pd.DataFrame) -> pd.DataFrame:
    """Appendix C: per layer, the mean CCMAS for the best class and for the second-best
    (CCMAS2), and the mean difference between them."""
    by_layer = table.groupby("layer", sort=False)
    out = by_layer[["ccmas", "ccmas_2"]].mean()
    out.columns = ["mean_ccmas", "mean_ccmas_2"]
    out["mean_difference"] = by_layer.apply(lambda t: np.nanmean(t["ccmas"] - t["ccmas_2"]))
    return out


# --- one unit, for Fig. 4 ----------------------------------------------------------------------


def unit_label(layer: str, unit: int) -> str:
    """The paper's name of a unit, ``fc6.1199``."""
    return f"{layer}.{int(unit)}"


def parse_unit_label(label: str) -> tuple[str, int]:
    """``"fc6.1199"`` -> ``("fc6", 1199)``."""
    layer, _, unit = str(label).rpartition(".")
    if not layer or not unit.isdigit():
        raise ValueError(f"a unit is named LAYER.UNIT, e.g. 'fc6.1199'; got {label!r}")
    return layer, int(unit)


#: What `unit_figure_numbers` reports at the best threshold for the unit's class.
_FIG4_MEASURES = ("max_informedness", "mi_threshold", "mi_recall", "mi_false_alarm")
#: What it reports at the cut below the top images.
_TOP_MEASURES = ("threshold", "hits", "recall", "false_alarm")


def unit_figure_numbers(
    activations: np.ndarray, labels: np.ndarray, cls: int, top: int = 60
) -> dict[str, float]:
    """The numbers Section 3.1 and Fig. 4 give for one unit and its class `cls`: the class's
    size, mean (with standard error) and largest activation; the best informedness for the
    class with its threshold, recall and false-alarm proportion (`class_measures`; the unit's
    `max_informedness` is the largest of these over classes); the same counts at the cut
    below the `top` most active images; and how many images give exactly zero."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    in_class = y == cls
    own = x[in_class]
    best = class_measures(x, in_class, top=top).iloc[0]
    cut = detection_at(x, in_class, top_n_cut(x, top), prefix=f"top{top}")
    return {
        "n_images": int(x.size),
        "class_count": int(own.size),
        "class_mean": float(own.mean()),
        "class_sem": float(own.std(ddof=1) / np.sqrt(own.size)) if own.size > 1 else float("nan"),
        "class_max": float(own.max()),
        **{f"class_{c}": float(best[c]) for c in _FIG4_MEASURES},
        **{f"top{top}_{c}": cut[f"top{top}_{c}"] for c in _TOP_MEASURES},
        "n_zero_all": int(np.sum(x == 0)),
        "n_zero_class": int(np.sum(own == 0)),
        "share_zero_class": float(np.mean(own == 0)),
    }


def jitter_sample(labels: np.ndarray, cls: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Which images a jitterplot draws when there are too many: every image of `cls`, and a
    seeded random sample of the others so that at most `max_points` are drawn (all images
    when they fit). Returns sorted image indices."""
    y = np.asarray(labels).reshape(-1)
    if max_points < 1:
        raise ValueError(f"max_points must be a positive number of points, not {max_points}")
    if y.size <= max_points:
        return np.arange(y.size)
    own, others = np.flatnonzero(y == cls), np.flatnonzero(y != cls)
    room = max(max_points - own.size, 0)
    chosen = np.random.default_rng(seed).choice(others, size=min(room, others.size), replace=False)
    return np.sort(np.concatenate([own, chosen]))


# --- this run beside the paper ----------------------------------------------------------------


#: Section 3.1's whole-network numbers: key -> (description, column, which unit).
EXTREMES = {
    "best_recall_p100": ("best recall at perfect precision", "recall_p100", "recall_p100"),
    "best_max_informedness": ("best max informedness", "max_informedness", "max_informedness"),
    "its_mi_false_alarm": (
        "false-alarm proportion of that unit",
        "mi_false_alarm",
        "max_informedness",
    ),
    "min_mi_false_alarm": (
        "lowest false-alarm proportion at max informedness",
        "mi_false_alarm",
        "-mi_false_alarm",
    ),
}

#: Where the paper's values of `EXTREMES` are: key -> (layer, unit, measure) in the data file.
PAPER_EXTREMES = {
    "best_recall_p100": ("fc7", 255, "recall_p100"),
    "best_max_informedness": (None, 3290, "max_informedness"),
    "its_mi_false_alarm": (None, 3290, "mi_false_alarm"),
    "min_mi_false_alarm": (None, None, "min_mi_false_alarm"),
}


def network_extremes(table: pd.DataFrame, class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """The whole-network numbers Section 3.1 quotes, over every unit of `table`: the best
    recall at perfect precision, the best max informedness and the false-alarm proportion
    of that unit, and the lowest false-alarm proportion at max informedness of any unit;
    each with its unit and class (`EXTREMES`)."""
    rows = {}
    for key, (what, column, by) in EXTREMES.items():
        values = table[by.lstrip("-")].astype(float)
        pick = table.loc[values.idxmin() if by.startswith("-") else values.idxmax()]
        cls = int(pick["top_class" if column.startswith("recall") else "mi_class"])
        rows[key] = {
            "number": what,
            "value": float(pick[column]),
            "unit": unit_label(pick["layer"], pick["unit"]),
            "class": class_names[cls] if class_names is not None else cls,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def paper_extremes(reported: pd.DataFrame) -> pd.DataFrame:
    """The paper's values of `network_extremes` (value and unit), from its data file
    (the rows of Section 3.1)."""
    rows = {}
    for key, (layer, unit, measure) in PAPER_EXTREMES.items():
        match = (reported["measure"] == measure) & reported["source"].str.startswith("Sec. 3.1")
        match &= reported["layer"].isna() if layer is None else reported["layer"] == layer
        match &= reported["unit"].isna() if unit is None else reported["unit"] == unit
        found = reported[match]
        name = (
            ""
            if unit is None
            else (f"{layer}.{unit}" if layer else f"unit {unit} (layer not named)")
        )
        rows[key] = {
            "paper": float(found["value"].iloc[0]) if len(found) else np.nan,
            "paper unit": name,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def fig3_reference(reported: pd.DataFrame) -> pd.DataFrame:
    """The paper's numbers that belong in Fig. 3's panels (``measure``, ``layer``,
    ``value``, ``label``): the mean CCMAS per layer (Appendix C), and, for the whole network
    (no layer), the best recall at perfect precision, the best max informedness and the
    lowest false-alarm proportion at max informedness (Section 3.1)."""
    means = reported[(reported["source"] == "Appendix C") & (reported["measure"] == "mean_ccmas")]
    rows = [
        {
            "measure": "ccmas",
            "layer": r["layer"],
            "value": r["value"],
            "label": f"mean CCMAS of {r['layer']} ({r['source']})",
        }
        for _, r in means.iterrows()
    ]
    extremes = paper_extremes(reported)
    for key, measure in (
        ("best_recall_p100", "recall_p100"),
        ("best_max_informedness", "max_informedness"),
        ("min_mi_false_alarm", "mi_false_alarm"),
    ):
        what, unit = EXTREMES[key][0], extremes.loc[key, "paper unit"]
        rows.append(
            {
                "measure": measure,
                "layer": None,
                "value": extremes.loc[key, "paper"],
                "label": f"{what} in the network" + (f", {unit}" if unit else ""),
            }
        )
    return pd.DataFrame(rows)


def table_a1_beside_paper(
    top: pd.DataFrame, reported: pd.DataFrame, precision: str = "precision_100"
) -> pd.DataFrame:
    """Table A1 with the paper's units beside this run's: for each (ranking, layer) row of
    `top_units(..., ("ccmas", precision))`, this run's unit with its CCMAS and precision,
    and the paper's unit for that layer with its two scores (empty where it has none)."""
    cases = {"ccmas": "top ccmas", precision: "top precision"}
    rows = []
    for _, r in top.iterrows():
        case = cases[r["ranked by"]]
        paper = reported[(reported["case"] == case) & (reported["layer"] == r["layer"])]
        value = paper.set_index("measure")["value"].astype(float)
        rows.append(
            {
                "ranked by": "CCMAS" if case == "top ccmas" else "precision",
                "layer": r["layer"],
                "unit": unit_label(r["layer"], r["unit"]),
                "CCMAS": r["ccmas"],
                "precision": r[precision],
                "paper unit": unit_label(r["layer"], paper["unit"].iloc[0]) if len(paper) else "",
                "paper CCMAS": value.get("ccmas", np.nan),
                "paper precision": value.get("precision_100", np.nan),
            }
        )
    return pd.DataFrame(rows)


def paper_findings(
    table: pd.DataFrame, precision: str = "precision_60", reported: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Section 3.1's and Appendix C's findings, each as a test this run passes or not:
    ``finding`` (with its criterion), the ``paper``'s numbers (from `reported`, by default
    the data file), ``this run``'s, and ``same`` (True where this run shows the finding too).
    Shares of precision and CCMAS are over the fully connected layers (all layers if there
    are none)."""
    theirs = _paper_findings(paper.reported() if reported is None else reported)
    fc = table[table["layer"].astype(str).str.startswith("fc")]
    fc = fc if len(fc) else table
    fc_names = ", ".join(fc["layer"].unique())
    n_precise, n_ccmas = int((fc[precision] > 0.9).sum()), int((fc["ccmas"] > 0.9).sum())
    extremes = network_extremes(table)
    best_recall = extremes.loc["best_recall_p100"]
    fewest = extremes.loc["min_mi_false_alarm"]
    gaps = ccmas_vs_ccmas2(table)["mean_difference"]
    n_localist = int(table["localist"].astype(bool).sum())
    rows = [
        (
            f"some fc units have precision (top {precision.split('_')[1]}) above .9",
            theirs["precise"],
            f"{fc_names}: {n_precise:,} of {len(fc):,} ({n_precise / len(fc):.1%})",
            n_precise > 0,
        ),
        (
            "some fc units have CCMAS above .9",
            theirs["ccmas"],
            f"{fc_names}: {n_ccmas:,} of {len(fc):,} ({n_ccmas / len(fc):.1%})",
            n_ccmas > 0,
        ),
        (
            "no unit is localist",
            theirs["localist"],
            f"{n_localist:,} of {len(table):,}",
            n_localist == 0,
        ),
        (
            "the best recall at perfect precision is below .1",
            theirs["recall"],
            f"{best_recall['value']:.2f} ({best_recall['unit']})",
            best_recall["value"] < 0.1,
        ),
        (
            "every unit has over 90% false alarms at its best threshold",
            theirs["fewest"],
            f"fewest {fewest['value']:.0%} ({fewest['unit']})",
            fewest["value"] > 0.9,
        ),
        (
            "mean CCMAS2 is within .05 of mean CCMAS in every layer",
            theirs["gaps"],
            ", ".join(f"{layer} {gap:.3f}" for layer, gap in gaps.items()),
            bool((gaps.abs() <= 0.05).all()),
        ),
    ]
    return pd.DataFrame(rows, columns=["finding", "paper", "this run", "same"])


def _paper_findings(reported: pd.DataFrame) -> dict[str, str]:
    """The paper's side of `paper_findings`, written from its data file."""
    layer, n_precise, n_units = _paper_share(reported, "n_precision_above_0.9")
    _, n_ccmas, _ = _paper_share(reported, "n_ccmas_above_0.9")
    localist = reported.loc[reported["measure"] == "n_localist", "value"].sum()
    extremes = paper_extremes(reported)
    means = reported[(reported["source"] == "Appendix C") & reported["unit"].isna()]
    means = means.pivot_table(index="layer", columns="measure", values="value")
    gaps = means["mean_ccmas"] - means["mean_ccmas_2"]
    recall = extremes.loc["best_recall_p100"]
    return {
        "precise": f"{layer}: {n_precise:,.0f} of {n_units:,.0f} ({n_precise / n_units:.1%})",
        "ccmas": f"{layer}: {n_ccmas:,.0f} of {n_units:,.0f} ({n_ccmas / n_units:.0%})",
        "localist": "none" if localist == 0 else f"{localist:,.0f}",
        "recall": f"{_paper_decimal(recall['paper'], 2)} ({recall['paper unit']})",
        "fewest": f"fewest {extremes.loc['min_mi_false_alarm', 'paper']:.0%}",
        "gaps": f"{_paper_decimal(gaps.min(), 3)} to {_paper_decimal(gaps.max(), 3)}",
    }


# --- the chapter's page: its parameters, its file, and the sentences it writes --------------
#
# The notebook of chapter 2 calls these and displays what they return. Each `describe_*`
# writes a finding about this run from the run's numbers, and takes the paper's numbers from
# `compendium.chapters.paper.reported` (its data file), never from literals.

#: The paper's top-N sizes: precision of the top 60 (Fig. 3, Fig. 4), of the top 100 (Appendix B).
PAPER_TOP_N = (60, 100)

#: The class of the paper's Fig. 4 unit (its numbers are in the data file).
PAPER_FIG4_CLASS = "Monarch butterfly"

#: The classes of Appendix C's example unit, for its CCMAS and its CCMAS2.
PAPER_APPENDIX_C_CLASSES = {"ccmas": "maypole", "ccmas_2": "chainsaw"}

#: Table A1's count columns, as the page names them.
COUNT_COLUMNS = {
    "n_precision_above_0.9": "precision > .9",
    "n_ccmas_above_0.9": "CCMAS > .9",
    "n_localist": "localist",
}

#: The columns of the first rows of the measures table the page shows (after `precision_N`).
PREVIEW_COLUMNS = ["ccmas", "recall_p100", "max_informedness", "mi_false_alarm"]


class ChapterParameterError(CompendiumError):
    """A parameter of chapter 2 that cannot be used."""


@dataclass(frozen=True)
class TopN:
    """The chapter's top-N sizes (`sizes`, as the `top_n` parameter gives them): precision
    of the top `small` (Fig. 3, Fig. 4) and of the top `large` (Tables A1 and A2)."""

    sizes: tuple[int, ...]

    @classmethod
    def from_parameter(cls, top_n: Sequence[int]) -> TopN:
        """Check the `top_n` parameter: a list of positive whole numbers."""
        sizes = tuple(top_n) if isinstance(top_n, Sequence) and not isinstance(top_n, str) else ()
        if not sizes or not all(isinstance(n, int | np.integer) and n > 0 for n in sizes):
            raise ChapterParameterError(
                f"top_n must be a list of positive whole numbers such as [60, 100]; got {top_n!r}"
            )
        return cls(tuple(int(n) for n in sizes))

    @property
    def small(self) -> int:
        return self.sizes[0]

    @property
    def large(self) -> int:
        return max(self.sizes)

    @property
    def precision(self) -> str:
        """The column of precision of the top `small`."""
        return f"precision_{self.small}"

    @property
    def precision_large(self) -> str:
        """The column of precision of the top `large`."""
        return f"precision_{self.large}"

    @property
    def like_paper(self) -> bool:
        """Whether the sizes are the paper's, so its precision numbers can stand beside ours."""
        return (self.small, self.large) == PAPER_TOP_N


def measure_options(top: TopN, memory_gb: float) -> dict[str, object]:
    """The options the chapter passes to `compendium.measures.tables`' measuring functions."""
    if isinstance(memory_gb, bool) or not isinstance(memory_gb, int | float) or memory_gb <= 0:
        raise ChapterParameterError(
            f"memory_gb must be a positive number of gigabytes, such as 0.5; got {memory_gb!r}"
        )
    return {"top": top.sizes, "memory_bytes": int(memory_gb * 2**30), "progress": False}


@dataclass(frozen=True, eq=False)
class ChapterSource:
    """The activation file the chapter reads, and what the page needs of it."""

    path: Path
    selection: dict[str, slice]  # the hidden layers measured, and their units
    labels: np.ndarray
    class_names: list[str]  # the part of each name before its first comma
    layer_sizes: dict[str, int]  # units of every layer of the file
    format: str
    attrs: dict[str, object]

    @property
    def hidden(self) -> list[str]:
        return list(self.selection)

    @property
    def n_images(self) -> int:
        return int(self.labels.size)

    @property
    def n_classes(self) -> int:
        return int(np.unique(self.labels).size)

    @property
    def made_by(self) -> str:
        """Where the activations came from, in words."""
        if self.format == "alexnet-merged":
            return "the authors' own activation files"
        attrs = self.attrs
        return (
            f"model `{attrs.get('model')}` on `{attrs.get('dataset')}` "
            f"({attrs.get('selection', 'all')} images)"
        )


def open_source(
    path: str | os.PathLike,
    layers: Sequence[str],
    units: str | Mapping[str, str | None] | None = None,
    output_layer: str | None = None,
) -> ChapterSource:
    """Check the chapter's choice of layers and units against the file before any work (a
    wrong layer or unit range stops here with a message that lists what the file holds),
    and read its labels, class names, layer sizes and provenance."""
    path = Path(path)
    selection = tables.unit_selection(path, layers, units)
    if output_layer:
        tables.unit_selection(path, [output_layer])
    with open_activations(path) as source:
        return ChapterSource(
            path=path,
            selection=selection,
            labels=source.labels,
            class_names=[name.split(",")[0] for name in source.class_names],
            layer_sizes={layer: source.n_units(layer) for layer in source.layers},
            format=source.format,
            attrs=dict(source.attrs),
        )


def _paper_decimal(value: float, digits: int) -> str:
    """A number as the paper prints it: no zero before the point (``.08``)."""
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def _paper_value(reported: pd.DataFrame, measure: str, layer=None, unit=None, source=None) -> float:
    """One number of the data file; `layer`/`unit` None: rows without one."""
    match = reported["measure"] == measure
    for column, value in (("layer", layer), ("unit", unit)):
        match &= reported[column].isna() if value is None else reported[column] == value
    if source is not None:
        match &= reported["source"].str.startswith(source)
    found = reported.loc[match, "value"]
    if found.empty:
        raise KeyError(f"the data file has no {measure} for layer {layer}, unit {unit}")
    return float(found.iloc[0])


def paper_n_classes(reported: pd.DataFrame) -> int:
    """The number of classes of the paper's network (ImageNet's)."""
    return int(_paper_value(reported, "n_classes"))


def describe_source(source: ChapterSource, reported: pd.DataFrame) -> str:
    """What this run's activation file holds, and the precision of a unit that picks images
    at random, here and in the paper."""
    n, c, paper_c = source.n_images, source.n_classes, paper_n_classes(reported)
    return (
        f"This run reads `{source.path}`: {source.made_by}. It holds {n:,} images of "
        f"{c} classes, so a class holds about {n / c:,.0f} images and a unit that picked "
        f"images at random would reach a precision near 1/{c} = {1 / c:.3f} (in the paper, "
        f"1/{paper_c} = {_paper_decimal(1 / paper_c, 3)})."
    )


def layer_sizes(source: ChapterSource, reported: pd.DataFrame) -> pd.DataFrame:
    """Per measured layer: its units and those measured, here and in the paper (Sec. 2)."""
    measured = reported[reported["measure"] == "units"].set_index("layer")["value"]
    in_layer = reported[reported["measure"] == "layer_units"].set_index("layer")["value"]
    selection = source.selection
    return pd.DataFrame(
        {
            "units in the layer": {layer: source.layer_sizes[layer] for layer in selection},
            "units measured": {
                layer: f"{r.start}:{r.stop} ({r.stop - r.start})" for layer, r in selection.items()
            },
            "paper: units measured": {layer: measured.get(layer, np.nan) for layer in selection},
            "paper: units in the layer": {
                layer: in_layer.get(layer, np.nan) for layer in selection
            },
        }
    ).rename_axis("layer")


def measures_preview(table: pd.DataFrame, top: TopN, n: int = 5) -> pd.DataFrame:
    """The first `n` rows of the measures table, in the columns the page introduces."""
    return table[["layer", "unit", top.precision, *PREVIEW_COLUMNS]].head(n)


# --- Fig. 3 -------------------------------------------------------------------------------------


def fig3_marks(reported: pd.DataFrame, top: TopN) -> pd.DataFrame | None:
    """`fig3_reference` when the top-N sizes are the paper's; None otherwise (the paper's
    numbers would not be of the same measures)."""
    return fig3_reference(reported) if top.like_paper else None


def _paper_mean_ccmas(reported: pd.DataFrame) -> pd.Series:
    means = reported[(reported["source"] == "Appendix C") & (reported["measure"] == "mean_ccmas")]
    return means.set_index("layer")["value"]


def fig3_table(
    stats: pd.DataFrame, panels: Mapping[str, str], layers: Sequence[str], reported: pd.DataFrame
) -> pd.DataFrame:
    """Fig. 3 as numbers: per panel (rows, by title) and layer, the mean ± its standard error
    with the median in brackets (from `layer_distributions`), and the paper's mean CCMAS
    in its own row below CCMAS's."""
    cells = stats.assign(
        cell=[
            f"{m:.3f} ± {e:.3f} ({md:.3f})"
            for m, e, md in zip(stats["mean"], stats["sem"].fillna(0), stats["median"], strict=True)
        ]
    )
    shown = cells.pivot(index="measure", columns="layer", values="cell")
    shown = shown.reindex(index=list(panels), columns=list(layers)).rename(index=panels)
    paper_row = _paper_mean_ccmas(reported).reindex(list(layers))
    shown.loc["c. CCMAS: the paper's mean"] = [f"{v:.3f}" if v == v else "" for v in paper_row]
    order = list(shown.index)
    order.insert(order.index(panels["ccmas"]) + 1, order.pop())
    return shown.loc[order].rename_axis(index=None, columns=None)


def describe_fig3(
    stats: pd.DataFrame, layers: Sequence[str], top: TopN, reported: pd.DataFrame
) -> str:
    """The medians of Fig. 3's measures layer by layer, and this run's mean CCMAS beside the
    paper's where it reports one."""
    medians = stats.set_index(["measure", "layer"])["median"]
    means = stats.set_index(["measure", "layer"])["mean"]

    def per_layer(measure: str) -> str:
        return ", ".join(f"{medians[(measure, name)]:.2f}" for name in layers)

    lines = [
        f"Median precision of the top {top.small} is {per_layer(top.precision)} and median "
        f"CCMAS {per_layer('ccmas')} (layer by layer: {', '.join(layers)}).",
        f"The signal-detection measures sit lower: median recall at perfect precision is "
        f"{per_layer('recall_p100')}, median maximum informedness "
        f"{per_layer('max_informedness')}, and at that informedness the median share of false "
        f"alarms among the images above the threshold is {per_layer('mi_false_alarm')}.",
    ]
    paper_means = _paper_mean_ccmas(reported)
    compared = [name for name in layers if name in paper_means.index]
    if compared:
        lines.append(
            "The paper's mean CCMAS is "
            + ", ".join(
                f"{paper_means[name]:.3f} for {name} (this run {means[('ccmas', name)]:.3f})"
                for name in compared
            )
            + "."
        )
    return "**This run.** " + " ".join(lines)


# --- the counts the text quotes -------------------------------------------------------------


def counts_beside_paper(counts: pd.DataFrame, reported: pd.DataFrame, top: TopN) -> pd.DataFrame:
    """The per-layer counts of `quoted_counts` beside Section 3.1's (the paper's precision
    counts only when the top-N sizes are the paper's), with the page's column names."""
    per_layer = counts[["units", *COUNT_COLUMNS]]
    quoted = reported[reported["source"].str.startswith("Sec.") & reported["unit"].isna()]
    if not top.like_paper:  # the paper's precision counts are of the top 60
        quoted = quoted[quoted["measure"] != "n_precision_above_0.9"]
    beside = paper.beside_paper(per_layer, quoted, "layer", wide=True)
    return beside.rename(columns=COUNT_COLUMNS, level=0)


def extremes_beside_paper(extremes: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """`network_extremes` with the paper's value and unit beside each, one row per number."""
    return (
        extremes.join(paper_extremes(reported))
        .set_index("number")
        .rename(columns={"value": "this run"})
        .rename_axis(index=None)
    )


def _paper_share(reported: pd.DataFrame, measure: str) -> tuple[str, float, float]:
    """The layer where Section 3.1 quotes the count `measure`, the count, and the units the
    paper measured there."""
    row = reported[(reported["measure"] == measure) & reported["layer"].notna()].iloc[0]
    return row["layer"], float(row["value"]), _paper_value(reported, "units", row["layer"])


def describe_counts(
    counts: pd.DataFrame, extremes: pd.DataFrame, n_units: int, reported: pd.DataFrame
) -> str:
    """Section 3.1's counts for this run: the shares of precise and CCMAS-selective units in
    the layer where the paper quotes them (else the last layer), the localist units, and the
    network's extremes (`network_extremes`), each beside the paper's."""
    layer, n_precise, n_paper = _paper_share(reported, "n_precision_above_0.9")
    _, n_ccmas, _ = _paper_share(reported, "n_ccmas_above_0.9")
    here = layer if layer in counts.index else counts.index[-1]
    n_here = int(counts.loc[here, "units"])
    share_p = counts.loc[here, "n_precision_above_0.9"] / n_here
    share_c = counts.loc[here, "n_ccmas_above_0.9"] / n_here
    n_localist = int(counts["n_localist"].sum())
    paper_localist = reported.loc[reported["measure"] == "n_localist", "value"].sum()
    theirs = paper_extremes(reported)["paper"]
    best_r, best_mi = extremes.loc["best_recall_p100"], extremes.loc["best_max_informedness"]
    return (
        f"**This run.** In {here}, {share_p:.1%} of this run's units have a precision above "
        f".9 and {share_c:.1%} a CCMAS above .9; in the paper's {layer} the shares are "
        f"{n_precise:,.0f}/{n_paper:,.0f} = {n_precise / n_paper:.1%} and "
        f"{n_ccmas:,.0f}/{n_paper:,.0f} = {n_ccmas / n_paper:.1%}. "
        f"{n_localist} of this run's {n_units:,} units {'is' if n_localist == 1 else 'are'} "
        f"localist (the paper found {'none' if paper_localist == 0 else f'{paper_localist:,.0f}'})."
        f" The best recall at perfect precision is {best_r['value']:.2f} ({best_r['unit']}, "
        f"paper {_paper_decimal(theirs['best_recall_p100'], 2)}); the best maximum "
        f"informedness is {best_mi['value']:.2f} ({best_mi['unit']}, for {best_mi['class']}; "
        f"paper {_paper_decimal(theirs['best_max_informedness'], 2)}), with "
        f"{extremes.loc['its_mi_false_alarm', 'value']:.0%} false alarms above its threshold "
        f"(paper more than {theirs['its_mi_false_alarm']:.0%}); the fewest false alarms at any "
        f"unit's best threshold are {extremes.loc['min_mi_false_alarm', 'value']:.0%} "
        f"(paper {theirs['min_mi_false_alarm']:.0%})."
    )


# --- Fig. 4 ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Fig4Unit:
    """The unit Fig. 4 draws: its layer and number, its row of the measures table, its
    activation for every image, and the precision column that names its class."""

    layer: str
    index: int
    row: pd.Series
    activations: np.ndarray
    precision: str

    @property
    def label(self) -> str:
        return unit_label(self.layer, self.index)

    @property
    def cls(self) -> int:
        """The class its top-N precision counts."""
        return int(self.row[f"{self.precision}_class"])


def fig4_unit(source: ChapterSource, table: pd.DataFrame, name: str | None, top: TopN) -> Fig4Unit:
    """The unit named `name` (``"LAYER.UNIT"``; measured here if the table lacks it), or,
    with no name, `most_detector_like` of the table; with its activations."""
    if name:
        layer, index = parse_unit_label(name)
        tables.unit_selection(source.path, [layer], {layer: f"{index}:{index + 1}"})
        in_table = table[(table["layer"] == layer) & (table["unit"] == index)]
        row = (
            in_table.iloc[0]
            if len(in_table)
            else tables.measure_layers(
                source.path, [layer], slice(index, index + 1), top=top.sizes
            ).iloc[0]
        )
    else:
        row = most_detector_like(table, top.precision)
        layer, index = row["layer"], int(row["unit"])
    with open_activations(source.path) as f:
        column = f.activations(layer)[:, index : index + 1]
    x = np.asarray(column, dtype=float)[:, 0]
    return Fig4Unit(layer, index, row, x, top.precision)


def describe_fig4_unit(unit: Fig4Unit, class_names: Sequence[str]) -> str:
    """Which unit this run's Fig. 4 draws, with its three scores."""
    row = unit.row
    return (
        f"This run's unit is **{unit.label}**: precision {row[unit.precision]:.2f} for "
        f"{class_names[unit.cls]}, CCMAS {row['ccmas']:.2f}, maximum informedness "
        f"{row['max_informedness']:.2f}."
    )


def paper_fig4_unit(reported: pd.DataFrame) -> tuple[str, int]:
    """The layer and number of the paper's Fig. 4 unit (the rows of its caption)."""
    row = reported[reported["source"].str.startswith("Fig. 4")].iloc[0]
    return row["layer"], int(row["unit"])


def _paper_fig4_numbers(reported: pd.DataFrame) -> pd.Series:
    layer, unit = paper_fig4_unit(reported)
    rows = reported[
        (reported["layer"] == layer)
        & (reported["unit"] == unit)
        & reported["source"].str.startswith(("Sec. 3.1", "Fig. 4"))
    ]
    return rows.groupby("measure")["value"].first()


def fig4_beside_paper(
    unit: Fig4Unit,
    numbers: Mapping[str, float],
    class_names: Sequence[str],
    top: TopN,
    reported: pd.DataFrame,
) -> pd.DataFrame:
    """This run's Fig. 4 unit beside the paper's: its scores (`unit.row`), the numbers of
    `unit_figure_numbers` (`numbers`) and the paper's counterparts (empty where none)."""
    theirs = _paper_fig4_numbers(reported)
    row, n = unit.row, top.small
    rows = {
        f"precision (top {n})": (row[unit.precision], theirs.get("precision_60")),
        "CCMAS": (row["ccmas"], theirs.get("ccmas")),
        "max informedness": (row["max_informedness"], theirs.get("max_informedness")),
        "false-alarm proportion at max informedness": (
            row["mi_false_alarm"],
            theirs.get("mi_false_alarm"),
        ),
        "max informedness for its class": (numbers["class_max_informedness"], np.nan),
        "false-alarm proportion there": (numbers["class_mi_false_alarm"], np.nan),
        f"images of its class above the top-{n} cut": (
            numbers[f"top{n}_hits"],
            theirs.get("top60_hits"),
        ),
        "images of its class": (numbers["class_count"], theirs.get("class_count")),
        f"recall at the top-{n} cut": (numbers[f"top{n}_recall"], theirs.get("top60_recall")),
        f"false-alarm proportion at the top-{n} cut": (
            numbers[f"top{n}_false_alarm"],
            theirs.get("top60_false_alarm"),
        ),
        "images at exactly 0 (all classes)": (numbers["n_zero_all"], theirs.get("n_zero_all")),
        "images of its class at exactly 0": (numbers["n_zero_class"], theirs.get("n_zero_class")),
        "share of its class at exactly 0": (
            numbers["share_zero_class"],
            theirs.get("share_zero_class"),
        ),
        "mean activation of its class": (numbers["class_mean"], theirs.get("class_mean")),
        "largest activation of its class": (numbers["class_max"], theirs.get("class_max")),
    }
    layer, index = paper_fig4_unit(reported)
    return pd.DataFrame(
        rows,
        index=[
            f"this run: {unit.label} ({class_names[unit.cls]})",
            f"paper: {unit_label(layer, index)} ({PAPER_FIG4_CLASS})",
        ],
    ).T


def image_count_rows(table: pd.DataFrame) -> list[str]:
    """The rows of `fig4_beside_paper` that count images (shown as whole numbers)."""
    return [row for row in table.index if row.startswith("images")]


@dataclass(frozen=True, eq=False)
class JitterPlan:
    """What Fig. 4's jitterplot draws: the images (`sample`, sorted indices), the words for
    them (`drawn`), a note when they are a sample (else None), and the thresholds."""

    sample: np.ndarray
    drawn: str
    note: str | None
    thresholds: dict[str, float]
    title: str


def jitter_plan(
    source: ChapterSource,
    unit: Fig4Unit,
    numbers: Mapping[str, float],
    max_points: int,
    seed: int,
    top: TopN,
) -> JitterPlan:
    """Which images the jitterplot of `unit` draws (`jitter_sample`), how the page says so,
    and its two thresholds: the best one for the unit's class and the top-N cut."""
    labels, cls, name = source.labels, unit.cls, source.class_names[unit.cls]
    sample = jitter_sample(labels, cls, max_points, seed)
    n_images, n_class = source.n_images, numbers["class_count"]
    note = None
    if sample.size < n_images:
        n_other = int((labels != cls).sum())
        drawn = (
            f"all {n_class:,} images of {name} and a random {sample.size - n_class:,} of the "
            f"other {n_other:,}"
        )
        note = (
            f"With {n_images:,} images a jitterplot of every image would be too heavy for a web "
            f"page, so it draws {drawn} (seed {seed}; `max_points = {max_points}`). The "
            "thresholds and every number on this page use all the images."
        )
    else:
        drawn = f"all {n_images:,} images"
    thresholds = {
        f"max-informedness threshold for {name}": numbers["class_mi_threshold"],
        f"top-{top.small} cut": numbers[f"top{top.small}_threshold"],
    }
    title = f"{unit.label}: {drawn} ({name} highlighted)"
    return JitterPlan(sample, drawn, note, thresholds, title)


def describe_zero_overlap(
    unit: Fig4Unit,
    labels: np.ndarray,
    sample: np.ndarray,
    numbers: Mapping[str, float],
    class_names: Sequence[str],
) -> str | None:
    """How many drawn images of other classes the class's images at exactly zero cover in
    the jitterplot; None when there is no such overlap."""
    drawn_x, drawn_y = unit.activations[sample], np.asarray(labels)[sample]
    zero_others = int(np.sum((drawn_x == 0) & (drawn_y != unit.cls)))
    if not (zero_others and numbers["n_zero_class"]):
        return None
    return (
        f"The images of {class_names[unit.cls]} are drawn on top: at exactly zero the "
        f"{numbers['n_zero_class']:,} of them cover {zero_others:,} images of other classes."
    )


def describe_zero_inset(numbers: Mapping[str, float], n_images: int, reported: pd.DataFrame) -> str:
    """Why the histogram of every image leaves out the zeros, as the paper's inset does."""
    theirs = _paper_fig4_numbers(reported)
    paper_zero, paper_images = theirs["n_zero_all"], _paper_value(reported, "n_images")
    return (
        f"Like the inset of the paper's Fig. 4, the histogram of every image leaves out the "
        f"{numbers['n_zero_all']:,} images at exactly zero ({numbers['n_zero_all'] / n_images:.0%} "
        f"of all; the paper's unit has {paper_zero:,.0f} of {paper_images:,.0f}, "
        f"{paper_zero / paper_images:.0%}), which would dwarf every other bar:"
    )


def describe_fig4(
    unit: Fig4Unit,
    numbers: Mapping[str, float],
    class_names: Sequence[str],
    top: TopN,
    reported: pd.DataFrame,
) -> str:
    """Fig. 4's finding for this run's unit: its class's images among its top N, how many
    of them give zero, and the false alarms at its class's best threshold; beside the
    paper's unit."""
    n, name = top.small, class_names[unit.cls]
    theirs = _paper_fig4_numbers(reported)
    their_unit = unit_label(*paper_fig4_unit(reported))
    return (
        f"**This run.** Unit {unit.label} puts {numbers[f'top{n}_hits']} images of {name} "
        f"among its top {n} (precision {unit.row[unit.precision]:.2f}; the paper's "
        f"{their_unit}: {theirs['top60_hits']:.0f} of {PAPER_TOP_N[0]}). That is "
        f"{numbers[f'top{n}_recall']:.0%} of the class's {numbers['class_count']:,} images "
        f"(paper {theirs['top60_recall']:.0%} of {theirs['class_count']:,.0f}); "
        f"{numbers['n_zero_class']:,} of them ({numbers['share_zero_class']:.1%}) give exactly "
        f"zero (paper {theirs['n_zero_class']:,.0f}, {theirs['share_zero_class']:.1%}), and at "
        f"the best threshold for the class {numbers['class_mi_false_alarm']:.0%} of the images "
        f"above it belong to other classes (paper more than {theirs['mi_false_alarm']:.0%})."
    )


# --- Table A1 -------------------------------------------------------------------------------


def measure_output(
    source: ChapterSource,
    output_layer: str | None,
    cache: str | os.PathLike | None,
    softmax: bool,
    options: Mapping[str, object],
) -> pd.DataFrame | None:
    """The measures of the output layer for Table A1 (after a softmax when `softmax`);
    None when the chapter leaves the output layer out."""
    if not output_layer:
        return None
    return tables.measure_layers(
        source.path, [output_layer], cache_dir=cache, softmax=bool(softmax), **options
    )


def table_a1_units(
    table: pd.DataFrame, hidden: Sequence[str], top: TopN, output: pd.DataFrame | None = None
) -> pd.DataFrame:
    """`top_units` by CCMAS and by precision of the top `large`, in the paper's order of
    layers: the output layer (when measured) first, then the hidden layers from the top."""
    ranked, order = table, list(hidden)[::-1]
    if output is not None:
        ranked, order = pd.concat([output, table]), [*output["layer"].unique(), *order]
    return top_units(ranked, ("ccmas", top.precision_large), layers=order)


def highest_ccmas_units(table: pd.DataFrame, tolerance: float = 5e-4) -> pd.DataFrame:
    """The units whose CCMAS is the highest of `table` to the three decimals the page shows
    (within `tolerance` of it): one row, or every unit of a tie."""
    best = table["ccmas"].max()
    return table[table["ccmas"] >= best - tolerance]


def paper_top_ccmas_unit(reported: pd.DataFrame) -> tuple[str, float, float]:
    """Table A1's hidden unit with the highest CCMAS (a layer Section 2 measured, so not the
    output layer): its name, CCMAS and precision of the top 100."""
    hidden = set(reported.loc[reported["measure"] == "units", "layer"].dropna())
    a1 = reported[(reported["source"] == "Table A1") & (reported["case"] == "top ccmas")]
    a1 = a1[a1["layer"].isin(hidden)]
    ccmas = a1[a1["measure"] == "ccmas"]
    best = ccmas.loc[ccmas["value"].astype(float).idxmax()]
    precision = a1[(a1["unit"] == best["unit"]) & (a1["measure"] == "precision_100")]
    return unit_label(best["layer"], best["unit"]), float(best["value"]), precision["value"].item()


def describe_table_a1(
    table: pd.DataFrame,
    a1: pd.DataFrame,
    top: TopN,
    reported: pd.DataFrame,
    output_layer: str | None = None,
    output_softmax: bool = True,
) -> str:
    """Table A1's finding for this run: the hidden unit(s) with the highest CCMAS and the
    share of their top images in one class, beside the paper's; and whether the two
    rankings of `a1` (`table_a1_beside_paper`) pick the same unit in any layer."""
    tied, n = highest_ccmas_units(table), top.large
    best_ccmas, precision = table["ccmas"].max(), top.precision_large
    if len(tied) == 1:
        best = tied.iloc[0]
        text = (
            f"**This run.** The hidden unit with the highest CCMAS is "
            f"{unit_label(best['layer'], best['unit'])} ({best_ccmas:.3f}), and "
            f"{best[precision]:.0%} of its top {n} images share a class "
        )
    else:
        text = (
            f"**This run.** {len(tied)} hidden units share the highest CCMAS, {best_ccmas:.3f}; "
            f"the share of their top {n} images held by one class ranges from "
            f"{tied[precision].min():.0%} to {tied[precision].max():.0%} "
        )
    their_unit, their_ccmas, their_precision = paper_top_ccmas_unit(reported)
    text += f"(paper: {their_unit}, {_paper_decimal(their_ccmas, 2)} and {their_precision:.0%}). "
    by_precision = set(a1.loc[a1["ranked by"] == "precision", "unit"])
    same = [
        r["layer"]
        for _, r in a1.iterrows()
        if r["ranked by"] == "CCMAS" and r["unit"] in by_precision
    ]
    text += (
        f"The two rankings pick the same unit in {', '.join(same)}; "
        if same
        else "The two rankings pick a different unit in every layer, as in the paper; "
    )
    text += "the paper's units are named beside this run's only to show their scores."
    if output_layer and not output_softmax:
        text += " The output layer is measured on its raw values."
    return text


# --- Table A2 -------------------------------------------------------------------------------


def table_a2_pairs(table: pd.DataFrame, top: TopN, reported: pd.DataFrame) -> pd.DataFrame:
    """Table A2: each pair of its measures (index ``a|b``) with the correlation, the units
    it pooled and its p-value (`correlation_pairs`), and the paper's correlation
    (``paper``) when the top-N sizes are the paper's."""
    corr = measure_correlations(table, table_a2_measures(top.sizes))
    pairs = correlation_pairs(corr, table).set_index("pair")
    if top.like_paper:
        theirs = reported[reported["source"] == "Table A2"].set_index("case")["value"]
        pairs["paper"] = theirs.reindex(pairs.index)
    return pairs


def describe_table_a2(pairs: pd.DataFrame) -> str | None:
    """How many of this run's correlations have the paper's sign and how far they are from
    its values; None when `pairs` has no paper column."""
    if "paper" not in pairs:
        return None
    same_sign = int((np.sign(pairs["correlation"]) == np.sign(pairs["paper"])).sum())
    gap = (pairs["correlation"] - pairs["paper"]).abs()
    return (
        f"**This run.** {same_sign} of the {len(pairs)} correlations have the paper's sign; "
        f"they differ from the paper's by {gap.median():.2f} at the median and by "
        f"{gap.max():.2f} at most ({gap.idxmax().replace('|', ' with ')})."
    )


# --- Appendix C -----------------------------------------------------------------------------


def appendix_c_beside_paper(c_table: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """`ccmas_vs_ccmas2` beside Appendix C's per-layer means (this run's mean difference
    has no counterpart in the paper)."""
    theirs = reported[(reported["source"] == "Appendix C") & reported["layer"].notna()]
    beside = paper.beside_paper(
        c_table[["mean_ccmas", "mean_ccmas_2"]], theirs[theirs["unit"].isna()], "layer", wide=True
    )
    beside[("mean_difference", "this run")] = c_table["mean_difference"]
    return beside


def paper_appendix_c_unit(reported: pd.DataFrame) -> tuple[str, int, pd.Series]:
    """Appendix C's example unit: its layer, number, and its CCMAS and CCMAS2 (by measure)."""
    rows = reported[(reported["source"] == "Appendix C") & reported["unit"].notna()]
    layer, unit = rows["layer"].iloc[0], int(rows["unit"].iloc[0])
    return layer, unit, rows.set_index("measure")["value"].astype(float)


def describe_appendix_c(
    c_table: pd.DataFrame,
    table: pd.DataFrame,
    class_names: Sequence[str],
    reported: pd.DataFrame,
) -> str:
    """Appendix C's finding for this run: each layer's mean CCMAS and CCMAS2, and this run's
    unit with the number of the paper's example unit, beside it."""
    text = (
        "**This run.** "
        + "; ".join(
            f"{'In' if i == 0 else 'in'} {layer} the mean CCMAS is {row['mean_ccmas']:.3f} and "
            f"the mean CCMAS2 {row['mean_ccmas_2']:.3f}"
            for i, (layer, row) in enumerate(c_table.iterrows())
        )
        + "."
    )
    layer, unit, theirs = paper_appendix_c_unit(reported)
    example = table[(table["layer"] == layer) & (table["unit"] == unit)]
    if not len(example):
        return text
    e, label = example.iloc[0], unit_label(layer, unit)
    if np.isnan(e["ccmas"]):
        return text + f" Unit {label} gives zero for every image, so its CCMAS is undefined."
    names = PAPER_APPENDIX_C_CLASSES
    return text + (
        f" Unit {label} has a CCMAS of {e['ccmas']:.3f} for {class_names[int(e['ccmas_class'])]} "
        f"and {e['ccmas_2']:.3f} for {class_names[int(e['ccmas_2_class'])]} (paper: "
        f"{_paper_decimal(theirs['ccmas'], 3)} for '{names['ccmas']}', "
        f"{_paper_decimal(theirs['ccmas_2'], 3)} for '{names['ccmas_2']}'; this run's {label} "
        f"is another unit of another network, unless the profile reads the authors' files)."
    )


# --- the verdict ----------------------------------------------------------------------------


def findings_shown(findings: pd.DataFrame) -> pd.DataFrame:
    """`paper_findings` as the page shows it: ``same`` as yes or no."""
    return findings.assign(same=findings["same"].map({True: "yes", False: "no"}))


def describe_findings(findings: pd.DataFrame) -> str:
    """How many of the paper's findings (`paper_findings`) this run shows."""
    return (
        f"This run shows {int(findings['same'].sum())} of the {len(findings)} findings. A "
        f"finding it does not show is not a failure to reproduce the paper unless the profile "
        f"reads the paper's own activations: the reasons follow."
    )


def describe_base_rate(
    n_classes: int, reported: pd.DataFrame, catch: float = 0.5, stray: float = 0.01
) -> str:
    """The base-rate argument with this run's number of classes: a unit whose threshold lets
    through `catch` of its class and `stray` of every other class, among `n_classes`
    classes and among the paper's."""
    theirs = paper_n_classes(reported)

    def false_alarms(classes: int) -> float:
        return stray * (classes - 1) / (catch + stray * (classes - 1))

    return (
        f"Why they can differ. **The number of classes.** Among {n_classes} classes of about "
        f"equal size a class holds {1 / n_classes:.0%} of the images; among the paper's "
        f"{theirs:,}, {1 / theirs:.1%}. Suppose a unit's threshold lets through "
        f"{_in_words(catch)} the images of its class and {stray:.0%} of all the others. With "
        f"{n_classes} classes the images above the threshold are {false_alarms(n_classes):.0%} "
        f"false alarms; with {theirs:,} classes they are {false_alarms(theirs):.0%}. The same "
        f"unit, judged by the same measure, looks far more like a detector when there are few "
        f"classes to confuse its class with, so the false-alarm proportions, recall at perfect "
        f"precision and localist counts of a {n_classes}-class network cannot be held to the "
        f"paper's values. Chance precision moves the same way (1/{n_classes} here against "
        f"1/{theirs})."
    )


def _in_words(share: float) -> str:
    return "half" if share == 0.5 else f"{share:.0%} of"
