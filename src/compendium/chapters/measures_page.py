"""Chapter 1 (the measures): the worked example, the paper's three made-up units of Fig. A2,
the tie-order experiment on unit (a), and the chapter's exercises.

The page (notebooks/01_measures.py) only calls and displays: every table comes from a
function here, and every sentence that states what this run found comes from a
``describe_*`` function, from the run's numbers, with the paper's numbers read from its data
file (`compendium.chapters.paper.reported`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from compendium.chapters import paper
from compendium.chapters.exercises import Exercise
from compendium.inputs import synthetic
from compendium.measures import unit_measures
from compendium.measures.classes import detection_at, top_n_cut
from compendium.util.errors import CompendiumError

#: The worked example's measures worked out by hand (notebooks/01_measures.py explains
#: each); the page stops if the package ever disagrees.
BY_HAND = {
    "precision_5": 0.6,
    "n_classes_top10": 3,
    "ccmas": 0.4227,
    "ccmas_classmean": 0.4375,
    "ccmas_2": -0.2857,
    "localist": False,
    "recall_p100": 0.5,
    "recall_p95": 0.5,
    "max_informedness": 0.5833,
    "mi_threshold": 5.0,
    "mi_recall": 0.75,
    "mi_specificity": 0.8333,
    "mi_false_alarm": 0.25,
    "mi_fpr": 0.1667,
}
#: The worked example ranks the top 5 and top 10 (a top 60 of ten images makes no sense).
WORKED_TOP = (5, 10)

#: The three units of Fig. A2, by their names in `compendium.inputs.synthetic`.
CASE_TITLES = {
    "a_one_active_item": "(a) one active item",
    "b_grandmother": "(b) grandmother cell",
    "c_one_class_above": "(c) one class above the rest",
}
#: The measures the Fig. A2 table shows, in its order.
FIG_A2_SHOWN = [
    "ccmas",
    "precision_60",
    "precision_100",
    "n_classes_top100",
    "localist",
    "recall_p100",
    "recall_p95",
    "max_informedness",
    "mi_recall",
    "mi_specificity",
    "mi_false_alarm",
    "ccmas_2",
    "ccmas_classmean",
]
#: The top-N cut drawn in the jitterplots of the three units (the paper's precision N).
CUT = 60
#: Precision above this makes a "detector" for Zhou et al. (2015).
ZHOU_PRECISION = 0.75
#: CCMAS above this counts as highly selective in the paper's Section 3.1 counts.
HIGH = 0.9


class WorkedExampleError(CompendiumError):
    """The package's measures of the worked example differ from the hand calculation."""


def run_description(n_classes: int, n_items: int, seed: int) -> dict[str, str]:
    """What this chapter measures, for its banner: made-up units, no network."""
    return {
        "Data": (
            f"made up here (`compendium.inputs.synthetic`): a ten-image worked example and the "
            f"paper's three units of Fig. A2 over {n_classes} classes of {n_items:,} images "
            f"(seed {seed})"
        ),
        "Network": "none: these units are generated, not recorded from a trained network",
        "Recorded": "nothing; the profile's data, network and recording are not used here",
    }


# --- the worked example -------------------------------------------------------------------


def example_table(activations: np.ndarray, labels: np.ndarray, names: list[str]) -> pd.DataFrame:
    """The worked example's images, one column each (most active first): class and
    activation."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    table = pd.DataFrame(
        {"class": [names[c] for c in labels], "activation": x},
        index=pd.Index(range(1, x.size + 1), name="image"),
    )
    return table.T


def worked_example(activations: np.ndarray, labels: np.ndarray) -> tuple[pd.DataFrame, pd.Series]:
    """The hand calculation beside the package's measures of the worked example (the table,
    and the unit's full row of measures); raises `WorkedExampleError` if they differ."""
    measures = unit_measures(activations, labels, top=WORKED_TOP).iloc[0]
    table = pd.DataFrame(
        {"by hand": pd.Series(BY_HAND, dtype=object), "this run": measures[list(BY_HAND)]}
    )
    here, hand = table["this run"].astype(float), table["by hand"].astype(float)
    wrong = list(table.index[~np.isclose(here, hand, atol=1e-4)])
    if wrong:
        raise WorkedExampleError(
            f"the package's {wrong} differ from the hand calculation; a change to "
            "compendium.measures broke the spec's worked example: fix it before building"
        )
    return table, measures


