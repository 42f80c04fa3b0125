"""Chapter 2's side of the paper: the numbers Section 3.1, Figs. 2-4 and Appendices B-C
report (read from `compendium/data/paper_numbers.csv` through
`compendium.chapters.paper.reported`, never typed here), and the tables that put each of
them beside this run's (`compendium.chapters.alexnet` computes this run's side).

Some of the paper's numbers are bounds ("over 99% of images ... are false alarms"); the
data file says so in its note, and the tables print them as bounds (`is_lower_bound`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from compendium.chapters import paper
from compendium.chapters.alexnet import (
    EXTREMES,
    ChapterSource,
    Fig4Unit,
    TopN,
    ccmas_vs_ccmas2,
    correlation_pairs,
    measure_correlations,
    network_extremes,
    table_a2_measures,
    unit_label,
)

#: The class of the paper's Fig. 4 unit (its numbers are in the data file).
PAPER_FIG4_CLASS = "Monarch butterfly"

#: The classes of Appendix C's example unit, for its CCMAS and its CCMAS2.
PAPER_APPENDIX_C_CLASSES = {"ccmas": "maypole", "ccmas_2": "chainsaw"}

#: The object of the paper's Fig. 2 example of a precise unit (from Zhou et al.).
PAPER_FIG2_OBJECT = "lamp"

#: Where the paper's values of `compendium.chapters.alexnet.EXTREMES` are: key -> (layer,
#: unit, measure) in the data file.
PAPER_EXTREMES = {
    "best_recall_p100": ("fc7", 255, "recall_p100"),
    "best_max_informedness": (None, 3290, "max_informedness"),
    "its_mi_false_alarm": (None, 3290, "mi_false_alarm"),
    "min_mi_false_alarm": (None, None, "min_mi_false_alarm"),
}

#: The per-layer counts of `compendium.chapters.alexnet.quoted_counts`, as the page names them.
COUNT_COLUMNS = {
    "n_precision_above_0.9": "precision > .9",
    "n_ccmas_above_0.9": "CCMAS > .9",
    "n_localist": "localist",
}

#: A note of the data file that quotes the paper's words for a bound ("'above .99'", "'> 99%'").
_BOUND_NOTE = re.compile(r"^'\s*(above|>|more than|over)")


def as_printed(value: float, digits: int = 2) -> str:
    """A number as the paper prints it: no zero before the point (``.08``)."""
    return paper.as_printed(value, digits)


def paper_value(reported: pd.DataFrame, measure: str, layer=None, unit=None, source=None) -> float:
    """One number of the data file; `layer`/`unit` None: rows without one."""
    return float(_paper_row(reported, measure, layer, unit, source)["value"])


def _paper_row(
    reported: pd.DataFrame, measure: str, layer=None, unit=None, source=None
) -> pd.Series:
    match = reported["measure"] == measure
    for column, value in (("layer", layer), ("unit", unit)):
        match &= reported[column].isna() if value is None else reported[column] == value
    if source is not None:
        match &= reported["source"].str.startswith(source)
    found = reported[match]
    if found.empty:
        raise KeyError(f"the data file has no {measure} for layer {layer}, unit {unit}")
    return found.iloc[0]


def is_lower_bound(reported: pd.DataFrame, measure: str, layer=None, unit=None) -> bool:
    """Whether the paper gives this number as a bound it exceeds ("over 99%"): its note in
    the data file quotes the paper's words."""
    try:
        note = _paper_row(reported, measure, layer, unit)["note"]
    except KeyError:
        return False
    return isinstance(note, str) and bool(_BOUND_NOTE.match(note))


def shown_paper(value: float, bound: bool, digits: int = 2) -> str:
    """A paper number for a table cell: ``0.82``, or ``> 0.99`` for a bound; empty for NaN."""
    if value != value:
        return ""
    return ("> " if bound else "") + f"{value:.{digits}f}"


def paper_n_classes(reported: pd.DataFrame) -> int:
    """The number of classes of the paper's network (ImageNet's)."""
    return int(paper_value(reported, "n_classes"))


def paper_n_images(reported: pd.DataFrame) -> int:
    """The number of images whose activations the paper measured."""
    return int(paper_value(reported, "n_images"))


