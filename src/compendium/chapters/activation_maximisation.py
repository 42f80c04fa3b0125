"""Chapter 3 (activation maximisation and the behavioural experiment): everything the page
computes, from the units it draws to the paragraph that states what this run found.

`compendium.methods.am` (pixel space), `.generator` (the codes of a learned generator),
`.behaviour` and `.observers` make the images, the lists and the answers; this module
strings them together for the page and writes the sentences about them. Two kinds of
sentence are written here: those about the paper, whose numbers come from
`paper_numbers.csv` (:class:`PaperExperiment`), and those about this run, written from its
own tables (:class:`Judged`, :func:`describe_judgements`), so that they change when the
numbers do. The page's longer prose (the box at the top, how to read the numbers, the
exercises) is in `compendium.chapters.activation_maximisation_page`.

The page shows the paper's method before its set-up cell silences tqdm's notebook warning,
so importing this module must not import tqdm: the methods that make and judge images
(`am`, `observers`, which do) are imported by the functions that use them.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from compendium.chapters.paper import PaperNumbersError, beside_paper, reported
from compendium.methods import behaviour
from compendium.methods.behaviour import format_table1
from compendium.util.errors import CompendiumError

if TYPE_CHECKING:
    from torch import nn

    from compendium.methods.am import AMConfig, AMResult, ImageSpec
    from compendium.methods.observers import Observer

#: The output layer of the paper's AlexNet (the paper calls fc8 'output').
OUTPUT_LAYER = "fc8"
#: The source of the paper's numbers about its experiment in ``paper_numbers.csv``.
EXPERIMENT_SOURCE = "Sec. 2 behavioural experiment"
#: Share of an output unit's AM images its own network must file under the unit's class
#: for the page to call the images convincing to that network.
CONVINCED_SHARE = 0.9


class ChapterThreeError(CompendiumError):
    """A parameter of chapter 3 cannot be used as given (the message says what to change)."""

# --------------------------------------------------------------------------------------
# The paper's experiment, in its own numbers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperExperiment:
    """The paper's behavioural experiment as its Section 2 reports it.

    Layers keep the order of ``paper_numbers.csv``, which is the order the paper names them
    in: ``panels`` and ``layer_units`` conv5, fc6, fc8; ``list_panels`` conv5, fc8, fc6.
    """

    images_per_unit: int
    panel_side: int
    threshold: float
    panels: dict[str, int]  # panels shown per layer
    layer_units: dict[str, int]  # units in each layer
    list_panels: dict[str, tuple[int, int]]  # fewest and most panels of a layer in one list
    n_panels: int
    n_lists: int
    longest_list: int
    people: tuple[int, int]  # fewest and most participants who saw one list
    lists_by_people: dict[int, int]  # participants -> lists that many people saw

    @classmethod
    def from_reported(cls, every: pd.DataFrame) -> PaperExperiment:
        """From the rows of `compendium.chapters.paper.reported`: those of
        :data:`EXPERIMENT_SOURCE`, and the size of each layer (``layer_units``; the output
        layer has one unit per class, ``n_classes``)."""
        rows = every[every["source"] == EXPERIMENT_SOURCE]
        whole = _values(rows[rows["layer"].isna()], "measure")
        per_layer = rows.dropna(subset=["layer"])
        sizes = _values(every[every["measure"] == "layer_units"], "layer").to_dict()
        classes = every[(every["measure"] == "n_classes") & every["layer"].isna()]
        if not classes.empty:
            sizes.setdefault(OUTPUT_LAYER, classes["value"].iloc[0])

        def number(name: str) -> float:
            if name not in whole:
                raise PaperNumbersError(
                    f"paper_numbers.csv has no row {EXPERIMENT_SOURCE!r} / {name}: add it "
                    "with the number the paper gives"
                )
            return float(whole[name])

        def layers(measure: str) -> dict[str, int]:
            mine = per_layer[per_layer["measure"] == measure]
            if mine.empty:
                raise PaperNumbersError(
                    f"paper_numbers.csv has no per-layer rows {EXPERIMENT_SOURCE!r} / "
                    f"{measure}: add one row per layer"
                )
            return {str(r.layer): int(r.value) for r in mine.itertuples()}

        low, high = layers("min_list_panels"), layers("max_list_panels")
        people = (int(number("min_list_participants")), int(number("max_list_participants")))
        return cls(
            images_per_unit=int(number("images_per_unit")),
            panel_side=int(number("panel_side")),
            threshold=number("consistency_threshold"),
            panels=layers("n_panels"),
            layer_units=_sizes(sizes, layers("n_panels")),
            list_panels={layer: (low[layer], high[layer]) for layer in low},
            n_panels=int(number("n_panels")),
            n_lists=int(number("n_lists")),
            longest_list=int(number("max_list_panels")),
            people=people,
            lists_by_people={
                k: int(number(f"n_lists_{k}_participants")) for k in sorted(set(people))
            },
        )


def _sizes(sizes: Mapping[str, float], layers: Mapping[str, int]) -> dict[str, int]:
    """The number of units in each of `layers`, or an error naming the missing rows."""
    missing = [layer for layer in layers if layer not in sizes]
    if missing:
        raise PaperNumbersError(
            f"paper_numbers.csv gives no size (layer_units) for {missing}: add the "
            "number of units the paper's network has in each"
        )
    return {layer: int(sizes[layer]) for layer in layers}


def paper_experiment(rows: pd.DataFrame | None = None) -> PaperExperiment:
    """The paper's experiment, from `rows` of `reported` (default: all of
    ``paper_numbers.csv``)."""
    return PaperExperiment.from_reported(reported() if rows is None else rows)


def paper_method_text(paper: PaperExperiment) -> str:
    """What the paper did, for the page's introduction."""
    side = paper.panel_side
    return (
        f"They made {paper.images_per_unit} such activation-maximisation (AM) images for "
        f"units of AlexNet's {_join(list(paper.panels))} layers, showed each unit's images "
        f"as one {side} x {side} panel, and asked people whether the images in a panel had "
        "an object in common and, if so, which. Their Table 1 reports how often people said "
        "yes, how often they agreed with each other, and whether their answers matched the "
        "class that the unit's other selectivity measures single out."
    )


