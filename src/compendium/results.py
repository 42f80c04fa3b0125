"""Summaries of a measures table the way the paper reports them (its Section 3.1 and
Appendices B-C): per-layer distributions (Fig. 3), the counts its text quotes, the top units
of each layer (Table A1), the correlations between measures (Table A2) and CCMAS against
CCMAS2 (Appendix C).

Every function takes the long table that `compendium.tables.measure_layers` returns: one
row per (layer, unit) with the columns of `compendium.measures`, and returns a small
pandas table ready to show beside the paper's numbers.
"""

from __future__ import annotations

from typing import Sequence

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


def layer_distributions(table: pd.DataFrame, measures: Sequence[str] = tuple(FIG3_PANELS)) -> pd.DataFrame:
    """Per layer and measure: n, mean, standard error, median, quartiles, min and max
    (the statistics behind Fig. 3's box plots, means and standard errors)."""
    long = table.melt(id_vars="layer", value_vars=list(measures), var_name="measure")
    grouped = long.groupby(["layer", "measure"], sort=False)["value"]
    stats = grouped.agg(
        n="count", mean="mean", sem="sem", median="median",
        q25=lambda v: v.quantile(0.25), q75=lambda v: v.quantile(0.75), min="min", max="max",
    )  # fmt: skip
    return stats.reset_index()


def quoted_counts(table: pd.DataFrame, threshold: float = 0.9) -> pd.DataFrame:
    """The counts Section 3.1 quotes, per layer: units with precision (top 60) and CCMAS
    above `threshold`, localist units, and the best recall at perfect precision and best
    max informedness with the false-alarm proportion there."""
    by_layer = table.groupby("layer", sort=False)
    return pd.DataFrame({
        "units": by_layer.size(),
        f"n_precision_above_{threshold}": by_layer["precision_60"].apply(lambda v: int((v > threshold).sum())),
        f"n_ccmas_above_{threshold}": by_layer["ccmas"].apply(lambda v: int((v > threshold).sum())),
        "n_localist": by_layer["localist"].sum().astype(int),
        "best_recall_p100": by_layer["recall_p100"].max(),
        "best_max_informedness": by_layer["max_informedness"].max(),
        "min_mi_false_alarm": by_layer["mi_false_alarm"].min(),
    })  # fmt: skip


def top_unit(table: pd.DataFrame, by: str, layer: str | None = None) -> pd.Series:
    """The row of the unit with the highest `by` (in `layer`, or over all layers); ties:
    the first layer, then the lowest unit number."""
    rows = table if layer is None else table[table["layer"] == layer]
    if rows.empty:
        raise KeyError(f"no units in layer {layer!r}; layers: {sorted(set(table['layer']))}")
    return rows.loc[rows[by].idxmax()]


def top_units(table: pd.DataFrame, measures: Sequence[str] = ("ccmas", "precision_100")) -> pd.DataFrame:
    """Table A1: for each layer and each measure, the unit that scores highest on it,
    with both its CCMAS and its precision (top 100)."""
    rows = []
    for measure in measures:
        for layer in table["layer"].unique():
            unit = top_unit(table, measure, layer)
            rows.append({
                "ranked by": measure, "layer": layer, "unit": int(unit["unit"]),
                "ccmas": unit["ccmas"], "precision_100": unit["precision_100"],
            })  # fmt: skip
    return pd.DataFrame(rows)


def measure_correlations(table: pd.DataFrame, measures: Sequence[str] = TABLE_A2_MEASURES) -> pd.DataFrame:
    """Table A2: Pearson correlations between measures over all units of `table`
    (dead units, whose CCMAS is undefined, are left out pairwise)."""
    return table[list(measures)].astype(float).corr(method="pearson")


def correlation_pairs(corr: pd.DataFrame) -> pd.DataFrame:
    """The lower triangle of a correlation matrix as rows (a, b, correlation), in the
    order Table A2 lists them."""
    names = list(corr.columns)
    pairs = [(a, b) for j, b in enumerate(names) for a in names[:j]]
    return pd.DataFrame(
        [{"pair": f"{a}|{b}", "correlation": corr.loc[a, b]} for a, b in pairs]
    )


def ccmas_vs_ccmas2(table: pd.DataFrame) -> pd.DataFrame:
    """Appendix C: per layer, the mean CCMAS for the best class and for the second-best
    (CCMAS2), and the mean difference between them."""
    by_layer = table.groupby("layer", sort=False)
    out = by_layer[["ccmas", "ccmas_2"]].mean()
    out.columns = ["mean_ccmas", "mean_ccmas_2"]
    out["mean_difference"] = by_layer.apply(lambda t: np.nanmean(t["ccmas"] - t["ccmas_2"]))
    return out


def threshold_counts(activations: np.ndarray, labels: np.ndarray, cls: int, threshold: float) -> dict:
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
