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
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from compendium.chapters.page import join_words
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
#: The AM methods as the page's tables and sentences name them.
METHOD_COLUMNS = {"pixel": "pixel-space", "generator": "generator"}
METHOD_NAMES = {"pixel": "the pixel-space method", "generator": "the generator method"}
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
        whole = reported_values(rows[rows["layer"].isna()], "measure")
        per_layer = rows.dropna(subset=["layer"])
        sizes = reported_values(every[every["measure"] == "layer_units"], "layer").to_dict()
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
        f"units of AlexNet's {join_words(list(paper.panels))} layers, showed each unit's images "
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
        f"The paper made panels for {join_words(shares)}. Making {paper.images_per_unit} AM images "
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
    per_list = [f"{either(*span)} {layer}" for layer, span in paper.list_panels.items()]
    seen = [
        f"{n} lists by {k}" if i == 0 else f"{n} by {k}"
        for i, (k, n) in enumerate(paper.lists_by_people.items())
    ]
    people = either(*paper.people)
    return (
        f"In the paper, {paper.n_panels:,} panels ({join_words(panels)}) were split into "
        f"{paper.n_lists} counterbalanced lists; each list held {join_words(per_list)} panels, "
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
    """Pixel-space AM images of the chosen units, per layer (cached by `am.am_images`);
    none without a network."""
    if network is None:
        return {}
    from compendium.methods import am

    return {
        layer: am.am_images(
            network, model_id, layer, units, config, image=image, device=device, progress=False
        )
        for layer, units in chosen.items()
    }


@dataclass(frozen=True)
class GeneratorRun:
    """The generator method of this page: the trained generator, the settings of the code
    search and the images per layer (all None / empty where the method cannot run)."""

    generator: Any  # compendium.methods.generator.TrainedGenerator | None
    config: Any  # compendium.methods.generator.LatentAMConfig | None
    made: dict[str, AMResult]
    reason: str = ""  # why the method did not run, in words ("" when it did)

    @property
    def ran(self) -> bool:
        return bool(self.made)


def make_generator_images(
    network: nn.Module | None,
    model_id: str,
    chosen: Mapping[str, Sequence[int]],
    settings: Mapping[str, Any] | None,
    images_per_unit: int,
    seed: int,
    *,
    image: ImageSpec,
    device: str,
) -> GeneratorRun:
    """Generator AM images of the chosen units (`compendium.methods.generator`): the
    profile's ``generator`` settings (its ``train`` entry trains the generator, the others
    set the code search), the page's images per unit and seed. The generator is trained
    once per configuration and cached, as are the images. Nothing runs without a network or
    for images the generator cannot draw (`GeneratorRun.reason` says which)."""
    from compendium.methods import generator as gen

    train, latent = gen.generator_settings(images_per_unit, seed, settings)
    if network is None:
        return GeneratorRun(None, latent, {}, "this profile has no network to draw for")
    if not gen.supports(image):
        side = f"{image.channels} x {image.size} x {image.size}"
        return GeneratorRun(
            None,
            latent,
            {},
            f"the generator draws 1 x 28 x 28 images and this network takes {side}",
        )
    with contextlib.redirect_stderr(io.StringIO()):
        trained = gen.trained_generator(train)
    made = gen.generator_images(
        network, model_id, chosen, trained, latent, image=image, device=device
    )
    return GeneratorRun(trained, latent, made)


def generator_samples(run: GeneratorRun, n: int, seed: int = 0) -> HTML | None:
    """A panel of `n` pictures the generator draws from random codes (seeded): what its
    pictures look like before any unit pulls on them (None when it did not run)."""
    if run.generator is None:
        return None
    from compendium.methods import generator as gen

    images = gen.sample_images(run.generator, n, seed=seed)
    columns = int(np.ceil(np.sqrt(n)))
    picture = behaviour.panel_grid(images, columns=columns, zoom=1)
    caption = f"{n} pictures the generator draws from random codes (no unit involved)"
    return HTML(behaviour.panels_html([(picture, caption)], width=260))


def by_method(pixel: Mapping[str, AMResult], made: GeneratorRun) -> dict[str, dict[str, AMResult]]:
    """The images of each method that ran, pixel space first: method -> layer -> images."""
    methods = {"pixel": dict(pixel), "generator": dict(made.made)}
    return {method: images for method, images in methods.items() if images}


def settings_table(config: AMConfig, latent: Any = None) -> pd.DataFrame:
    """Every setting of the pixel-space AM and, given `latent`, of the generator's code
    search, side by side (a dash where a method has no such setting)."""
    columns = {METHOD_COLUMNS["pixel"]: config.to_dict()}
    if latent is not None:
        columns[METHOD_COLUMNS["generator"]] = {
            k: v for k, v in latent.to_dict().items() if k != "method"
        }
    names = list(dict.fromkeys(k for values in columns.values() for k in values))
    table = pd.DataFrame(
        {
            title: [_setting(values[k]) if k in values else "–" for k in names]
            for title, values in columns.items()
        },
        index=pd.Index(names, name="AM setting"),
    )
    return table


def _setting(value: Any) -> str:
    """A setting as the table shows it (lists in brackets, numbers as written)."""
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list | tuple) else str(value)