def paper_sample_text(paper: PaperExperiment) -> str:
    """Which units the paper made panels for, and why this page draws only a few."""
    shares = [
        _share_of_layer(layer, shown, paper.layer_units[layer])
        for layer, shown in paper.panels.items()
    ]
    return (
        f"The paper made panels for {_join(shares)}. Making {paper.images_per_unit} AM images "
        "costs many forward and backward passes per unit, so this page draws a small random "
        "sample from each layer of the profile's network (seeded; units that no image "
        "activates are left out of the draw, because they have no most active image and no "
        "CCMAS class to compare with). For each unit the table gives the two classes Table 1 "
        "compares people's answers with: the class of the unit's most active image and the "
        "class with the highest mean activation (the CCMAS class), plus the unit's largest "
        "activation over the recorded images."
    )


def paper_design_text(paper: PaperExperiment) -> str:
    """The paper's lists and who saw them, and how this page rebuilds them."""
    panels = [
        f"{'all ' if shown == paper.layer_units.get(layer) else ''}{shown:,} {layer} units"
        for layer, shown in paper.panels.items()
    ]
    per_list = [f"{_either(*span)} {layer}" for layer, span in paper.list_panels.items()]
    seen = [
        f"{n} lists by {k}" if i == 0 else f"{n} by {k}"
        for i, (k, n) in enumerate(paper.lists_by_people.items())
    ]
    people = _either(*paper.people)
    return (
        f"In the paper, {paper.n_panels:,} panels ({_join(panels)}) were split into "
        f"{paper.n_lists} counterbalanced lists; each list held {_join(per_list)} panels, "
        f"and each was seen by {people} people ({', '.join(seen)}). Every panel was therefore "
        f"judged by {people} people, and nobody saw more than {paper.longest_list} panels. "
        "`compendium.methods.behaviour.design_experiment` deals panels into lists layer by "
        "layer, carrying on round the lists from one layer to the next, so each list gets as "
        "even a share of each layer as the numbers allow; participants are dealt onto lists "
        "the same way. Given the paper's numbers it rebuilds the paper's lists:"
    )


