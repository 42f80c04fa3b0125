"""The sentences of chapter 2's page (notebooks/02_alexnet_results.py).

Each ``describe_*`` function writes one finding about this run from the run's numbers, with
the paper's numbers taken from its data file (`compendium.chapters.alexnet_paper`), never
from literals: when the numbers change, the sentence changes, and where this run disagrees
with the paper the sentence says so. `summary_box` opens the page with the comparison in
short; `exercises` closes it with questions whose answers are computed from the run.

The ``describe_paper_*`` functions say what the paper reports, also from the data file, so
the page's prose about the paper carries no typed number either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from compendium.chapters import detectors
from compendium.chapters.alexnet import (
    ChancePrecision,
    ChapterSource,
    Fig4Unit,
    TopN,
    highest_ccmas_units,
    unit_label,
)
from compendium.chapters.alexnet_paper import (
    PAPER_APPENDIX_C_CLASSES,
    PAPER_FIG2_OBJECT,
    PAPER_FIG4_CLASS,
    as_printed,
    is_lower_bound,
    paper_a1_same_unit,
    paper_appendix_c_means,
    paper_appendix_c_unit,
    paper_extremes,
    paper_fig2_unit,
    paper_fig4_numbers,
    paper_fig4_unit,
    paper_mean_ccmas,
    paper_n_classes,
    paper_n_images,
    paper_share,
    paper_top_ccmas_unit,
    paper_units_measured,
    paper_value,
)
from compendium.chapters.exercises import Exercise


def _listed(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _part(count: int, total: int) -> str:
    """A count with its share of a total already named: ``1,127 (60%)``."""
    return f"{count:,} ({count / total:.0%})" if total else f"{count:,}"


def _more_than(bound: bool) -> str:
    return "more than " if bound else ""


# --- what was measured ------------------------------------------------------------------------


def network_title(source: ChapterSource) -> str:
    """The words the page's title gives for what was measured."""
    return source.network


def describe_paper_data(reported: pd.DataFrame) -> str:
    """What the paper measured: its images, classes and the units of each layer."""
    units = paper_units_measured(reported)
    per_layer = _listed(
        [f"{r['units']:,} of {layer}'s {r['layer_units']:,}" for layer, r in units.iterrows()]
    )
    return (
        f"The paper's activations come from the pretrained Caffe AlexNet, recorded for the "
        f"{paper_n_images(reported):,} ImageNet training images it classified correctly, over "
        f"{paper_n_classes(reported):,} classes; its authors analysed a random subset of the "
        f"units of each layer ({per_layer}). This run's activations:"
    )


def describe_source(source: ChapterSource) -> str:
    """What this run's activation file holds (named by its file name only)."""
    n, c = source.n_images, source.n_classes
    return (
        f"This run reads `{source.path.name}`: {source.made_by}. It holds {n:,} images of "
        f"{c} classes, so a class holds about {n / c:,.0f} images."
    )


def describe_chance(
    here: ChancePrecision, theirs: ChancePrecision, n_classes: int, reported: pd.DataFrame
) -> str:
    """The precision of the top N by chance, here and with the paper's classes, and why it
    is not one over the number of classes."""
    n = here.n
    return (
        f"**Chance.** A unit whose top {n} images were {n} images drawn at random would reach "
        f"a top-{n} precision of {here.mean:.3f} on average here ({here.draws:,} seeded draws; "
        f"95% of them at or below {here.high:.3f}). That is more than 1/{n_classes} = "
        f"{1 / n_classes:.3f}, because precision takes the largest class among the {n}, and "
        f"it can never fall below 1/{n} = {1 / n:.3f}. With the paper's "
        f"{paper_n_classes(reported):,} classes of equal size the same draws give "
        f"{theirs.mean:.3f} (95% at or below {theirs.high:.3f}); the paper itself reports no "
        "chance level."
    )


# --- the box at the top ---------------------------------------------------------------------------


def _paper_side(reported: pd.DataFrame) -> str:
    layer, n_precise, n_units = paper_share(reported, "n_precision_above_0.9")
    _, n_ccmas, _ = paper_share(reported, "n_ccmas_above_0.9")
    extremes = paper_extremes(reported)
    localist = reported.loc[reported["measure"] == "n_localist", "value"].sum()
    return (
        f"**The paper** (AlexNet on ImageNet, {paper_n_classes(reported):,} classes): by "
        f"precision and CCMAS many hidden units look like object detectors (in {layer}, "
        f"{n_precise:,.0f} of the {n_units:,.0f} units measured have a precision above .9 and "
        f"{n_ccmas:,.0f} a CCMAS above .9); by the signal-detection measures none does. The "
        f"best recall at perfect precision in the network is "
        f"{as_printed(extremes.loc['best_recall_p100', 'paper'])}, no unit has fewer than "
        f"{extremes.loc['min_mi_false_alarm', 'paper']:.0%} false alarms above its best "
        f"threshold, and {'no' if localist == 0 else f'{localist:,.0f}'} unit is localist."
    )


