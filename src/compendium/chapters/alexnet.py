"""Chapter 2's summaries of a measures table, the way the paper reports them (its Section 3.1
and Appendices B-C), and the chapter's parameters and activation file.

Every summary takes the long table that `compendium.measures.tables.measure_layers` returns
(one row per (layer, unit) with the columns of `compendium.measures`) and returns numbers
or a small pandas table: the per-layer distributions of Fig. 3 with their outliers, the
counts Section 3.1 quotes, the network's extremes, the top units of each layer and their
ties (Table A1), the correlations between measures (Table A2), CCMAS against CCMAS2
(Appendix C), one unit's numbers and example images (Figs. 2 and 4), and the precision a
unit reaches by chance.

The chapter is split by job: this module computes; `compendium.chapters.alexnet_paper`
holds the paper's numbers and the tables that put them beside this run's;
`compendium.chapters.alexnet_page` writes the sentences; `compendium.chapters.alexnet_figures`
draws the figures and image grids. The notebook (notebooks/02_alexnet_results.py) only
calls and displays.
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

#: Two CCMAS values closer than this count as tied (they print alike to three decimals).
CCMAS_TIE = 5e-4

#: The false-discovery rate at which a unit beats chance (spec ``beyond.md``: q = .05).
FALSE_DISCOVERY_RATE = 0.05


class ChapterParameterError(CompendiumError):
    """A parameter of chapter 2 that cannot be used."""


# --- Fig. 3 ----------------------------------------------------------------------------------


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


def _whisker_bounds(v: np.ndarray) -> tuple[float, float]:
    q25, q75 = np.quantile(v, [0.25, 0.75])
    return q25 - 1.5 * (q75 - q25), q75 + 1.5 * (q75 - q25)


def _whiskers(values: pd.Series) -> dict[str, float]:
    """Tukey's whiskers of one distribution, and how many values lie beyond them."""
    v = values.dropna().to_numpy()
    if v.size == 0:
        return {"whisker_low": np.nan, "whisker_high": np.nan, "n_outliers": 0}
    low, high = _whisker_bounds(v)
    inside = v[(v >= low) & (v <= high)]
    return {
        "whisker_low": float(inside.min()),
        "whisker_high": float(inside.max()),
        "n_outliers": int(v.size - inside.size),
    }


def fig3_outliers(table: pd.DataFrame, measures: Sequence[str]) -> pd.DataFrame:
    """The units beyond the whiskers of `layer_distributions` (the paper's red crosses): one
    row per (layer, measure, unit) with ``value`` and the unit's ``label``. Units that share
    a value in the same panel are one row, with their number in ``n`` and the first unit's
    label, so a panel draws each distinct outlying value once."""
    rows = []
    for (layer, measure), part in table.melt(
        id_vars=["layer", "unit"], value_vars=list(measures), var_name="measure"
    ).groupby(["layer", "measure"], sort=False):
        values = part["value"].astype(float)
        finite = values.dropna().to_numpy()
        if finite.size == 0:
            continue
        low, high = _whisker_bounds(finite)
        beyond = ((values < low) | (values > high)).to_numpy()
        out = pd.DataFrame({"unit": part["unit"].to_numpy()[beyond], "value": values[beyond]})
        for value, same in out.groupby("value", sort=True):
            first = same.sort_values("unit").iloc[0]
            rows.append(
                {
                    "layer": layer,
                    "measure": measure,
                    "value": float(value),
                    "n": len(same),
                    "label": unit_label(layer, first["unit"]),
                }
            )
    return pd.DataFrame(rows, columns=["layer", "measure", "value", "n", "label"])


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


# --- the counts Section 3.1 quotes -------------------------------------------------------------


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


def beyond_extremes(
    table: pd.DataFrame, best_recall: float, best_informedness: float, fewest_false_alarms: float
) -> dict[str, int]:
    """How many units of `table` go past the paper's network-wide extremes: a recall at
    perfect precision above `best_recall`, a max informedness above `best_informedness`, and
    fewer false alarms at max informedness than `fewest_false_alarms`; with ``units``."""
    return {
        "units": len(table),
        "recall_p100": int((table["recall_p100"].astype(float) > best_recall).sum()),
        "max_informedness": int(
            (table["max_informedness"].astype(float) > best_informedness).sum()
        ),
        "mi_false_alarm": int((table["mi_false_alarm"].astype(float) < fewest_false_alarms).sum()),
    }


