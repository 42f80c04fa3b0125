"""The Discussion chapter: the paper's three detector bars (`compendium.chapters.detectors`)
applied to every network the book measures, in one table, with the paper's conclusion beside
this run's.

The networks are gathered as the other chapters run them on the same profile, from those
chapters' parameters (`compendium.build.pipeline.chapter_parameters` reads them):

* chapter 2's network (`alexnet_network`): the profile's recording, its hidden layers and its
  output layer, measured by `compendium.measures.tables` with chapter 2's options, so that
  both pages read the same cached table;
* chapter 4's other small CNNs (`other_cnn_networks`): each network's dissected layer and
  every recorded layer above it, against the classes the network was trained on (the ten
  classes, or the five coarse groups);
* chapter 5's recurrent networks (`recurrent_networks`): every hidden unit against the
  letters of each position; a unit clears a bar when it clears it in some position;
* two baselines for chapter 2's network (`baseline_networks`): its units with the images'
  labels shuffled (chance), and the same architecture untrained, recorded on the same
  images (`compendium.methods.controls`).

Each becomes a `MeasuredNetwork`: a long measures table (one row per layer and unit) and
what a reader needs to know about it (classes, images, which layers are hidden).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from compendium.activations.reader import open_activations
from compendium.chapters import detectors, paper
from compendium.chapters.detectors import BARS
from compendium.chapters.page import join_words
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

__all__ = [
    "DiscussionError",
    "MeasuredNetwork",
    "alexnet_network",
    "baseline_networks",
    "bar_verdicts",
    "describe_networks",
    "describe_verdict",
    "describe_why",
    "discussion_counts",
    "discussion_table",
    "network_keys",
    "other_cnn_networks",
    "page_tables",
    "recurrent_networks",
]

#: The chapters whose networks the Discussion gathers, in the book's order.
CHAPTERS = ("02_alexnet_results", "04_other_cnns", "05_recurrent_control")
#: Those whose networks are CNNs trained on images (the paper's question).
CNN_CHAPTERS = ("02_alexnet_results", "04_other_cnns")
#: The bars in a list of counts.
BAR_NAMES = {"grandmother": "grandmother units", "detector": "detectors", "zhou": "Zhou detectors"}


class DiscussionError(CompendiumError):
    """A parameter of the Discussion chapter that cannot be used."""


@dataclass(frozen=True)
class MeasuredNetwork:
    """One network of the book with every measure of the units the Discussion counts."""

    name: str  #: e.g. "small AlexNet (chapter 2)"
    chapter: str  #: the notebook that shows it, e.g. "02_alexnet_results"
    classes: str  #: what its classes are, in words
    n_classes: int
    n_images: int
    images: str  #: which images were recorded, in words
    table: pd.DataFrame  #: long: ``layer``, ``unit`` and the columns of `unit_measures`
    hidden: tuple[str, ...]  #: its hidden layers (any other layer is an output layer)
    notes: tuple[str, ...] = field(default=())
    weights_sha256: str | None = None  #: of the network's weights, where known

    @property
    def layers(self) -> list[str]:
        return list(dict.fromkeys(self.table["layer"]))


def check_chapters(chapters: Sequence[str]) -> list[str]:
    """The `chapters` parameter, checked: names among `CHAPTERS`."""
    if isinstance(chapters, str) or not isinstance(chapters, Sequence):
        raise DiscussionError(
            f"chapters must be a list of chapter names such as {list(CHAPTERS)}; got {chapters!r}"
        )
    unknown = [c for c in chapters if c not in CHAPTERS]
    if unknown:
        raise DiscussionError(
            f"the Discussion gathers the networks of {', '.join(CHAPTERS)}; it cannot use "
            f"{', '.join(map(repr, unknown))}: drop them from `chapters`"
        )
    return list(chapters)


# --- chapter 2: the profile's network ------------------------------------------------------


def alexnet_network(path: Any, params: Mapping[str, Any], cache: Any) -> MeasuredNetwork:
    """Chapter 2's network with chapter 2's parameters (`params`; `path` its activation
    file): its hidden layers and, when chapter 2 measures one, its output layer (after a
    softmax when ``output_softmax``). The precision of the top 60, which Zhou's test reads,
    is added to the top-N sizes when chapter 2 does not measure it."""
    from compendium.chapters import alexnet
    from compendium.measures import tables

    sizes = sorted({*params["top_n"], detectors.ZHOU_TOP})
    top = alexnet.TopN.from_parameter(sizes)
    source = alexnet.open_source(path, params["layers"], params["units"], params["output_layer"])
    options = alexnet.measure_options(top, params["memory_gb"])
    table = tables.measure_selection(source.path, source.selection, cache_dir=cache, **options)
    output = alexnet.measure_output(
        source, params["output_layer"], cache, params["output_softmax"], options
    )
    if output is not None:
        table = pd.concat([table, output], ignore_index=True)
    return MeasuredNetwork(
        name=_alexnet_name(source),
        chapter="02_alexnet_results",
        classes=f"{source.n_classes} classes",
        n_classes=source.n_classes,
        n_images=source.n_images,
        images=source.made_by,
        table=table,
        hidden=tuple(source.hidden),
        weights_sha256=source.attrs.get("weights_sha256"),
        notes=(
            (f"output layer {params['output_layer']} measured after a softmax",)
            if output is not None and params["output_softmax"]
            else ()
        ),
    )


def _alexnet_name(source: Any) -> str:
    if source.format == "alexnet-merged":
        return "AlexNet (the authors' activations)"
    model = str(source.attrs.get("model", "the network"))
    return "the small AlexNet" if model.startswith("small-alexnet") else f"`{model}`"


# --- chapter 4: the other small CNNs -------------------------------------------------------


def other_cnn_networks(
    params: Mapping[str, Any], *, skip_weights: Sequence[str] = (), softmax: bool = True
) -> tuple[list[MeasuredNetwork], list[str]]:
    """Chapter 4's networks trained here (its ``data`` must be ``fashion-mnist``), read from
    the cache or trained as chapter 4 trains them, each measured from its dissected layer up
    against the classes of its task (``softmax``: the output layer as class probabilities).
    A network whose weights' sha256 is in `skip_weights` (chapter 2's network, which chapter
    4 lists again) is left out. Returns the networks and a sentence per network left out."""
    from compendium.chapters import other_cnns
    from compendium.networks.zoo import net_specs

    if params.get("data") != "fashion-mnist":
        return [], [
            f"chapter 4 reads torchvision's networks on ImageNet (data = {params.get('data')!r}), "
            "whose units it measures only for the paper's 'bus' units: they are not counted here"
        ]
    networks, skipped = [], []
    for spec in net_specs(params["nets"]):
        trained, path = other_cnns.prepare_small_net(
            spec,
            epochs=params["epochs"],
            n_train=params["n_train"],
            seed=params["seed"],
            n_images=params["n_images"],
            threads=params["threads"],
        )
        if trained.weights_sha256 in set(skip_weights):
            skipped.append(
                f"chapter 4's {spec.name} is chapter 2's network (the same weights), counted once"
            )
            continue
        networks.append(_small_cnn(spec, trained, path, softmax))
    return networks, skipped


def _small_cnn(spec: Any, trained: Any, path: Any, softmax: bool) -> MeasuredNetwork:
    from compendium.inputs.categories import COARSE_GROUPS, coarse_labels

    with open_activations(path) as source:
        layers = source.layers[source.layers.index(spec.layer) :]
        labels, names = source.labels, list(source.class_names)
        n_images = source.n_images
    if spec.task == "coarse":
        labels, names = coarse_labels(labels, names), list(COARSE_GROUPS)
    table = measure_file(path, layers, labels, softmax_layer=layers[-1] if softmax else None)
    task = f"{len(names)} coarse groups" if spec.task == "coarse" else f"{len(names)} classes"
    return MeasuredNetwork(
        name=f"{spec.name} (chapter 4)",
        chapter="04_other_cnns",
        classes=task,
        n_classes=len(names),
        n_images=n_images,
        images="every test image, as chapter 4 records them",
        table=table,
        hidden=tuple(layers[:-1]),
        weights_sha256=trained.weights_sha256,
        notes=(f"test accuracy {trained.report['test_accuracy']:.3f}",),
    )


def measure_file(
    path: Any,
    layers: Sequence[str] | Mapping[str, slice],
    labels: np.ndarray,
    *,
    softmax_layer: str | None = None,
    top: Sequence[int] = (60, 100),
) -> pd.DataFrame:
    """Every measure of the units of `layers` of a recording (a list: every unit; a mapping
    from layer to a range of units: those), against `labels` (which need not be the file's;
    a class may have no image, as in a recording of a few images, and keeps its number), as
    one long table; `softmax_layer` is measured after a softmax over its units. For the
    small layers of the networks trained here (read whole)."""
    from compendium.measures import present_class_measures, tables

    ranges = layers if isinstance(layers, Mapping) else dict.fromkeys(layers, slice(None))
    parts = []
    with open_activations(path) as source:
        for layer, units in ranges.items():
            acts = source.activations(layer, "max")
            x = tables.softmax_rows(acts) if layer == softmax_layer else np.asarray(acts)
            first = units.start or 0
            measured = present_class_measures(
                x[:, units], labels, top=top, progress=False, unit_offset=first
            )
            parts.append(measured.reset_index().assign(layer=layer))
    table = pd.concat(parts, ignore_index=True)
    return table[["layer", *[c for c in table.columns if c != "layer"]]]


def unit_ranges(table: pd.DataFrame) -> dict[str, slice]:
    """Each layer's range of units in a long measures table (as measured: a range)."""
    units = table.groupby("layer", sort=False)["unit"]
    return {
        layer: slice(int(lo), int(hi) + 1)
        for layer, (lo, hi) in units.agg(["min", "max"]).iterrows()
    }


