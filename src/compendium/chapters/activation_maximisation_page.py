"""Chapter 3's longer prose, written from the run: the box at the top of the page, how the
two AM methods were set up, who judged the panels, the synonym table, how to read the
numbers, the exercises and the rerun example.

Every sentence that states something about this run is built here from its tables (the
computing is in `compendium.chapters.activation_maximisation`), and every number quoted
from the paper comes from ``paper_numbers.csv``, so the page changes when either does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from compendium.chapters import activation_maximisation as chapter
from compendium.chapters import detectors
from compendium.chapters import experiment as browser
from compendium.chapters.activation_maximisation import (
    OUTPUT_LAYER,
    ChapterThreeError,
    GeneratorRun,
    Judged,
    PaperExperiment,
)
from compendium.chapters.exercises import Exercise
from compendium.chapters.page import join_words
from compendium.methods import behaviour

#: The value of the ``responses`` parameter that reads the shipped example file.
EXAMPLE = "example"

# --------------------------------------------------------------------------------------
# Who answers
# --------------------------------------------------------------------------------------


def response_file(responses: str | os.PathLike | None) -> Path | None:
    """The response file the ``responses`` parameter names: None for none (model observers
    answer), the shipped example file for ``"example"``, else the path, which must exist
    (relative paths start at the repository's root, where the book runs its notebooks)."""
    if responses is None or str(responses).strip() == "":
        return None
    if str(responses) == EXAMPLE:
        return browser.example_responses()
    path = Path(responses).expanduser()
    if not path.is_file():
        raise ChapterThreeError(
            f"responses = {str(responses)!r}: no such file. Give the CSV of answers the "
            "experiment page downloads (columns participant, list, layer, unit, yes, label), "
            f"'{EXAMPLE}' for the shipped example, or None for model observers"
        )
    return path


def judges_kind(path: Path | None) -> str:
    """Who answered (a key of `chapter.JUDGES`): model observers without a file, the
    scripted example for the shipped file, people for any other file."""
    if path is None:
        return "observers"
    return "example" if browser.is_example(path) else "people"


def who_answered(answers: pd.DataFrame | None, kind: str) -> str:
    """The sentence saying who answered and how many (`experiment.who_answered`); the
    scripted participants of the example file are not called people."""
    text = browser.who_answered(answers, people=kind != "observers", example=kind == "example")
    if kind == "example" and answers is not None and not answers.empty:
        n = int(answers["participant"].nunique())
        counted = "person" if n == 1 else "people"
        scripted = chapter.plural(n, "scripted participant")
        text = text.replace(f"**Who answered: {n} {counted}**", f"**Who answered: {scripted}**")
    return text


def judges_intro(kind: str, n_classes: int, *, answered: bool = True) -> str:
    """What the page says about its judges before their answers (`answered`: whether
    there are any)."""
    if not answered:
        return (
            "Nobody answers on this run: it has no panels to show (the profile has no "
            "network to draw with, or no model observers) and names no response file."
        )
    if kind == "people":
        return (
            "The answers below come from people, read from the response file the profile "
            "names. Their free-text labels are matched to classes through the synonym table "
            "described with Table 1."
        )
    if kind == "example":
        return (
            "The answers below come from the **shipped example file**: two scripted "
            "participants, clicked through the experiment page by the compendium's browser "
            "test with fixed choices. They show that the file the page downloads feeds this "
            "chapter; they say nothing about what people see in the panels."
        )
    return (
        "No one has looked at these panels for this page, so it asks machines. Each **model "
        "observer** is a classifier of the same photographs, trained independently of the "
        "network whose units made the images: some share its design with another seed and "
        "less training, others have a different design altogether.\n\n"
        f"**These observers are not people.** A network can name nothing outside its "
        f"{n_classes:,} classes, is often confident about pictures a person would call noise, "
        "and may share blind spots with the network that made the images. The numbers below "
        "test the analysis and show what machine judges make of the panels; they are not a "
        "replication of the human experiment, whose numbers stand beside them for reference."
    )


# --------------------------------------------------------------------------------------
# The two methods
# --------------------------------------------------------------------------------------

_POSITIONS = {
    "centre": "at the centre of its map",
    "mean": "by its mean over the map",
    "max": "by its largest value over the map",
}


def pixel_method_text(config: Any, channels: int) -> str:
    """How the pixel-space method makes its images, from its settings (`am.AMConfig`)."""
    items = []
    if config.parameterisation == "fourier":
        colour = (
            " For colour images the channels are mixed from a brightness axis and two weaker "
            "colour-opponent axes."
            if channels == 3
            else ""
        )
        items.append(
            "The image is stored as its Fourier coefficients, scaled down at high frequencies "
            f"(by frequency to the power {config.decay:g}), so that each step changes coarse "
            f"shapes more than fine texture.{colour}"
        )
    else:
        items.append("The pixels themselves are the numbers optimised.")
    moves = config.jitter > 0 or config.rotate > 0 or tuple(config.scale) != (1.0, 1.0)
    if moves:
        shrink = (
            " The moves shrink to nothing over the run, so the last steps polish the exact "
            "image that is kept."
            if config.anneal
            else ""
        )
        items.append(
            f"Each step shows the network the images shifted by up to {config.jitter:.0%} of "
            f"their side, zoomed by {config.scale[0]:g} to {config.scale[1]:g} and rotated by up "
            f"to {config.rotate:g} degrees, so a pattern only counts if it survives being "
            f"moved.{shrink}"
        )
    if config.diversity > 0:
        items.append(
            "A unit's images are pushed apart by a penalty on how similar they are to each "
            f"other (weight {config.diversity:g}), so that a panel shows several ways of "
            "driving the unit rather than one picture many times over."
        )
    return "\n".join(f"- {item}" for item in items)


def objective_text(conv_position: str) -> str:
    """What both methods maximise."""
    return (
        "Both methods maximise the unit's value *before* its ReLU (after the ReLU a silent "
        f"unit has no gradient); a convolutional channel is read {_POSITIONS[conv_position]}; "
        "an output unit is the class score before the softmax. All units of a layer are "
        "optimised together in batches, every random draw is seeded by the seed, the layer "
        "and the unit (so a unit gets the same images whatever else is computed with it), and "
        "the images are cached on disk."
    )


def methods_text(pixel: Any, run: GeneratorRun, am_method: str, channels: int) -> str:
    """How this page makes its images (MyST: it cites): the generator method when it ran,
    the pixel-space method always, and which the experiment shows."""
    paper = (
        "The paper used the plug-and-play generative network of {cite:t}`nguyen2017`: rather "
        "than changing pixels, it searched the input (the *code*) of a network trained to "
        "draw natural images, so that every candidate is a picture the generator can draw."
    )
    if run.ran:
        trained, latent = run.generator, run.config
        train = trained.config
        n_train = trained.record.get("images", train.n_train)
        generator = (
            f"{paper} This page does the same in small. **The generator method** "
            f"(`compendium.methods.generator`) trains a variational auto-encoder on "
            f"{n_train:,} Fashion-MNIST training images for {chapter.plural(train.epochs, 'epoch')} (its decoder "
            f"draws a picture from a code of {train.latent} numbers), then, for each image, "
            f"starts from a random code and changes it by {chapter.plural(latent.steps, 'step')} of "
            f"Adam (learning rate {latent.lr:g}) to raise the unit, pulling back any code "
            f"that strays more than {latent.max_norm:g} times its expected length from the "
            "origin, where the generator was trained."
        )
    else:
        generator = (
            f"{paper} This page has no generator for this network ({run.reason}), so only "
            "the pixel-space method runs."
        )
    pixel_intro = (
        "**The pixel-space method** (`compendium.methods.am`) follows the other common route "
        "{cite:p}`olah2017`: it changes the pixels themselves, under constraints that keep "
        "the result from turning into high-frequency noise that only this network responds "
        "to:"
    )
    shown = browser.method_text(am_method, run.ran)
    return "\n\n".join(
        [
            generator,
            pixel_intro,
            pixel_method_text(pixel, channels),
            objective_text(pixel.conv_position),
            shown,
        ]
    )


# --------------------------------------------------------------------------------------
# The design and the synonym table
# --------------------------------------------------------------------------------------


def lists_text(paper: PaperExperiment) -> str:
    """The line above the table of the paper's kinds of list."""
    return (
        f"How many panels of each layer the paper's {paper.n_lists} lists hold (rows: kinds "
        "of list; `lists`: how many lists are of that kind):"
    )


def design_text(design: behaviour.Design, paper: PaperExperiment) -> str:
    """How this page's experiment compares with the paper's, in size."""
    n_panels = len(design.lists)
    n_lists = int(design.lists["list"].nunique())
    n_people = len(design.participants)
    size = "smaller than" if n_panels < paper.n_panels else "as large as"
    return (
        f"This page's experiment is {size} the paper's: its {chapter.plural(n_panels, 'panel')} are "
        f"dealt into {chapter.plural(n_lists, 'list')} (the profile's `n_lists`) for "
        f"{chapter.plural(n_people, 'judge')}, and each judge sees the panels of one list in an "
        "order of its own:"
    )


def synonyms_text(class_names: Sequence[str], synonyms: str | os.PathLike | None) -> str:
    """How labels are matched to classes on this run: which table, and an example from it."""
    paper = (
        "Labels are matched through a table of rough synonyms, in the spirit of the paper, "
        "which counted 'beer', 'glass' and 'drink' as one answer that matched the ImageNet "
        "classes 'wine glass' and 'beer'."
    )
    table = behaviour.default_synonyms(class_names, synonyms).table
    if not table:
        return (
            f"{paper} No synonym table is given for these classes, so a label matches a "
            "class only when it repeats one of the class's names (an ImageNet class has "
            "several, separated by commas); give one with the `synonyms` parameter (a CSV of "
            "`phrase,group` rows)."
        )
    where = (
        f"`{Path(synonyms).name}`" if synonyms else "`compendium/data/synonyms_fashion_mnist.csv`"
    )
    groups: dict[str, list[str]] = {}
    for phrase, names in table.items():
        for group in names:
            groups.setdefault(group, []).append(phrase)
    widest = max(groups, key=lambda g: (len(groups[g]), g))
    shared = max(table, key=lambda p: (len(table[p]), p))
    example = f"puts {_quoted(sorted(groups[widest])[:4])} in one group ('{widest}')"
    if len(table[shared]) > 1:
        example += (
            f" and lets '{shared}' agree with each of the groups {_quoted(sorted(table[shared]))}"
        )
    return (
        f"{paper} The table used here ({where}, {len(table):,} phrases in {len(groups):,} "
        f"groups) {example}."
    )


def _quoted(words: Sequence[str]) -> str:
    return join_words([f"'{w}'" for w in words])


def bars_text() -> str:
    """The paragraph that opens 'Interpretable and selective?': the three detector bars,
    with Zhou et al.'s numbers from `compendium.chapters.detectors`."""
    share = detectors.ZHOU_SHARE[0] / detectors.ZHOU_SHARE[1]
    return (
        "Whether a unit's panel can be named is one question; whether the unit is selective "
        "is another, which the measures of the previous chapters answer. For each judged "
        "unit: the share of yes answers (`yes`), whether it was consistently interpretable, and "
        "whether it clears each of the paper's three detector bars (a *detector*: some "
        "threshold with more hits than misses and more hits than false alarms; a *Zhou "
        f"detector*: at least {share:.0%} of its {detectors.ZHOU_TOP} most active images "
        "from one class; a *grandmother unit*: perfect recall and specificity for some "
        "class), with its max informedness (`max inf.`); the CSV below the table adds the "
        "hit and false-alarm rates and the precision they are read from."
    )


# --------------------------------------------------------------------------------------
# The box at the top
# --------------------------------------------------------------------------------------


def paper_side(paper_table1: pd.DataFrame, threshold: float) -> str:
    """What the paper's people made of its panels (Table 1), as the paper prints it."""
    paper = chapter.reported_values(paper_table1, ["layer", "measure"])
    hidden = [layer for layer in dict.fromkeys(paper_table1["layer"]) if layer != OUTPUT_LAYER]
    out = chapter.paper_percent

    def per_layer(measure: str) -> str:
        return join_words([f"{out(paper[(layer, measure)])} in {layer}" for layer in hidden])

    hidden_side = "; ".join(
        f"{layer}: {out(paper[(layer, 'yes')])} yes and {out(paper[(layer, 'units_80')])} "
        "of units consistent"
        for layer in hidden
    )
    return (
        f"**The paper** (Table 1): people said yes to {out(paper[(OUTPUT_LAYER, 'yes')])} of "
        f"their answers about output units' panels, and {out(paper[(OUTPUT_LAYER, 'units_80')])} "
        f"of output units were consistently interpretable (at least {threshold:.0%} yes), "
        f"against {hidden_side}. Where a panel was named consistently, the name matched the "
        "class of the unit's most active image for "
        f"{out(paper[(OUTPUT_LAYER, 'overlap_top_class')])} of output units, against "
        f"{per_layer('overlap_top_class')}."
    )


def pattern_holds(table: pd.DataFrame) -> bool | None:
    """Whether this run shows the paper's pattern: the output layer above every hidden layer
    both in yes answers and in consistently interpretable units (None: nothing to compare)."""
    hidden = [layer for layer in table.index if layer != OUTPUT_LAYER]
    if OUTPUT_LAYER not in table.index or not hidden:
        return None
    output = table.loc[OUTPUT_LAYER]
    return bool(
        all(output["yes"] > table.loc[layer, "yes"] for layer in hidden)
        and all(output["units_80"] > table.loc[layer, "units_80"] for layer in hidden)
    )


def run_side(judged: Judged | None, network: str, n_classes: int, method: str) -> str:
    """What this run's judges made of its panels, and whether it shows the paper's pattern."""
    head = f"**This run** ({network}, {n_classes:,} classes)"
    if judged is None or judged.table.empty:
        return (
            f"{head} has no answers: the profile has no network to draw panels with and names "
            "no response file, so Table 1 below is the paper's alone."
        )
    table = judged.table
    panels = int(table["units"].sum())
    order = [OUTPUT_LAYER] * (OUTPUT_LAYER in table.index) + [
        layer for layer in table.index if layer != OUTPUT_LAYER
    ]
    each = "; ".join(
        f"{layer}: {chapter.run_percent(table, layer, 'yes')} yes and "
        f"{chapter.run_percent(table, layer, 'units_80')} of units consistent"
        for layer in order
    )
    holds = pattern_holds(table)
    verdict = {
        True: "So it shows the paper's pattern: the output units' panels are named more "
        "often, and more consistently, than every hidden layer's.",
        False: "So it does not show the paper's pattern, in which the output units' panels "
        "are named more often, and more consistently, than every hidden layer's.",
        None: "It has too few layers to compare with the paper's pattern.",
    }[holds]
    return (
        f"{head}: {judged.judges} judged the {chapter.plural(panels, 'panel')} of "
        f"{chapter.METHOD_NAMES[method]} ({each}). {verdict}"
    )


def why_side(
    kind: str | None, n_classes: int, paper_classes: int, method: str, paper: PaperExperiment
) -> str:
    """Why this run and the paper may differ."""
    reasons = []
    if n_classes != paper_classes:
        reasons.append(
            f"here {n_classes:,} classes against the paper's {paper_classes:,}, so a unit "
            "that answers mainly to one or two classes is common, and its pictures can carry "
            "a class's shape"
        )
    if kind == "observers":
        reasons.append(
            "the judges are model observers, which can only name one of the network's "
            "classes and call a panel an object by a fixed rule"
        )
    elif kind == "example":
        reasons.append("the answers are scripted, not anyone's judgement")
    reasons.append(
        f"a small sample of units and judges against the paper's {paper.n_panels:,} panels "
        f"and {chapter.either(*paper.people)} people per panel"
    )
    if method == "generator":
        reasons.append(
            "the images come from a small generator trained here, not from the paper's deep "
            "generator network trained on ImageNet"
        )
    else:
        reasons.append("the images are optimised in pixel space, not through a generator")
    text = "; ".join(reasons)
    return f"**Why they may differ.** {text[0].upper()}{text[1:]}."


def summary_box(
    judged: Judged | None,
    paper_table1: pd.DataFrame,
    paper: PaperExperiment,
    *,
    network: str,
    n_classes: int,
    paper_classes: int,
    method: str,
    selective: str,
) -> str:
    """The box at the top of the page (MyST): what the paper found, what this run finds
    (and whether named units are detectors, `selective`), and why the two may differ."""
    kind = judged.kind if judged is not None and not judged.table.empty else None
    run = run_side(judged, network, n_classes, method)
    if selective:
        run += " " + selective
    return "\n".join(
        [
            ":::{admonition} This run beside the paper",
            ":class: important",
            "",
            paper_side(paper_table1, paper.threshold),
            "",
            run,
            "",
            why_side(kind, n_classes, paper_classes, method, paper),
            ":::",
        ]
    )


# --------------------------------------------------------------------------------------
# How to read the numbers
# --------------------------------------------------------------------------------------


def reading_notes(
    judged: Judged, classes: pd.DataFrame, n_classes: int, paper_classes: int, selective: str
) -> str:
    """The bullets under 'How to read these numbers', each from this run's numbers
    ("" when nothing was judged)."""
    table = judged.table
    if table.empty:
        return ""
    fewest = int(table["units"].min())
    per_panel = judged.units["n"]
    notes = [
        "**The pattern, not the values, is what carries over.** The paper's finding is that "
        "AM images of output units are mostly recognisable and name the right class, while "
        "those of hidden units mostly are not. With "
        f"{join_words([f'{int(n)} {layer}' for layer, n in table['units'].items()])} units "
        f"and {_span(per_panel.min(), per_panel.max())} judges per panel, one unit more or "
        f"less moves a layer's share of consistent units by up to {100 / fewest:.0f} points "
        "(the standard errors in Table 1 say how much a share may move from sample to sample)."
    ]
    if judged.kind == "observers":
        notes.append(
            "**Model observers are lenient in one way and strict in another.** They answer yes "
            "whenever enough of a panel lands confidently in one class, even for pictures a "
            "person would call texture, which can make hidden units look more interpretable "
            f"than people would find them. But they can only name one of {n_classes:,} "
            "classes, so their labels agree with each other and with the classes far more "
            "readily than free-text answers could."
        )
    notes.append(_classes_note(classes, n_classes, paper_classes))
    if selective:
        notes.append(f"**Interpretable is not the same as selective.** {selective}")
    return "\n".join(f"- {note}" for note in notes)


def _classes_note(classes: pd.DataFrame, n_classes: int, paper_classes: int) -> str:
    """How the drawn hidden units' two classes compare, and what the number of classes does."""
    hidden = classes[classes["layer"] != OUTPUT_LAYER]
    same = int((hidden["top_class"] == hidden["ccmas_class"]).sum())
    where = (
        f"the most active image's class and the CCMAS class are the same for {same} of the "
        f"{len(hidden)} hidden units drawn here (the first table)"
        if len(hidden)
        else "no hidden unit was drawn here"
    )
    if n_classes < paper_classes:
        return (
            f"**A {n_classes:,}-class network is not AlexNet.** With {n_classes:,} classes "
            "against the paper's "
            f"{paper_classes:,}, a hidden unit often answers mainly to one or two classes, so "
            "its AM images can carry a recognisable class shape more often than a unit among "
            f"AlexNet's; {where}."
        )
    return (
        f"**Classes.** This network has {n_classes:,} classes, like the paper's "
        f"{paper_classes:,}; {where}."
    )


def _span(low: int, high: int) -> str:
    return f"{int(low)}" if low == high else f"{int(low)} to {int(high)}"


# --------------------------------------------------------------------------------------
# Exercises and the rerun example
# --------------------------------------------------------------------------------------


def exercises(
    paper: PaperExperiment,
    judged: Judged | None,
    answers: pd.DataFrame | None,
    classes: pd.DataFrame,
    class_names: Sequence[str],
    synonyms: str | os.PathLike | None,
    own_class: pd.DataFrame | None,
    selective: pd.DataFrame | None,
) -> list[Exercise]:
    """The chapter's exercises; each solution's numbers come from this run (or from the
    paper's numbers), and exercises this run cannot answer are left out."""
    items = [_design_exercise(paper)]
    if judged is not None and answers is not None and not judged.table.empty:
        items.append(_threshold_exercise(judged, answers, classes, class_names, synonyms))
    if own_class is not None and own_class.shape[1] == 2:
        items.append(_methods_exercise(own_class))
    if selective is not None and not selective.empty:
        items.append(_selective_exercise(selective))
    return items


def _design_exercise(paper: PaperExperiment) -> Exercise:
    per_person = paper.longest_list
    judges = chapter.either(*paper.people)
    return Exercise(
        label="ex-am-design",
        title="The paper's design",
        question=(
            "In the paper, how many people judged each panel, and how many panels did one "
            "person see at most? Why split the panels into lists at all?"
        ),
        solution=(
            f"Each panel was judged by {judges} people, and nobody saw more than {per_person} "
            f"panels ({paper.n_panels:,} panels in {paper.n_lists} lists). Lists keep a "
            "session short enough to stay attentive, while every panel still gets several "
            "judges; counterbalancing gives each list a similar mix of layers, so that a "
            "judge's mood or strictness is not confounded with one layer."
        ),
    )


def _threshold_exercise(
    judged: Judged,
    answers: pd.DataFrame,
    classes: pd.DataFrame,
    class_names: Sequence[str],
    synonyms: str | os.PathLike | None,
) -> Exercise:
    strict = chapter.judge_panels(
        answers, classes, class_names, synonyms, 1.0, list(judged.table.index), kind=judged.kind
    )
    now = judged.table["units_consistent"].astype(int)
    then = strict.table["units_consistent"].astype(int)
    each = join_words(
        [
            f"{layer}: {now[layer]} then {then[layer]} of {int(n)}"
            for layer, n in strict.table["units"].items()
        ]
    )
    return Exercise(
        label="ex-am-threshold",
        title="A stricter judge",
        question=(
            "Rerun this chapter with `-p threshold 1.0`, so that a unit is consistently "
            "interpretable only when every judge says yes. How many units of each layer stay "
            "consistent? Which column of Table 1 cannot change, and why?"
        ),
        solution=(
            f"Consistent units at this page's threshold, then at 1.0: {each}. Column (a), the "
            "share of yes answers, cannot change: it counts answers, not units, and the "
            "threshold only decides which units count as consistent (columns b to e)."
        ),
    )


def _methods_exercise(own_class: pd.DataFrame) -> Exercise:
    means = own_class.mean()
    each = join_words(
        [f"{100 * share:.0f}% of the {title} images" for title, share in means.items()]
    )
    better = means.idxmax() if means.nunique() > 1 else None
    verdict = (
        f"so the {better} images convince the network more often"
        if better
        else "so both convince it equally often"
    )
    return Exercise(
        label="ex-am-methods",
        title="Two ways to draw a unit",
        question=(
            "Look at the two panels of the same output unit above. Which looks more like a "
            "garment to you? Which does the network itself file under the unit's class more "
            "often (the own-class table)? Does the answer to the second question settle the "
            "first?"
        ),
        solution=(
            f"The network filed {each} under the unit's class, {verdict}. It does not settle "
            "what a person sees: a network can be sure of pictures that look like noise to "
            "us, which is why the paper asked people."
        ),
    )


def _selective_exercise(table: pd.DataFrame) -> Exercise:
    named = table[table["consistent"] & ~table["detector"]]
    detectors = table[~table["consistent"] & table["detector"]]

    def units(rows: pd.DataFrame) -> str:
        return join_words(
            [
                f"{r.layer} unit {r.unit} (max informedness {r.max_informedness:.2f})"
                for r in rows.itertuples()
            ]
        )

    found = [
        f"named but not detectors: {units(named)}"
        if len(named)
        else "no unit is named but not a detector",
        f"detectors that were not named: {units(detectors)}"
        if len(detectors)
        else "no detector went unnamed",
    ]
    return Exercise(
        label="ex-am-selective",
        title="Named is not selective",
        question=(
            "In the table 'Interpretable and selective?', find a unit whose panel the judges "
            "named consistently but that does not clear the reasonable detector bar, and one "
            "the other way round. What do their max informedness values say?"
        ),
        solution=(
            f"In this run, {'; '.join(found)}. Max informedness is hit rate minus false-alarm "
            "rate at the unit's best threshold: it measures how well the unit's activation "
            "separates one class from all others, which a panel of pictures cannot show."
        ),
    )


def rerun_example() -> dict[str, Any]:
    """The parameters of the rerun recipe's example command."""
    return {"am_method": "pixel", "units": {"conv5": 8, "fc6": 8, "fc8": 10}}


__all__ = [
    "EXAMPLE",
    "bars_text",
    "design_text",
    "exercises",
    "judges_intro",
    "judges_kind",
    "lists_text",
    "methods_text",
    "paper_side",
    "pattern_holds",
    "reading_notes",
    "rerun_example",
    "response_file",
    "run_side",
    "summary_box",
    "synonyms_text",
    "who_answered",
    "why_side",
]