#: Where a trained generator came from (`TrainedGenerator.origin`), in words.
ORIGINS = {"computed": "trained now", "cached": "read from the cache", "shipped": "shipped"}


def generator_table(run: GeneratorRun) -> pd.DataFrame | None:
    """The generator behind the generator panels: its architecture and training settings,
    where it came from (trained here now, or read from the cache) and how its training went
    (None when it did not run)."""
    if run.generator is None:
        return None
    trained = run.generator
    losses = trained.record.get("loss_per_epoch") or []
    values = {
        **{k: "all" if v is None else _setting(v) for k, v in asdict(trained.config).items()},
        "weights": ORIGINS.get(trained.origin, trained.origin),
        "training images": trained.record.get("images", "–"),
        "training seconds": trained.record.get("seconds", "–"),
        "loss per image, last epoch": losses[-1] if losses else "–",
    }
    return pd.Series({k: str(v) for k, v in values.items()}, name="generator").to_frame()


def images_table(methods: Mapping[str, Mapping[str, AMResult]]) -> pd.DataFrame:
    """Per method and layer: units drawn, steps, seconds per unit when the images were made,
    and whether all came from the cache."""
    rows = [
        {
            "method": METHOD_COLUMNS[method],
            "layer": layer,
            "units": len(result.units),
            "steps": result.config.steps,
            "s per unit": float(result.seconds.mean()),
            "from cache": bool(result.from_cache.all()) if result.from_cache is not None else False,
        }
        for method, made in methods.items()
        for layer, result in made.items()
    ]
    return pd.DataFrame(rows).set_index(["method", "layer"])