def example_thresholds(activations: np.ndarray, measures: pd.Series) -> dict[str, float]:
    """The worked example's two thresholds: the cut below its top 5 and the best one."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    return {
        f"top-{WORKED_TOP[0]} cut": top_n_cut(x, WORKED_TOP[0]),
        "max-informedness threshold": float(measures["mi_threshold"]),
    }


# --- the three made-up units ----------------------------------------------------------------


def fig_a2_measures(cases: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Every measure of each made-up unit, one row per unit."""
    return pd.DataFrame(
        {case: unit_measures(x[:, None], y).iloc[0] for case, (x, y) in cases.items()}
    ).T


def fig_a2_table(measures: pd.DataFrame) -> pd.DataFrame:
    """The measures the page shows, one column per unit."""
    return measures[FIG_A2_SHOWN].rename(index=CASE_TITLES).T


def fig_a2_comparison(measures: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """This run's CCMAS and precision of each unit beside the paper's (to two decimals)."""
    paired = paper.beside_paper(
        measures,
        reported[reported["source"].str.startswith("Fig. A2")],
        only_reported=True,
        tolerance=0.005,
    )
    return paired.replace({"case": CASE_TITLES}).set_index(["case", "measure"])


def describe_fig_a2(comparison: pd.DataFrame, n_items: int, profile: str) -> str:
    """Whether this run's three units match the paper's numbers, and why not when the
    profile's units are too small for a top 100."""
    differ = [
        f"{case}, {measure} ({row['this run']:.2f} here, {row['paper']:.2f} in the paper)"
        for (case, measure), row in comparison[~comparison["agrees"]].iterrows()
    ]
    verdict = (
        "differs from the paper for " + "; ".join(differ) + "."
        if differ
        else "matches every reported number to two decimals."
    )
    if n_items < 100:
        verdict += (
            f" With only {n_items} images per class, no class can fill a top 100, so "
            "precision of the top 100 cannot reach the paper's values: this profile is not a "
            "like-for-like comparison."
        )
    return f"**This run (profile `{profile}`)** {verdict}"


def describe_lessons(measures: pd.DataFrame, reported: pd.DataFrame, n_items: int) -> str:
    """What the three units teach, as bullets, from this run's measures (`n_items`: the
    images per class)."""
    a, b, c = (measures.loc[case] for case in CASE_TITLES)
    paper_c = _reported(reported, "c_one_class_above", "ccmas")
    same = abs(float(a["ccmas"]) - float(b["ccmas"])) < 0.005
    lines = [
        f"- Units (a) and (b) get {'the same' if same else 'a'} CCMAS, {a['ccmas']:.2f} and "
        f"{b['ccmas']:.2f}"
        + (
            ", because in both every image outside class 0 is silent, so the mean of the "
            "other images is 0. Yet (a) responds to one image of its class and (b) to all "
            "of them: CCMAS cannot tell a unit that fires for a class from one that fires "
            "for a single picture."
            if same
            else "."
        ),
        f"- Unit (c) {'is' if c['localist'] else 'is not'} localist: "
        + (
            "every image of class 0 lies above every other image, "
            if c["localist"]
            else "some image of another class outdoes an image of class 0, "
        )
        + f"yet its CCMAS is {c['ccmas']:.2f}, because the class means differ by little on "
        f"top of a large shared activation. The paper reports {paper.as_printed(paper_c)}; "
        + (
            "this generator, which keeps the paper's lift of 0.1, lands on the same value to "
            "two decimals."
            if round(float(c["ccmas"]), 2) == round(paper_c, 2)
            else "this run's value differs."
        ),
        f"- The signal-detection measures read the three units the way a person would: "
        f"maximum informedness is {b['max_informedness']:.2f} for (b), "
        f"{c['max_informedness']:.2f} for (c) and {a['max_informedness']:.2f} for (a), where "
        f"the best threshold catches {int(round(float(a['mi_recall']) * n_items))} of the "
        f"{n_items} images of its class.",
    ]
    return "\n".join(lines)


def _reported(reported: pd.DataFrame, case: str, measure: str) -> float:
    rows = reported[(reported["case"] == case) & (reported["measure"] == measure)]
    return float(rows["value"].iloc[0])


def case_thresholds(x: np.ndarray, measures: pd.Series) -> dict[str, float]:
    """The top-60 cut and the max-informedness threshold of one made-up unit."""
    return {
        f"top-{CUT} cut": top_n_cut(x, CUT),
        "max-informedness threshold": float(measures["mi_threshold"]),
    }


def describe_case_plot(case: str, x: np.ndarray, y: np.ndarray, measures: pd.Series) -> str:
    """What the jitterplot of one made-up unit shows, from its activations (`y` == 0 is the
    class of interest) and its row of measures."""
    x = np.asarray(x, dtype=float)
    mine, rest = x[y == 0], x[y != 0]
    cut = top_n_cut(x, CUT)
    above = int((mine >= cut).sum())
    if case == "a_one_active_item":
        return (
            f"In unit (a) a single image of class 0 stands at {mine.max():g}, alone; every "
            f"other image, of class 0 or not, gives {np.median(x):g}. The cut below the top "
            f"{CUT} falls at {cut:g}, among those images: the top {CUT} is one active image "
            f"and {CUT - 1} silent ones, taken in the order the images are stored."
        )
    clear = mine.min() > rest.max()
    others = (
        f"every other image gives {rest.min():.2f}"
        if rest.min() == rest.max()
        else f"the others run from {rest.min():.2f} to {rest.max():.2f}"
    )
    text = (
        f"In unit {CASE_TITLES[case][:3]} the images of class 0 run from {mine.min():.2f} to "
        f"{mine.max():.2f} and {others}: "
        + ("class 0 stands clear of every other image. " if clear else "the two overlap. ")
        + f"The best threshold, {float(measures['mi_threshold']):.2f}, catches "
        f"{float(measures['mi_recall']):.0%} of class 0 and "
        f"{float(measures['mi_fpr']):.0%} of the other images. "
    )
    if above == mine.size:
        text += (
            f"Class 0 has only {mine.size} images, so the top-{CUT} cut ({cut:.2f}) falls "
            "below them, among the other images."
        )
    else:
        text += (
            f"The top-{CUT} cut ({cut:.2f}) falls inside class 0: {above} of its {mine.size} "
            "images lie above it."
        )
    if case == "c_one_class_above":
        text += (
            f" All of it sits on a shared activation of at least {x.min():.2f}, which is "
            f"what drags CCMAS down to {float(measures['ccmas']):.2f}."
        )
    return text


def describe_expected_share(n_classes: int, n_items: int, reported: pd.DataFrame) -> str:
    """The share of class 0 expected in the top 100 of unit (a) when 99 silent images are
    drawn at random, beside the paper's precision for it."""
    share = expected_class0_share(n_classes, n_items)
    value = _reported(reported, "a_one_active_item", "precision_100")
    agree = "which rounds to" if round(share, 2) == round(value, 2) else "against"
    return (
        f"For {n_classes} classes of {n_items:,} that is {share:.3f}, {agree} the paper's "
        f"{paper.as_printed(value)}."
    )


def expected_class0_share(n_classes: int, n_items: int, top: int = 100) -> float:
    """Mean share of class 0 in the top `top` of unit (a): its one active image plus
    ``top - 1`` silent images drawn at random from the rest."""
    n_total = n_classes * n_items
    return (1 + (top - 1) * (n_items - 1) / (n_total - 1)) / top


# --- the tie-order experiment ------------------------------------------------------------------


def precision_seeds(n_classes: int, n_items: int, n_seeds: int) -> pd.DataFrame:
    """Every measure of unit (a) generated with seeds 0, 1, ..., one row per seed."""
    rows = []
    for seed in range(n_seeds):
        x, y = synthetic.figure_a2_cases(n_classes, n_items, seed)["a_one_active_item"]
        rows.append(unit_measures(x[:, None], y).iloc[0])
    return pd.DataFrame(rows).reset_index(drop=True).rename_axis("seed")


def seeds_summary(seeds: pd.DataFrame) -> pd.DataFrame:
    """Count, mean, spread and range of precision (top 60, top 100) and maximum
    informedness over the seeds."""
    return seeds[["precision_60", "precision_100", "max_informedness"]].astype(float).describe()


def describe_precision_seeds(
    seeds: pd.DataFrame, measures: pd.DataFrame, seed: int, reported: pd.DataFrame
) -> str:
    """How far precision of the top 100 of unit (a) moves with the tie order."""
    p100 = seeds["precision_100"].astype(float)
    own = (seeds["precision_100_class"] == 0).mean()
    value = _reported(reported, "a_one_active_item", "precision_100")
    return (
        f"Over {len(seeds)} seeds, precision of the top 100 for unit (a) averages "
        f"{p100.mean():.3f} (standard deviation {p100.std():.3f}, range {p100.min():.2f} to "
        f"{p100.max():.2f}); the class holding most of the top 100 was class 0 in {own:.0%} "
        f"of the seeds. The paper reports {paper.as_printed(value)}. The seed used above "
        f"({seed}) gave {float(measures.loc['a_one_active_item', 'precision_100']):.2f}."
    )


def describe_takeaway(measures: pd.DataFrame) -> str:
    """What the next chapters should keep from the three units, from their numbers."""
    a, b, c = (measures.loc[case] for case in CASE_TITLES)
    high_a = float(a["ccmas"]) > HIGH
    ccmas = (
        f"a CCMAS of {a['ccmas']:.2f} is consistent with a unit like (b), which fires for "
        f"every image of its class, but also with a unit like (a), which fires for one"
        if high_a
        else f"CCMAS gives (a) {a['ccmas']:.2f} and (b) {b['ccmas']:.2f}"
    )
    precision = (
        f"Precision does tell (a) from (b) here ({a['precision_60']:.2f} against "
        f"{b['precision_60']:.2f} for the top {CUT}), but for (a) it rests on how ties among "
        "silent images are broken"
    )
    return (
        f"Keep the three units in mind when reading the next chapters: {ccmas}, and a CCMAS "
        f"of {c['ccmas']:.2f} goes with a unit like (c) that separates its class perfectly. "
        f"{precision}. Only the signal-detection measures (localist selectivity, recall at "
        f"perfect precision, maximum informedness) read all three units as a person would."
    )


# --- exercises -----------------------------------------------------------------------------


def exercises(
    activations: np.ndarray,
    labels: np.ndarray,
    example: pd.Series,
    measures: pd.DataFrame,
    seeds: pd.DataFrame,
) -> list[Exercise]:
    """The chapter's exercises, each solution computed from this run."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    y = np.asarray(labels)
    return [
        _exercise_threshold(x, y, example),
        _exercise_remove_class(x, y, example),
        _exercise_detectors(measures),
        _exercise_ties(seeds),
    ]


def _exercise_threshold(x: np.ndarray, y: np.ndarray, example: pd.Series) -> Exercise:
    t = 6.0
    at = detection_at(x, y == 0, t, prefix="t")
    informedness = at["t_recall"] - at["t_fpr"]
    detected = ", ".join(f"{v:g}" for v in sorted(x[x >= t], reverse=True))
    return Exercise(
        label="ex-measures-threshold",
        title="Another threshold for the worked example",
        question=(
            f"Use the worked example's unit as a detector of class A with the threshold "
            f"$t = {t:g}$ instead of {example['mi_threshold']:g}. Count its hits and false "
            "alarms, and work out the hit rate, the false-alarm proportion and the "
            f"informedness. Why is {example['mi_threshold']:g} the better threshold?"
        ),
        solution=(
            f"At $t = {t:g}$ the images at {detected} are detected: {at['t_hits']} hits and "
            f"{_count(at['t_false_positives'], 'false alarm')}. The hit rate is {at['t_hits']}/"
            f"{int((y == 0).sum())} = {at['t_recall']:.2f}, the false-alarm proportion "
            f"{at['t_false_alarm']:.2f}, and the informedness {at['t_recall']:.2f} - "
            f"{at['t_fpr']:.3f} = {informedness:.3f}. At $t = {example['mi_threshold']:g}$ the "
            f"hit rate is {example['mi_recall']:.2f} for a false-positive rate of "
            f"{example['mi_fpr']:.3f}, so the informedness is higher, "
            f"{example['max_informedness']:.3f}: the maximum over all thresholds."
        ),
    )


def _exercise_remove_class(x: np.ndarray, y: np.ndarray, example: pd.Series) -> Exercise:
    removed = 2  # class C
    kept = y != removed
    mean_a = float(x[y == 0].mean())
    before_rest = float(x[y != 0].mean())
    after_rest = float(x[kept & (y != 0)].mean())
    after = unit_measures(x[kept][:, None], y[kept], top=WORKED_TOP[:1]).iloc[0]
    direction = "rises" if after["ccmas"] > example["ccmas"] else "falls"
    gave = " and ".join(f"{v:g}" for v in sorted(x[~kept], reverse=True))
    return Exercise(
        label="ex-measures-remove-class",
        title="What happens to CCMAS when a class is removed?",
        question=(
            f"Drop the {int((~kept).sum())} images of class C from the worked example. Compute "
            "CCMAS again by hand. Does it go up or down, and why? Does the maximum "
            "informedness change?"
        ),
        solution=(
            rf"Class A keeps $\mu_A = {mean_a:.2f}$, but the mean of the other images goes "
            f"from {before_rest:.2f} to {after_rest:.2f} (C's images gave {gave}), so CCMAS "
            f"{direction} from {example['ccmas']:.3f} to {after['ccmas']:.3f}: CCMAS depends "
            "on which other classes happen to be in the data set, and on how active they are. "
            f"The maximum informedness moves from {example['max_informedness']:.3f} to "
            f"{after['max_informedness']:.3f}: "
            + (
                f"the hit rate at the best threshold stays {after['mi_recall']:.2f}, and only "
                "the share of other images above it changes."
                if np.isclose(after["mi_recall"], example["mi_recall"])
                else f"the best threshold moves to {after['mi_threshold']:g}."
            )
        ),
    )


def _exercise_detectors(measures: pd.DataFrame) -> Exercise:
    rows = measures.rename(index=CASE_TITLES)
    zhou = [name for name, row in rows.iterrows() if row["precision_60"] > ZHOU_PRECISION]
    ccmas = [name for name, row in rows.iterrows() if row["ccmas"] > HIGH]
    localist = [name for name, row in rows.iterrows() if bool(row["localist"])]
    return Exercise(
        label="ex-measures-detectors",
        title="Which made-up unit is a detector?",
        question=(
            f"Which of the three made-up units pass the test of Zhou et al. (more than "
            f"{ZHOU_PRECISION:.0%} of the top {CUT} images from one class)? Which have a CCMAS "
            f"above {HIGH}? Compare both lists with what the jitterplots show."
        ),
        solution=(
            f"Precision above {ZHOU_PRECISION}: {_listed(zhou)}. CCMAS above {HIGH}: "
            f"{_listed(ccmas)}. Localist (every image of class 0 above every other image): "
            f"{_listed(localist)}. In the jitterplots a localist unit's class stands clear of "
            "every other image, so the plots side with the localist test; where CCMAS or "
            "precision names a unit the localist test does not, the plot shows why: one "
            "image, or a class mixed in with the others."
        ),
    )


def _exercise_ties(seeds: pd.DataFrame) -> Exercise:
    p100 = seeds["precision_100"].astype(float)
    mi = seeds["max_informedness"].astype(float)
    return Exercise(
        label="ex-measures-ties",
        title="Ties and the top 100",
        question=(
            f"Across the {len(seeds)} seeds of the experiment above, precision of the top "
            f"100 of unit (a) ranged from {p100.min():.2f} to {p100.max():.2f}. Does its "
            "maximum informedness move with the seed too? Explain why or why not before "
            "looking."
        ),
        solution=(
            f"It does not: over the same seeds maximum informedness runs from {mi.min():.4f} "
            f"to {mi.max():.4f}. A threshold never splits images that give the same "
            "activation, so the order in which the silent images are stored cannot matter; "
            "the top 100 has to take 99 of the silent images, and which 99 is settled by "
            "that order."
        ),
    )


def _count(n: int, thing: str) -> str:
    """``"1 false alarm"``, ``"2 false alarms"``."""
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _listed(names: list[str]) -> str:
    return ", ".join(names) if names else "none"