def signal_verdict(findings: pd.DataFrame) -> str:
    """Whether this run shows the paper's contrast, from the signal-detection findings of
    `alexnet_paper.paper_findings`: ``"shows"``, ``"partly"`` or ``"not"``."""
    signal = findings[findings["kind"] == "signal"]["same"]
    if signal.all():
        return "shows"
    return "partly" if signal.any() else "not"


_VERDICT_WORDS = {
    "shows": "shows the paper's contrast: the signal-detection measures make no unit look "
    "like a detector here either",
    "partly": "shows the paper's contrast only in part",
    "not": "does not show the paper's contrast: here the signal-detection measures make "
    "many units look like detectors too",
}


def summary_box(
    findings: pd.DataFrame,
    beyond: Mapping[str, int],
    bars: pd.DataFrame | None,
    source: ChapterSource,
    here: ChancePrecision,
    theirs: ChancePrecision,
    reported: pd.DataFrame,
) -> str:
    """The box at the top of the page (MyST): what the paper found, what this run finds and
    why the two may differ, from the findings (`paper_findings`), the units past the
    paper's extremes (`beyond_extremes`), the detector counts (`detectors.detector_counts`,
    or None when the measures lack them) and the chance precision."""
    extremes = paper_extremes(reported)
    n = beyond["units"]
    localist = findings[findings["kind"] == "localist"]
    run = (
        f"**This run** ({source.network}, {source.n_classes} classes) "
        f"{_VERDICT_WORDS[signal_verdict(findings)]}. Of its {n:,} units counted, "
        f"{_part(beyond['recall_p100'], n)} have a recall at perfect precision above the "
        f"paper's best ({as_printed(extremes.loc['best_recall_p100', 'paper'])}) and "
        f"{_part(beyond['mi_false_alarm'], n)} fewer false alarms at their best threshold "
        f"than the paper's fewest ({extremes.loc['min_mi_false_alarm', 'paper']:.0%})"
    )
    if len(localist):
        same = bool(localist["same"].iloc[0])
        run += (
            "; as in the paper, no unit is localist"
            if same
            else f"; unlike the paper, {localist['this run'].iloc[0]} units are localist"
        )
    run += "."
    if bars is not None:
        run += " " + describe_bars_briefly(bars)
    run += (
        f" In all, it shows {int(findings['same'].sum())} of the {len(findings)} findings "
        "listed at the end of the page."
    )
    return "\n".join(
        [
            ":::{admonition} This run beside the paper",
            ":class: important",
            "",
            _paper_side(reported),
            "",
            run,
            "",
            describe_why_briefly(source, here, theirs, reported),
            ":::",
        ]
    )


def describe_bars_briefly(bars: pd.DataFrame) -> str:
    """The detector counts in one sentence: by the paper's own bars, how many units are
    detectors, Zhou detectors and grandmother units."""
    total = int(bars["counted"].sum())
    count = {name: int(bars[name].sum()) for name in detectors.BARS}
    return (
        f"By the paper's own bars (its Discussion), {_part(count['detector'], total)} are "
        f"detectors (some threshold with more hits than misses and more hits than false "
        f"alarms), {_part(count['zhou'], total)} clear Zhou et al.'s precision bar, and "
        f"{count['grandmother']:,} {'is a grandmother unit' if count['grandmother'] == 1 else 'are grandmother units'}."
    )


def describe_why_briefly(
    source: ChapterSource, here: ChancePrecision, theirs: ChancePrecision, reported: pd.DataFrame
) -> str:
    """Why this run and the paper may differ, in short."""
    if source.format == "alexnet-merged":
        return (
            "**Why they may differ.** This profile reads the authors' own activation files, so "
            "the network, the images and the classes are the paper's; only the choice of units "
            "and the exact definitions of the measures can separate the two."
        )
    return (
        f"**Why they may differ.** Here {source.n_classes} classes against the paper's "
        f"{paper_n_classes(reported):,}: with few classes a threshold has few other classes "
        f"to let through, so false alarms fall and recall at perfect precision rises (even "
        f"the top-{here.n} precision of randomly drawn images is {here.mean:.2f} here against "
        f"{theirs.mean:.3f}). The network is another, smaller one, trained on other images, and "
        f"every unit of its layers is measured. The end of the page takes each reason in turn."
    )


# --- Fig. 3 -----------------------------------------------------------------------------------