# --- the top units (Table A1) --------------------------------------------------------------


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
    detector, the role the paper's Fig. 4 unit plays."""
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


def highest_ccmas_units(table: pd.DataFrame, tolerance: float = CCMAS_TIE) -> pd.DataFrame:
    """The units whose CCMAS is the highest of `table` to the three decimals the page shows
    (within `tolerance` of it): one row, or every unit of a tie."""
    best = table["ccmas"].max()
    return table[table["ccmas"] >= best - tolerance]


def top_ties(
    table: pd.DataFrame, layers: Sequence[str], precision: str, tolerance: float = CCMAS_TIE
) -> pd.DataFrame:
    """Per layer (in `layers`' order): the highest CCMAS and how many units share it (within
    `tolerance`), the highest `precision` and how many units share it (a share of the top
    N, so ties are exact), and how many units are in both ties: a unit that tops both
    rankings, so that Table A1's two rows can name the same unit."""
    rows = {}
    for layer in layers:
        part = table[table["layer"] == layer]
        ccmas, share = part["ccmas"].astype(float), part[precision].astype(float)
        top_c = ccmas >= ccmas.max() - tolerance
        top_p = share >= share.max()
        rows[layer] = {
            "best CCMAS": ccmas.max(),
            "units at the best CCMAS": int(top_c.sum()),
            "best precision": share.max(),
            "units at the best precision": int(top_p.sum()),
            "units at both": int((top_c & top_p).sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def table_a1_units(
    table: pd.DataFrame, hidden: Sequence[str], top: TopN, output: pd.DataFrame | None = None
) -> pd.DataFrame:
    """`top_units` by CCMAS and by precision of the top `large`, in the paper's order of
    layers: the output layer (when measured) first, then the hidden layers from the top."""
    ranked, order = table, list(hidden)[::-1]
    if output is not None:
        ranked, order = pd.concat([output, table]), [*output["layer"].unique(), *order]
    return top_units(ranked, ("ccmas", top.precision_large), layers=order)


# --- Table A2 and Appendix C -----------------------------------------------------------------


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


# --- chance -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChancePrecision:
    """The top-N precision of a unit whose top N images are N images drawn at random:
    its mean over `draws` seeded draws, and the share of draws at or below `high` (the
    95th percentile)."""

    n: int
    mean: float
    high: float
    draws: int
    seed: int


def chance_precision(
    labels: np.ndarray, n: int, draws: int = 1000, seed: int = 0
) -> ChancePrecision:
    """Precision of the top `n` by chance: `draws` times, `n` images drawn without
    replacement (draw k from ``numpy.random.default_rng([seed, k])``), and the largest share
    of one class among them. It is the label-permutation null of ``precision_<n>`` for any
    unit whose top `n` has no tie at the cut: shuffling the labels puts `n` random images'
    labels on its top `n`. Never below 1/`n`, whatever the number of classes."""
    y = np.asarray(labels).reshape(-1)
    if not 1 <= n <= y.size or draws < 1:
        raise ChapterParameterError(
            f"chance precision needs 1 <= n <= {y.size} images and at least one draw; "
            f"got n = {n}, draws = {draws}"
        )
    _, codes = np.unique(y, return_inverse=True)
    shares = np.empty(draws)
    for k in range(draws):
        picked = codes[np.random.default_rng([seed, k]).choice(y.size, n, replace=False)]
        shares[k] = np.bincount(picked).max() / n
    return ChancePrecision(n, float(shares.mean()), float(np.quantile(shares, 0.95)), draws, seed)


def equal_class_labels(n_images: int, n_classes: int) -> np.ndarray:
    """Labels of `n_images` images in `n_classes` classes of (nearly) equal size, for the
    chance of a data set known only by its size (the paper's)."""
    return (np.arange(int(n_images)) * int(n_classes)) // int(n_images)


# --- one unit (Figs. 2 and 4) -------------------------------------------------------------------


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


def top_images(activations: np.ndarray, n: int) -> np.ndarray:
    """The `n` most active images in the order ``precision_<n>`` ranks them (activation
    descending, ties by image number ascending): row numbers of the activation file."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    return np.argsort(-x, kind="stable")[: min(int(n), x.size)]


def example_images(
    activations: np.ndarray, labels: np.ndarray, cls: int, n: int = 4, seed: int = 0
) -> dict[str, np.ndarray]:
    """The images of class `cls` that Fig. 4's right column shows, `n` of each: at exactly
    zero (a seeded random `n` of them; none when no image of the class gives zero), nearest
    the class's mean activation, and the most active. Row numbers of the file."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    own = np.flatnonzero(np.asarray(labels).reshape(-1) == cls)
    zeros = own[x[own] == 0]
    if zeros.size > n:
        zeros = np.sort(np.random.default_rng(seed).choice(zeros, n, replace=False))
    mean = x[own].mean()
    near = own[np.argsort(np.abs(x[own] - mean), kind="stable")[:n]]
    highest = own[np.argsort(-x[own], kind="stable")[:n]]
    return {"zero": zeros, "mean": near, "max": highest}


def closest_precision_unit(
    table: pd.DataFrame, layer: str, target: float, precision: str = "precision_60"
) -> pd.Series:
    """The unit of `layer` whose `precision` is nearest `target` (ties: the higher CCMAS,
    then the lower unit number): this run's stand-in for a unit the paper shows by its
    precision."""
    part = table[table["layer"] == layer]
    if part.empty:
        raise KeyError(f"no units in layer {layer!r}; layers: {sorted(set(table['layer']))}")
    order = part.assign(
        _gap=(part[precision].astype(float) - target).abs(),
        _ccmas=part["ccmas"].astype(float).fillna(-np.inf),
    ).sort_values(["_gap", "_ccmas", "unit"], ascending=[True, False, True], kind="stable")
    return table.loc[order.index[0]]


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


# --- the chapter's parameters and its activation file -------------------------------------------

#: The paper's top-N sizes: precision of the top 60 (Fig. 3, Fig. 4), of the top 100 (Appendix B).
PAPER_TOP_N = (60, 100)


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


def check_permutations(n_permutations: object) -> int:
    """Check the `n_permutations` parameter: a whole number of label shuffles, 0 for none."""
    if (
        isinstance(n_permutations, bool)
        or not isinstance(n_permutations, int | np.integer)
        or n_permutations < 0
    ):
        raise ChapterParameterError(
            f"n_permutations must be a whole number of label shuffles, such as 100, or 0 for "
            f"no permutation null; got {n_permutations!r}"
        )
    return int(n_permutations)


#: Words for the data sets a recording names (``dataset`` of the file, before any colon).
DATASET_NAMES = {"fashion-mnist": "Fashion-MNIST", "imagenet": "ImageNet"}


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
    image_index: np.ndarray | None = None  # each row's image in its data set, when recorded

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

    @property
    def network(self) -> str:
        """What was measured, for the page's title: the network and its images."""
        if self.format == "alexnet-merged":
            return "AlexNet on ImageNet (the authors' activations)"
        model = str(self.attrs.get("model", "a network"))
        dataset = str(self.attrs.get("dataset", "")).partition(":")[0]
        name = "the small AlexNet" if model.startswith("small-alexnet") else f"{model}"
        if model.startswith("alexnet"):
            name = "AlexNet (torchvision)"
        images = DATASET_NAMES.get(dataset, dataset)
        return f"{name} on {images}" if images else name


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
        index = getattr(source, "image_index", None)
        return ChapterSource(
            path=path,
            selection=selection,
            labels=source.labels,
            class_names=[name.split(",")[0] for name in source.class_names],
            layer_sizes={layer: source.n_units(layer) for layer in source.layers},
            format=source.format,
            attrs=dict(source.attrs),
            image_index=None if index is None else np.asarray(index),
        )


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


def measure_null(
    source: ChapterSource,
    n_permutations: int,
    seed: int,
    cache: str | os.PathLike | None,
    options: Mapping[str, object],
) -> tables.NullTables | None:
    """The label-permutation null of every chosen unit (`tables.null_layers`, each layer
    cached on its own, as the chance chapter caches it), or None with no permutations."""
    if not n_permutations:
        return None
    parts = [
        tables.null_layers(
            source.path,
            [layer],
            units,
            n_permutations=n_permutations,
            seed=seed,
            cache_dir=cache,
            **options,
        )
        for layer, units in source.selection.items()
    ]
    return tables.NullTables(
        pd.concat([p.table for p in parts], ignore_index=True),
        pd.concat([p.band for p in parts], ignore_index=True),
    )


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
    return Fig4Unit(layer, index, row, unit_activations(source, layer, index), top.precision)


def unit_activations(source: ChapterSource, layer: str, index: int) -> np.ndarray:
    """One unit's activation for every image of the file."""
    with open_activations(source.path) as f:
        column = f.activations(layer)[:, index : index + 1]
    return np.asarray(column, dtype=float)[:, 0]