# --- chapter 5: the recurrent networks -----------------------------------------------------


def recurrent_networks(params: Mapping[str, Any]) -> list[MeasuredNetwork]:
    """Chapter 5's two recurrent networks (read from the cache, or trained as chapter 5
    trains them): every hidden unit, measured against the letters of each position; a unit
    clears a bar when it does so in some position (`detectors.any_labeling`)."""
    from compendium.measures import unit_measures
    from compendium.methods import recurrent

    config = recurrent.RecallConfig(**{k: v for k, v in params.items() if k != "profile"})
    vocab = recurrent.vocabulary(config.n_letters, config.word_length)
    networks = []
    for name, result in recurrent.run_control(config, progress=False).items():
        per_position = [
            unit_measures(result.activations, vocab[:, p], config.n_letters, progress=False)
            for p in range(config.word_length)
        ]
        table = detectors.any_labeling(per_position).reset_index().assign(layer="hidden")
        networks.append(
            MeasuredNetwork(
                name=f"recurrent, {name} (chapter 5)",
                chapter="05_recurrent_control",
                classes=f"{config.n_letters} letters x {config.word_length} positions",
                n_classes=config.n_letters,
                n_images=len(vocab),
                images="every word of the vocabulary, shown alone",
                table=table[["layer", *[c for c in table.columns if c != "layer"]]],
                hidden=("hidden",),
            )
        )
    return networks