def describe_fig3(
    stats: pd.DataFrame, layers: Sequence[str], top: TopN, reported: pd.DataFrame
) -> str:
    """The medians of Fig. 3's measures layer by layer, set against the paper's extremes
    (whether the median unit of a layer goes past the paper's best unit), and this run's
    mean CCMAS beside the paper's where it reports one."""
    medians = stats.set_index(["measure", "layer"])["median"]
    means = stats.set_index(["measure", "layer"])["mean"]

    def per_layer(measure: str) -> str:
        return ", ".join(f"{medians[(measure, name)]:.2f}" for name in layers)

    lines = [
        f"Median precision of the top {top.small} is {per_layer(top.precision)} and median "
        f"CCMAS {per_layer('ccmas')} (layer by layer: {', '.join(layers)}). Median recall at "
        f"perfect precision is {per_layer('recall_p100')}, median maximum informedness "
        f"{per_layer('max_informedness')}, and at that informedness the median share of false "
        f"alarms among the images above the threshold is {per_layer('mi_false_alarm')}.",
        _medians_against_paper(medians, layers, reported),
    ]
    paper_means = paper_mean_ccmas(reported)
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


def _medians_against_paper(
    medians: pd.Series, layers: Sequence[str], reported: pd.DataFrame
) -> str:
    """Which layers' median unit goes past the paper's best unit of the whole network."""
    extremes = paper_extremes(reported)
    tests = [
        (
            "recall_p100",
            "best_recall_p100",
            1,
            "a recall at perfect precision above the paper's best",
        ),
        (
            "max_informedness",
            "best_max_informedness",
            1,
            "a maximum informedness above the paper's best",
        ),
        ("mi_false_alarm", "min_mi_false_alarm", -1, "fewer false alarms than the paper's fewest"),
    ]
    past = []
    for measure, key, sign, words in tests:
        bar = float(extremes.loc[key, "paper"])
        shown = f"{bar:.0%}" if measure == "mi_false_alarm" else as_printed(bar)
        over = [name for name in layers if sign * (medians[(measure, name)] - bar) > 0]
        if over:
            where = "every layer" if len(over) == len(layers) else _listed(over)
            past.append(f"in {where} the median unit has {words} ({shown})")
    if not past:
        return (
            "As in the paper, the signal-detection measures sit well below precision and CCMAS: "
            "no layer's median unit reaches the paper's best unit on any of them."
        )
    return (
        "Unlike the paper, the signal-detection measures do not sit low here: "
        + "; ".join(past)
        + "."
    )


# --- the counts the text quotes ---------------------------------------------------------------


def describe_paper_counts(reported: pd.DataFrame) -> str:
    """The counts Section 3.1 gives to back Fig. 3, from the data file."""
    layer, n_precise, _ = paper_share(reported, "n_precision_above_0.9")
    _, n_ccmas, _ = paper_share(reported, "n_ccmas_above_0.9")
    extremes = paper_extremes(reported)
    best_mi = extremes.loc["best_max_informedness"]
    its = extremes.loc["its_mi_false_alarm"]
    recall = extremes.loc["best_recall_p100"]
    mi_unit = best_mi["paper unit"].replace(" (layer not named)", ", its layer not named")
    return (
        f"The paper's text backs Fig. 3 with a few counts: in {layer}, {n_precise:,.0f} units "
        f"had a precision above .9 and {n_ccmas:,.0f} a CCMAS above .9; no unit anywhere was "
        f"localist; and, over the whole network, the best recall at perfect precision was "
        f"{as_printed(recall['paper'])} ({recall['paper unit']}), the best maximum informedness "
        f"{as_printed(best_mi['paper'])} ({mi_unit}; for {PAPER_FIG4_CLASS}) "
        f"with {_more_than(its['bound'])}{its['paper']:.0%} false alarms above its threshold, "
        f"and no unit had fewer than {extremes.loc['min_mi_false_alarm', 'paper']:.0%} false "
        "alarms at its best threshold. Per layer, this run beside the paper (an empty paper "
        "cell: the paper gives no such number):"
    )


def describe_beats_chance(q: float) -> str:
    """What the "beats chance" columns of the counts table count."""
    return (
        '"Beats chance" counts the units whose p-value under the label-permutation null '
        f"survives the Benjamini-Hochberg procedure at a false-discovery rate of q = {q:g} "
        "(spec `beyond.md`)."
    )


