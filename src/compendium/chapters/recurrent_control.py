"""Chapter 5 (the positive control): the summaries, charts and verdict of the recurrent
networks that recall lists or single words (`compendium.methods.recurrent` trains and
measures them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from compendium.chapters import plots
from compendium.chapters.exercises import Exercise
from compendium.measures.classes import top_n_cut
from compendium.methods.recurrent import (
    ALPHABET,
    DISTRIBUTION_MEASURES,
    LIST_CONDITION,
    PLANTED,
    SINGLE_CONDITION,
    TEST_LISTS,
    ConditionResult,
    RecallConfig,
    letter_class_names,
    spell,
)

#: The measures the tables of single units show, in their order.
SHOWN = [
    "letter_class",
    "localist",
    "localist_gap",
    "recall_p100",
    "recall_p95",
    "max_informedness",
    "mi_recall",
    "mi_specificity",
    "mi_false_alarm",
    "precision_60",
    "precision_100",
    "ccmas",
    "ccmas_classmean",
]
#: Zhou et al.'s "detector": more than this share of the top 60 from one class.
ZHOU_PRECISION = 0.75
#: The selectivity summary's rows, short enough to fit the page.
LOCALIST = "localist (recall at 100% precision = 1)"
HALF = "recall at 100% precision >= .5"
INFORMED = "max informedness >= .9"
ZHOU = "precision of the top 60 >= .75 (Zhou)"


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
            LOCALIST: int((m["recall_p100"] == 1).sum()),
            HALF: int((m["recall_p100"] >= 0.5).sum()),
            INFORMED: int((m["max_informedness"] >= 0.9).sum()),
            ZHOU: int((m["precision_60"] >= ZHOU_PRECISION).sum()),
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


#: Width of each row of `distribution_chart`: with its row labels it fits the page.
DISTRIBUTION_WIDTH = 400


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
        .properties(width=DISTRIBUTION_WIDTH, height=90)
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


def planted_table(measures: pd.DataFrame) -> pd.DataFrame:
    """The planted units' measures, one column per unit."""
    return measures[SHOWN].rename(index=dict(enumerate(PLANTED))).T


def describe_planted(measures: pd.DataFrame) -> str:
    """What the measures make of the two planted units, from their numbers."""
    cell, spread = measures.iloc[0], measures.iloc[1]
    localist = bool(cell["localist"])
    text = (
        f"The planted grandmother cell {'is' if localist else 'is not'} localist, recalls "
        f"{float(cell['recall_p100']):.0%} of its class at perfect precision and reaches "
        f"maximum informedness {float(cell['max_informedness']):.2f}, with a false-alarm "
        f"proportion of {float(cell['mi_false_alarm']):.2f} at its best threshold; its "
        f"precision of the top 60 is {float(cell['precision_60']):.2f}. Its CCMAS is "
        f"{float(cell['ccmas']):.2f}"
    )
    text += (
        ", well below 1, because the other words do not leave it silent: a resting level "
        "is enough to pull down the contrast of class means."
        if float(cell["ccmas"]) < 0.9
        else "."
    )
    text += (
        f" The distributed unit {'is' if bool(spread['localist']) else 'is not'} localist; its "
        f"best threshold reaches informedness {float(spread['max_informedness']):.2f} and lets "
        f"through other words for a false-alarm proportion of "
        f"{float(spread['mi_false_alarm']):.2f}, and its CCMAS is {float(spread['ccmas']):.2f}."
    )
    return text


def describe_task(config: RecallConfig, vocab: np.ndarray) -> str:
    """This run's task and networks in one paragraph."""
    class_size = len(vocab) // config.n_letters
    return (
        f"This run: {config.n_letters} letters (`{ALPHABET[: config.n_letters]}`) in "
        f"{config.word_length} positions make {len(vocab):,} words, from `{spell(vocab[0])}` "
        f"to `{spell(vocab[-1])}`; each letter-in-position class holds {class_size} words. "
        f"Lists in the list condition hold 1 to {config.list_length} words; the network has "
        f"{config.hidden_size} hidden units and trains for {config.steps:,} updates of "
        f"{config.batch_size} lists."
    )


def run_description(config: RecallConfig, results: Mapping[str, ConditionResult]) -> dict[str, str]:
    """What this chapter measures, for its banner: its own words and networks."""
    accuracy = "; ".join(
        f"{result.trained.accuracy['words']:.1%} of the words of {TEST_LISTS:,} fresh lists of "
        f"{result.trained.config.list_length} recalled by the network trained on {name}"
        for name, result in results.items()
    )
    return {
        "Data": (
            f"every string of {config.word_length} letters over an alphabet of "
            f"{config.n_letters} ({config.n_words:,} words), made here; the profile's images "
            "are not used"
        ),
        "Network": (
            f"two simple recurrent (Elman) networks of {config.hidden_size} logistic hidden "
            f"units, one trained on lists of 1 to {config.list_length} words and one on single "
            f"words, each for {config.steps:,} Adam updates of {config.batch_size} lists "
            f"(learning rate {config.learning_rate:g}, seed {config.seed}), read from "
            "`data/weights/recurrent` when shipped for these settings, else from the cache or "
            f"trained here. Test accuracy: {accuracy}"
        ),
        "Recorded": (
            "the hidden state right after each word of the vocabulary is shown alone, for "
            "both networks; the classes are the letters in each position"
        ),
    }