# --- the baselines -------------------------------------------------------------------------

#: The `chapter` of a baseline network (not one of the book's trained networks).
BASELINE = "baseline"


def baseline_networks(
    network: MeasuredNetwork,
    path: Any,
    params: Mapping[str, Any],
    cache: Any,
    train_config: Any = None,
    *,
    seed: int = 0,
) -> tuple[list[MeasuredNetwork], list[str]]:
    """Two baselines for chapter 2's `network` (read from `path` with chapter 2's
    `params`), what its units score when nothing was learnt:

    * **chance**: the same units, their images' labels shuffled once
      (`compendium.measures.null.shuffled_labels`, seeded by `seed`), class sizes kept;
    * **untrained**: the same architecture with its seeded default initialisation,
      recorded on the same images (`compendium.methods.controls.record_untrained`), when
      `train_config` (the network's training configuration) is given.

    Returns the baselines and a sentence for each one left out. (The chance chapter's
    permutation null, with many shuffles and p-values, is the fuller account.)"""
    from compendium.measures.null import shuffled_labels
    from compendium.methods import controls

    with open_activations(path) as source:
        labels = source.labels
        fashion = source.format != "alexnet-merged"
    n_classes = network.n_classes
    shuffled = shuffled_labels(labels, 1, seed)[0]
    output = params["output_layer"] if params["output_softmax"] else None
    chance = MeasuredNetwork(
        name=f"{network.name}, labels shuffled (chance)",
        chapter=BASELINE,
        classes=f"{network.classes}, shuffled",
        n_classes=n_classes,
        n_images=network.n_images,
        images=f"{network.images}; each image's label shuffled (seed {seed})",
        table=measure_file(path, unit_ranges(network.table), shuffled, softmax_layer=output),
        hidden=network.hidden,
    )
    baselines, left_out = [chance], []
    if train_config is None or not fashion:
        left_out.append(
            "the untrained network: chapter 2's activations do not come from a network "
            "trained here with the profile's settings, so there is no untrained copy to record"
        )
        return baselines, left_out
    with contextlib.redirect_stderr(io.StringIO()):  # its progress bar is not for the page
        untrained_path = controls.record_untrained(train_config, path)
    untrained = alexnet_network(untrained_path, params, cache)
    baselines.append(
        replace(
            untrained,
            name=f"{network.name}, untrained",
            chapter=BASELINE,
            images=f"the same images as {network.name}",
            notes=("default initialisation, seeded as its training was",),
        )
    )
    return baselines, left_out