def describe_counts(
    counts: pd.DataFrame, extremes: pd.DataFrame, n_units: int, reported: pd.DataFrame
) -> str:
    """Section 3.1's counts for this run: the shares of precise and CCMAS-selective units in
    the layer where the paper quotes them (else the last layer), the localist units, and the
    network's extremes (`network_extremes`), each beside the paper's."""
    layer, n_precise, n_paper = paper_share(reported, "n_precision_above_0.9")
    _, n_ccmas, _ = paper_share(reported, "n_ccmas_above_0.9")
    here = layer if layer in counts.index else counts.index[-1]
    n_here = int(counts.loc[here, "units"])
    share_p = counts.loc[here, "n_precision_above_0.9"] / n_here
    share_c = counts.loc[here, "n_ccmas_above_0.9"] / n_here
    n_localist = int(counts["n_localist"].sum())
    paper_localist = reported.loc[reported["measure"] == "n_localist", "value"].sum()
    theirs = paper_extremes(reported)
    best_r, best_mi = extremes.loc["best_recall_p100"], extremes.loc["best_max_informedness"]
    return (
        f"**This run.** In {here}, {share_p:.1%} of this run's units have a precision above "
        f".9 and {share_c:.1%} a CCMAS above .9; in the paper's {layer} the shares are "
        f"{n_precise:,.0f}/{n_paper:,.0f} = {n_precise / n_paper:.1%} and "
        f"{n_ccmas:,.0f}/{n_paper:,.0f} = {n_ccmas / n_paper:.1%}. "
        f"{n_localist} of this run's {n_units:,} units {'is' if n_localist == 1 else 'are'} "
        f"localist (the paper found {'none' if paper_localist == 0 else f'{paper_localist:,.0f}'})."
        f" The best recall at perfect precision is {best_r['value']:.2f} ({best_r['unit']}, "
        f"paper {as_printed(theirs.loc['best_recall_p100', 'paper'])}); the best maximum "
        f"informedness is {best_mi['value']:.2f} ({best_mi['unit']}, for {best_mi['class']}; "
        f"paper {as_printed(theirs.loc['best_max_informedness', 'paper'])}), with "
        f"{extremes.loc['its_mi_false_alarm', 'value']:.0%} false alarms above its threshold "
        f"(paper {_more_than(theirs.loc['its_mi_false_alarm', 'bound'])}"
        f"{theirs.loc['its_mi_false_alarm', 'paper']:.0%}); the fewest false alarms at any "
        f"unit's best threshold are {extremes.loc['min_mi_false_alarm', 'value']:.0%} "
        f"(paper {theirs.loc['min_mi_false_alarm', 'paper']:.0%})."
    )


def describe_bars(
    bars: pd.DataFrame, network: str, hidden: Sequence[str], reported: pd.DataFrame
) -> str:
    """The detector counts of this run's network (`detectors.describe_counts`), and what the
    paper counts at the same bars."""
    localist = reported.loc[reported["measure"] == "n_localist", "value"].sum()
    return (
        f"**This run.** {detectors.describe_counts(bars, network, hidden)} The paper counts units "
        f"only at the grandmother bar ({'none' if localist == 0 else f'{localist:,.0f}'} in "
        "its three layers); of the other two bars it says that the units it measured are not "
        "object detectors."
    )


# --- Fig. 2 -----------------------------------------------------------------------------------


def describe_paper_fig2(reported: pd.DataFrame) -> str:
    """What the paper's Fig. 2 (bottom) shows."""
    layer, precision = paper_fig2_unit(reported)
    return (
        f"The bottom of the paper's Fig. 2 shows the most active images of a '{PAPER_FIG2_OBJECT}' "
        f"unit of {layer} with a precision of {as_printed(precision)}, taken from Zhou et al. "
        "(2015): the kind of picture that makes a unit look like an object detector. This "
        f"run's stand-in is the {layer} unit whose top-60 precision is nearest "
        f"{as_printed(precision)}."
    )


def describe_fig2(
    row: pd.Series, shown: Sequence[int], labels: np.ndarray, class_names: Sequence[str], top: TopN
) -> str:
    """What the top images of this run's Fig. 2 unit (`row`; `shown` its top images) hold:
    its class's share, the other classes among them, and its signal-detection measures."""
    cls = int(row[f"{top.precision}_class"])
    classes = pd.Series(np.asarray(labels)[np.asarray(shown)]).value_counts()
    others = [f"{count} {class_names[c]}" for c, count in classes.items() if c != cls]
    return (
        f"**This run.** Unit {unit_label(row['layer'], row['unit'])} puts "
        f"{int(classes.get(cls, 0))} images of {class_names[cls]} among its top {len(shown)} "
        f"(precision {row[top.precision]:.2f})"
        + (f"; the others are {_listed(others)}" if others else "")
        + f". Its CCMAS is {row['ccmas']:.2f}, its maximum informedness "
        f"{row['max_informedness']:.2f} (for {class_names[int(row['mi_class'])]}), and at that "
        f"threshold {row['mi_false_alarm']:.0%} of the images above it belong to other classes."
    )