def table1_columns_text(paper: PaperExperiment) -> str:
    """The columns of Table 1, as this page computes them (a Markdown list)."""
    return (
        "The analysis follows the paper's columns:\n\n"
        "- **(a)** the share of all answers that were yes, per layer;\n"
        "- **(b)** the share of units that at least a share `threshold` of their judges "
        f"called interpretable ({paper.threshold:g} in the paper and by default);\n"
        "- for those units only, **(c)** how far the judges' labels agree with each other: "
        "the share of a unit's labels that fall in the group most of its labels name, "
        "averaged over units; and whether that majority answer matches **(d)** the class of "
        "the unit's most active image and **(e)** its CCMAS class."
    )


def design_beside_paper(design: behaviour.Design, rows: pd.DataFrame) -> pd.DataFrame:
    """`behaviour.design_summary` of `design` beside the numbers the paper states about its
    lists (`rows`: `reported` rows of :data:`EXPERIMENT_SOURCE`), one row per number."""
    shape = behaviour.design_summary(design)
    whole = rows[rows["layer"].isna()].assign(layer="experiment")
    paired = beside_paper(shape.to_frame("experiment").T, whole, "layer")
    if paired["paper"].isna().any():
        missing = paired.loc[paired["paper"].isna(), "measure"].tolist()
        raise PaperNumbersError(f"paper_numbers.csv states no {missing} for the experiment")
    table = paired.set_index("measure")[["this run", "paper"]].astype(int)
    return table.rename(columns={"this run": "this design"}).rename_axis(None)


def list_kinds(design: behaviour.Design) -> pd.DataFrame:
    """The kinds of list in `design` (panels of each layer, participants) and how many
    lists are of each kind."""
    return design.composition().value_counts().rename("lists").reset_index()


# --------------------------------------------------------------------------------------
# This run: units, images and their checks
# --------------------------------------------------------------------------------------


def no_network_note(description: str) -> str:
    """What the page says when the profile has activations but no network to draw with."""
    return (
        f"**This profile has {description}.** No AM images can be made, so the sections that "
        "make and judge them are left empty; the design and, given a response file "
        "(`responses`), Table 1 are computed as usual."
    )


def am_config(images_per_unit: int, steps: int, seed: int, settings: Mapping[str, Any]) -> AMConfig:
    """The page's AM settings: its parameters, then `settings` (any `am.AMConfig` field)."""
    from compendium.methods.am import AMConfig

    return AMConfig.from_dict(
        {"images_per_unit": images_per_unit, "steps": steps, "seed": seed, **settings}
    )


def settings_table(config: AMConfig) -> pd.DataFrame:
    """Every AM setting and its value."""
    return pd.Series(config.to_dict(), name="value").rename_axis("AM setting").to_frame()


def choose_units(
    store: Any,
    layers: Sequence[str],
    units: Mapping[str, int | Sequence[int]],
    *,
    seed: int = 0,
    include_silent: bool = False,
) -> dict[str, np.ndarray]:
    """The units of each layer to draw: ``units[layer]`` drawn at random (seeded) among
    those some image activates (among all units with `include_silent`), or the listed
    units themselves (`behaviour.sample_units`)."""
    missing = [layer for layer in layers if layer not in units]
    if missing:
        raise ChapterThreeError(
            f"units names no number of units for {missing}: give each layer of `layers` a "
            "count to draw or a list of units, e.g. {'conv5': 4}"
        )
    chosen = {}
    for layer in layers:
        if isinstance(units[layer], int) and not include_silent:
            maxima = behaviour.unit_maxima(store, layer)
        else:  # a list of units is taken as it is; with include_silent every unit may be drawn
            maxima = np.ones(store.n_units(layer))
        chosen[layer] = behaviour.sample_units(maxima, units[layer], seed=seed, layer=layer)
    return chosen


