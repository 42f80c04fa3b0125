"""Chapter 7: do selective units matter? Ablation and selectivity regularisation.

The page (notebooks/09_ablation.py) only calls and displays; this module holds its
parameters (`ChapterPlan`), the runs it shows (`ablate_layers`, `regularisation_sweep`),
the summaries of their tables, the charts, and the ``describe_*`` functions that write
every sentence about this run from its numbers. The related studies' findings (Morcos et
al. 2018; Zhou et al. 2018; Leavitt & Morcos 2021) come from the paper-numbers file
(`compendium.chapters.paper.reported`), each with its source; a finding is stated there as
1 (the study reports it) or 0 (the study reports that it does not hold).

Words used on the page, with the numbers that decide them (both are chapter parameters):
a single ablation *hurts* when it costs more than ``material_drop`` of accuracy (overall
or of a class); a measure *predicts* damage when its Spearman correlation with the damage
is at least ``predictive_rho`` with a permutation p below .05.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from torch import nn

from compendium.chapters import detectors
from compendium.chapters.plots import FONT_SIZE, GROUP_COLOURS, HEIGHT, OTHER_COLOUR, WIDTH
from compendium.inputs.datasets import ImageSet, load_fashion_mnist
from compendium.measures import tables
from compendium.methods import ablation as ab
from compendium.methods import regularisation as reg
from compendium.networks.training import TrainConfig, image_tensors, train_config
from compendium.util.errors import CompendiumError

#: The measures correlated with the damage (each with the damage to its own class).
CORRELATED = (
    "precision_60",
    "ccmas",
    "ccmas_classmean",
    "localist_gap",
    "recall_p100",
    "recall_p95",
    "max_informedness",
    "mi_false_alarm",
    "detector_margin",
)
#: Short names of the measures, for tables and charts.
LABELS = {
    "precision_60": "precision (top 60)",
    "ccmas": "CCMAS",
    "ccmas_classmean": "CCMAS (class means)",
    "localist_gap": "localist gap",
    "recall_p100": "recall at precision 1",
    "recall_p95": "recall at precision .95",
    "max_informedness": "max. informedness",
    "mi_false_alarm": "false alarms at max. inf.",
    "detector_margin": "detector margin",
    "random": "random units",
}
#: The measures of the alpha sweep's table (means per layer).
SWEEP_MEASURES = (
    "ccmas_classmean",
    "ccmas",
    "precision_60",
    "recall_p100",
    "max_informedness",
    "mi_false_alarm",
)
#: The study each related finding comes from, as its ``source`` starts in the data file.
STUDIES = ("Morcos et al. 2018", "Zhou et al. 2018", "Gale et al. 2020", "Leavitt & Morcos 2021")
#: Significance level of the chapter's tests.
ALPHA_LEVEL = 0.05


class AblationParameterError(CompendiumError):
    """A parameter of the ablation chapter is out of range; the message names the fix."""


# --- parameters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChapterPlan:
    """The chapter's parameters, checked once at the top of the page."""

    layers: tuple[str, ...] = ("conv5", "fc6", "fc7")
    rankings: tuple[str, ...] = ab.RANKINGS
    ks: tuple[int, ...] | None = None
    n_random: int = 5
    n_permutations: int = 1000
    n_images: int | None = None
    alphas: tuple[float, ...] = (-1.0, -0.3, 0.0, 0.3, 1.0)
    sweep_epochs: int = 2
    sweep_n_train: int | None = 20000
    sweep_layers: tuple[str, ...] = ("conv5", "fc6", "fc7")
    sweep_summary: str = "max"
    material_drop: float = 0.01
    predictive_rho: float = 0.3
    fast: bool = True
    include_silent: bool = False
    seed: int = 0
    threads: int = 2

    @classmethod
    def from_parameters(cls, **values: Any) -> ChapterPlan:
        """The plan from the page's parameters; an error names each bad one."""
        layers = _names(values.get("layers", cls.layers), "layers")
        sweep = values.get("sweep_layers") or layers
        ks = values.get("ks")
        plan = cls(
            layers=layers,
            rankings=_names(values.get("rankings", cls.rankings), "rankings"),
            ks=None if ks is None else tuple(_count(k, "each k") for k in ks),
            n_random=_count(values.get("n_random", cls.n_random), "n_random"),
            n_permutations=_count(
                values.get("n_permutations", cls.n_permutations), "n_permutations"
            ),
            n_images=_optional_count(values.get("n_images", cls.n_images), "n_images"),
            alphas=_alphas(values.get("alphas", cls.alphas)),
            sweep_epochs=_count(values.get("sweep_epochs", cls.sweep_epochs), "sweep_epochs"),
            sweep_n_train=_optional_count(
                values.get("sweep_n_train", cls.sweep_n_train), "sweep_n_train"
            ),
            sweep_layers=_names(sweep, "sweep_layers"),
            sweep_summary=str(values.get("sweep_summary", cls.sweep_summary)),
            material_drop=_share(values.get("material_drop", cls.material_drop), "material_drop"),
            predictive_rho=_share(
                values.get("predictive_rho", cls.predictive_rho), "predictive_rho"
            ),
            fast=bool(values.get("fast", True)),
            include_silent=bool(values.get("include_silent", False)),
            seed=int(values.get("seed", 0)),
            threads=_count(values.get("threads", cls.threads), "threads"),
        )
        unknown = [r for r in plan.rankings if r not in ab.RANKINGS]
        if unknown:
            raise AblationParameterError(
                f"rankings {unknown} are not measures the sweep can rank by; choose among "
                f"{', '.join(ab.RANKINGS)}"
            )
        if plan.sweep_summary not in reg.SUMMARIES:
            raise AblationParameterError(
                f"sweep_summary must be one of {', '.join(reg.SUMMARIES)}, not "
                f"{plan.sweep_summary!r}"
            )
        return plan


def _names(values: Any, name: str) -> tuple[str, ...]:
    if isinstance(values, str) or not values or not all(isinstance(v, str) for v in values):
        raise AblationParameterError(f"{name} must be a list of names, e.g. [fc6]; got {values!r}")
    return tuple(values)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AblationParameterError(f"{name} must be a whole number >= 1; got {value!r}")
    return value


def _optional_count(value: Any, name: str) -> int | None:
    return None if value is None else _count(value, name)