# --- Fig. 4 -----------------------------------------------------------------------------------


def describe_paper_fig4(reported: pd.DataFrame) -> str:
    """What the paper says of its Fig. 4 unit, from the data file."""
    theirs = paper_fig4_numbers(reported)
    layer, index = paper_fig4_unit(reported)
    bound = _more_than(_fig4_bound(reported, "mi_false_alarm"))
    return (
        f"The paper illustrates the disagreement with unit {unit_label(layer, index)}: "
        f"{theirs['top60_hits']:.0f} of its 60 most active images (precision "
        f"{as_printed(theirs['precision_60'])}) are images of {PAPER_FIG4_CLASS} and its CCMAS is "
        f"{as_printed(theirs['ccmas'])}, so by the criterion of Zhou et al. (2015) it is a "
        f"butterfly detector. Yet butterflies are spread over its whole range of activations, "
        f"{theirs['n_zero_class']:,.0f} of them ({theirs['share_zero_class']:.1%}) at exactly "
        f"zero, and at its best threshold {bound}{theirs['mi_false_alarm']:.0%} of the images "
        "above are other things."
    )


def _fig4_bound(reported: pd.DataFrame, measure: str) -> bool:
    return is_lower_bound(reported, measure, *paper_fig4_unit(reported))


def describe_fig4_unit(unit: Fig4Unit, class_names: Sequence[str]) -> str:
    """Which unit this run's Fig. 4 draws, with its three scores."""
    row = unit.row
    return (
        f"This run's unit is **{unit.label}**: precision {row[unit.precision]:.2f} for "
        f"{class_names[unit.cls]}, CCMAS {row['ccmas']:.2f}, maximum informedness "
        f"{row['max_informedness']:.2f}."
    )


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
    theirs = paper_fig4_numbers(reported)
    paper_zero, paper_images = theirs["n_zero_all"], paper_value(reported, "n_images")
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
    theirs = paper_fig4_numbers(reported)
    their_unit = unit_label(*paper_fig4_unit(reported))
    bound = _more_than(_fig4_bound(reported, "mi_false_alarm"))
    return (
        f"**This run.** Unit {unit.label} puts {numbers[f'top{n}_hits']} images of {name} "
        f"among its top {n} (precision {unit.row[unit.precision]:.2f}; the paper's "
        f"{their_unit}: {theirs['top60_hits']:.0f} of 60). That is "
        f"{numbers[f'top{n}_recall']:.0%} of the class's {numbers['class_count']:,} images "
        f"(paper {theirs['top60_recall']:.0%} of {theirs['class_count']:,.0f}); "
        f"{numbers['n_zero_class']:,} of them ({numbers['share_zero_class']:.1%}) give exactly "
        f"zero (paper {theirs['n_zero_class']:,.0f}, {theirs['share_zero_class']:.1%}), and at "
        f"the best threshold for the class {numbers['class_mi_false_alarm']:.0%} of the images "
        f"above it belong to other classes (paper {bound}{theirs['mi_false_alarm']:.0%})."
    )


def describe_examples(
    examples: Mapping[str, np.ndarray],
    unit: Fig4Unit,
    numbers: Mapping[str, float],
    class_names: Sequence[str],
) -> str:
    """What Fig. 4's right column shows for this run's unit."""
    name = class_names[unit.cls]
    zero = (
        f"{len(examples['zero'])} of the {numbers['n_zero_class']:,} images of {name} at exactly "
        "zero (drawn at random)"
        if len(examples["zero"])
        else f"no image of {name} at zero (none gives zero)"
    )
    return (
        f"As in the right column of the paper's Fig. 4, images of {name} from three places in "
        f"the unit's range: {zero}; the {len(examples['mean'])} nearest the class's mean "
        f"activation, {numbers['class_mean']:.3g} ± {numbers['class_sem']:.2g}; and the "
        f"{len(examples['max'])} most active, up to {numbers['class_max']:.3g}. Each image is "
        "labelled with its activation."
    )


# --- Table A1 ---------------------------------------------------------------------------------


def describe_paper_a1(reported: pd.DataFrame) -> str:
    """Table A1's point, from the data file."""
    their_unit, ccmas, precision = paper_top_ccmas_unit(reported)
    same = paper_a1_same_unit(reported)
    picks = (
        "different units in every layer" if not same else f"the same unit only in {_listed(same)}"
    )
    return (
        f"Its point is that the two rankings pick {picks}: {their_unit} has the highest CCMAS "
        f"of any hidden unit, {as_printed(ccmas)}, yet only {precision * 100:.0f} of its top 100 "
        "images share a class."
    )


