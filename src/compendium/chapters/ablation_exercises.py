"""Chapter 9's exercises: silencing units and training for selectivity, with solutions
written from the run's tables (`compendium.chapters.ablation`: the single-unit summary, the
correlations and the alpha sweep). A part of the chapter that did not run (no network, no
sweep) gives no exercise.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from compendium.chapters.ablation import LABELS, p_short, percentage_points, pooled_sweep
from compendium.chapters.exercises import Exercise
from compendium.chapters.page import join_words


def exercises(
    summary: pd.DataFrame | None,
    found: Mapping[str, pd.DataFrame] | None,
    sweep: pd.DataFrame | None,
    material_drop: float = 0.01,
) -> list[Exercise]:
    """Up to three exercises: the costliest single unit (`summary`, from
    `single_unit_summary`, against the chapter's `material_drop`), the measure that best
    predicts the damage (`found`, from `correlations`) and what the regulariser buys
    (`sweep`, from `sweep_summary`)."""
    made = [
        costliest_unit(summary, material_drop),
        best_predictor(found),
        selectivity_price(sweep),
    ]
    return [exercise for exercise in made if exercise is not None]


def costliest_unit(summary: pd.DataFrame | None, material_drop: float = 0.01) -> Exercise | None:
    """Which single unit costs the most accuracy, in the layer where one unit costs most."""
    if summary is None or summary.empty:
        return None
    rows = summary[summary["own class by"] == summary["own class by"].iloc[0]]
    row = rows.loc[rows["largest drop"].idxmax()]
    cheap = row["largest drop"] <= material_drop
    why = (
        f"Why can a network lose any one of its {int(row['units']):,} units so cheaply?"
        if cheap
        else "Which class pays most for a silenced unit?"
    )
    explained = (
        f"No unit of {row['layer']} costs more than the chapter's material drop of "
        f"{percentage_points(material_drop)}: the layers above read many units at once, and "
        f"every class is carried by many of them, so the others make up for the one that "
        f"is gone."
        if cheap
        else f"That is more than the chapter's material drop of "
        f"{percentage_points(material_drop)}: this layer has a unit the network cannot "
        f"do without."
    )
    return Exercise(
        label="ex-ablation-costliest",
        title="The costliest unit",
        question=(
            f"In the single-unit table, which unit of {row['layer']} costs the network the "
            f"most accuracy when it is silenced, and how much? Compare it with the layer's "
            f"mean drop and with the largest drop of a single class. {why}"
        ),
        solution=(
            f"{row['largest-drop unit']} costs {percentage_points(row['largest drop'])} of "
            f"overall accuracy (from {row['intact accuracy']:.4f}). The mean drop over the "
            f"layer's {int(row['units']):,} units is {percentage_points(row['mean drop'])} "
            f"(a negative drop is a gain). One class can lose more: the largest drop of any "
            f"class is {percentage_points(row['largest class drop'])} "
            f"({row['its unit and class']}). {explained}"
        ),
    )


def best_predictor(found: Mapping[str, pd.DataFrame] | None) -> Exercise | None:
    """Which measure's ranking of the units agrees best with its class's damage, per layer."""
    if found is None or found["own"].empty:
        return None
    own = found["own"].dropna(subset=["rho"])
    if own.empty:  # every measure or every drop constant: no correlation to rank
        return None
    best = own.loc[own.groupby("layer", sort=False)["rho"].idxmax()]
    lines = [
        f"{r['layer']}: {LABELS.get(r['measure'], r['measure'])}, rho = {r['rho']:+.2f} "
        f"({p_short(r['p'])})"
        for _, r in best.iterrows()
    ]
    precision = own[own["measure"] == "precision_60"]
    wins = int((best["measure"] == "precision_60").sum())
    said = (
        f"Precision of the top 60 is the best in {wins} of {len(best)} layers; its rho is "
        f"{join_words([f'{r.rho:+.2f} in {r.layer}' for r in precision.itertuples()])}."
        if not precision.empty
        else "Precision of the top 60 was not correlated in this run."
    )
    return Exercise(
        label="ex-ablation-predictor",
        title="Which measure predicts the damage?",
        question=(
            "In the correlation table, which measure correlates best with the accuracy lost "
            "by the class it names, layer by layer? Is it the same measure in every layer, "
            "and is it the precision of the top images that the object-detector studies use?"
        ),
        solution=f"The best measure per layer: {'; '.join(lines)}. {said}",
    )


def selectivity_price(sweep: pd.DataFrame | None) -> Exercise | None:
    """What the lowest and the highest alpha do to SI and to test accuracy, against the run
    nearest alpha = 0."""
    pooled = pooled_sweep(sweep) if sweep is not None and not sweep.empty else None
    if pooled is None or len(pooled) < 2:
        return None
    low, high = pooled.iloc[0], pooled.iloc[-1]
    base = pooled.iloc[pooled["alpha"].abs().argmin()]
    runs = [low, base, high] if low["alpha"] < base["alpha"] < high["alpha"] else [low, high]
    both = len(runs) == 3
    return Exercise(
        label="ex-ablation-price",
        title="The price of selectivity",
        question=(
            f"From the sweep's table, how does SI (over every unit of the regularised "
            f"layers) change from alpha = {low['alpha']:g} to alpha = {high['alpha']:g}, and "
            f"what happens to test accuracy?"
            + (" Which direction of the regulariser costs more?" if both else "")
        ),
        solution=(
            f"SI is {join_words([f'{r.SI:.3f} at alpha = {r.alpha:g}' for r in runs])}; test "
            f"accuracy is {join_words([f'{r.accuracy:.4f}' for r in runs])}. "
            f"{_costlier(low, base, high)} The chapter's verdict above says which of these "
            f"differences are larger than chance would give."
        ),
    )


def _costlier(low: pd.Series, base: pd.Series, high: pd.Series) -> str:
    """What each direction the sweep tried costs against the run nearest alpha = 0."""

    def cost(run: pd.Series) -> str:
        lost = base["accuracy"] - run["accuracy"]
        return percentage_points(lost) if lost > 0 else "nothing"

    parts = []
    if low["alpha"] < base["alpha"]:
        parts.append(f"penalising selectivity (alpha = {low['alpha']:g}) costs {cost(low)}")
    if high["alpha"] > base["alpha"]:
        parts.append(f"rewarding it (alpha = {high['alpha']:g}) costs {cost(high)}")
    return f"Against alpha = {base['alpha']:g}, {' and '.join(parts)} of accuracy."
