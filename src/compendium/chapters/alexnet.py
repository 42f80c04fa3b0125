"""Summaries of a measures table the way the paper reports them (its Section 3.1 and
Appendices B-C): per-layer distributions (Fig. 3), the counts its text quotes, the top units
of each layer (Table A1), the correlations between measures (Table A2) and CCMAS against
CCMAS2 (Appendix C).

Every function takes the long table that `compendium.measures.tables.measure_layers` returns: one
row per (layer, unit) with the columns of `compendium.measures`, and returns a small
pandas table ready to show beside the paper's numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

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


def threshold_counts(
    activations: np.ndarray, labels: np.ndarray, cls: int, threshold: float
) -> dict:
    """Hits and false alarms of one unit for one class at `threshold` (x >= threshold):
    recall, false-alarm proportion FP / (TP + FP), and counts of exact zeros."""
    above = activations >= threshold
    is_class = labels == cls
    tp, fp = int(np.sum(above & is_class)), int(np.sum(above & ~is_class))
    return {
        "threshold": float(threshold),
        "hits": tp,
        "false_alarms": fp,
        "recall": tp / int(is_class.sum()),
        "false_alarm_proportion": fp / (tp + fp) if tp + fp else float("nan"),
        "n_zero_all": int(np.sum(activations == 0)),
        "n_zero_class": int(np.sum(activations[is_class] == 0)),
        "share_zero_class": float(np.mean(activations[is_class] == 0)),
    }


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


def class_informedness(activations: np.ndarray, labels: np.ndarray, cls: int) -> dict[str, float]:
    """The best threshold for detecting one class `cls` with one unit: the largest
    informedness (recall + specificity - 1) over thresholds at the distinct activation values
    (``x >= t``; ties: the higher threshold), with recall, specificity and false-alarm
    proportion FP / (TP + FP) there. The unit's `max_informedness` is the largest of these
    over classes; the paper's Fig. 4 draws this one for the class the unit is named after."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    is_class = np.asarray(labels).reshape(-1) == cls
    n_class, n_other = int(is_class.sum()), int((~is_class).sum())
    if n_class == 0 or n_other == 0:
        raise ValueError(
            f"class {cls} needs images both in and outside it; it has {n_class} of {x.size}"
        )
    order = np.argsort(-x, kind="stable")
    xs, hits = x[order], np.cumsum(is_class[order])
    ends = np.flatnonzero(np.r_[xs[1:] != xs[:-1], True])  # last image of each run of ties
    tp, fp = hits[ends], ends + 1 - hits[ends]
    informedness = tp / n_class - fp / n_other
    best = int(np.flatnonzero(informedness >= informedness.max() - 1e-12)[0])
    return {
        "informedness": float(informedness[best]),
        "threshold": float(xs[ends[best]]),
        "recall": float(tp[best] / n_class),
        "specificity": float(1 - fp[best] / n_other),
        "false_alarm": float(fp[best] / (tp[best] + fp[best])),
    }


def unit_figure_numbers(
    activations: np.ndarray, labels: np.ndarray, cls: int, top: int = 60
) -> dict[str, float]:
    """The numbers Section 3.1 and Fig. 4 give for one unit and its class `cls`: the class's
    size, mean (with standard error) and largest activation; the best informedness for the
    class with its threshold, recall and false-alarm proportion; the same counts at the cut
    below the `top` most active images; and how many images give exactly zero."""
    from compendium.chapters.plots import top_n_cut

    x = np.asarray(activations, dtype=float).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    own = x[y == cls]
    best = class_informedness(x, y, cls)
    cut = threshold_counts(x, y, cls, top_n_cut(x, top))
    return {
        "n_images": int(x.size),
        "class_count": int(own.size),
        "class_mean": float(own.mean()),
        "class_sem": float(own.std(ddof=1) / np.sqrt(own.size)) if own.size > 1 else float("nan"),
        "class_max": float(own.max()),
        "class_max_informedness": best["informedness"],
        "class_mi_threshold": best["threshold"],
        "class_mi_recall": best["recall"],
        "class_mi_false_alarm": best["false_alarm"],
        f"top{top}_threshold": cut["threshold"],
        f"top{top}_hits": cut["hits"],
        f"top{top}_recall": cut["recall"],
        f"top{top}_false_alarm": cut["false_alarm_proportion"],
        "n_zero_all": cut["n_zero_all"],
        "n_zero_class": cut["n_zero_class"],
        "share_zero_class": cut["share_zero_class"],
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


def beside_paper(
    this_run: pd.DataFrame, reported: pd.DataFrame, key: str = "layer"
) -> pd.DataFrame:
    """This run's numbers with the paper's beside them.

    `this_run` is indexed by `key` values (e.g. layers) with one column per measure;
    `reported` has rows (`key`, ``measure``, ``value``) as `compendium.chapters.paper.reported`
    gives them. The result keeps `this_run`'s rows and, for each of its measures, the
    columns (measure, ``"this run"``) and (measure, ``"paper"``); the paper's cell is empty
    where it reports no such number.
    """
    paper = reported.dropna(subset=[key]).pivot_table(
        index=key, columns="measure", values="value", aggfunc="first"
    )
    columns = {}
    for measure in this_run.columns:
        columns[(measure, "this run")] = this_run[measure]
        column = paper[measure] if measure in paper.columns else pd.Series(dtype=float)
        columns[(measure, "paper")] = column.reindex(this_run.index)
    out = pd.DataFrame(columns, index=this_run.index)
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


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


def paper_findings(table: pd.DataFrame, precision: str = "precision_60") -> pd.DataFrame:
    """Section 3.1's and Appendix C's findings, each as a test this run passes or not:
    ``finding`` (with its criterion), the ``paper``'s numbers, ``this run``'s, and
    ``same`` (True where this run shows the finding too). Shares of precision and CCMAS are
    over the fully connected layers (all layers if there are none)."""
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
            "fc7: 14 of 2,239 (0.6%)",
            f"{fc_names}: {n_precise:,} of {len(fc):,} ({n_precise / len(fc):.1%})",
            n_precise > 0,
        ),
        (
            "some fc units have CCMAS above .9",
            "fc7: 1,487 of 2,239 (66%)",
            f"{fc_names}: {n_ccmas:,} of {len(fc):,} ({n_ccmas / len(fc):.1%})",
            n_ccmas > 0,
        ),
        ("no unit is localist", "none", f"{n_localist:,} of {len(table):,}", n_localist == 0),
        (
            "the best recall at perfect precision is below .1",
            ".08 (fc7.255)",
            f"{best_recall['value']:.2f} ({best_recall['unit']})",
            best_recall["value"] < 0.1,
        ),
        (
            "every unit has over 90% false alarms at its best threshold",
            "fewest 96%",
            f"fewest {fewest['value']:.0%} ({fewest['unit']})",
            fewest["value"] > 0.9,
        ),
        (
            "mean CCMAS2 is within .05 of mean CCMAS in every layer",
            ".017 to .027",
            ", ".join(f"{layer} {gap:.3f}" for layer, gap in gaps.items()),
            bool((gaps.abs() <= 0.05).all()),
        ),
    ]
    return pd.DataFrame(rows, columns=["finding", "paper", "this run", "same"])