def describe_table_a1(
    table: pd.DataFrame,
    a1: pd.DataFrame,
    ties: pd.DataFrame,
    top: TopN,
    reported: pd.DataFrame,
    output_layer: str | None = None,
    output_softmax: bool = True,
) -> str:
    """Table A1's finding for this run: the hidden unit(s) with the highest CCMAS and the
    share of their top images in one class, beside the paper's; the ties at the top of each
    ranking (`top_ties`), and whether the two rankings of `a1` (`table_a1_beside_paper`)
    pick, or could pick, the same unit in a layer."""
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
    text += f"(paper: {their_unit}, {as_printed(their_ccmas)} and {their_precision:.0%}). "
    text += _ties_sentence(a1, ties)
    text += " The paper's units are named beside this run's only to show their scores."
    if output_layer and not output_softmax:
        text += " The output layer is measured on its raw values."
    return text


def _tie(n: int) -> str:
    return "1 unit has" if n == 1 else f"{n:,} share"


def _ties_sentence(a1: pd.DataFrame, ties: pd.DataFrame) -> str:
    by_precision = set(a1.loc[a1["ranked by"] == "precision", "unit"])
    same = [
        r["layer"]
        for _, r in a1.iterrows()
        if r["ranked by"] == "CCMAS" and r["unit"] in by_precision
    ]
    tied = ties[(ties["units at the best CCMAS"] > 1) | (ties["units at the best precision"] > 1)]
    both = ties[ties["units at both"] > 0]
    parts = []
    if len(tied):
        parts.append(
            "At the top of each ranking units tie: "
            + "; ".join(
                f"in {layer} {_tie(int(r['units at the best CCMAS']))} the best CCMAS "
                f"({r['best CCMAS']:.3f}) and {_tie(int(r['units at the best precision']))} the "
                f"best precision ({r['best precision']:.2f})"
                for layer, r in tied.iterrows()
            )
            + ". The table shows the first unit of each tie (the lowest number)."
        )
    if same:
        parts.append(f"The two rankings pick the same unit in {_listed(same)}.")
    elif len(both):
        parts.append(
            "So the rankings need not disagree: units that top both are in "
            + _listed([f"{layer} ({int(r['units at both']):,})" for layer, r in both.iterrows()])
            + ", and only the order of ties makes the table's two rows name different units, "
            "unlike the paper, whose two rankings pick different units."
        )
    else:
        parts.append(
            "The two rankings pick a different unit in every layer, and no unit tops both, as "
            "in the paper."
        )
    return " ".join(parts)


# --- Table A2 ---------------------------------------------------------------------------------


def describe_paper_a2(reported: pd.DataFrame) -> str:
    """Table A2's findings, from the data file."""
    a2 = reported[reported["source"] == "Table A2"].set_index("case")["value"].astype(float)
    count_pairs = a2[[case.endswith("n_classes_top100") for case in a2.index]]
    sign = "negative" if (count_pairs < 0).all() else "mixed"
    return (
        f"The paper reports moderate positive correlations of precision with CCMAS "
        f"({as_printed(a2['precision_100|ccmas'])}) and with recall at .95 precision "
        f"({as_printed(a2['precision_100|recall_p95'])}), weak ones elsewhere, and {sign} "
        f"correlations of every measure with the number of classes (from "
        f"{as_printed(count_pairs.max())} to {as_printed(count_pairs.min())})."
    )


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


# --- Appendix C -------------------------------------------------------------------------------


def describe_paper_c(reported: pd.DataFrame) -> str:
    """Appendix C's finding, from the data file."""
    means = paper_appendix_c_means(reported)
    layer, unit, theirs = paper_appendix_c_unit(reported)
    per_layer = ", ".join(
        f"{as_printed(r['mean_ccmas'], 3)} against {as_printed(r['mean_ccmas_2'], 3)} in {name}"
        for name, r in means.iterrows()
    )
    return (
        f"Appendix C finds that it does not: the mean CCMAS and the mean CCMAS2 are close in "
        f"every layer, {per_layer}. Its example is {unit_label(layer, unit)}, with a CCMAS of "
        f"{as_printed(theirs['ccmas'], 3)} for '{PAPER_APPENDIX_C_CLASSES['ccmas']}' and "
        f"{as_printed(theirs['ccmas_2'], 3)} for '{PAPER_APPENDIX_C_CLASSES['ccmas_2']}'."
    )


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
        f"{as_printed(theirs['ccmas'], 3)} for '{names['ccmas']}', "
        f"{as_printed(theirs['ccmas_2'], 3)} for '{names['ccmas_2']}'; this run's {label} "
        f"is another unit of another network, unless the profile reads the authors' files)."
    )


# --- the verdict ------------------------------------------------------------------------------