def unit_classes(store: Any, chosen: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """`behaviour.unit_classes` of every chosen unit, layer after layer."""
    parts = [behaviour.unit_classes(store, layer, units) for layer, units in chosen.items()]
    return pd.concat(parts, ignore_index=True)


def make_images(
    network: nn.Module | None,
    model_id: str,
    chosen: Mapping[str, Sequence[int]],
    config: AMConfig,
    *,
    image: ImageSpec,
    device: str,
) -> dict[str, AMResult]:
    """AM images of the chosen units, per layer (cached by `am.am_images`); none without a
    network."""
    if network is None:
        return {}
    from compendium.methods import am

    return {
        layer: am.am_images(
            network, model_id, layer, units, config, image=image, device=device, progress=False
        )
        for layer, units in chosen.items()
    }


def images_table(made: Mapping[str, AMResult]) -> pd.DataFrame:
    """Per layer: units drawn, seconds per unit when the images were made, and whether all
    came from the cache."""
    return pd.DataFrame(
        {
            "units": {layer: len(r.units) for layer, r in made.items()},
            "s per unit": {layer: r.seconds.mean() for layer, r in made.items()},
            "from cache": {layer: r.from_cache.all() for layer, r in made.items()},
        }
    ).rename_axis("layer")


def timing_note(made: Mapping[str, AMResult], device: str, threads: int) -> str | None:
    """How long one unit's images took to make (None when none were made)."""
    if not made:
        return None
    config = next(iter(made.values())).config
    per_unit = float(np.mean(np.concatenate([r.seconds for r in made.values()])))
    return (
        f"On the machine that first built this page (device `{device}`, {threads} "
        f"thread(s)), one unit's {config.images_per_unit} images took {per_unit:.1f} s "
        f"on average ({config.steps} steps). The benchmark `bench/am.py` times the same "
        "code for torchvision's AlexNet at 224 x 224 on a GPU."
    )


def image_ratios(
    network: nn.Module | None,
    made: Mapping[str, AMResult],
    classes: pd.DataFrame,
    *,
    image: ImageSpec,
    device: str,
) -> pd.DataFrame | None:
    """`am.activation_ratios` of the images against each unit's largest activation over the
    data set (``classes["dataset_max"]``); None when no images were made."""
    if not made:
        return None
    from compendium.methods import am

    maxima = classes.set_index(["layer", "unit"])["dataset_max"].to_dict()
    return am.activation_ratios(network, list(made.values()), maxima, image=image, device=device)


def ratio_summary(ratios: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per layer: units, the median and lowest ratio, and the mean share of images above
    the data set's maximum (None without ratios)."""
    if ratios is None:
        return None
    return ratios.groupby("layer", sort=False).agg(
        units=("unit", "size"),
        median_ratio=("ratio", "median"),
        min_ratio=("ratio", "min"),
        share_of_images_above_max=("share above max", "mean"),
    )


def describe_ratios(check: pd.DataFrame | None) -> str | None:
    """This run's answer to 'do the images drive their units?', from `ratio_summary`."""
    if check is None:
        return None
    lines = [
        f"{layer}: median ratio {row.median_ratio:.2f} (lowest {row.min_ratio:.2f}), "
        f"{row.share_of_images_above_max:.0%} of the images above the data set's maximum"
        for layer, row in check.iterrows()
    ]
    return "**This run:** " + "; ".join(lines) + "."


def own_class_check(
    network: nn.Module | None,
    made: Mapping[str, AMResult],
    class_names: Sequence[str],
    *,
    image: ImageSpec,
    device: str,
) -> pd.DataFrame | None:
    """`am.own_class_share` of the output layer's images (None when it has none)."""
    if OUTPUT_LAYER not in made:
        return None
    from compendium.methods import am

    return am.own_class_share(network, made[OUTPUT_LAYER], class_names, image=image, device=device)


def panel_picture(result: AMResult, unit: int) -> np.ndarray:
    """One unit's images tiled into a square-ish panel."""
    images = result.unit(unit)
    columns = int(np.ceil(np.sqrt(len(images))))
    return behaviour.panel_grid(images, columns=columns, zoom=1)


def first_panels(made: Mapping[str, AMResult]) -> HTML | None:
    """The panel of the first unit of each layer (None when no images were made)."""
    if not made:
        return None
    shown = [
        (panel_picture(result, int(result.units[0])), f"{layer} unit {int(result.units[0])}")
        for layer, result in made.items()
    ]
    return HTML(behaviour.panels_html(shown, width=320))


# --------------------------------------------------------------------------------------
# Judges and their answers
# --------------------------------------------------------------------------------------


def participants(responses: str | None, observers: Sequence[Mapping[str, Any]]) -> list[str] | int:
    """Who judges the panels: the participants of a response file, else the observers'
    names, else five stand-ins (a count, for `behaviour.design_experiment`)."""
    if responses:
        return pd.read_csv(responses)["participant"].astype(str).unique().tolist()
    return [o["name"] for o in observers] or 5


def observer_rule(confidence: float, agreement: float) -> str:
    """How a model observer answers a panel, in the page's settings."""
    return (
        f"An observer looks at every image of a panel and says **yes** when at least "
        f"{agreement:.0%} of them fall in one class, each with probability {confidence:.2f} or "
        f"more; its label is that class's name."
    )


def responses_note(answers: pd.DataFrame, path: str) -> str:
    """Which file of human responses was read, and how much it holds."""
    people = answers["participant"].nunique()
    return f"Read `{path}`: {len(answers)} responses from {people} participants."


def quiet_observers(specs: Sequence[Mapping[str, Any]]) -> list[Observer]:
    """`obs.trained_observers` without its progress bars."""
    from compendium.methods import observers as obs

    with contextlib.redirect_stderr(io.StringIO()):
        return obs.trained_observers(specs)


def observer_answers(
    design: behaviour.Design,
    judges: Sequence[Observer],
    made: Mapping[str, AMResult],
    class_names: Sequence[str],
    *,
    image: ImageSpec,
    confidence: float,
    agreement: float,
    device: str,
) -> pd.DataFrame:
    """The observers' answers to the panels of their lists (`obs.observer_responses`)."""
    from compendium.methods import observers as obs

    panels = {
        (layer, int(u)): result.unit(int(u)) for layer, result in made.items() for u in result.units
    }
    return obs.observer_responses(
        design,
        judges,
        panels,
        class_names,
        image=image,
        confidence=confidence,
        agreement=agreement,
        device=device,
    )


def gather_answers(
    responses: str | None,
    observers: Sequence[Mapping[str, Any]],
    design: behaviour.Design,
    classes: pd.DataFrame,
    made: Mapping[str, AMResult],
    class_names: Sequence[str],
    *,
    image: ImageSpec,
    confidence: float,
    agreement: float,
    device: str,
) -> tuple[pd.DataFrame | None, Markdown | pd.DataFrame | None]:
    """The response table and what to show about where it came from: a file of human
    responses (a note), else the model observers' answers (their table), else nothing
    (no responses and no images)."""
    if responses:
        answers = behaviour.read_responses(responses, classes)
        return answers, Markdown(responses_note(answers, responses))
    if not made:
        return None, None
    from compendium.methods import observers as obs

    judges = quiet_observers(observers)
    answers = observer_answers(
        design,
        judges,
        made,
        class_names,
        image=image,
        confidence=confidence,
        agreement=agreement,
        device=device,
    )
    return answers, obs.describe(judges)


# --------------------------------------------------------------------------------------
# Table 1 and what this run says
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """What this run's judges made of the panels: its Table 1 (`behaviour.table1`, one row
    per layer, in percent), one row per panel (`behaviour.unit_judgements`), who judged,
    and the output layer's own-class check (`own_class_check`; None without images)."""

    table: pd.DataFrame
    units: pd.DataFrame
    people: bool
    own_class: pd.DataFrame | None = None

    @property
    def judges(self) -> str:
        return "people" if self.people else "model observers"

    @property
    def judge(self) -> str:
        return "participant" if self.people else "observer"


def judge_panels(
    answers: pd.DataFrame | None,
    classes: pd.DataFrame,
    class_names: Sequence[str],
    synonyms: str | None,
    threshold: float,
    layers: Sequence[str],
    *,
    people: bool,
    own_class: pd.DataFrame | None = None,
) -> Judged:
    """Table 1 and the per-panel verdicts from the answers (`behaviour.analyse`), labels
    matched through `synonyms` (a CSV; None: the shipped table)."""
    matcher = behaviour.default_synonyms(class_names, synonyms)
    units, table = behaviour.analyse(answers, classes, matcher, threshold, layers)
    return Judged(table, units, people, own_class)


def table1_beside_paper(
    table: pd.DataFrame, reported: pd.DataFrame, label: str, layers: Sequence[str]
) -> pd.DataFrame:
    """This run's Table 1 (from `compendium.methods.behaviour.table1`) and the paper's
    (rows of `compendium.chapters.paper.reported` for "Table 1"), formatted, one row per
    layer and source; a layer that one of them lacks shows dashes."""
    rows = pd.Index(layers).union(table.index, sort=False)
    columns = table.columns.union(pd.Index(reported["measure"].unique()), sort=False)
    paired = beside_paper(table.reindex(index=rows, columns=columns), reported, "layer", wide=True)
    ours = format_table1(paired.xs("this run", axis=1, level=1))
    theirs = format_table1(paired.xs("paper", axis=1, level=1))
    present = {label: set(table.index), "paper (people)": set(reported["layer"])}
    rows = []
    for layer in layers:
        for source, frame in ((label, ours), ("paper (people)", theirs)):
            values = frame.loc[layer] if layer in present[source] else pd.Series("–", frame.columns)
            rows.append({"layer": layer, "source": source, **values.to_dict()})
    return pd.DataFrame(rows).set_index(["layer", "source"])


def fig5_panels(units: pd.DataFrame, made: Mapping[str, AMResult], n: int) -> list[Markdown | HTML]:
    """The counterpart of the paper's Fig. 5: a heading and captioned panels of units every
    judge called an object, then of units no judge did (a note where there are none);
    nothing when no images were made."""
    named, unnamed = behaviour.fig5_examples(units, n)
    if not made:
        return []
    shown: list[Markdown | HTML] = []
    for rows, heading in (
        (named, "Judged to show an object by every judge"),
        (unnamed, "Judged to show no object by any judge"),
    ):
        if rows.empty:
            shown.append(Markdown(f"*{heading}: no unit in this run.*"))
            continue
        panels = [
            (panel_picture(made[r["layer"]], int(r["unit"])), behaviour.caption(r))
            for _, r in rows.iterrows()
        ]
        shown += [Markdown(f"**{heading}**"), HTML(behaviour.panels_html(panels, width=320))]
    return shown


def describe_judgements(judged: Judged, paper_table1: pd.DataFrame) -> str:
    """One paragraph on what this run's judges made of the panels, beside the paper's
    people (`paper_table1`: the `reported` rows of "Table 1"): the output layer's yes
    answers and consistent units, the hidden layers', whether consistent names match the
    output unit's class, whether the layers are ordered as in the paper, and output units
    whose images convince their own network but no judge ("" when nothing was judged)."""
    table = judged.table
    paper = _values(paper_table1, ["layer", "measure"])
    paper_hidden = [
        layer for layer in dict.fromkeys(paper_table1["layer"]) if layer != OUTPUT_LAYER
    ]
    hidden = [layer for layer in table.index if layer != OUTPUT_LAYER]
    has_output = OUTPUT_LAYER in table.index
    sentences = []
    if has_output:
        sentences.append(
            f"With {judged.judges} as judges, the output layer's panels drew yes in "
            f"{_pct(table, OUTPUT_LAYER, 'yes')} of answers and "
            f"{_pct(table, OUTPUT_LAYER, 'units_80')} of its units were consistently "
            f"interpretable (the paper's people: {paper[(OUTPUT_LAYER, 'yes')]:.0f}% and "
            f"{paper[(OUTPUT_LAYER, 'units_80')]:.0f}%)."
        )
    if hidden:
        each = "; ".join(
            f"{layer} {_pct(table, layer, 'yes')} yes, {_pct(table, layer, 'units_80')} of "
            "units consistent"
            for layer in hidden
        )
        yes = _about([paper[(layer, "yes")] for layer in paper_hidden])
        consistent = _about([paper[(layer, "units_80")] for layer in paper_hidden])
        sentences.append(
            f"In the hidden layers: {each} (the paper: {yes} yes and {consistent} of units "
            f"in {_join(paper_hidden)})."
        )
    if has_output and table.loc[OUTPUT_LAYER, "units_consistent"] > 0:
        sentences.append(
            "Where the output units' panels were named consistently, the name matched the "
            f"unit's own class in {_pct(table, OUTPUT_LAYER, 'overlap_top_class')} of cases "
            f"(the paper: {paper[(OUTPUT_LAYER, 'overlap_top_class')]:.0f}%)."
        )
    if has_output and hidden:
        sentences.append(_ordering(table, hidden, paper, paper_hidden))
    convinced = _convincing_only_to_their_network(judged)
    if has_output and convinced:
        sentences.append(
            f"The network that made the images filed at least {CONVINCED_SHARE:.0%} of them "
            f"under their unit's class for {len(convinced)} output unit(s) "
            f"({', '.join(convinced)}) that no {judged.judge} called an object at all: images "
            "that convince their own network need not look like anything to another viewer."
        )
    return " ".join(sentences)


def _ordering(
    table: pd.DataFrame, hidden: list[str], paper: pd.Series, paper_hidden: list[str]
) -> str:
    """Whether a hidden layer drew more yes answers than the output layer, here and in
    the paper."""
    more = max(table.loc[layer, "yes"] for layer in hidden) > table.loc[OUTPUT_LAYER, "yes"]
    paper_more = max(paper[(layer, "yes")] for layer in paper_hidden) > paper[(OUTPUT_LAYER, "yes")]
    start = (
        f"So here at least one hidden layer drew {'more' if more else 'fewer'} yes answers "
        "than the output layer; "
    )
    if more == paper_more:
        return start + "the paper found the same ordering."
    drew = "fewer" if paper_more else "far more"
    return start + (
        f"in the paper the output layer drew {drew}, so on this point the run and the paper differ."
    )


def _convincing_only_to_their_network(judged: Judged) -> list[str]:
    """Classes of the output units whose images their own network files under the unit's
    class (at least :data:`CONVINCED_SHARE` of them) but that no judge said yes to."""
    if judged.own_class is None:
        return []
    own = judged.own_class.set_index("unit")
    share = own["share classified as the unit's class"]
    output = judged.units[judged.units["layer"] == OUTPUT_LAYER]
    yes = output.set_index("unit")["share_yes"]
    return [
        str(own.loc[u, "class"])
        for u in share.index
        if share[u] >= CONVINCED_SHARE and yes.get(u, 1) == 0
    ]


# --------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------


def _values(rows: pd.DataFrame, key: str | list[str]) -> pd.Series:
    """The ``value`` column of `reported` rows, indexed by `key`."""
    return rows.drop_duplicates(key).set_index(key)["value"]


def _pct(table: pd.DataFrame, layer: str, column: str) -> str:
    """A whole percentage from this run's Table 1, or a dash."""
    value = table.loc[layer, column] if layer in table.index else np.nan
    return "–" if pd.isna(value) else f"{value:.0f}%"


def _about(values: Sequence[float]) -> str:
    """Percentages in words: 'about X%' when they lie within one point, else 'X to Y%'."""
    low, high = min(values), max(values)
    if high - low < 1:
        return f"about {np.mean(values):.0f}%"
    return f"{low:.0f} to {high:.0f}%"


def _share_of_layer(layer: str, shown: int, units: int) -> str:
    """How many of a layer's units the paper showed, in words."""
    name = "output" if layer == OUTPUT_LAYER else layer
    if shown == units:
        return f"all {units:,} {name} units"
    if 2 * shown == units:
        return f"a random half of {name}'s {units:,} units"
    return f"{shown:,} of the {units:,} {name} units"


def _either(low: int, high: int) -> str:
    """'15 or 16', or '4' when both are the same."""
    return f"{low}" if low == high else f"{low} or {high}"


def _join(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