def _share(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise AblationParameterError(f"{name} must be a number between 0 and 1; got {value!r}")
    return float(value)


def _alphas(values: Any) -> tuple[float, ...]:
    ok = isinstance(values, list | tuple) and values
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if not ok or not all(math.isfinite(v) for v in values):
        raise AblationParameterError(
            f"alphas must be a list of numbers, e.g. [-1, 0, 1]; got {values!r}"
        )
    if len(set(values)) != len(values):
        raise AblationParameterError(f"alphas repeat a value: {list(values)}; give each once")
    return tuple(sorted(float(v) for v in values))


# --- the network and its images -----------------------------------------------------------


def no_network_note(source: str) -> str:
    """What the page says when the profile has no small AlexNet to ablate or retrain."""
    return (
        f"**Nothing to ablate here.** This chapter silences and retrains the small AlexNet that "
        f"a profile trains on Fashion-MNIST; this profile's data come from `{source}`, so the "
        f"page has nothing to compute. Run it with the `default` profile (or another profile "
        f"with `source: fashion-mnist`)."
    )


def evaluation_images(n_images: int | None = None) -> ImageSet:
    """The Fashion-MNIST test images the chapter evaluates on: all of them (the spec asks
    for all, not only the correctly classified), or the first `n_images`."""
    data = load_fashion_mnist("test")
    return data.subset(n_images) if n_images else data


@dataclass
class AblationRun:
    """Single-unit ablation of each layer: the long table (one row per layer and unit,
    `compendium.methods.ablation.single_unit_ablation`'s columns), how each layer was
    computed (`records`) and the layers' Ablators (for the top-k sweeps)."""

    table: pd.DataFrame
    records: pd.DataFrame
    ablators: dict[str, ab.Ablator]
    class_names: list[str]
    images: str  #: the name of the images (part of the cache keys)


def ablate_layers(
    model: nn.Module | None,
    model_key: str,
    plan: ChapterPlan,
    *,
    progress: bool = True,
) -> AblationRun | None:
    """Every unit of each of the plan's layers ablated on its own (cached) on the plan's
    test images (`evaluation_images`), with the time each layer took when it was computed;
    None without a network."""
    if model is None:
        return None
    images = evaluation_images(plan.n_images)
    x, y = image_tensors(images)
    tables_, records, ablators = [], [], {}
    for layer in plan.layers:
        stored = ab.stored_input_path(model_key, images.name, layer, len(images))
        ablator = ab.Ablator(model, x, y.numpy(), layer, fast=plan.fast, stored_path=stored)
        table, record = ab.cached_single_units(ablator, model_key, images.name, progress=progress)
        tables_.append(table)
        records.append({"layer": layer, **record})
        ablators[layer] = ablator
    return AblationRun(
        pd.concat(tables_, ignore_index=True),
        pd.DataFrame(records),
        ablators,
        list(images.class_names),
        images.name,
    )


def layer_measures(path, layers: Sequence[str], cache_dir, memory_gb: float = 0.5) -> pd.DataFrame:
    """Every measure of every unit of `layers` of the profile's recording (cached as for
    chapter 2), with the detector margin where the table has the detector columns."""
    selection = tables.unit_selection(path, layers)
    table = tables.measure_selection(
        path,
        selection,
        cache_dir=cache_dir,
        top=(60, 100),
        memory_bytes=int(memory_gb * 2**30),
        progress=False,
    )
    return ab.with_detector_margin(table)


def silent_split(measures: pd.DataFrame | None, plan: ChapterPlan) -> detectors.SilentUnits | None:
    """The book's policy for silent units (`compendium.chapters.detectors.leave_out_silent`):
    units that give every image the same activation are left out of the summaries,
    correlations and charts unless the plan includes them (their measures say nothing
    about selectivity, and silencing them changes nothing)."""
    if measures is None:
        return None
    return detectors.leave_out_silent(measures, plan.include_silent)


def ranking_measures(split: detectors.SilentUnits | None) -> pd.DataFrame | None:
    """The measures the top-k sweeps rank by: silent units left out of the rankings (their
    values set to NaN, so they come last), unless the policy keeps them."""
    if split is None:
        return None
    every = pd.concat([split.kept, split.silent]) if not split.included else split.kept
    columns = [c for c in ab.RANKINGS if c in every.columns]
    every = every.copy()
    if not split.included:
        every.loc[split.silent.index, columns] = np.nan
    return every.sort_values(["layer", "unit"], key=_layer_order(every)).reset_index(drop=True)


def _layer_order(table: pd.DataFrame):
    order = {layer: k for k, layer in enumerate(dict.fromkeys(table["layer"]))}
    return lambda column: column.map(order) if column.name == "layer" else column


def available_rankings(plan: ChapterPlan, measures: pd.DataFrame) -> list[str]:
    """The plan's rankings the measures table has columns for."""
    return [r for r in plan.rankings if r in measures.columns]


def describe_missing_rankings(plan: ChapterPlan, measures: pd.DataFrame | None) -> str | None:
    """A note when a ranking of the plan cannot be used (e.g. no detector columns yet)."""
    if measures is None:
        return None
    missing = [r for r in plan.rankings if r not in measures.columns]
    if not missing:
        return None
    return (
        f"The measures table has no column for {', '.join(LABELS.get(m, m) for m in missing)}, "
        f"so the sweeps below leave {'it' if len(missing) == 1 else 'them'} out."
    )


# --- timings ------------------------------------------------------------------------------


def timing_table(run: AblationRun | None) -> pd.DataFrame | None:
    """How each layer's single-unit ablation was computed and how long it took then."""
    if run is None:
        return None
    columns = ["layer", "n_units", "n_images", "method", "seconds", "threads", "load_average"]
    shown = run.records.reindex(columns=[*columns, "cached"])
    return shown.assign(seconds_per_unit=shown["seconds"] / shown["n_units"]).rename(
        columns={"cached": "read from cache now"}
    )


def describe_timing(run: AblationRun | None, budget_s: float = 300.0) -> str | None:
    """The time the single-unit ablations took, against the chapter's budget."""
    if run is None:
        return None
    records = run.records
    total = float(records["seconds"].sum())
    units = int(records["n_units"].sum())
    methods = ", ".join(sorted(set(records["method"])))
    within = "within" if total <= budget_s else "over"
    load = records["load_average"].max() if "load_average" in records else float("nan")
    busy = (
        f" The machine's load average (over a minute) was {load:.1f} at the time, with "
        f"{int(records['threads'].max())} threads; on a busier machine the same work takes "
        f"longer (`bench/ablation.py` times both ways of ablating on one machine)."
        if np.isfinite(load)
        else ""
    )
    cached = (
        " The tables were read from the cache for this page; the seconds are those of the run "
        "that computed them."
        if records["cached"].all()
        else ""
    )
    return (
        f"Ablating each of the {units:,} units of {', '.join(records['layer'])} on its own, "
        f"on {int(records['n_images'].iloc[0]):,} images, took {total:,.1f} s ({methods}), "
        f"{within} the chapter's budget of {budget_s / 60:.0f} minutes.{busy}{cached}"
    )


# --- part 1: single units -----------------------------------------------------------------


def single_unit_summary(
    run: AblationRun | None,
    measures: pd.DataFrame,
    class_columns: Sequence[str] = ("mi_class", "precision_60_class"),
    *,
    n_permutations: int = 1000,
    seed: int = 0,
) -> pd.DataFrame | None:
    """Per layer and way of naming a unit's own class: the intact accuracy, the mean and
    largest overall drop (with its unit), the mean drop of the own class and of the other
    classes, the share of units whose own class loses more than the others, the sign-flip
    p of that difference, and the largest drop of any class by any unit."""
    if run is None:
        return None
    rows = []
    for column in class_columns:
        damage = ab.own_class_damage(run.table, measures, column)
        for layer, part in damage.groupby("layer", sort=False):
            rows.append(_layer_row(run, layer, part, column, n_permutations, seed))
    return pd.DataFrame(rows)


def _layer_row(run, layer, part, column, n_permutations, seed) -> dict[str, Any]:
    drops = part[[c for c in part.columns if c.startswith("drop_class_")]].to_numpy()
    worst = part.loc[part["drop"].idxmax()]
    flat = int(np.argmax(drops))
    unit_row, cls = divmod(flat, drops.shape[1])
    return {
        "layer": layer,
        "own class by": column,
        "units": len(part),
        "intact accuracy": run.ablators[layer].base_accuracy,
        "mean drop": float(part["drop"].mean()),
        "largest drop": float(worst["drop"]),
        "largest-drop unit": f"{layer}.{int(worst['unit'])}",
        "mean own-class drop": float(part["own_drop"].mean()),
        "mean other-class drop": float(part["other_drop"].mean()),
        "share own > others": float((part["own_minus_other"] > 0).mean()),
        "p": ab.sign_flip_p(part["own_minus_other"], n_permutations, seed),
        "largest class drop": float(drops[unit_row, cls]),
        "its unit and class": f"{layer}.{int(part['unit'].iloc[unit_row])}: {run.class_names[cls]}",
    }


def describe_single_units(summary: pd.DataFrame | None, material_drop: float) -> str | None:
    """Part 1's findings, layer by layer, from `single_unit_summary` (own class by max
    informedness)."""
    if summary is None or summary.empty:
        return None
    mi = summary[summary["own class by"] == summary["own class by"].iloc[0]]
    parts = []
    for _, r in mi.iterrows():
        parts.append(
            f"in {r['layer']}, silencing one unit lowers overall accuracy by "
            f"{percentage_points(r['mean drop'])} on average (a negative drop is a gain) and by "
            f"{percentage_points(r['largest drop'])} at most ({r['largest-drop unit']}); the unit's own "
            f"class drops by {percentage_points(r['mean own-class drop'])} on average against "
            f"{percentage_points(r['mean other-class drop'])} for each other class, its own class drops "
            f"more for {r['share own > others']:.0%} of the units ({_p_text(r['p'])}), and the "
            f"largest drop of any class is {percentage_points(r['largest class drop'])} "
            f"({r['its unit and class']})"
        )
    hurts = mi[mi["largest drop"] > material_drop]["layer"].tolist()
    overall = (
        f"No single unit costs more than {percentage_points(material_drop)} of overall accuracy."
        if not hurts
        else f"Some single units cost more than {percentage_points(material_drop)} of overall accuracy "
        f"in {', '.join(hurts)}."
    )
    text = "; ".join(parts)
    return f"**This run.** {text[0].upper()}{text[1:]}. {overall}"


def hurts_own_class(
    summary: pd.DataFrame | None, material_drop: float = 0.01
) -> pd.DataFrame | None:
    """For the Discussion chapter's table: per layer, "does ablating it hurt its class?",
    from `single_unit_summary` (own class by max informedness): "yes" when the own class
    loses more than the others on average (sign-flip p below .05) and the loss exceeds
    `material_drop`; "slightly" when it is more but not by that much; "no" otherwise. The
    last column, ``answer``, holds the word alone."""
    if summary is None or summary.empty:
        return None
    mi = summary[summary["own class by"] == summary["own class by"].iloc[0]]
    rows = []
    for _, r in mi.iterrows():
        more = r["mean own-class drop"] > r["mean other-class drop"] and r["p"] < ALPHA_LEVEL
        answer = "no"
        if more:
            answer = "yes" if r["mean own-class drop"] > material_drop else "slightly"
        rows.append(
            {
                "layer": r["layer"],
                "does ablating it hurt its class": (
                    f"{answer}: own class {percentage_points(r['mean own-class drop'])}, others "
                    f"{percentage_points(r['mean other-class drop'])} ({_p_text(r['p'])}"
                    + (
                        f"; at most {percentage_points(material_drop)}"
                        if answer == "slightly"
                        else ""
                    )
                    + ")"
                ),
                "answer": answer,
            }
        )
    return pd.DataFrame(rows)


def own_class_answers(
    model: nn.Module | None,
    model_key: str,
    params: Mapping[str, Any],
    store: Any,
    cache_dir: Any,
) -> pd.DataFrame | None:
    """`hurts_own_class` as this chapter computes it with its parameters `params` (its
    notebook's, e.g. from `compendium.build.pipeline.chapter_parameters`), for another page:
    the single-unit ablations of the profile's network `model` (read from the cache when
    this chapter has run) and the measures of its recording `store`. None without a
    network."""
    if model is None:
        return None
    plan = ChapterPlan.from_parameters(**params)
    run = ablate_layers(model, model_key, plan, progress=False)
    measures = layer_measures(store, plan.layers, cache_dir, params.get("memory_gb", 0.5))
    kept = silent_split(measures, plan).kept
    summary = single_unit_summary(run, kept, n_permutations=plan.n_permutations, seed=plan.seed)
    return hurts_own_class(summary, plan.material_drop)


def damage_points(run: AblationRun | None, measures: pd.DataFrame) -> pd.DataFrame | None:
    """One row per unit for the damage scatter: each measure of `CORRELATED` with the drop
    of the class that measure names (``own drop: <measure>``), and the overall drop."""
    if run is None:
        return None
    base = run.table[["layer", "unit", "drop"]].merge(measures, on=["layer", "unit"])
    keep = ["layer", "unit", "drop"]
    for name in CORRELATED:
        if name not in base.columns:
            continue
        own = ab.own_class_damage(run.table, measures, ab.MEASURE_CLASS[name])
        own = own[["layer", "unit", "own_drop", ab.MEASURE_CLASS[name]]].rename(
            columns={"own_drop": f"own drop: {name}", ab.MEASURE_CLASS[name]: f"class: {name}"}
        )
        base = base.merge(own, on=["layer", "unit"], how="left")
        keep += [name, f"own drop: {name}", f"class: {name}"]
    return base[list(dict.fromkeys(keep))]


def damage_chart(points: pd.DataFrame | None, run: AblationRun | None) -> alt.Chart | None:
    """Damage against each measure: one point per unit, one panel per layer; a menu picks
    the measure (the damage is that of the class the measure names); hover a point for its
    unit, class, value and drops."""
    if points is None or points.empty or run is None:
        return None
    class_names = run.class_names
    measures = [n for n in CORRELATED if n in points.columns]
    data = pd.DataFrame(
        {
            "unit": points["layer"] + "." + points["unit"].astype(int).astype(str),
            "layer": points["layer"],
            "drop": points["drop"].round(5),
        }
    )
    for name in measures:
        label = LABELS[name]
        classes = points[f"class: {name}"]
        data[f"v:{label}"] = points[name].round(4)
        data[f"d:{label}"] = points[f"own drop: {name}"].round(5)
        data[f"c:{label}"] = [None if pd.isna(c) else class_names[int(c)] for c in classes]
    choice = alt.param(
        name="measure_choice",
        value=LABELS[measures[0]],
        bind=alt.binding_select(options=[LABELS[m] for m in measures], name="measure "),
    )
    return (
        alt.Chart(_inline(data))
        .transform_calculate(
            value="datum['v:' + measure_choice]",
            own_drop="datum['d:' + measure_choice]",
            cls="datum['c:' + measure_choice]",
            measure="measure_choice",
        )
        .transform_filter("isValid(datum.value) && isValid(datum.own_drop)")
        .mark_circle(size=28, opacity=0.6, color=GROUP_COLOURS[0])
        .encode(
            x=alt.X("value:Q", title="the measure's value"),
            y=alt.Y("own_drop:Q", title="accuracy lost by its class", axis=alt.Axis(format="%")),
            tooltip=[
                alt.Tooltip("unit:N"),
                alt.Tooltip("cls:N", title="class"),
                alt.Tooltip("measure:N"),
                alt.Tooltip("value:Q", format=".3f"),
                alt.Tooltip("own_drop:Q", title="class accuracy lost", format=".2%"),
                alt.Tooltip("drop:Q", title="overall accuracy lost", format=".2%"),
            ],
        )
        .add_params(choice)
        .properties(width=(WIDTH - 90) // 3, height=HEIGHT)
        .facet(column=alt.Column("layer:N", title=None, sort=list(dict.fromkeys(data["layer"]))))
        .resolve_scale(x="independent")
        .properties(title="Does a more selective unit matter more for its class?")
        .configure_axis(labelFontSize=FONT_SIZE - 2, titleFontSize=FONT_SIZE - 1)
        .configure_header(labelFontSize=FONT_SIZE)
        .configure_title(fontSize=FONT_SIZE + 2)
    )


def _inline(table: pd.DataFrame) -> alt.InlineData:
    """The table as inline chart data, with no row limit; NaN becomes null (valid JSON)."""
    values = table.astype(object).where(table.notna(), None)
    return alt.InlineData(values=values.to_dict(orient="records"))


# --- part 1b: top-k -------------------------------------------------------------------------


def top_k_runs(
    run: AblationRun | None,
    measures: pd.DataFrame,
    plan: ChapterPlan,
    model_key: str,
    *,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Each layer's top-k sweep (cached): the long table and how each was computed."""
    if run is None:
        return None
    rankings = available_rankings(plan, measures)
    found, records = [], []
    for layer, ablator in run.ablators.items():
        table, record = ab.cached_top_k(
            ablator,
            measures,
            rankings,
            plan.ks,
            model_key,
            run.images,
            n_random=plan.n_random,
            seed=plan.seed,
            progress=progress,
        )
        found.append(table)
        records.append({"layer": layer, **record})
    return pd.concat(found, ignore_index=True), pd.DataFrame(records)


def top_k_summary(sweep: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per layer, ranking and k: the accuracy (random units: the mean over the draws, with
    their standard deviation ``sd``)."""
    if sweep is None:
        return None
    grouped = sweep.groupby(["layer", "ranking", "k"], sort=False)["accuracy"]
    out = grouped.agg(accuracy="mean", sd="std", draws="count").reset_index()
    out.loc[out["ranking"] != "random", "sd"] = np.nan
    return out


def describe_top_k(summary: pd.DataFrame | None) -> str | None:
    """At each layer's largest k: which rankings cost more accuracy than random units (below
    their mean by more than two SDs), which less, and which as much."""
    if summary is None or summary.empty:
        return None
    parts = []
    for layer, part in summary.groupby("layer", sort=False):
        k = int(part["k"].max())
        at = part[part["k"] == k].set_index("ranking")
        rand = at.loc["random"]
        low, high = rand["accuracy"] - 2 * rand["sd"], rand["accuracy"] + 2 * rand["sd"]
        named = at.drop(index="random")
        worse = [_with_accuracy(r, named) for r in named.index[named["accuracy"] < low]]
        better = [_with_accuracy(r, named) for r in named.index[named["accuracy"] > high]]
        outside = set(named.index[(named["accuracy"] < low) | (named["accuracy"] > high)])
        same = [LABELS.get(r, r) for r in named.index if r not in outside]
        groups = [
            (
                worse,
                "costs more accuracy than random units",
                "cost more accuracy than random units",
            ),
            (better, "costs less than random units", "cost less than random units"),
            (same, "costs as much as random units", "cost as much as random units"),
        ]
        said = "; ".join(
            f"ranking by {_listed(names)} {one if len(names) == 1 else many}"
            for names, one, many in groups
            if names
        )
        parts.append(
            f"with the top {k:,} units of {layer} ablated, random units leave "
            f"{rand['accuracy']:.1%} accuracy (SD {percentage_points(rand['sd'])} over {int(rand['draws'])} "
            f"draws); {said}"
        )
    return "**This run.** " + ". ".join(p[0].upper() + p[1:] for p in parts) + "."


def _with_accuracy(ranking: str, at: pd.DataFrame) -> str:
    return f"{LABELS.get(ranking, ranking)} ({at.loc[ranking, 'accuracy']:.1%})"


def top_k_chart(summary: pd.DataFrame | None) -> alt.FacetChart | None:
    """Accuracy against the number of units ablated, one line per ranking and the random
    units' mean with a band of two SDs either way; one panel per layer, log k."""
    if summary is None or summary.empty:
        return None
    data = summary.assign(
        ranking=summary["ranking"].map(lambda r: LABELS.get(r, r)),
        low=summary["accuracy"] - 2 * summary["sd"],
        high=summary["accuracy"] + 2 * summary["sd"],
    )
    order = list(dict.fromkeys(data["ranking"]))
    colours = [OTHER_COLOUR if r == LABELS["random"] else None for r in order]
    palette = iter(GROUP_COLOURS + ("#17becf", "#7f7f7f", "#bcbd22"))
    colours = [c or next(palette) for c in colours]
    colour = alt.Color(
        "ranking:N", title="ablated units", sort=order, scale=alt.Scale(domain=order, range=colours)
    )
    x = alt.X("k:Q", title="units ablated (k)", scale=alt.Scale(type="log", base=2))
    band = (
        alt.Chart()
        .transform_filter(alt.datum.ranking == LABELS["random"])
        .mark_area(opacity=0.25, color=OTHER_COLOUR)
        .encode(x=x, y="low:Q", y2="high:Q")
    )
    lines = (
        alt.Chart()
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("accuracy:Q", title="test accuracy", axis=alt.Axis(format="%")),
            color=colour,
            tooltip=[
                alt.Tooltip("ranking:N"),
                alt.Tooltip("k:Q"),
                alt.Tooltip("accuracy:Q", format=".2%"),
                alt.Tooltip("sd:Q", title="SD (random)", format=".2%"),
            ],
        )
    )
    return (
        alt.layer(band, lines, data=_inline(data))
        .properties(width=(WIDTH - 90) // 3, height=HEIGHT + 40)
        .facet(column=alt.Column("layer:N", title=None, sort=list(dict.fromkeys(data["layer"]))))
        .resolve_scale(x="independent")
        .properties(title="Accuracy with the k most selective units ablated")
        .configure_axis(labelFontSize=FONT_SIZE - 2, titleFontSize=FONT_SIZE - 1)
        .configure_legend(labelFontSize=FONT_SIZE - 1, orient="bottom", columns=4)
        .configure_header(labelFontSize=FONT_SIZE)
        .configure_title(fontSize=FONT_SIZE + 2)
    )


# --- part 2: correlations -----------------------------------------------------------------


def correlations(
    run: AblationRun | None, measures: pd.DataFrame, plan: ChapterPlan
) -> dict[str, pd.DataFrame] | None:
    """Spearman correlations (permutation p) of each measure with the damage to its own
    class (``"own"``) and with the overall drop (``"overall"``), per layer."""
    if run is None:
        return None
    return {
        target: ab.damage_correlations(
            run.table,
            measures,
            CORRELATED,
            target,
            n_permutations=plan.n_permutations,
            seed=plan.seed,
        )
        for target in ("own", "overall")
    }


def correlation_table(found: Mapping[str, pd.DataFrame] | None) -> pd.DataFrame | None:
    """The correlations as the page shows them: one row per measure, for each layer the
    rho (and p) with the own class's damage and with the overall drop."""
    if found is None:
        return None
    columns = {}
    for layer in dict.fromkeys(found["own"]["layer"]):
        for target, label in (("own", "its class"), ("overall", "overall")):
            part = found[target][found[target]["layer"] == layer]
            columns[(layer, label)] = {
                LABELS.get(r["measure"], r["measure"]): f"{r['rho']:+.2f} ({p_short(r['p'])})"
                for _, r in part.iterrows()
            }
    out = pd.DataFrame(columns)
    out.index.name = "measure"
    return out


def best_predictors(
    found: Mapping[str, pd.DataFrame] | None, target: str = "own"
) -> pd.DataFrame | None:
    """Per layer: the measure with the largest (oriented) rho with the damage, its rho and p."""
    if found is None:
        return None
    table = found[target].dropna(subset=["rho"])
    best = table.loc[table.groupby("layer", sort=False)["rho"].idxmax()]
    return best.reset_index(drop=True)


def describe_correlations(
    found: Mapping[str, pd.DataFrame] | None, predictive_rho: float
) -> str | None:
    """Part 2's verdict: per layer, how many measures predict the damage to their class
    (rho >= `predictive_rho`, p < .05), which predicts it best, and how the measures relate
    to the overall drop."""
    if found is None:
        return None
    own, overall = found["own"], found["overall"]
    parts = []
    for layer, part in own.groupby("layer", sort=False):
        good = part[(part["rho"] >= predictive_rho) & (part["p"] < ALPHA_LEVEL)]
        positive = part[(part["rho"] > 0) & (part["p"] < ALPHA_LEVEL)]
        best = part.loc[part["rho"].idxmax()] if part["rho"].notna().any() else None
        over = overall[overall["layer"] == layer]
        over_best = over.loc[over["rho"].abs().idxmax()] if over["rho"].notna().any() else None
        text = (
            f"in {layer}, {len(positive)} of {len(part)} measures correlate positively and "
            f"significantly with the damage to their class and {len(good)} reach rho "
            f">= {predictive_rho:.2f}"
        )
        if best is not None:
            text += (
                f"; the best predictor is {LABELS.get(best['measure'], best['measure'])} "
                f"(rho {best['rho']:+.2f}, {_p_text(best['p'])})"
            )
        if over_best is not None:
            text += (
                f"; with the overall drop the strongest correlation is "
                f"{LABELS.get(over_best['measure'], over_best['measure'])}'s "
                f"(rho {over_best['rho']:+.2f}, {_p_text(over_best['p'])})"
            )
        parts.append(text)
    return "**This run.** " + ". ".join(p[0].upper() + p[1:] for p in parts) + "."


# --- the related studies ------------------------------------------------------------------


def related_reported(reported: pd.DataFrame) -> pd.DataFrame:
    """The related studies' findings in the paper-numbers file (``case`` ablation or
    regularisation), with the study each comes from."""
    rows = reported[reported["case"].isin(["ablation", "regularisation"])].copy()
    if rows.empty:
        raise AblationParameterError(
            "paper_numbers.csv holds none of the related studies' findings (case ablation or "
            "regularisation): restore its rows"
        )
    rows["study"] = [next((s for s in STUDIES if src.startswith(s)), src) for src in rows["source"]]
    return rows.reset_index(drop=True)


#: What this run computes for each finding of the data file (its ``measure``).
FINDINGS = {
    "single_unit_hurts_overall": "one unit's ablation costs more than the material drop overall",
    "single_unit_hurts_some_class": "one unit's ablation costs some class more than the material drop",
    "selectivity_predicts_overall_damage": "class selectivity (CCMAS with class means) predicts the overall drop",
    "selectivity_predicts_own_class_damage": "class selectivity (CCMAS with class means) predicts the drop of its class",
    "own_class_hurt_more": "a unit's own class (by max. informedness) loses more than the others",
    "accuracy_falls_when_selectivity_reduced": "test accuracy falls when the regulariser lowers selectivity",
    "accuracy_falls_when_selectivity_increased": "test accuracy falls when the regulariser raises selectivity",
}


def this_run_findings(
    summary: pd.DataFrame | None,
    found: Mapping[str, pd.DataFrame] | None,
    sweep: pd.DataFrame | None,
    material_drop: float,
    predictive_rho: float,
    tolerance: float | None = None,
) -> dict[str, tuple[bool | str | None, str]]:
    """Each finding of `FINDINGS` on this run: (holds?, the numbers behind it). A finding
    judged layer by layer holds when it holds in every layer, and is `PARTLY` so when in
    some; None where the run has no numbers for it."""
    out: dict[str, tuple[bool | str | None, str]] = {}
    if summary is not None and not summary.empty:
        mi = summary[summary["own class by"] == summary["own class by"].iloc[0]]
        worst = mi.loc[mi["largest drop"].idxmax()]
        out["single_unit_hurts_overall"] = (
            bool(worst["largest drop"] > material_drop),
            f"largest overall drop {percentage_points(worst['largest drop'])} ({worst['largest-drop unit']})",
        )
        worst_class = mi.loc[mi["largest class drop"].idxmax()]
        out["single_unit_hurts_some_class"] = (
            bool(worst_class["largest class drop"] > material_drop),
            f"largest class drop {percentage_points(worst_class['largest class drop'])} "
            f"({worst_class['its unit and class']})",
        )
        shown = [
            (r["mean own-class drop"] > r["mean other-class drop"]) and r["p"] < ALPHA_LEVEL
            for _, r in mi.iterrows()
        ]
        out["own_class_hurt_more"] = (
            _in_layers(shown),
            ", ".join(
                f"{r['layer']} {percentage_points(r['mean own-class drop'])} vs "
                f"{percentage_points(r['mean other-class drop'])} ({p_short(r['p'])})"
                for _, r in mi.iterrows()
            ),
        )
    if found is not None:
        for target, key in (
            ("overall", "selectivity_predicts_overall_damage"),
            ("own", "selectivity_predicts_own_class_damage"),
        ):
            rows = found[target][found[target]["measure"] == "ccmas_classmean"]
            if rows.empty:
                continue
            holds = [
                (r["rho"] >= predictive_rho) and r["p"] < ALPHA_LEVEL for _, r in rows.iterrows()
            ]
            out[key] = (
                _in_layers(holds),
                ", ".join(
                    f"{r['layer']} rho {r['rho']:+.2f} ({p_short(r['p'])})"
                    for _, r in rows.iterrows()
                ),
            )
    if sweep is not None:
        out.update(_sweep_findings(sweep, tolerance))
    return out


#: What `this_run_findings` says of a finding that holds in some layers and not in others.
PARTLY = "in some layers"


def _in_layers(holds: Sequence[bool]) -> bool | str:
    """A per-layer finding for the run: True in every layer, False in none, else `PARTLY`."""
    if all(holds):
        return True
    return PARTLY if any(holds) else False


def related_findings(
    reported: pd.DataFrame, shown: Mapping[str, tuple[bool | str | None, str]]
) -> pd.DataFrame:
    """The related studies' findings beside this run's: study, finding (as the data file
    words it), what they report, what this run shows (with its numbers) and ``same``
    (yes, no, or partly for a finding that holds in some layers only)."""
    rows = []
    for _, r in related_reported(reported).iterrows():
        theirs = bool(r["value"])
        holds, numbers = shown.get(r["measure"], (None, "not computed on this page"))
        if holds is None:
            said, same = "", ""
        elif holds == PARTLY:
            said, same = f"{PARTLY}: ", "partly"
        else:
            said, same = ("yes: " if holds else "no: "), ("yes" if holds == theirs else "no")
        rows.append(
            {
                "study": r["source"],
                "finding": r["note"],
                "they report it": "yes" if theirs else "no",
                "this run": said + numbers,
                "same": same,
            }
        )
    return pd.DataFrame(rows)


def describe_related(findings: pd.DataFrame) -> str:
    """How many of the related studies' findings this run shows."""
    judged = findings[findings["same"] != ""]
    agree = judged[judged["same"] == "yes"]
    text = f"This run agrees with {len(agree)} of the {len(judged)} related findings it can test"
    for word, label in (("no", "it differs on"), ("partly", "it agrees in some layers only on")):
        rows = judged[judged["same"] == word]
        if len(rows):
            text += f"; {label}: " + "; ".join(
                f"{r['finding']} ({r['study']})" for _, r in rows.iterrows()
            )
    return text + "."


# --- part 3: the alpha sweep --------------------------------------------------------------


def sweep_training(base: TrainConfig, plan: ChapterPlan) -> TrainConfig:
    """The sweep's training: the profile's configuration with the plan's epochs and
    training subset."""
    return train_config(base.to_dict(), epochs=plan.sweep_epochs, n_train=plan.sweep_n_train)


def describe_shortening(
    base: TrainConfig, plan: ChapterPlan, seconds_per_epoch: float | None
) -> str:
    """What the sweep's trainings leave out of the profile's, and the time that saves at the
    speed the profile's own network trained."""
    full_n = 60000
    n = plan.sweep_n_train or full_n
    presented = plan.sweep_epochs * n
    profile_presented = base.epochs * (base.n_train or full_n)
    epochs = f"{plan.sweep_epochs} epoch{'s' if plan.sweep_epochs != 1 else ''}"
    text = (
        f"Each network of the sweep trains for {epochs} on the first {n:,} training images, "
        f"where the profile's network trains for {base.epochs} on "
        f"{(base.n_train or full_n):,}, with the same architecture, optimiser, batch size and "
        f"seed"
    )
    if presented >= profile_presented:
        return text + ": the sweep's trainings are as long as the profile's."
    text += (
        f": {presented:,} image presentations instead of {profile_presented:,}. They are "
        f"shortened so that the {len(plan.alphas)} trainings fit a few minutes"
    )
    if seconds_per_epoch:
        estimate = len(plan.alphas) * presented / full_n * seconds_per_epoch
        text += (
            f" (at the speed the profile's network trained, {seconds_per_epoch:.0f} s per epoch "
            f"of {full_n:,} images, about {_duration(estimate)} for all of them, against "
            f"{_duration(len(plan.alphas) * profile_presented / full_n * seconds_per_epoch)} at "
            f"the profile's length)"
        )
    return text + (
        "; the networks are therefore less accurate than the profile's, and the sweep "
        "compares them with each other (alpha = 0 is the baseline), not with chapter 2's "
        "network."
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} minutes"


def regularisation_sweep(
    base: TrainConfig | None, plan: ChapterPlan, *, threads: int | None = None
) -> dict[float, reg.RegularisedModel] | None:
    """One regularised network per alpha (cached by its configuration); None without a
    network to train."""
    if base is None:
        return None
    configs = reg.sweep_configs(
        sweep_training(base, plan), plan.alphas, plan.sweep_layers, plan.sweep_summary
    )
    return {c.alpha: reg.regularised_model(c, threads=threads or plan.threads) for c in configs}


def sweep_tables(
    models: Mapping[float, reg.RegularisedModel] | None,
    plan: ChapterPlan,
    cache_dir,
    memory_gb: float = 0.5,
) -> pd.DataFrame | None:
    """Every measure of every unit of the measured layers of each regularised network."""
    if models is None:
        return None
    found = [
        reg.sweep_measures(
            m,
            n_images=plan.n_images,
            layers=plan.layers,
            cache_dir=cache_dir,
            top=(60, 100),
            memory_bytes=int(memory_gb * 2**30),
            progress=False,
        )
        for m in models.values()
    ]
    return ab.with_detector_margin(pd.concat(found, ignore_index=True))


def sweep_summary(
    models: Mapping[float, reg.RegularisedModel] | None, measures: pd.DataFrame | None
) -> pd.DataFrame | None:
    """Per alpha and layer: test accuracy, SI on the recorded images (the mean class-mean
    CCMAS over the layer's units, silent units counting 0 as in training), the mean of each
    of `SWEEP_MEASURES` over the units that are not silent, and the units at each of the
    paper's detector bars (`compendium.chapters.detectors.detector_counts`: silent units,
    grandmother units, detectors, Zhou et al.'s detectors)."""
    if models is None or measures is None:
        return None
    silent = detectors.silent_units(measures)
    counts = detectors.detector_counts(measures, by=("alpha", "layer"))
    rows = []
    for (alpha, layer), part in measures.groupby(["alpha", "layer"], sort=False):
        responding = part[~silent.loc[part.index]]
        row = {
            "alpha": alpha,
            "layer": layer,
            "regularised": layer in models[alpha].config.layers,
            "test accuracy": models[alpha].report["test_accuracy"],
            "SI": float(part["ccmas_classmean"].fillna(0).mean()),
        }
        row.update(
            {
                detectors.COUNT_TITLES[name]: int(value)
                for name, value in counts.loc[(alpha, layer)].items()
            }
        )
        for name in SWEEP_MEASURES:
            row[name] = float(responding[name].mean()) if len(responding) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def pooled_sweep(summary: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per alpha: test accuracy and SI pooled over the units of the regularised layers (of
    every layer when the summary does not say which are regularised), with their silent
    units."""
    if summary is None:
        return None
    if "regularised" in summary.columns and summary["regularised"].any():
        summary = summary[summary["regularised"]]
    weighted = summary.assign(si_units=summary["SI"] * summary["units"])
    counted = summary["units"] - summary["silent"]
    if "ccmas_classmean" in summary.columns:
        weighted["si_counted"] = summary["ccmas_classmean"].fillna(0) * counted
    else:
        weighted["si_counted"] = weighted["si_units"]
    weighted["counted"] = counted
    grouped = weighted.groupby("alpha", sort=True)
    out = grouped.agg(
        accuracy=("test accuracy", "first"),
        si_units=("si_units", "sum"),
        si_counted=("si_counted", "sum"),
        units=("units", "sum"),
        counted=("counted", "sum"),
        silent=("silent", "sum"),
    )
    out["SI"] = out["si_units"] / out["units"]
    out["SI responding"] = out["si_counted"] / out["counted"].where(out["counted"] > 0)
    return out.drop(columns=["si_units", "si_counted", "counted"]).reset_index()


def accuracy_tolerance(accuracy: float, n_images: int = 10000) -> float:
    """Two standard errors of the difference between two accuracies near `accuracy`, each
    on `n_images` test images: the smallest change the sweep's words call a change."""
    return 2 * math.sqrt(2 * accuracy * (1 - accuracy) / n_images)


def _sweep_findings(
    summary: pd.DataFrame, tolerance: float | None
) -> dict[str, tuple[bool | None, str]]:
    """Leavitt & Morcos's two findings on this sweep: the runs that penalise selectivity
    (alpha below the run nearest 0) and those that reward it (above), and whether any of
    them loses more than the tolerance of accuracy."""
    pooled = pooled_sweep(summary)
    base = pooled.iloc[(pooled["alpha"]).abs().argmin()]
    tol = tolerance if tolerance is not None else accuracy_tolerance(base["accuracy"])
    out = {}
    for key, side in (
        ("accuracy_falls_when_selectivity_reduced", pooled["alpha"] < base["alpha"]),
        ("accuracy_falls_when_selectivity_increased", pooled["alpha"] > base["alpha"]),
    ):
        runs = pooled[side]
        if runs.empty:
            out[key] = (None, f"no run on that side of alpha = {base['alpha']:g}")
            continue
        falls = bool((runs["accuracy"] < base["accuracy"] - tol).any())
        out[key] = (
            falls,
            ", ".join(
                f"alpha {r['alpha']:g}: SI {r['SI']:.2f}, accuracy {r['accuracy']:.1%}"
                for _, r in runs.iterrows()
            )
            + f" (alpha {base['alpha']:g}: SI {base['SI']:.2f}, {base['accuracy']:.1%})",
        )
    return out


def describe_sweep(summary: pd.DataFrame | None, tolerance: float | None = None) -> str | None:
    """Part 3's verdict: does SI follow alpha (over every unit, silent units counting 0,
    and over the units that respond), and how does each run's test accuracy compare with
    the run nearest alpha = 0 (changes within `tolerance`, by default
    `accuracy_tolerance`, count as none)."""
    if summary is None or summary.empty:
        return None
    pooled = pooled_sweep(summary)
    base = pooled.iloc[(pooled["alpha"]).abs().argmin()]
    tol = tolerance if tolerance is not None else accuracy_tolerance(base["accuracy"])
    rising = bool(np.all(np.diff(pooled["SI"].to_numpy()) > 0))
    first, last = pooled.iloc[0], pooled.iloc[-1]
    text = (
        f"**This run.** SI on the test images goes from {first['SI']:.3f} at alpha = "
        f"{first['alpha']:g} to {last['SI']:.3f} at alpha = {last['alpha']:g}, "
        + ("rising with every step of alpha" if rising else "not rising with every step of alpha")
        + f"; at alpha = {base['alpha']:g} it is {base['SI']:.3f}{_responding(base)} with "
        f"test accuracy {base['accuracy']:.1%}. Against that run (changes within "
        f"{percentage_points(tol)} count as none): "
    )
    changes = []
    for _, r in pooled.iterrows():
        if r["alpha"] == base["alpha"]:
            continue
        diff = r["accuracy"] - base["accuracy"]
        word = "no change" if abs(diff) <= tol else ("higher" if diff > 0 else "lower")
        asked = (r["alpha"] > base["alpha"]) == (r["SI"] > base["SI"])
        against = "" if asked else ", SI moved against the regulariser"
        changes.append(
            f"alpha = {r['alpha']:g}: SI {r['SI']:.3f}{_responding(r)}{against}, accuracy "
            f"{r['accuracy']:.1%} ({word}"
            f"{'' if word == 'no change' else f' by {percentage_points(abs(diff))}'})"
        )
    return text + "; ".join(changes) + "."


def _responding(row: pd.Series) -> str:
    """SI's note on silent units: their number and SI over the units that respond."""
    if not row.get("silent"):
        return ""
    return (
        f" ({int(row['silent']):,} of {int(row['units']):,} units silent; "
        f"{row['SI responding']:.3f} over the others)"
    )


def sweep_chart(
    pooled: pd.DataFrame | None, summary: pd.DataFrame | None
) -> alt.HConcatChart | None:
    """Test accuracy against alpha, and each layer's SI against alpha."""
    if pooled is None or summary is None:
        return None
    x = alt.X("alpha:Q", title="alpha (> 0 rewards selectivity)")
    accuracy = (
        alt.Chart(_inline(pooled), title="Test accuracy")
        .mark_line(point=True, color=GROUP_COLOURS[0])
        .encode(
            x=x,
            y=alt.Y(
                "accuracy:Q",
                title="test accuracy",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(zero=False),
            ),
            tooltip=[
                alt.Tooltip("alpha:Q"),
                alt.Tooltip("accuracy:Q", format=".2%"),
                alt.Tooltip("SI:Q", format=".3f"),
            ],
        )
        .properties(width=(WIDTH - 60) // 2, height=HEIGHT)
    )
    layers = list(dict.fromkeys(summary["layer"]))
    kinds = ["every unit (silent: 0)", "units that respond"]
    keep = ["alpha", "layer", "silent", "max_informedness"]
    long = pd.concat(
        [
            summary[keep].assign(SI=summary["SI"], over=kinds[0]),
            summary[keep].assign(SI=summary["ccmas_classmean"], over=kinds[1]),
        ],
        ignore_index=True,
    )
    selectivity = (
        alt.Chart(_inline(long), title="Selectivity (SI: CCMAS with class means)")
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("SI:Q", title="mean over the units"),
            color=alt.Color(
                "layer:N",
                sort=layers,
                scale=alt.Scale(domain=layers, range=list(GROUP_COLOURS[: len(layers)])),
            ),
            strokeDash=alt.StrokeDash("over:N", title="mean over", sort=kinds),
            tooltip=[
                alt.Tooltip("layer:N"),
                alt.Tooltip("alpha:Q"),
                alt.Tooltip("over:N", title="mean over"),
                alt.Tooltip("SI:Q", format=".3f"),
                alt.Tooltip("max_informedness:Q", title="mean max. informedness", format=".3f"),
                alt.Tooltip("silent:Q", title="silent units"),
            ],
        )
        .properties(width=(WIDTH - 60) // 2, height=HEIGHT)
    )
    return (
        alt.hconcat(accuracy, selectivity)
        .configure_axis(labelFontSize=FONT_SIZE - 2, titleFontSize=FONT_SIZE - 1)
        .configure_legend(labelFontSize=FONT_SIZE - 1, orient="bottom")
        .configure_title(fontSize=FONT_SIZE)
    )


def sweep_timing(models: Mapping[float, reg.RegularisedModel] | None) -> pd.DataFrame | None:
    """Per alpha: the seconds its training took when it was trained, and where the weights
    come from now (cached or trained for this page)."""
    if models is None:
        return None
    return reg.sweep_report(models)


def describe_sweep_timing(timing: pd.DataFrame | None, budget_s: float = 240.0) -> str | None:
    """The total training time of the sweep against the budget the chapter plans for."""
    if timing is None or timing.empty:
        return None
    total = float(timing["seconds"].sum())
    return (
        f"The {len(timing)} trainings took {total:,.0f} s in all when they were trained "
        f"({total / 60:.1f} minutes; the chapter plans about {budget_s / 60:.0f} minutes on two "
        f"quiet cores, so a longer time means a busier or slower machine)."
    )


# --- small helpers ----------------------------------------------------------------------


def percentage_points(share: float) -> str:
    """An accuracy difference in percentage points."""
    return f"{100 * share:.2f} points"


def _p_text(p: float) -> str:
    if not np.isfinite(p):
        return "p undefined"
    return f"permutation p = {p:.3f}" if p >= 0.001 else "permutation p < .001"


def p_short(p: float) -> str:
    if not np.isfinite(p):
        return "p n/a"
    return f"p = {p:.3f}" if p >= 0.001 else "p < .001"


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