def describe_findings(findings: pd.DataFrame) -> str:
    """How many of the paper's findings (`paper_findings`) this run shows, and which not."""
    missed = findings.loc[~findings["same"], "finding"].tolist()
    return (
        f"This run shows {int(findings['same'].sum())} of the {len(findings)} findings"
        + (f"; not: {'; '.join(missed)}" if missed else "")
        + ". A finding it does not show is not a failure to reproduce the paper unless the "
        "profile reads the paper's own activations: the reasons follow."
    )


def describe_base_rate(
    n_classes: int,
    reported: pd.DataFrame,
    here: ChancePrecision | None = None,
    theirs: ChancePrecision | None = None,
    catch: float = 0.5,
    stray: float = 0.01,
) -> str:
    """The base-rate argument with this run's number of classes: a unit whose threshold lets
    through `catch` of its class and `stray` of every other class, among `n_classes`
    classes and among the paper's; and chance precision, here and there, when given."""
    paper_c = paper_n_classes(reported)

    def false_alarms(classes: int) -> float:
        return stray * (classes - 1) / (catch + stray * (classes - 1))

    text = (
        f"**The number of classes.** Among {n_classes} classes of about equal size a class "
        f"holds {1 / n_classes:.0%} of the images; among the paper's {paper_c:,}, "
        f"{1 / paper_c:.1%}. Suppose a unit's threshold lets through {_in_words(catch)} the "
        f"images of its class and {stray:.0%} of all the others. With {n_classes} classes the "
        f"images above the threshold are {false_alarms(n_classes):.0%} false alarms; with "
        f"{paper_c:,} classes they are {false_alarms(paper_c):.0%}. The same unit, judged by the "
        f"same measure, looks far more like a detector when there are few classes to confuse "
        f"its class with, so the false-alarm proportions, recall at perfect precision and "
        f"localist counts of a {n_classes}-class network cannot be held to the paper's values."
    )
    if here is not None and theirs is not None:
        text += (
            f" Chance precision moves the same way: the top {here.n} of randomly drawn images "
            f"reach {here.mean:.3f} here and {theirs.mean:.3f} with the paper's classes."
        )
    return text


def _in_words(share: float) -> str:
    return "half" if share == 0.5 else f"{share:.0%} of"


def describe_network(source: ChapterSource, reported: pd.DataFrame) -> str:
    """**The network and the images**: what the measured network is, from the file's
    provenance, beside the paper's AlexNet."""
    if source.format == "alexnet-merged":
        return (
            "**The network and the images.** This profile reads the authors' own activation "
            "files: the network, the images and the unit numbers are the paper's."
        )
    config = _train_config(source)
    sizes = paper_units_measured(reported)["layer_units"]
    shape = ""
    if config:
        model = config.get("model", {})
        widths, fc = model.get("widths"), model.get("fc_width")
        if widths and fc:
            shape = (
                f", with {widths[-1]} filters in its last convolutional layer and {fc:,} units "
                f"in each fully connected hidden layer (the paper's AlexNet: "
                f"{_listed([f'{v:,} in {k}' for k, v in sizes.items()])}), trained for "
                f"{config.get('epochs')} epochs"
            )
    return (
        f"**The network and the images.** The units here belong to {source.network}"
        f"{shape}. Its layers share their names and their place in the network with the "
        "paper's, not their units, so the paper's unit numbers name different units here."
    )


def _train_config(source: ChapterSource) -> dict:
    try:
        return json.loads(str(source.attrs.get("train_config", "")))
    except json.JSONDecodeError:
        return {}


def describe_ccmas2_reason(n_classes: int, reported: pd.DataFrame) -> str:
    """**Silent images and CCMAS2**: why CCMAS2 comes out close to CCMAS among many classes
    and far below it among few."""
    paper_c = paper_n_classes(reported)
    return (
        f"**Silent images and CCMAS2.** CCMAS compares a class with the pooled mean of every "
        f"other image. Among {paper_c:,} classes that pool barely changes when one class is "
        f"taken out, and in a sparse unit it is held down by the many images that give zero, so "
        f"the runner-up class can stand almost as far above it as the best class: CCMAS2 comes "
        f"out close to CCMAS, as Appendix C reports. Among {n_classes} classes the best class "
        f"is about 1/{n_classes - 1} of the pool from which CCMAS2 is computed, and its strong "
        "activations raise that pool's mean, so CCMAS2 falls below CCMAS for that reason alone; "
        "a gap in this run's Appendix C table does not by itself show that the units are more "
        "selective."
    )