def best_units(results: Mapping[str, ConditionResult]) -> dict[str, int]:
    """The most selective unit of each network (`most_selective_unit`)."""
    return {name: most_selective_unit(result.measures) for name, result in results.items()}


def best_units_table(
    results: Mapping[str, ConditionResult], best: Mapping[str, int]
) -> pd.DataFrame:
    """The measures of each network's most selective unit, one column per network."""
    return pd.DataFrame(
        {
            f"{name}: unit {unit}": results[name].measures.loc[unit, SHOWN]
            for name, unit in best.items()
        }
    )


def describe_detectors(summary: pd.DataFrame, class_size: int) -> str:
    """How many units of each network pass Zhou's test and the localist test, and whether
    the vocabulary lets a unit pass Zhou's test at all."""
    zhou, localist = summary.loc[ZHOU], summary.loc[LOCALIST]
    text = (
        f"In the list network {zhou[LIST_CONDITION]} units pass that test and "
        f"{localist[LIST_CONDITION]} are localist; in the single-word network, "
        f"{zhou[SINGLE_CONDITION]} and {localist[SINGLE_CONDITION]}."
    )
    if class_size < ZHOU_PRECISION * 60:
        text += (
            f" With {class_size} words per class, though, no unit can pass it in this run: at "
            f"most {class_size} of its top 60 words can share a letter."
        )
    return text


def exercises(
    config: RecallConfig,
    planted: np.ndarray,
    planted_measures: pd.DataFrame,
    results: Mapping[str, ConditionResult],
    vocab: np.ndarray,
) -> list[Exercise]:
    """The chapter's exercises, each solution computed from this run."""
    return [
        _exercise_resting_level(planted, planted_measures, vocab),
        _exercise_class_size(config),
        _exercise_best_informedness(results),
    ]


def _exercise_resting_level(
    planted: np.ndarray, measures: pd.DataFrame, vocab: np.ndarray
) -> Exercise:
    row = measures.iloc[0]
    member = vocab[:, int(row["position"])] == int(row["mi_class"])
    mean_a = float(planted[member, 0].mean())
    rest = float(planted[~member, 0].mean())
    target = 0.9
    needed = mean_a * (1 - target) / (1 + target)
    return Exercise(
        label="ex-recurrent-resting-level",
        title="How silent must the other words be?",
        question=(
            f"The planted grandmother cell is localist, yet its CCMAS is "
            f"{float(row['ccmas']):.2f}. Its own class averages {mean_a:.3f}. How low would "
            f"the mean of all other words have to be for a CCMAS of {target}?"
        ),
        solution=(
            rf"CCMAS $= (\mu_A - \mu_{{\neg A}}) / (\mu_A + \mu_{{\neg A}})$, so "
            rf"$\mu_{{\neg A}} = \mu_A (1 - c) / (1 + c)$: for $c = {target}$ that is "
            f"{mean_a:.3f} × {1 - target:.1f} / {1 + target:.1f} = {needed:.3f}, against the "
            f"{rest:.3f} the other words give now. A unit can separate its class perfectly "
            "and still score a modest CCMAS, as long as everything else stays a little active."
        ),
    )


def _exercise_class_size(config: RecallConfig) -> Exercise:
    size = config.n_letters ** (config.word_length - 1)
    more = config.n_letters * 2
    more_size = more ** (config.word_length - 1)
    return Exercise(
        label="ex-recurrent-class-size",
        title="How big is a letter class?",
        question=(
            f"With {config.n_letters} letters in {config.word_length} positions, how many "
            "words share a letter in a given position? Can a unit reach a precision of 1 of "
            f"the top 100? And with {more} letters?"
        ),
        solution=(
            f"A class fixes one position, so the other {config.word_length - 1} take any "
            f"letter: ${config.n_letters}^{{{config.word_length - 1}}}$ = {size:,} words. "
            + (
                "That is at least 100, so a precision of 1 is possible."
                if size >= 100
                else f"That is fewer than 100, so at most {size} of the top 100 can share a "
                f"letter: precision of the top 100 cannot exceed {size / 100:.2f}."
            )
            + f" With {more} letters a class holds {more_size:,} words."
        ),
    )


def _exercise_best_informedness(results: Mapping[str, ConditionResult]) -> Exercise:
    measures = results[LIST_CONDITION].measures
    unit = int(measures["max_informedness"].astype(float).idxmax())
    row = measures.loc[unit]
    return Exercise(
        label="ex-recurrent-best-informedness",
        title="The list network's most informative unit",
        question=(
            "In the distribution chart, find the list network's unit with the highest maximum "
            "informedness (hover the dots). Is it localist? What share of the words above its "
            "best threshold belong to other classes?"
        ),
        solution=(
            f"It is unit {unit}, for `{row['letter_class']}`, with maximum informedness "
            f"{float(row['max_informedness']):.3f}. It {'is' if bool(row['localist']) else 'is not'} "
            f"localist (recall at 100% precision {float(row['recall_p100']):.2f}); at its best "
            f"threshold it catches {float(row['mi_recall']):.0%} of its class, and "
            f"{float(row['mi_false_alarm']):.0%} of the words above that threshold are false "
            "alarms."
        ),
    )