# --- the table -------------------------------------------------------------------------------


def discussion_counts(
    networks: Sequence[MeasuredNetwork], include_silent: bool = False
) -> pd.DataFrame:
    """`detectors.detector_counts` of every network, indexed by (network, layer), with a
    ``role`` column (hidden or output)."""
    parts = []
    for network in networks:
        counts = detectors.detector_counts(network.table, include_silent=include_silent)
        counts.insert(
            0, "role", ["hidden" if layer in network.hidden else "output" for layer in counts.index]
        )
        parts.append(pd.concat({network.name: counts}, names=["network"]))
    return pd.concat(parts)


def discussion_table(
    counts: pd.DataFrame, networks: Sequence[MeasuredNetwork], reported: pd.DataFrame
) -> pd.DataFrame:
    """The page's one table: per network and layer, the units and how many clear each bar,
    with the paper's count of grandmother units beside chapter 2's layers of the same name
    (`paper.beside_paper`; the paper counts no units at the other two bars)."""
    table = counts.rename(columns=detectors.COUNT_TITLES)
    first = networks[0] if networks else None
    paper_column = "paper: grandmother units"
    table[paper_column] = np.nan
    if first is not None and first.chapter == "02_alexnet_results":
        ours = counts.loc[first.name, ["grandmother"]].rename(columns={"grandmother": "n_localist"})
        beside = paper.beside_paper(ours, _paper_localist(reported), key="layer", wide=True)
        for layer, value in beside[("n_localist", "paper")].items():
            table.loc[(first.name, layer), paper_column] = value
    classes = {n.name: n.classes for n in networks}
    table.insert(1, "classes", [classes[name] for name in table.index.get_level_values(0)])
    return table


#: The column that chapter 9's single-unit ablations add to `discussion_table`.
ABLATION_COLUMN = "does ablating it hurt its class"
#: What that column says for a layer that chapter 9 did not ablate.
NOT_ABLATED = "not ablated"


def with_ablation(
    table: pd.DataFrame, hurts: pd.DataFrame | None, network: str | None
) -> pd.DataFrame:
    """`table` (`discussion_table`) with the column `ABLATION_COLUMN`: for each layer of
    `network` (chapter 2's) that chapter 9 ablates, its answer (`hurts`, from
    `compendium.chapters.ablation.own_class_answers`: yes, slightly or no); every other row
    says `NOT_ABLATED`. Unchanged when there is no answer to add."""
    if hurts is None or network is None:
        return table
    answers = dict(zip(hurts["layer"], hurts["answer"], strict=True))
    rows = table.index
    column = [
        answers.get(layer, NOT_ABLATED) if name == network else NOT_ABLATED
        for name, layer in zip(rows.get_level_values(0), rows.get_level_values(1), strict=True)
    ]
    return table.assign(**{ABLATION_COLUMN: column})


def describe_ablation(
    hurts: pd.DataFrame | None, network: str | None, table: pd.DataFrame | None = None
) -> str:
    """One sentence on the ablation column: which layers of `network` chapter 9 ablated
    and, by `hurts_own_class`'s rule, where a silenced unit's own class loses more than the
    others (sign-flip p < .05) and more than the material drop ("yes"), more but not that
    much ("slightly"), or not more ("no"); with `table` (`with_ablation`'s), whether other
    rows were left out. Empty without answers."""
    if hurts is None or network is None or hurts.empty:
        return ""
    by_answer = {
        answer: [
            layer for layer, a in zip(hurts["layer"], hurts["answer"], strict=True) if a == answer
        ]
        for answer in ("yes", "slightly", "no")
    }
    own = "a silenced unit's own class (the class of its maximum informedness)"
    said = (
        f"in {join_words(by_answer['yes'])}, {own} loses more than the others (sign-flip "
        f"p < .05) and more than chapter 9's material drop"
        if by_answer["yes"]
        else f"in no layer does {own} lose both more than the others (sign-flip p < .05) and "
        f"more than chapter 9's material drop"
    )
    if by_answer["slightly"]:
        said += (
            f"; in {join_words(by_answer['slightly'])} it loses more than the others, but no "
            f"more than the material drop"
        )
    if by_answer["no"]:
        said += f"; in {join_words(by_answer['no'])} it does not lose more than the others"
    rest = ""
    if (
        table is not None
        and ABLATION_COLUMN in table
        and (table[ABLATION_COLUMN] == NOT_ABLATED).any()
    ):
        rest = " The other networks and layers were not ablated."
    return (
        f"**Ablation** (column *{SHORT_TITLES[ABLATION_COLUMN]}*, from {{ref}}`ch-ablation`): "
        f"chapter 9 silenced every unit of {join_words(list(hurts['layer']))} of {network}, one "
        f"at a time; {said}.{rest}"
    )