def describe_units_measured(source: ChapterSource, reported: pd.DataFrame) -> str:
    """**Which units**: the paper's random subsets against this run's choice."""
    units = paper_units_measured(reported)["units"]
    theirs = _listed([f"{v:,} of {k}" for k, v in units.items()])
    ours = _listed([f"{r.stop - r.start:,} of {layer}" for layer, r in source.selection.items()])
    return (
        f"**Which units.** The paper measured random subsets of units ({theirs}) and this run "
        f"the units the profile chooses ({ours}). Counts grow with the number of units "
        "measured; shares and medians do not."
    )


# --- exercises --------------------------------------------------------------------------------


def exercises(
    table: pd.DataFrame,
    unit: Fig4Unit,
    numbers: Mapping[str, float],
    here: ChancePrecision,
    class_names: Sequence[str],
    top: TopN,
) -> list[Exercise]:
    """The chapter's exercises (for `compendium.chapters.exercises.block`), each solution
    computed from the run: a unit that precision and max informedness judge apart, Fig. 4's
    unit at its top-N cut, the two detector bars against each other (when the measures have
    them), and chance precision."""
    items = [
        _exercise_gap(table, class_names, top),
        _exercise_cut(unit, numbers, class_names, top),
    ]
    if {"detector", "precision_60"} <= set(table.columns):
        items.append(_exercise_bars(table))
    items.append(_exercise_chance(here, len(class_names)))
    return items


def _exercise_gap(table: pd.DataFrame, class_names: Sequence[str], top: TopN) -> Exercise:
    gap = table[top.precision].astype(float) - table["max_informedness"].astype(float)
    row = table.loc[gap.idxmax()]
    label = unit_label(row["layer"], row["unit"])
    return Exercise(
        "ex-alexnet-precise",
        "Precise, yet a poor detector",
        f"Find the unit whose top-{top.small} precision most exceeds its maximum informedness. "
        "Open it in the unit explorer and explain, from its jitterplot, how a unit can be "
        "precise and yet a poor detector.",
        f"It is {label}: precision {row[top.precision]:.2f} for "
        f"{class_names[int(row[f'{top.precision}_class'])]}, maximum informedness "
        f"{row['max_informedness']:.2f}. Its top {top.small} images are nearly all of one class, "
        "but most images of that class sit among the others, far below the top: precision looks "
        "only at the very top of the range, informedness at the whole class.",
    )


def _exercise_cut(
    unit: Fig4Unit, numbers: Mapping[str, float], class_names: Sequence[str], top: TopN
) -> Exercise:
    n, name = top.small, class_names[unit.cls]
    return Exercise(
        "ex-alexnet-cut",
        f"Fig. 4's unit at its top-{n} cut",
        f"Move the slider of Fig. 4's unit ({unit.label}) to the top-{n} cut. What share of the "
        f"images of {name} lies above it, and what share of the images above it are false "
        "alarms? Then move it to the best threshold and compare.",
        f"At the top-{n} cut the hit rate is {numbers[f'top{n}_recall']:.1%} "
        f"({numbers[f'top{n}_hits']} of {numbers['class_count']:,}) and the false alarms "
        f"{numbers[f'top{n}_false_alarm']:.1%} of the images above. At the best threshold for "
        f"{name} the informedness is {numbers['class_max_informedness']:.2f}, with "
        f"{numbers['class_mi_recall']:.1%} of the class above and "
        f"{numbers['class_mi_false_alarm']:.1%} false alarms.",
    )


def _exercise_bars(table: pd.DataFrame) -> Exercise:
    marked = detectors.with_bars(table)
    zhou, reasonable = marked["zhou_detector"].astype(bool), marked["detector"].astype(bool)
    return Exercise(
        "ex-alexnet-bars",
        "Two bars for a detector",
        "Count the units that clear Zhou et al.'s precision bar but not the paper's reasonable "
        "detector bar, and those that clear the reasonable bar but not Zhou's. What does each "
        "group look like in a jitterplot?",
        f"{int((zhou & ~reasonable).sum()):,} units clear Zhou's bar only: their top 60 images "
        "are mostly one class, but no threshold puts more than half of that class above it with "
        f"more hits than false alarms. {int((reasonable & ~zhou).sum()):,} clear the reasonable "
        "bar only: most of their class lies above some threshold with more hits than false "
        "alarms, yet images of other classes crowd the very top.",
    )


def _exercise_chance(here: ChancePrecision, n_classes: int) -> Exercise:
    return Exercise(
        "ex-alexnet-chance",
        "Precision by chance",
        f"A unit that ignored the classes would put {here.n} random images at its top. What "
        f"top-{here.n} precision would it reach with this run's {n_classes} classes, and why "
        f"not 1/{n_classes}?",
        f"About {here.mean:.3f} ({here.draws:,} seeded draws; 95% of them at or below "
        f"{here.high:.3f}). Precision takes the largest class among the {here.n} images, and "
        "the largest of several counts is above their average.",
    )