def timing_note(
    methods: Mapping[str, Mapping[str, AMResult]], device: str, threads: int
) -> str | None:
    """How long one unit's images took to make with each method (None when none were
    made)."""
    parts = []
    for method, made in methods.items():
        if not made:
            continue
        config = next(iter(made.values())).config
        per_unit = float(np.mean(np.concatenate([r.seconds for r in made.values()])))
        parts.append(f"{per_unit:.1f} s with {METHOD_NAMES[method]} ({config.steps} steps)")
    if not parts:
        return None
    images = next(iter(next(iter(methods.values())).values())).config.images_per_unit
    return (
        f"On the machine that first built this page (device `{device}`, "
        f"{plural(threads, 'thread')}), one unit's {images} images took "
        f"{join_words(parts)} on average; later builds read them from the cache. The benchmark "
        "`bench/am.py` times the pixel-space code for torchvision's AlexNet on a GPU."
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


def method_ratios(
    network: nn.Module | None,
    methods: Mapping[str, Mapping[str, AMResult]],
    classes: pd.DataFrame,
    *,
    image: ImageSpec,
    device: str,
) -> pd.DataFrame | None:
    """`image_ratios` of every method's images, one table with a ``method`` column (None
    when no method made images)."""
    parts = [
        image_ratios(network, made, classes, image=image, device=device).assign(
            method=METHOD_COLUMNS[method]
        )
        for method, made in methods.items()
        if made
    ]
    return pd.concat(parts, ignore_index=True) if parts else None


#: The ratio check's column: the share of a unit's images above the data set's maximum,
#: in whole percent (the sentence below the table quotes the same rounded number).
ABOVE_MAX = "% of images above the data set's maximum"


def ratio_summary(ratios: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per method (when the table has a ``method`` column) and layer: units, the median
    and lowest ratio, and the mean share of images above the data set's maximum, in whole
    percent (None without ratios)."""
    if ratios is None:
        return None
    by = ["method", "layer"] if "method" in ratios.columns else ["layer"]
    summary = ratios.groupby(by, sort=False).agg(
        units=("unit", "size"),
        median_ratio=("ratio", "median"),
        min_ratio=("ratio", "min"),
        share=("share above max", "mean"),
    )
    summary[ABOVE_MAX] = (100 * summary.pop("share")).round().astype(int)
    return summary


def ratio_table(check: pd.DataFrame) -> Any:
    """`ratio_summary` as the page shows it: ratios to three significant figures."""
    return check.style.format({"median_ratio": "{:.3g}", "min_ratio": "{:.3g}"})


def describe_ratios(check: pd.DataFrame | None) -> str | None:
    """This run's answer to 'do the images drive their units?', from `ratio_summary`, with
    the same rounded numbers the table shows."""
    if check is None:
        return None
    lines = []
    for key, row in check.iterrows():
        where = " ".join(key) if isinstance(key, tuple) else key
        lines.append(
            f"{where}: median ratio {row.median_ratio:.3g} (lowest {row.min_ratio:.3g}), "
            f"{int(row[ABOVE_MAX])}% of the images above the data set's maximum"
        )
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


#: The own-class check's column.
OWN_SHARE = "share classified as the unit's class"


def own_class_by_method(
    network: nn.Module | None,
    methods: Mapping[str, Mapping[str, AMResult]],
    class_names: Sequence[str],
    *,
    image: ImageSpec,
    device: str,
) -> pd.DataFrame | None:
    """The own-class check of each method's output-layer images, one column per method
    (rows: the output units; None when no method made output-layer images)."""
    columns = {}
    for method, made in methods.items():
        own = own_class_check(network, made, class_names, image=image, device=device)
        if own is not None:
            columns[METHOD_COLUMNS[method]] = own.set_index(["unit", "class"])[OWN_SHARE]
    if not columns:
        return None
    return pd.DataFrame(columns)


def describe_own_class(own: pd.DataFrame | None) -> str | None:
    """How often the network files each method's output-unit images under the unit's own
    class, and which method it convinces more (None without the check)."""
    if own is None:
        return None
    means = own.mean()
    parts = [f"{_share_text(share)} of the {title} images" for title, share in means.items()]
    text = (
        f"Over the {len(own)} output units drawn, the network that made the images filed "
        f"{join_words(parts)} under the unit's own class."
    )
    if len(means) == 2:
        pixel, made = means[METHOD_COLUMNS["pixel"]], means[METHOD_COLUMNS["generator"]]
        if made > pixel:
            text += " Images held to what the generator can draw convince it more often."
        elif made < pixel:
            text += (
                " The pixel-space images, free of the generator's constraint, convince it "
                "more often."
            )
        else:
            text += " Both methods convince it equally often."
    return text


def _share_text(share: float) -> str:
    """A share as a whole percentage, as the tables print it."""
    return f"{100 * share:.0f}%"


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
# The measures of the drawn units: are they detectors?
# --------------------------------------------------------------------------------------

#: The top-N sizes measured: chapter 2's, so that its cached tables serve this page too.
TOP_N = (60, 100)
#: The detector bars of `compendium.chapters.detectors`, as the page's tables name them.
BAR_TITLES = {
    "detector": "detector",
    "zhou_detector": "Zhou detector",
    "localist": "grandmother unit",
}


def layer_measures(
    path: str | os.PathLike,
    layers: Sequence[str],
    cache_dir: str | os.PathLike | None,
    memory_gb: float = 0.5,
    *,
    n_images: int | None = None,
) -> pd.DataFrame:
    """Every measure of every unit of `layers` (`compendium.measures.tables`), each layer
    cached on its own as chapter 2 caches it; the output layer as recorded (the scores AM
    drives, before any softmax). With `n_images`, top-N sizes beyond it are left out (a
    file of few images)."""
    from compendium.measures import tables

    if isinstance(memory_gb, bool) or not isinstance(memory_gb, int | float) or memory_gb <= 0:
        raise ChapterThreeError(
            f"memory_gb must be a positive number of gigabytes, such as 0.5; got {memory_gb!r}"
        )
    selection = tables.unit_selection(path, layers)
    top = tuple(n for n in TOP_N if n_images is None or n <= n_images) or (int(n_images),)
    return tables.measure_selection(
        path,
        selection,
        cache_dir=cache_dir,
        top=top,
        memory_bytes=int(memory_gb * 2**30),
        progress=False,
    )


def silent_note(split: Any) -> str:
    """The book's sentence on silent units (`detectors.SilentUnits.note`), and whether
    they may be drawn ("" when there are none)."""
    note = split.note()
    if not note:
        return ""
    if split.included:
        return note + " They may be drawn too."
    return note + " Nor are they drawn: a unit no image activates has no panel to judge."


def drawn_bars(measured: pd.DataFrame, chosen: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """The drawn units' rows of `measured`, with the three detector bars
    (`detectors.with_bars`) and the measures they are read from, in the order drawn."""
    from compendium.chapters import detectors

    marked = detectors.with_bars(measured).set_index(["layer", "unit"])
    keys = [(layer, int(u)) for layer, units in chosen.items() for u in units]
    columns = ["max_informedness", "mi_recall", "mi_false_alarm", f"precision_{TOP_N[0]}"]
    rows = marked.loc[keys, columns + list(BAR_TITLES)].reset_index()
    return rows.astype({column: bool for column in BAR_TITLES})


def named_and_selective(units: pd.DataFrame, bars: pd.DataFrame) -> pd.DataFrame:
    """One row per judged panel: how often its judges said yes, whether its unit was
    consistently interpretable, and whether the unit clears each detector bar."""
    judged = units[["layer", "unit", "share_yes", "consistent"]]
    return judged.merge(bars, on=["layer", "unit"], how="left").astype({"consistent": bool})


def selective_table(table: pd.DataFrame) -> pd.DataFrame:
    """`named_and_selective` as the page shows it: the judges' verdict, max informedness
    and the three bars (the CSV beside it keeps every column)."""
    columns = ["layer", "unit", "share_yes", "consistent", "max_informedness", *BAR_TITLES]
    titles = {
        "share_yes": "yes",
        "consistent": "interpretable",
        "max_informedness": "max inf.",
        "detector": "detector",
        "zhou_detector": "Zhou",
        "localist": "grandmother",
    }
    return table[columns].rename(columns=titles).set_index(["layer", "unit"])


def describe_named_and_selective(table: pd.DataFrame, judges: str) -> str:
    """Whether the units whose panels the judges named are the ones the counts call
    detectors: each bar among the consistently interpretable units and among the others
    ("" when nothing was judged)."""
    if table.empty:
        return ""
    named, other = table[table["consistent"]], table[~table["consistent"]]

    def cleared(rows: pd.DataFrame) -> str:
        return (
            f"{int(rows['detector'].sum())} clear the reasonable detector bar, "
            f"{int(rows['zhou_detector'].sum())} Zhou's precision bar and "
            f"{int(rows['localist'].sum())} the grandmother bar"
        )

    parts = []
    if len(named):
        parts.append(
            f"Of the {plural(len(named), 'unit')} whose panels {judges} found consistently "
            f"interpretable, {cleared(named)}"
        )
    if len(other):
        parts.append(f"of the {len(other)} others, {cleared(other)}")
    text = "; ".join(parts) + "."
    text = text[0].upper() + text[1:]
    if len(named) and len(other):
        rate_named, rate_other = named["detector"].mean(), other["detector"].mean()
        if rate_named > rate_other:
            text += (
                " Here the named units are more often detectors than the others: a judgement "
                "of the pictures and the counts of hits and false alarms point the same way."
            )
        else:
            text += (
                " Here the named units are no more often detectors than the others: that "
                "judges can name a unit's pictures says nothing about how selective it is."
            )
    return text


# --------------------------------------------------------------------------------------
# Judges and their answers
# --------------------------------------------------------------------------------------


def participants(
    responses: str | os.PathLike | None, observers: Sequence[Mapping[str, Any]]
) -> list[str] | int:
    """Who judges the panels: the participants of a response file, else the observers'
    names, else five stand-ins (a count, for `behaviour.design_experiment`)."""
    if responses:
        table = pd.read_csv(responses, dtype={"participant": str}, keep_default_na=False)
        return table["participant"].unique().tolist()
    return [o["name"] for o in observers] or 5


def observer_rule(confidence: float, agreement: float) -> str:
    """How a model observer answers a panel, in the page's settings."""
    return (
        f"An observer looks at every image of a panel and says **yes** when at least "
        f"{agreement:.0%} of them fall in one class, each with probability {confidence:.2f} or "
        f"more; its label is that class's name."
    )


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
    responses: str | os.PathLike | None,
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
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The response table and, when model observers gave it, the table of observers: a
    file of responses (checked against the drawn units; no observer table), else the
    observers' answers to the panels `made`, else nothing (no responses and no images)."""
    if responses:
        return behaviour.read_responses(responses, classes), None
    if not made or not observers:
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

#: Who can have answered: the name of the judges in a sentence, and of one judge.
JUDGES = {
    "people": ("people", "participant"),
    "observers": ("model observers", "observer"),
    "example": ("the scripted example answers", "scripted participant"),
}


@dataclass(frozen=True)
class Judged:
    """What this run's judges made of the panels: its Table 1 (`behaviour.table1`, one row
    per layer, in percent), one row per panel (`behaviour.unit_judgements`), who judged
    (`kind`, a key of :data:`JUDGES`) and the output layer's own-class check of the panels
    they saw (`own_class_check`; None without images)."""

    table: pd.DataFrame
    units: pd.DataFrame
    kind: str
    own_class: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.kind not in JUDGES:
            raise ChapterThreeError(f"judges must be one of {sorted(JUDGES)}, not {self.kind!r}")

    @property
    def people(self) -> bool:
        return self.kind == "people"

    @property
    def judges(self) -> str:
        return JUDGES[self.kind][0]

    @property
    def judge(self) -> str:
        return JUDGES[self.kind][1]

    @property
    def label(self) -> str:
        """The name of this run's rows in Table 1."""
        short = {"example": "scripted example"}.get(self.kind, self.judges)
        return f"this run ({short})"


def judge_panels(
    answers: pd.DataFrame | None,
    classes: pd.DataFrame,
    class_names: Sequence[str],
    synonyms: str | os.PathLike | None,
    threshold: float,
    layers: Sequence[str],
    *,
    kind: str,
    own_class: pd.DataFrame | None = None,
) -> Judged:
    """Table 1 and the per-panel verdicts from the answers (`behaviour.analyse`), labels
    matched through `synonyms` (a CSV; None: the shipped table for Fashion-MNIST's
    classes), one row per layer of `layers` that has answers."""
    matcher = behaviour.default_synonyms(class_names, synonyms)
    if answers is not None:
        layers = [layer for layer in layers if layer in set(answers["layer"])]
    units, table = behaviour.analyse(answers, classes, matcher, threshold, layers)
    return Judged(table, units, kind, own_class)


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


#: The source of the paper's Fig. 5 example units in ``paper_numbers.csv``.
FIG5_SOURCE = "Fig. 5"


def fig5_beside_paper(units: pd.DataFrame, reported: pd.DataFrame, n: int) -> pd.DataFrame:
    """The paper's Fig. 5 example units (the `reported` rows of :data:`FIG5_SOURCE`: panel,
    layer, unit, share of yes and what the caption says of them) above this run's
    counterparts (`behaviour.fig5_examples` of the judged `units`, up to `n` a half)."""
    mine = reported[reported["source"] == FIG5_SOURCE]
    if mine.empty:
        raise PaperNumbersError(
            f"paper_numbers.csv has no {FIG5_SOURCE!r} rows: add the example units of the "
            "paper's Fig. 5 (case = panel letter, layer, unit, share_yes 1 or 0)"
        )
    rows = [
        {
            "source": "paper",
            "panel": f"({r.case})",
            "layer": r.layer,
            "unit": int(r.unit),
            "judged": _all_or_none(r.value),
            "labels and classes": _caption_detail(str(r.note)),
        }
        for r in mine.itertuples()
    ]
    named, unnamed = behaviour.fig5_examples(units, n)
    for shown in (named, unnamed):
        for _, r in shown.iterrows():
            said = f"label '{r['consensus']}'" if r["consensus"] else "no label"
            rows.append(
                {
                    "source": "this run",
                    "panel": "",
                    "layer": r["layer"],
                    "unit": int(r["unit"]),
                    "judged": _all_or_none(r["share_yes"]),
                    "labels and classes": f"{said}; most active image {r['top_class']}; "
                    f"CCMAS class {r['ccmas_class']}",
                }
            )
    return pd.DataFrame(rows).set_index(["source", "panel"])


def _all_or_none(share: float) -> str:
    return "every judge said yes" if share == 1 else "no judge said yes"


def _caption_detail(note: str) -> str:
    """What the paper's caption says of a unit, without the verdict the table states."""
    _, _, detail = note.partition("; ")
    return detail.split(" (unit numbers")[0] if detail else "–"


def describe_judgements(judged: Judged, paper_table1: pd.DataFrame) -> str:
    """One paragraph on what this run's judges made of the panels, beside the paper's
    people (`paper_table1`: the `reported` rows of "Table 1", quoted as the paper prints
    them): the output layer's yes answers and consistent units, each hidden layer's,
    whether consistent names match the output unit's class, whether the layers are ordered
    as in the paper, and output units whose images convince their own network but no judge
    ("" when nothing was judged). This run's percentages are those its Table 1 prints."""
    table = judged.table
    paper = reported_values(paper_table1, ["layer", "measure"])
    paper_hidden = [
        layer for layer in dict.fromkeys(paper_table1["layer"]) if layer != OUTPUT_LAYER
    ]
    hidden = [layer for layer in table.index if layer != OUTPUT_LAYER]
    has_output = OUTPUT_LAYER in table.index
    sentences = []
    if has_output:
        sentences.append(
            f"With {judged.judges} as judges, the output layer's panels drew yes in "
            f"{run_percent(table, OUTPUT_LAYER, 'yes')} of answers and "
            f"{run_percent(table, OUTPUT_LAYER, 'units_80')} of its units were consistently "
            f"interpretable (the paper's people: {paper_percent(paper[(OUTPUT_LAYER, 'yes')])} and "
            f"{paper_percent(paper[(OUTPUT_LAYER, 'units_80')])})."
        )
    if hidden:
        each = "; ".join(
            f"{layer} {run_percent(table, layer, 'yes')} yes, {run_percent(table, layer, 'units_80')} of "
            "units consistent"
            for layer in hidden
        )
        theirs = "; ".join(
            f"{layer} {paper_percent(paper[(layer, 'yes')])} and "
            f"{paper_percent(paper[(layer, 'units_80')])}"
            for layer in paper_hidden
        )
        sentences.append(f"In the hidden layers: {each} (the paper's people: {theirs}).")
    if has_output and table.loc[OUTPUT_LAYER, "units_consistent"] > 0:
        sentences.append(
            "Where the output units' panels were named consistently, the name matched the "
            "class of the unit's most active image in "
            f"{run_percent(table, OUTPUT_LAYER, 'overlap_top_class')} of cases "
            f"(the paper: {paper_percent(paper[(OUTPUT_LAYER, 'overlap_top_class')])})."
        )
    if has_output and hidden:
        sentences.append(_ordering(table, hidden, paper, paper_hidden))
    convinced = _convincing_only_to_their_network(judged)
    if has_output and convinced:
        sentences.append(
            f"The network that made the images filed at least {CONVINCED_SHARE:.0%} of them "
            f"under their unit's class for {plural(len(convinced), 'output unit')} "
            f"({', '.join(convinced)}) that no {judged.judge} called an object at all: images "
            "that convince their own network need not look like anything to another viewer."
        )
    return " ".join(sentences)


def _ordering(
    table: pd.DataFrame, hidden: list[str], paper: pd.Series, paper_hidden: list[str]
) -> str:
    """Whether some hidden layer drew more yes answers than the output layer, here and in
    the paper."""
    more = max(table.loc[layer, "yes"] for layer in hidden) > table.loc[OUTPUT_LAYER, "yes"]
    paper_more = max(paper[(layer, "yes")] for layer in paper_hidden) > paper[(OUTPUT_LAYER, "yes")]
    start = (
        "So here at least one hidden layer drew more yes answers than the output layer; "
        if more
        else "So here no hidden layer drew more yes answers than the output layer; "
    )
    if more == paper_more:
        return start + "the paper found the same ordering."
    theirs = (
        "at least one of its hidden layers did" if paper_more else "none of its hidden layers did"
    )
    return start + f"in the paper {theirs}, so on this point the run and the paper differ."


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


def reported_values(rows: pd.DataFrame, key: str | list[str]) -> pd.Series:
    """The ``value`` column of `reported` rows, indexed by `key`."""
    return rows.drop_duplicates(key).set_index(key)["value"]


def run_percent(table: pd.DataFrame, layer: str, column: str) -> str:
    """A percentage from this run's Table 1 as the table prints it (one decimal), or a
    dash."""
    value = table.loc[layer, column] if layer in table.index else np.nan
    return "–" if pd.isna(value) else f"{value:.1f}%"


def paper_percent(value: float) -> str:
    """A percentage of the paper's Table 1 as the paper prints it (one decimal)."""
    return f"{value:.1f}%"


def _share_of_layer(layer: str, shown: int, units: int) -> str:
    """How many of a layer's units the paper showed, in words."""
    name = "output" if layer == OUTPUT_LAYER else layer
    if shown == units:
        return f"all {units:,} {name} units"
    if 2 * shown == units:
        return f"a random half of {name}'s {units:,} units"
    return f"{shown:,} of the {units:,} {name} units"


def either(low: int, high: int) -> str:
    """'15 or 16', or '4' when both are the same."""
    return f"{low}" if low == high else f"{low} or {high}"


def plural(n: int, word: str) -> str:
    """'1 thread', '2 threads'."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