#: The page's short column titles for `discussion_table`'s columns (the bars by number, as
#: `describe_bars` numbers them); the CSV download keeps the long ones.
SHORT_TITLES = {
    detectors.COUNT_TITLES["grandmother"]: "bar 1",
    detectors.COUNT_TITLES["detector"]: "bar 2",
    detectors.COUNT_TITLES["zhou"]: "bar 3",
    detectors.COUNT_TITLES["zhou_only"]: "bar 3, not 2",
    "paper: grandmother units": "paper: bar 1",
    ABLATION_COLUMN: "hurts class",
}


def network_keys(table: pd.DataFrame) -> dict[str, str]:
    """A short key (``N1``, ``N2``, ...) for each network of `discussion_table`, in its order."""
    names = dict.fromkeys(table.index.get_level_values("network"))
    return {name: f"N{i}" for i, name in enumerate(names, start=1)}


def page_tables(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`discussion_table` as two tables narrow enough for the page: the networks (key,
    name, classes) and the counts by key and layer under `SHORT_TITLES`. Together they
    hold every value of `table` (`NOT_ABLATED` is shown as a dash)."""
    keys = network_keys(table)
    networks = table.index.get_level_values("network")
    legend = (
        pd.DataFrame({"network": networks, "classes": table["classes"].to_numpy()})
        .drop_duplicates("network")
        .assign(key=lambda frame: frame["network"].map(keys))
        .set_index("key")
    )
    counts = table.drop(columns="classes").rename(columns=SHORT_TITLES)
    short = SHORT_TITLES[ABLATION_COLUMN]
    if short in counts.columns:  # a dash keeps the rows of the other networks one line high
        counts[short] = counts[short].replace(NOT_ABLATED, "–")
    counts.index = pd.MultiIndex.from_arrays(
        [networks.map(keys), table.index.get_level_values("layer")], names=["key", "layer"]
    )
    return legend, counts


def _paper_localist(reported: pd.DataFrame) -> pd.DataFrame:
    return reported[reported["measure"] == "n_localist"]


def describe_networks(networks: Sequence[MeasuredNetwork], left_out: Sequence[str]) -> str:
    """What the table holds: each network with its classes and images, and what was left
    out and why."""
    lines = [
        f"- **{n.name}**: {len(n.table):,} units of {', '.join(n.layers)}; classes: "
        f"{n.classes}; {n.n_images:,} inputs ({n.images})"
        + (f"; {'; '.join(n.notes)}" if n.notes else "")
        + "."
        for n in networks
    ]
    lines += [f"- Left out: {reason}." for reason in left_out]
    return "\n".join(lines)


def describe_silent_units(networks: Sequence[MeasuredNetwork], include_silent: bool) -> str:
    """The silent-unit policy's note for each network that has silent units (a list), or
    one sentence saying that none has any."""
    lines = []
    for network in networks:
        note = detectors.leave_out_silent(network.table, include_silent).note()
        if note:
            lines.append(f"- **{network.name}**: {note}")
    return "\n".join(lines) if lines else "No network here has a silent unit."


def describe_each(counts: pd.DataFrame, networks: Sequence[MeasuredNetwork]) -> str:
    """`detectors.describe_counts` for each network, one item each."""
    return "\n".join(
        f"- {detectors.describe_counts(counts.loc[n.name], n.name, n.hidden)}" for n in networks
    )


# --- the verdict -----------------------------------------------------------------------------


def describe_bars(reported: pd.DataFrame) -> str:
    """The three bars as this page applies them (a numbered list), with Zhou et al.'s
    precision bar as the paper quotes it and as `detectors` applies it."""
    quoted = paper.as_printed(_reported_value(reported)("detector_precision"))
    numerator, denominator = detectors.ZHOU_SHARE
    n = detectors.ZHOU_TOP
    return (
        "1. **Grandmother unit**: for some class, every image of the class activates the unit "
        "more than every other image does: perfect recall at perfect specificity (the "
        "`localist` column of the measures).\n"
        "2. **Detector** (the paper's reasonable reading): some threshold takes in more than "
        "half of a class (more hits than misses) and fewer images of the other classes than of "
        "the class (more hits than false alarms). The `detector` columns name, for each unit, "
        "the class and threshold with the largest hits minus false alarms among those with "
        "more hits than misses, and the recall and false-alarm proportion there.\n"
        f"3. **Zhou et al.'s detector**: at least {numerator}/{denominator} of the unit's {n} "
        f"most active images belong to one class (`precision_{n}` of at least "
        f"{numerator / denominator:.2f}; the paper quotes Zhou et al.'s bar as {quoted}).\n"
        "\nThe exact definitions, ties included, are in `spec/beyond.md`."
    )


def paper_findings(reported: pd.DataFrame) -> dict[str, str]:
    """What the paper reports at each bar, for AlexNet on ImageNet, with its numbers from
    `paper_numbers.csv` (the paper counts units only at the first bar)."""
    value = _reported_value(reported)
    localist = reported[reported["measure"] == "n_localist"]
    layers = ", ".join(localist["layer"])
    return {
        "grandmother": (
            f"none: {int(localist['value'].sum())} localist units in {layers} (Sec. 3.1)"
        ),
        "detector": (
            "not counted; at each unit's best threshold (max informedness) at least "
            f"{value('min_mi_false_alarm'):.0%} of the images above it were false alarms, so "
            "no unit it measured had more hits than false alarms there (Sec. 3.1)"
        ),
        "zhou": (
            f"many: {int(value('n_precision_above_0.9', layer='fc7')):,} fc7 units alone have "
            f"a precision above .9, and Zhou et al.'s bar is "
            f"{paper.as_printed(value('detector_precision'))} (Sec. 2, 3.1); the paper calls "
            "such units mischaracterised"
        ),
    }


def _reported_value(reported: pd.DataFrame):
    def value(measure: str, layer: str | None = None) -> float:
        rows = reported[reported["measure"] == measure]
        if layer is not None:
            rows = rows[rows["layer"] == layer]
        if rows.empty:
            raise KeyError(
                f"paper_numbers.csv has no {measure!r}" + (f" for {layer}" if layer else "")
            )
        return float(rows["value"].iloc[0])

    return value


def bar_verdicts(
    counts: pd.DataFrame, networks: Sequence[MeasuredNetwork], reported: pd.DataFrame
) -> pd.DataFrame:
    """One row per bar: the paper's finding (`paper_findings`) beside this run's, over the
    hidden layers of the book's trained networks and, in a column of their own, of the
    baselines (written from `counts`)."""
    hidden = counts[counts["role"] == "hidden"]
    trained = _rows_of(hidden, [n for n in networks if n.chapter != BASELINE])
    baselines = _rows_of(hidden, [n for n in networks if n.chapter == BASELINE])
    found = paper_findings(reported)
    rows = []
    for bar in BARS:
        row = {
            "bar": detectors.COUNT_TITLES[bar],
            "the paper (AlexNet on ImageNet)": found[bar],
            "this run: the book's networks": _run_finding(trained, bar),
        }
        if len(baselines):
            row["this run: baselines"] = _run_finding(baselines, bar)
        rows.append(row)
    return pd.DataFrame(rows)


def _rows_of(counts: pd.DataFrame, networks: Sequence[MeasuredNetwork]) -> pd.DataFrame:
    """The rows of `counts` (indexed by network and layer) that belong to `networks`."""
    names = [n.name for n in networks]
    return counts[counts.index.get_level_values("network").isin(names)]


def _run_finding(hidden: pd.DataFrame, bar: str) -> str:
    per_network = hidden.groupby(level="network", sort=False)[[bar, "counted"]].sum()
    total = int(per_network[bar].sum())
    if total == 0:
        where = "in any network" if len(per_network) > 1 else f"in {per_network.index[0]}"
        return f"none of {int(per_network['counted'].sum()):,} hidden units {where}"
    where = [
        f"{int(row[bar]):,} of {int(row['counted']):,} in {name}"
        for name, row in per_network.iterrows()
        if row[bar]
    ]
    none = [name for name, row in per_network.iterrows() if not row[bar]]
    text = f"{total:,} {'unit' if total == 1 else 'units'}: " + "; ".join(where)
    return text + (f"; none in {', '.join(none)}" if none else "")


def describe_verdict(counts: pd.DataFrame, networks: Sequence[MeasuredNetwork]) -> str:
    """This run's conclusion, from the counts of the hidden layers: whether any network
    has grandmother units or detectors by the paper's reasonable reading, and whether
    Zhou's test passes more units than that reading does (the paper's point)."""
    hidden = counts[counts["role"] == "hidden"]
    in_cnns = _rows_of(hidden, [n for n in networks if n.chapter in CNN_CHAPTERS])
    totals = {bar: int(in_cnns[bar].sum()) for bar in BARS}
    n = int(in_cnns["counted"].sum())
    if totals["grandmother"] == 0 and totals["detector"] == 0:
        head = (
            f"As in the paper, no hidden unit of this run's CNNs ({n:,} counted) clears either "
            "of the first two bars: none is a grandmother unit or a detector by the paper's "
            "reasonable reading."
        )
    elif totals["grandmother"] == 0:
        head = (
            f"Unlike the paper's conclusion, {totals['detector']:,} of the {n:,} hidden units of "
            "this run's CNNs clear the paper's reasonable bar for a detector (a threshold with "
            "more hits than misses and more hits than false alarms), although, as in the paper, "
            "none is a grandmother unit."
        )
    else:
        head = (
            f"Unlike the paper's AlexNet, this run's CNNs have {totals['grandmother']:,} "
            f"grandmother units and {totals['detector']:,} detectors by the paper's reasonable "
            f"reading among {n:,} hidden units."
        )
    only = int(in_cnns["zhou_only"].sum())
    if totals["zhou"] == 0:
        tail = " No unit passes Zhou et al.'s precision test either."
    elif only:
        tail = (
            f" Of the {totals['zhou']:,} units that pass Zhou et al.'s precision test, "
            f"{only:,} {'misses' if only == 1 else 'miss'} the reasonable bar: precision calls "
            f"{'it a detector where its' if only == 1 else 'them detectors where their'} hits "
            "and false alarms do not, the kind of unit the paper calls mischaracterised."
        )
    else:
        which = (
            f"Every one of the {totals['zhou']:,} units that pass"
            if totals["zhou"] > 1
            else "The one unit that passes"
        )
        tail = (
            f" {which} Zhou et al.'s precision test clears the reasonable bar as well: here, "
            "unlike in the paper, precision calls no unit a detector that its hits and false "
            "alarms reject."
        )
    return (
        head + tail + _recurrent_sentence(hidden, networks) + _baseline_sentence(hidden, networks)
    )


def _baseline_sentence(hidden: pd.DataFrame, networks: Sequence[MeasuredNetwork]) -> str:
    parts = []
    for network in networks:
        if network.chapter != BASELINE:
            continue
        rows = _rows_of(hidden, [network])
        clear = ", ".join(f"{int(rows[bar].sum()):,} {BAR_NAMES[bar]}" for bar in BARS)
        parts.append(f"{network.name}: {clear} among {int(rows['counted'].sum()):,}")
    if not parts:
        return ""
    return f" The baselines, hidden units: {'; '.join(parts)}."


def _recurrent_sentence(hidden: pd.DataFrame, networks: Sequence[MeasuredNetwork]) -> str:
    names = [n.name for n in networks if n.chapter == "05_recurrent_control"]
    if not names:
        return ""
    parts = [
        f"{int(hidden.loc[(name, 'hidden'), 'grandmother']):,} of "
        f"{int(hidden.loc[(name, 'hidden'), 'counted']):,} in {name}"
        for name in names
        if (name, "hidden") in hidden.index
    ]
    return f" Grandmother units in the recurrent control: {'; '.join(parts)}."


def describe_why(networks: Sequence[MeasuredNetwork], reported: pd.DataFrame) -> str:
    """Why the bars may fall differently here: the detector bar lets through fewer false
    alarms than hits, i.e. with C classes of equal size a false-positive rate below about
    1 / (C - 1), far easier to meet with this run's classes than with the paper's 1,000."""
    paper_c = int(_reported_value(reported)("n_classes"))
    ours = sorted({n.n_classes for n in networks if n.chapter in CNN_CHAPTERS})
    if not ours:
        return ""
    rates = ", ".join(f"1/{c - 1} = {1 / (c - 1):.3f} with {c} classes" for c in ours)
    return (
        "Why the counts may differ from the paper's: a unit clears the reasonable bar when, "
        "at some threshold that takes in more than half of a class, fewer images of the other "
        "classes than of the class itself lie above it. With C classes of equal size that "
        "means a false-positive rate below about 1/(C - 1): "
        f"{rates} here, against 1/{paper_c - 1} = {1 / (paper_c - 1):.4f} among the paper's "
        f"{paper_c:,} ImageNet classes. The same bar is far easier to clear with few classes, "
        "so counts from this run's networks cannot stand in for AlexNet's; the "
        "`alexnet-merged` profile applies the bars to the authors' own activations."
    )


# --- exercises -------------------------------------------------------------------------------


def exercises(counts: pd.DataFrame, networks: Sequence[MeasuredNetwork]) -> list:
    """The chapter's exercises, each solution written from `counts` (`discussion_counts`)
    of `networks`: the two lenient bars against each other in chapter 2's network, and the
    baselines against the trained network where the page has them."""
    from compendium.chapters.exercises import Exercise

    if not networks:
        return []
    first = networks[0]
    hidden = counts.loc[first.name]
    hidden = hidden[hidden["role"] == "hidden"]
    if hidden.empty:
        return []
    layer = hidden["zhou_only"].idxmax()
    row = hidden.loc[layer]
    both = int(row["zhou"] - row["zhou_only"])
    detector_only = int(row["detector"]) - both
    made = [
        Exercise(
            label="ex-discussion-bars",
            title="Two lenient bars, two kinds of unit",
            question=(
                f"In {layer} of {first.name}, how many of the {int(row['counted']):,} counted "
                f"units pass Zhou's test (bar 3) but not the reasonable bar (bar 2), and how "
                f"many pass bar 2 but not bar 3? Sketch the jitterplot of each kind of unit."
            ),
            solution=(
                f"{int(row['zhou_only']):,} units pass bar 3 only and {detector_only:,} pass "
                f"bar 2 only ({both:,} pass both). A unit of the first kind has top images of "
                f"one class, but most images of that class lie below any threshold that keeps "
                f"false alarms under the hits: a thin band of its class at the top of the "
                f"jitterplot, the rest of the class mixed with the others below. A unit of the "
                f"second kind separates most of a class from the rest, yet its very top is "
                f"shared with other classes, so fewer than 3 in 4 of its top "
                f"{detectors.ZHOU_TOP} images are of one class."
            ),
        )
    ]
    baseline = _baseline_exercise(counts, networks, first, layer)
    return made + ([baseline] if baseline is not None else [])


def _baseline_exercise(counts, networks, first, layer) -> Any:
    from compendium.chapters.exercises import Exercise

    untrained = next((n for n in networks if n.name == f"{first.name}, untrained"), None)
    shuffled = next(
        (n for n in networks if n.name == f"{first.name}, labels shuffled (chance)"), None
    )
    if untrained is None or layer not in counts.loc[untrained.name].index:
        return None
    trained_row, untrained_row = (
        counts.loc[(first.name, layer)],
        counts.loc[(untrained.name, layer)],
    )
    shuffled_text = ""
    if shuffled is not None and layer in counts.loc[shuffled.name].index:
        s = counts.loc[(shuffled.name, layer)]
        shuffled_text = (
            f" With the labels shuffled, {int(s['detector']):,} units clear bar 2 and "
            f"{int(s['zhou']):,} clear bar 3"
            + (
                ": a class that means nothing gives no unit a class to detect."
                if int(s["detector"]) == 0 and int(s["zhou"]) == 0
                else ": that many pass by chance alone, on classes that mean nothing."
            )
        )
    return Exercise(
        label="ex-discussion-untrained",
        title="Detectors without training?",
        question=(
            f"How many units of {layer} clear bars 2 and 3 in the untrained network, against "
            f"the trained one? What can an untrained network's units respond to, and what "
            f"does that say about reading a count at a bar as something the network learnt?"
        ),
        solution=(
            f"Untrained: {int(untrained_row['detector']):,} of {int(untrained_row['counted']):,} "
            f"counted units clear bar 2 and {int(untrained_row['zhou']):,} clear bar 3; "
            f"trained: {int(trained_row['detector']):,} and {int(trained_row['zhou']):,} of "
            f"{int(trained_row['counted']):,}. "
            + (
                "Random weights still compute fixed functions of the pixels, and classes "
                "differ in their pixels (brightness, shape), so some units separate a class "
                "without any learning. "
                if int(untrained_row["detector"]) > 0 or int(untrained_row["zhou"]) > 0
                else "Here no untrained unit clears either bar, though random weights still "
                "compute fixed functions of the pixels, which differ between classes. "
            )
            + f"A count at a bar is evidence of learning only as far as it exceeds the "
            f"untrained count.{shuffled_text}"
        ),
    )