def paper_units_measured(reported: pd.DataFrame) -> pd.DataFrame:
    """Per layer of Section 2: the units the paper measured and the units of the layer."""
    rows = reported[reported["measure"].isin(["units", "layer_units"]) & reported["layer"].notna()]
    return rows.pivot_table(index="layer", columns="measure", values="value", sort=False).astype(
        int
    )


def paper_extremes(reported: pd.DataFrame) -> pd.DataFrame:
    """The paper's values of `compendium.chapters.alexnet.network_extremes` (value, unit and
    whether it is a bound), from its data file (the rows of Section 3.1)."""
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
            "bound": bool(len(found)) and is_lower_bound(reported, measure, layer, unit),
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


def fig3_marks(reported: pd.DataFrame, top: TopN) -> pd.DataFrame | None:
    """`fig3_reference` when the top-N sizes are the paper's; None otherwise (the paper's
    numbers would not be of the same measures)."""
    return fig3_reference(reported) if top.like_paper else None


def paper_mean_ccmas(reported: pd.DataFrame) -> pd.Series:
    """Appendix C's mean CCMAS per layer."""
    means = reported[(reported["source"] == "Appendix C") & (reported["measure"] == "mean_ccmas")]
    return means.set_index("layer")["value"]


def paper_share(reported: pd.DataFrame, measure: str) -> tuple[str, float, float]:
    """The layer where Section 3.1 quotes the count `measure`, the count, and the units the
    paper measured there."""
    row = reported[(reported["measure"] == measure) & reported["layer"].notna()].iloc[0]
    return row["layer"], float(row["value"]), paper_value(reported, "units", row["layer"])


def paper_fig4_unit(reported: pd.DataFrame) -> tuple[str, int]:
    """The layer and number of the paper's Fig. 4 unit (the rows of its caption)."""
    row = reported[reported["source"].str.startswith("Fig. 4")].iloc[0]
    return row["layer"], int(row["unit"])


def paper_fig4_numbers(reported: pd.DataFrame) -> pd.Series:
    """Every number the paper gives for its Fig. 4 unit, by measure."""
    layer, unit = paper_fig4_unit(reported)
    rows = reported[
        (reported["layer"] == layer)
        & (reported["unit"] == unit)
        & reported["source"].str.startswith(("Sec. 3.1", "Fig. 4"))
    ]
    return rows.groupby("measure")["value"].first()


def paper_fig2_unit(reported: pd.DataFrame) -> tuple[str, float]:
    """The layer and precision of the paper's Fig. 2 example of a precise unit."""
    row = reported[reported["source"].str.startswith("Fig. 2")].iloc[0]
    return row["layer"], float(row["value"])


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


def paper_a1_same_unit(reported: pd.DataFrame) -> list[str]:
    """The layers where Table A1's two rankings name the same unit (none in the paper)."""
    a1 = reported[reported["source"] == "Table A1"].drop_duplicates(["case", "layer"])
    units = a1.pivot_table(index="layer", columns="case", values="unit", sort=False)
    return [layer for layer, row in units.iterrows() if row["top ccmas"] == row["top precision"]]


def paper_appendix_c_unit(reported: pd.DataFrame) -> tuple[str, int, pd.Series]:
    """Appendix C's example unit: its layer, number, and its CCMAS and CCMAS2 (by measure)."""
    rows = reported[(reported["source"] == "Appendix C") & reported["unit"].notna()]
    layer, unit = rows["layer"].iloc[0], int(rows["unit"].iloc[0])
    return layer, unit, rows.set_index("measure")["value"].astype(float)


def paper_appendix_c_means(reported: pd.DataFrame) -> pd.DataFrame:
    """Appendix C's per-layer means of CCMAS and CCMAS2 (columns ``mean_ccmas``,
    ``mean_ccmas_2``)."""
    means = reported[(reported["source"] == "Appendix C") & reported["unit"].isna()]
    return means.pivot_table(index="layer", columns="measure", values="value", sort=False)


# --- tables of this run beside the paper -------------------------------------------------------


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
    paper_row = paper_mean_ccmas(reported).reindex(list(layers))
    shown.loc["c. CCMAS: the paper's mean"] = [f"{v:.3f}" if v == v else "" for v in paper_row]
    order = list(shown.index)
    order.insert(order.index(panels["ccmas"]) + 1, order.pop())
    return shown.loc[order].rename_axis(index=None, columns=None)


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
    """`network_extremes` with the paper's value and unit beside each, one row per number;
    ``paper`` is text, a bound where the paper gives one (``> 0.99``)."""
    theirs = paper_extremes(reported)
    theirs["paper"] = [
        shown_paper(v, bound) for v, bound in zip(theirs["paper"], theirs["bound"], strict=True)
    ]
    return (
        extremes.join(theirs.drop(columns="bound"))
        .set_index("number")
        .rename(columns={"value": "this run"})
        .rename_axis(index=None)
    )


