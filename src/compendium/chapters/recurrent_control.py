"""Chapter 5 (the positive control): the summaries, charts and verdict of the recurrent
networks that recall lists or single words (`compendium.methods.recurrent` trains and
measures them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from compendium.chapters import plots
from compendium.measures.classes import top_n_cut
from compendium.methods.recurrent import (
    DISTRIBUTION_MEASURES,
    LIST_CONDITION,
    SINGLE_CONDITION,
    ConditionResult,
    letter_class_names,
)


def most_selective_unit(measures: pd.DataFrame) -> int:
    """The most grandmother-like unit: highest recall at 100% precision, then maximum
    informedness, then localist gap (ties: the lower unit number)."""
    ranked = measures.sort_values(
        ["recall_p100", "max_informedness", "localist_gap"], ascending=False, kind="stable"
    )
    return int(ranked.index[0])


def training_table(results: Mapping[str, ConditionResult]) -> pd.DataFrame:
    """Per condition: longest list, training time and recall accuracy on fresh lists."""
    rows = {}
    for name, result in results.items():
        trained = result.trained
        rows[name] = {
            "longest list": trained.config.list_length,
            "hidden units": trained.config.hidden_size,
            "updates": trained.config.steps,
            "training time (s)": round(trained.seconds, 1),
            "final loss": round(trained.final_loss, 4),
            **{f"{what} recalled": round(value, 3) for what, value in trained.accuracy.items()},
            "chance (letters)": round(1 / trained.config.n_letters, 3),
        }
    return _table(rows)


def selectivity_summary(results: Mapping[str, ConditionResult]) -> pd.DataFrame:
    """Per condition: counts of selective units and the median of each compared measure."""
    rows = {}
    for name, result in results.items():
        m = result.measures
        rows[name] = {
            "units": len(m),
            "localist units (recall at 100% precision = 1)": int((m["recall_p100"] == 1).sum()),
            "units with recall at 100% precision >= .5": int((m["recall_p100"] >= 0.5).sum()),
            "units with max informedness >= .9": int((m["max_informedness"] >= 0.9).sum()),
            "units with precision_60 >= .75 (Zhou's 'detector')": int(
                (m["precision_60"] >= 0.75).sum()
            ),
            **{f"median {c}": round(float(m[c].median()), 3) for c in DISTRIBUTION_MEASURES},
        }
    return _table(rows)


def _table(rows: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """Columns of mixed counts and values, each cell shown as given (ints stay ints)."""
    return pd.DataFrame({name: pd.Series(row, dtype=object) for name, row in rows.items()})


def describe_contrast(results: Mapping[str, ConditionResult]) -> str:
    """One paragraph on this run's localist units in the two conditions, and whether they
    go the way Bowers et al. reported (more under the superposition constraint)."""
    counts = {name: _selective_counts(result.measures) for name, result in results.items()}
    (lists, near_lists, n_units), (single, near_single, _) = (
        counts[LIST_CONDITION],
        counts[SINGLE_CONDITION],
    )
    facts = (
        f"Of {n_units} hidden units, the list network has {lists} localist and the single-word "
        f"network {single}; {near_lists} and {near_single} respectively recall at least half "
        f"of their class at perfect precision."
    )
    if lists > single:
        meaning = (
            "The measures find localist units where the network must hold several "
            "words at once and fewer where it need not: the direction Bowers et al. "
            "reported, here with a few units rather than many."
        )
    elif lists == single == 0 and near_lists > near_single:
        meaning = (
            "Neither network has a localist unit, so this run cannot show the measures "
            "finding one in a trained network; the list network's units do come "
            "closer to it."
        )
    elif lists == single == 0:
        meaning = (
            "Neither network has a localist unit, and the list network's units come "
            "no closer to it: this run does not show the contrast Bowers et al. "
            "reported."
        )
    else:
        meaning = "This run does not show the contrast Bowers et al. reported."
    return f"{facts} {meaning}"


def _selective_counts(measures: pd.DataFrame) -> tuple[int, int, int]:
    """Localist units, units with recall at 100% precision >= .5, and all units."""
    recall = measures["recall_p100"]
    return int((recall == 1).sum()), int((recall >= 0.5).sum()), len(measures)


def measures_long(
    results: Mapping[str, ConditionResult], measures: Sequence[str] = DISTRIBUTION_MEASURES
) -> pd.DataFrame:
    """One row per (condition, unit, measure): the input of `distribution_chart`."""
    parts = [
        result.measures[list(measures)]
        .reset_index()
        .melt(id_vars="unit", var_name="measure", value_name="value")
        .assign(condition=name)
        for name, result in results.items()
    ]
    return pd.concat(parts, ignore_index=True)


def distribution_chart(long: pd.DataFrame, seed: int = 0) -> alt.FacetChart:
    """Every unit's value of each measure, one row per measure, the conditions side by
    side on the vertical axis (jittered), in the colours of `compendium.chapters.plots`."""
    rng = np.random.default_rng(seed)
    table = long.assign(jitter=rng.uniform(0, 1, len(long)), value=long["value"].astype(float))
    conditions_order = list(dict.fromkeys(table["condition"]))
    points = (
        alt.Chart()
        .mark_point(filled=True, size=30, opacity=0.6)
        .encode(
            x=alt.X("value:Q", title=None, scale=alt.Scale(zero=False, nice=True)),
            y=alt.Y("condition:N", sort=conditions_order, title=None),
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "condition:N",
                sort=conditions_order,
                title=None,
                scale=alt.Scale(range=[plots.HIGHLIGHT_COLOUR, plots.OTHER_COLOUR]),
            ),
            tooltip=["condition:N", "unit:Q", "measure:N", alt.Tooltip("value:Q", format=".4g")],
        )
        .properties(width=plots.WIDTH, height=90)
    )
    return (
        alt.layer(points, data=alt.InlineData(values=table.to_dict(orient="records")))
        .facet(
            row=alt.Row(
                "measure:N",
                sort=list(dict.fromkeys(table["measure"])),
                title=None,
                header=alt.Header(labelAngle=0, labelAlign="left", labelFontSize=plots.FONT_SIZE),
            )
        )
        .resolve_scale(x="independent")
        .configure_axis(labelFontSize=plots.FONT_SIZE - 1)
        .configure_legend(labelFontSize=plots.FONT_SIZE - 1, orient="bottom")
    )


def unit_jitterplot(
    activations: np.ndarray,
    measures: pd.Series,
    vocab: np.ndarray,
    n_letters: int,
    title: str,
    seed: int = 0,
) -> alt.LayerChart:
    """`plots.jitterplot` of one unit (`activations`: one value per word; `measures`: its
    row of `letter_measures`) with classes = letters in the position where it is most
    selective, its best class highlighted, and the top-60 cut and max-informedness
    threshold drawn."""
    position = int(measures["position"])
    x = np.asarray(activations, dtype=float)
    return plots.jitterplot(
        x,
        vocab[:, position],
        letter_class_names(n_letters, vocab.shape[1], position),
        title,
        highlight_class=int(measures["mi_class"]),
        thresholds={
            "top-60 cut": top_n_cut(x, 60),
            "max-informedness threshold": float(measures["mi_threshold"]),
        },
        seed=seed,
    )


# -- planted units with a known answer ----------------------------------------------------