def fig4_beside_paper(
    unit: Fig4Unit,
    numbers: Mapping[str, float],
    class_names: Sequence[str],
    top: TopN,
    reported: pd.DataFrame,
) -> pd.DataFrame:
    """This run's Fig. 4 unit beside the paper's: its scores (`unit.row`), the numbers of
    `unit_figure_numbers` (`numbers`) and the paper's counterparts (empty where none). The
    rows whose paper value is a bound are listed in ``attrs["bounds"]``."""
    theirs = paper_fig4_numbers(reported)
    layer, index = paper_fig4_unit(reported)
    row, n = unit.row, top.small
    rows = {
        f"precision (top {n})": (row[unit.precision], "precision_60"),
        "CCMAS": (row["ccmas"], "ccmas"),
        "max informedness": (row["max_informedness"], "max_informedness"),
        "false-alarm proportion at max informedness": (row["mi_false_alarm"], "mi_false_alarm"),
        "max informedness for its class": (numbers["class_max_informedness"], None),
        "false-alarm proportion there": (numbers["class_mi_false_alarm"], None),
        f"images of its class above the top-{n} cut": (numbers[f"top{n}_hits"], "top60_hits"),
        "images of its class": (numbers["class_count"], "class_count"),
        f"recall at the top-{n} cut": (numbers[f"top{n}_recall"], "top60_recall"),
        f"false-alarm proportion at the top-{n} cut": (
            numbers[f"top{n}_false_alarm"],
            "top60_false_alarm",
        ),
        "images at exactly 0 (all classes)": (numbers["n_zero_all"], "n_zero_all"),
        "images of its class at exactly 0": (numbers["n_zero_class"], "n_zero_class"),
        "share of its class at exactly 0": (numbers["share_zero_class"], "share_zero_class"),
        "mean activation of its class": (numbers["class_mean"], "class_mean"),
        "largest activation of its class": (numbers["class_max"], "class_max"),
    }
    table = pd.DataFrame(
        {
            name: (value, theirs.get(key, np.nan) if key else np.nan)
            for name, (value, key) in rows.items()
        },
        index=[
            f"this run: {unit.label} ({class_names[unit.cls]})",
            f"paper: {unit_label(layer, index)} ({PAPER_FIG4_CLASS})",
        ],
    ).T
    table.attrs["bounds"] = [
        name
        for name, (_, key) in rows.items()
        if key and is_lower_bound(reported, key, layer, index)
    ]
    return table


def image_count_rows(table: pd.DataFrame) -> list[str]:
    """The rows of `fig4_beside_paper` that count images (shown as whole numbers)."""
    return [row for row in table.index if row.startswith("images")]


def fig4_shown(table: pd.DataFrame) -> pd.DataFrame:
    """`fig4_beside_paper` as the page shows it: counts as whole numbers, this run's other
    numbers to three decimals, the paper's as the data file holds them (its own digits),
    its bounds as bounds (``> 0.99``), empty cells empty."""
    counts, bounds = set(image_count_rows(table)), set(table.attrs.get("bounds", []))
    paper_column = table.columns[1]

    def cell(row: str, column: str, value: float) -> str:
        if value != value:
            return ""
        if row in counts:
            return f"{value:,.0f}"
        if column != paper_column:
            return f"{value:.3f}"
        return ("> " if row in bounds else "") + f"{value:.4g}"

    return pd.DataFrame(
        {c: [cell(r, c, table.loc[r, c]) for r in table.index] for c in table.columns},
        index=table.index,
    )


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
        theirs = reported[(reported["case"] == case) & (reported["layer"] == r["layer"])]
        value = theirs.set_index("measure")["value"].astype(float)
        rows.append(
            {
                "ranked by": "CCMAS" if case == "top ccmas" else "precision",
                "layer": r["layer"],
                "unit": unit_label(r["layer"], r["unit"]),
                "CCMAS": r["ccmas"],
                "precision": r[precision],
                "paper unit": unit_label(r["layer"], theirs["unit"].iloc[0]) if len(theirs) else "",
                "paper CCMAS": value.get("ccmas", np.nan),
                "paper precision": value.get("precision_100", np.nan),
            }
        )
    return pd.DataFrame(rows)


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


def appendix_c_beside_paper(c_table: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """`ccmas_vs_ccmas2` beside Appendix C's per-layer means (this run's mean difference
    has no counterpart in the paper)."""
    theirs = reported[(reported["source"] == "Appendix C") & reported["layer"].notna()]
    beside = paper.beside_paper(
        c_table[["mean_ccmas", "mean_ccmas_2"]], theirs[theirs["unit"].isna()], "layer", wide=True
    )
    beside[("mean_difference", "this run")] = c_table["mean_difference"]
    return beside


# --- the paper's findings, each as a test this run passes or not --------------------------------


def paper_findings(
    table: pd.DataFrame, precision: str = "precision_60", reported: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Section 3.1's and Appendix C's findings, each as a test this run passes or not:
    ``finding`` (with its criterion), the ``paper``'s numbers (from `reported`, by default
    the data file), ``this run``'s, ``same`` (True where this run shows the finding too)
    and ``kind`` (``popular`` for the findings on precision and CCMAS, ``localist`` for the
    grandmother units, ``signal`` for those on the best recall at perfect precision and the
    fewest false alarms, ``ccmas2`` for Appendix C). Shares of precision and
    CCMAS are over the fully connected layers (all layers if there are none)."""
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
            "popular",
        ),
        (
            "some fc units have CCMAS above .9",
            theirs["ccmas"],
            f"{fc_names}: {n_ccmas:,} of {len(fc):,} ({n_ccmas / len(fc):.1%})",
            n_ccmas > 0,
            "popular",
        ),
        (
            "no unit is localist",
            theirs["localist"],
            f"{n_localist:,} of {len(table):,}",
            n_localist == 0,
            "localist",
        ),
        (
            "the best recall at perfect precision is below .1",
            theirs["recall"],
            f"{best_recall['value']:.2f} ({best_recall['unit']})",
            best_recall["value"] < 0.1,
            "signal",
        ),
        (
            "every unit has over 90% false alarms at its best threshold",
            theirs["fewest"],
            f"fewest {fewest['value']:.0%} ({fewest['unit']})",
            fewest["value"] > 0.9,
            "signal",
        ),
        (
            "mean CCMAS2 is within .05 of mean CCMAS in every layer",
            theirs["gaps"],
            ", ".join(f"{layer} {gap:.3f}" for layer, gap in gaps.items()),
            bool((gaps.abs() <= 0.05).all()),
            "ccmas2",
        ),
    ]
    return pd.DataFrame(rows, columns=["finding", "paper", "this run", "same", "kind"])


def _paper_findings(reported: pd.DataFrame) -> dict[str, str]:
    """The paper's side of `paper_findings`, written from its data file."""
    layer, n_precise, n_units = paper_share(reported, "n_precision_above_0.9")
    _, n_ccmas, _ = paper_share(reported, "n_ccmas_above_0.9")
    localist = reported.loc[reported["measure"] == "n_localist", "value"].sum()
    extremes = paper_extremes(reported)
    means = paper_appendix_c_means(reported)
    gaps = means["mean_ccmas"] - means["mean_ccmas_2"]
    recall = extremes.loc["best_recall_p100"]
    return {
        "precise": f"{layer}: {n_precise:,.0f} of {n_units:,.0f} ({n_precise / n_units:.1%})",
        "ccmas": f"{layer}: {n_ccmas:,.0f} of {n_units:,.0f} ({n_ccmas / n_units:.0%})",
        "localist": "none" if localist == 0 else f"{localist:,.0f}",
        "recall": f"{as_printed(recall['paper'], 2)} ({recall['paper unit']})",
        "fewest": f"fewest {extremes.loc['min_mi_false_alarm', 'paper']:.0%}",
        "gaps": f"{as_printed(gaps.min(), 3)} to {as_printed(gaps.max(), 3)}",
    }


def findings_shown(findings: pd.DataFrame) -> pd.DataFrame:
    """`paper_findings` as the page shows it: ``same`` as yes or no, without ``kind``."""
    shown = findings.assign(same=findings["same"].map({True: "yes", False: "no"}))
    return shown.drop(columns="kind", errors="ignore")
