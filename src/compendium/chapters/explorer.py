"""The unit explorer page and the threshold slider: charts that a reader works without a kernel.

Both are one Altair (Vega-Lite) chart each whose controls are Vega-Lite parameters bound
to HTML inputs, and whose numbers are computed by the chart's own transforms in the browser
from data the chart carries, so they work from ``file://`` and from any static host.

What the browser needs to count hits and false alarms exactly is small: for each unit a
list of thresholds and, for each class, how many images fall between neighbouring
thresholds (`level_counts`). Summed from the top, those give the number of images of each
class at or above each threshold, the counts `compendium.measures.classes.detection_at`
takes, so every rate the page shows is the package's rate at that threshold. The counts
travel as one comma-separated string per unit (`encode_counts`; an empty field is a zero),
which the chart splits again.

* The **explorer** (`explorer_data`, `explorer_chart`) covers every unit of some layers of
  an activation file: each unit's thresholds are `levels` + 1 evenly spaced values from
  ``min(0, lowest activation)`` to its largest activation (`uniform_thresholds`, computed
  in the browser by the same arithmetic). Its jitterplot draws one dot per image (or per
  `ExplorerData.per_dot` images) at the middle of the images' band between two
  thresholds, so the dots right of the slider's rule are exactly the images it counts.
* The **threshold slider** (`threshold_slider_chart`) shows one unit, as in chapters 1 and
  2: its thresholds are the unit's own activation values (thinned to `max_steps`, always
  keeping each class's max-informedness threshold and the top-N cut), so the slider lands
  on the thresholds the measures report, and the jitterplot draws the exact activations.

`describe_explorer` writes the page's sentence on how the points were chosen and the
thresholds quantised, from the numbers of the run.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from compendium.activations.reader import open_activations
from compendium.chapters.alexnet import most_detector_like, unit_label
from compendium.chapters.detectors import ZHOU_SHARE, leave_out_silent, zhou_detector
from compendium.chapters.exercises import Exercise
from compendium.chapters.page import join_words
from compendium.chapters.plots import FONT_SIZE, HIGHLIGHT_COLOUR, OTHER_COLOUR, THRESHOLD_COLOURS
from compendium.inputs.datasets import DatasetError, load_fashion_mnist
from compendium.measures.classes import class_measures, top_n_cut
from compendium.measures.tables import checked_units
from compendium.methods.behaviour import png_bytes
from compendium.util.errors import CompendiumError

__all__ = [
    "ExplorerData",
    "ExplorerError",
    "dataset_images",
    "decode_counts",
    "describe_explorer",
    "describe_weight",
    "detection_from_counts",
    "encode_counts",
    "explorer_chart",
    "explorer_data",
    "level_counts",
    "slider_thresholds",
    "spec_bytes",
    "threshold_slider_chart",
    "uniform_thresholds",
]

#: Thresholds per unit in the explorer: `LEVELS` + 1 evenly spaced values.
LEVELS = 64
#: Most active images shown per unit.
TOP_IMAGES = 6
#: At most this many dots in the explorer's jitterplot of a unit (else one dot per k images).
MAX_POINTS = 10_000
#: Most classes for which the explorer computes each class's own best threshold.
MAX_CLASSES = 50
#: Most classes the explorer's jitterplot gives a row each (beyond: the chosen one and the rest).
MAX_ROWS = 20
#: Steps of the one-unit threshold slider (before the marked thresholds are added).
MAX_STEPS = 200
#: The issue's limit on the explorer page's weight (bytes), its chart and libraries together.
WEIGHT_LIMIT = 10_000_000
#: The widest the explorer may draw (pixels): the book's content column at 1280 px, less room.
CHART_WIDTH = 680
#: Width of the explorer's jitterplot (its class labels take about 90 pixels more).
JITTER_WIDTH = 560
#: Width of a text panel of the explorer (its live numbers, its measures).
PANEL_WIDTH = 520
#: Colours: the slider's threshold, the class's best threshold, the top-N cut.
SLIDER_COLOUR = "#111111"
BEST_COLOUR = THRESHOLD_COLOURS[1]
CUT_COLOUR = THRESHOLD_COLOURS[0]
#: Size (pixels) of a thumbnail, and the room each takes in the row of top images.
THUMB = 56
THUMB_STEP = 96
#: Shortcut entries of the unit chooser (values of its select).
MOST_PRECISE, BEST_INFORMEDNESS, RANDOM_UNIT = -1, -2, -3
#: The class chooser's entry for "the unit's own class" (the class its top-N precision counts).
OWN_CLASS = -1


class ExplorerError(CompendiumError):
    """The explorer cannot be built as asked (the message says what to change)."""


# --- counts at thresholds ----------------------------------------------------------------


def uniform_thresholds(lo: float, hi: float, levels: int) -> np.ndarray:
    """``levels + 1`` thresholds ``lo + k * (hi - lo) / levels``, k = 0..levels, in float64.

    The chart computes the same expression in the same order in JavaScript (IEEE doubles
    both), so the threshold it shows is this one to the last bit."""
    if levels < 1:
        raise ExplorerError(f"levels must be a positive whole number such as 64, not {levels}")
    k = np.arange(levels + 1, dtype=np.float64)
    return float(lo) + k * (float(hi) - float(lo)) / levels


def level_counts(
    activations: Any, labels: Any, n_classes: int, thresholds: Sequence[float] | np.ndarray
) -> np.ndarray:
    """(n_classes, n_thresholds) image counts: entry [c, k] counts the images of class c
    with ``thresholds[k] <= x < thresholds[k + 1]`` (the last column: ``x >= thresholds[-1]``).

    Summed from the right (`at_or_above`) they count ``x >= thresholds[k]``, exactly the
    comparison of `detection_at`. `thresholds` must be non-decreasing and start at or below
    the lowest activation, so that every image is counted once."""
    x = np.asarray(activations, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) < 0):
        raise ExplorerError("thresholds must be a non-empty, non-decreasing list of values")
    if x.size and x.min() < t[0]:
        raise ExplorerError(
            f"the lowest threshold {t[0]} lies above the lowest activation {x.min()}: start "
            "the thresholds at or below it so that every image is counted"
        )
    bins = np.searchsorted(t, x, side="right") - 1
    flat = np.bincount(y * t.size + bins, minlength=n_classes * t.size)
    return flat.reshape(n_classes, t.size)


def at_or_above(counts: np.ndarray) -> np.ndarray:
    """`level_counts` summed from the highest threshold down: images at or above each."""
    return np.cumsum(np.asarray(counts)[:, ::-1], axis=1)[:, ::-1]


def encode_counts(counts: np.ndarray) -> str:
    """The counts, class after class, as one comma-separated string; a zero is left empty."""
    return ",".join(str(int(v)) if v else "" for v in np.asarray(counts).reshape(-1))


def decode_counts(text: str, n_classes: int) -> np.ndarray:
    """The inverse of `encode_counts`: what the chart's transforms read from the string."""
    values = np.array([int(v) if v else 0 for v in text.split(",")], dtype=np.int64)
    if values.size % n_classes:
        raise ExplorerError(f"{values.size} counts cannot be split into {n_classes} classes")
    return values.reshape(n_classes, -1)


def detection_from_counts(
    counts: np.ndarray, cls: int, k: int, thresholds: Sequence[float], *, prefix: str
) -> dict[str, float]:
    """What the chart shows at threshold number `k` for class `cls`, from the counts
    alone, under the keys of `compendium.measures.classes.detection_at`."""
    above = at_or_above(counts)[:, k]
    tp = int(above[cls])
    fp = int(above.sum() - tp)
    n_a = int(np.asarray(counts)[cls].sum())
    n_rest = int(np.asarray(counts).sum() - n_a)
    return {
        f"{prefix}_threshold": float(thresholds[k]),
        f"{prefix}_hits": tp,
        f"{prefix}_false_positives": fp,
        f"{prefix}_recall": tp / n_a,
        f"{prefix}_specificity": 1 - fp / n_rest,
        f"{prefix}_false_alarm": fp / (tp + fp) if tp + fp else float("nan"),
        f"{prefix}_fpr": fp / n_rest,
    }


def slider_thresholds(
    activations: Any, marked: Sequence[float] = (), max_steps: int = MAX_STEPS
) -> np.ndarray:
    """The one-unit slider's thresholds: the unit's distinct activation values, thinned
    evenly (by rank) to about `max_steps` when there are more, always with the lowest and
    highest, plus the `marked` values (e.g. the max-informedness thresholds)."""
    values = np.unique(np.asarray(activations, dtype=np.float64))
    if values.size > max_steps:
        keep = np.unique(np.round(np.linspace(0, values.size - 1, max_steps)).astype(int))
        values = values[keep]
    extra = np.asarray([float(m) for m in marked if np.isfinite(m)], dtype=np.float64)
    return np.unique(np.concatenate([values, extra[(extra >= values[0]) & (extra <= values[-1])]]))


def class_best_thresholds(
    activations: np.ndarray, labels: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each unit (column) and class, the max-informedness threshold and informedness
    for that class (`class_measures`); NaN for a class without images. Two (n_units,
    n_classes) arrays."""
    x = np.asarray(activations)
    if x.ndim == 1:
        x = x[:, None]
    best = np.full((x.shape[1], n_classes), np.nan)
    score = np.full((x.shape[1], n_classes), np.nan)
    for c in range(n_classes):
        member = np.asarray(labels) == c
        if member.all() or not member.any():
            continue
        table = class_measures(x, member, top=1)
        best[:, c] = table["mi_threshold"].to_numpy()
        score[:, c] = table["max_informedness"].to_numpy()
    return best, score


# --- the explorer's data -------------------------------------------------------------------


def _measure_list(top_n: int, large: int) -> list[tuple[str, str, str, str | None]]:
    """The measures row of the explorer: (column, words, number format, class column)."""
    return [
        (f"precision_{top_n}", f"precision of the top {top_n}", ".3f", f"precision_{top_n}_class"),
        ("ccmas", "CCMAS", ".3f", "ccmas_class"),
        ("ccmas_2", "CCMAS2 (runner-up class)", ".3f", "ccmas_2_class"),
        ("localist", "localist", "yes/no", "localist_class"),
        ("recall_p100", "recall at 100% precision", ".3f", None),
        ("recall_p95", "recall at 95% precision", ".3f", None),
        ("max_informedness", "max informedness", ".3f", "mi_class"),
        ("mi_threshold", "threshold of max informedness", ".4~g", None),
        ("mi_false_alarm", "false alarms FP/(TP+FP) at it", ".3f", None),
        ("mi_fpr", "FP/N_notA at it", ".3f", None),
        (f"n_classes_top{large}", f"classes among the top {large}", "d", None),
    ]


@dataclass(frozen=True, eq=False)
class ExplorerData:
    """What the explorer page holds: one row per unit (`units`), the top images (`images`:
    image number ``i``, class ``c`` and, where the data set's pictures were given, a PNG
    data URI ``url``) and what the page says about them."""

    units: pd.DataFrame
    images: pd.DataFrame
    class_names: list[str]
    layer_units: dict[str, int]
    levels: int
    n_images: int
    per_dot: int
    top_images: int
    top_n: int
    large: int
    dead_units: int
    every_class_best: bool = True
    shortcuts: dict[int, tuple[str, int]] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def measures(self) -> list[tuple[str, str, str, str | None]]:
        return _measure_list(self.top_n, self.large)

    def counts(self, label: str) -> np.ndarray:
        """The counts of unit `label` (``"fc6.12"``), decoded as the chart decodes them."""
        row = self.row(label)
        return decode_counts(row["h"], len(self.class_names))

    def thresholds(self, label: str) -> np.ndarray:
        """The thresholds of unit `label`, as the chart computes them."""
        row = self.row(label)
        return uniform_thresholds(row["lo"], row["hi"], self.levels)

    def row(self, label: str) -> pd.Series:
        found = self.units[self.units["name"] == label]
        if found.empty:
            raise ExplorerError(
                f"the explorer holds no unit {label!r}; e.g. {self.units['name'].iloc[0]!r}"
            )
        return found.iloc[0]


def dataset_images(attrs: Mapping[str, Any]) -> np.ndarray | None:
    """The pictures of the data set an activation file was recorded on, (n, H, W) uint8 in
    the source's order, where the compendium can read them without the network: the
    Fashion-MNIST files in the cache. None for any other data set (the page then lists the
    top images by number)."""
    dataset = str(attrs.get("dataset", ""))
    name, _, split = dataset.partition(":")
    split = split.split("[")[0]  # "test[:400]": the first images of the split, same numbers
    if name != "fashion-mnist" or split not in ("train", "test"):
        return None
    try:
        return load_fashion_mnist(split, download=False).images
    except DatasetError:
        return None


def explorer_data(
    path: str | os.PathLike,
    selection: Mapping[str, slice],
    table: pd.DataFrame,
    *,
    levels: int = LEVELS,
    top_images: int = TOP_IMAGES,
    top_n: Sequence[int] = (60, 100),
    images: np.ndarray | None = None,
    max_points: int = MAX_POINTS,
    max_classes: int = MAX_CLASSES,
    memory_bytes: int = 2**29,
) -> ExplorerData:
    """Everything the explorer page holds about the units of `selection` (layer -> unit
    range, as `compendium.measures.tables.unit_selection` gives) of the activation file at
    `path`, with their rows of the measures `table` (`measure_selection` of the same file
    and selection, with ``top=top_n``). `images`, when given, are the data set's pictures
    in the order of the file's ``image_index`` (see `dataset_images`).

    Each class's own best threshold is computed for up to `max_classes` classes (one
    ranking of every unit per class); with more, only the class of each unit's maximum
    informedness has one. The file is read `memory_bytes` at a time."""
    if levels < 1 or top_images < 1 or max_points < 1:
        raise ExplorerError("levels, top_images and max_points must be positive whole numbers")
    plan = _Plan(levels, top_images, int(top_n[0]), int(max(top_n)))
    keyed = table.set_index(["layer", "unit"])
    rows, layer_units = [], {}
    with open_activations(path) as source:
        labels, names = source.labels, [n.split(",")[0] for n in source.class_names]
        image_index = np.asarray(source.image_index)
        exact = len(names) <= max_classes
        block_units = max(1, memory_bytes // (16 * max(1, labels.size)))
        for layer, units in selection.items():
            acts = source.activations(layer)
            units = checked_units(units, int(acts.shape[1]), layer)
            layer_units[layer] = units.stop - units.start
            for first in range(units.start, units.stop, block_units):
                block = np.asarray(acts[:, first : min(first + block_units, units.stop)])
                block = block.astype(np.float32, copy=False)
                measured = _unit_measures(keyed, layer, first, block.shape[1])
                best = _best_thresholds(block, labels, len(names), measured, exact)
                rows += _block_rows(block, labels, len(names), layer, first, best, plan)
    units = _with_measures(pd.DataFrame(rows), keyed, plan)
    shown = sorted({int(i) for top in units["top"] for i in top})
    return ExplorerData(
        units=units,
        images=_image_table(shown, labels, image_index, images),
        class_names=names,
        layer_units=layer_units,
        levels=levels,
        n_images=int(labels.size),
        per_dot=max(1, int(np.ceil(labels.size / max_points))),
        top_images=top_images,
        top_n=plan.top_n,
        large=plan.large,
        dead_units=int((units["hi"] <= units["lo"]).sum()),
        every_class_best=exact,
        shortcuts=_shortcuts(units, plan.top_n),
    )


@dataclass(frozen=True)
class _Plan:
    levels: int
    top_images: int
    top_n: int
    large: int


def _unit_measures(keyed: pd.DataFrame, layer: str, first: int, count: int) -> pd.DataFrame:
    """The measures of units first..first+count-1 of `layer` (`keyed` by layer and unit);
    an error that says what to do if the table lacks any."""
    wanted = [(layer, first + j) for j in range(count)]
    missing = [key for key in wanted if key not in keyed.index]
    if missing:
        raise ExplorerError(
            f"the measures table lacks {len(missing)} of the chosen units, e.g. "
            f"{unit_label(*missing[0])}: measure the same layers and units of the same file "
            "(tables.measure_selection)"
        )
    return keyed.loc[wanted]


def _best_thresholds(
    block: np.ndarray, labels: np.ndarray, n_classes: int, measured: pd.DataFrame, exact: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's best threshold and informedness per class (`class_best_thresholds`), or,
    unless `exact`, only for the class of its maximum informedness (from its measures)."""
    if exact:
        return class_best_thresholds(block, labels, n_classes)
    best = np.full((block.shape[1], n_classes), np.nan)
    score = np.full((block.shape[1], n_classes), np.nan)
    units = np.arange(block.shape[1])
    classes = measured["mi_class"].to_numpy(dtype=int)
    best[units, classes] = measured["mi_threshold"].to_numpy(dtype=float)
    score[units, classes] = measured["max_informedness"].to_numpy(dtype=float)
    return best, score


def _block_rows(
    block: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    layer: str,
    first: int,
    best: tuple[np.ndarray, np.ndarray],
    plan: _Plan,
) -> list[dict[str, Any]]:
    """The explorer's rows for a block of units (columns) of one layer."""
    order = np.argsort(-block, axis=0, kind="stable")[: plan.top_images]
    rows = []
    for j in range(block.shape[1]):
        x = block[:, j]
        lo, hi = min(0.0, float(x.min())), float(x.max())
        counts = level_counts(x, labels, n_classes, uniform_thresholds(lo, hi, plan.levels))
        rows.append(
            {
                "name": unit_label(layer, first + j),
                "layer": layer,
                "unit": first + j,
                "lo": lo,
                "hi": hi,
                "h": encode_counts(counts),
                "top": [int(i) for i in order[:, j]],
                "tv": [_sig(x[i], 4) for i in order[:, j]],
                "bt": [_sig(v, 6) for v in best[0][j]],
                "bj": [_sig(v, 3) for v in best[1][j]],
                "cut": _sig(top_n_cut(x, min(plan.top_n, x.size)), 6),
            }
        )
    return rows


def _with_measures(units: pd.DataFrame, keyed: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """The rows with each unit's measures (``m``, rounded) and their classes (``mc``)."""
    measures = _measure_list(plan.top_n, plan.large)
    rows = keyed.loc[list(zip(units["layer"], units["unit"], strict=True))]
    units = units.assign(
        m=[[_measure_value(row[c]) for c, *_ in measures] for _, row in rows.iterrows()],
        mc=[
            [int(row[k]) if pd.notna(row[k]) else None for *_, k in measures if k]
            for _, row in rows.iterrows()
        ],
        pc=rows[f"precision_{plan.top_n}_class"].astype(int).to_numpy(),
    )
    units.insert(0, "id", np.arange(len(units)))
    return units


def _measure_value(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_):
        return int(value)
    value = float(value)
    return round(value, 4) if np.isfinite(value) else None


def _sig(value: float, digits: int) -> float | None:
    """`value` rounded to `digits` significant digits (None for NaN: JSON null)."""
    value = float(value)
    return float(f"{value:.{digits}g}") if np.isfinite(value) else None


def _image_table(
    shown: Sequence[int], labels: np.ndarray, image_index: np.ndarray, images: np.ndarray | None
) -> pd.DataFrame:
    """The top images: number in the file, class, and a PNG data URI when `images` is given."""
    table = pd.DataFrame({"i": list(shown), "c": [int(labels[i]) for i in shown]})
    if images is not None:
        table["url"] = [thumbnail_uri(images[int(image_index[i])]) for i in shown]
    return table


def thumbnail_uri(picture: np.ndarray) -> str:
    """A uint8 greyscale (H, W) or colour (H, W, 3) picture as a PNG data URI."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode("ascii")


def _shortcuts(units: pd.DataFrame, top_n: int) -> dict[int, tuple[str, int]]:
    """The unit chooser's shortcuts, each with the unit it stands for (its id) in words."""
    columns = [column for column, *_ in _measure_list(top_n, top_n)]
    table = units.assign(
        **{
            name: [m[columns.index(column)] for m in units["m"]]
            for name, column in (
                ("precision", f"precision_{top_n}"),
                ("ccmas", "ccmas"),
                ("mi", "max_informedness"),
            )
        }
    )
    precise = most_detector_like(
        table.rename(columns={"precision": f"precision_{top_n}"}), f"precision_{top_n}"
    )
    best = table.loc[table["mi"].astype(float).idxmax()]
    return {
        MOST_PRECISE: (
            f"the most precise unit ({precise['name']}, precision {precise[f'precision_{top_n}']:.2f})",
            int(precise["id"]),
        ),
        BEST_INFORMEDNESS: (
            f"the best max informedness ({best['name']}, {best['mi']:.2f})",
            int(best["id"]),
        ),
        RANDOM_UNIT: ("a random unit", -1),
    }


def describe_explorer(data: ExplorerData) -> str:
    """How the page's points were chosen and its thresholds quantised, and what that does
    to its numbers, in words written from `data`."""
    layers = ", ".join(f"{n:,} of {layer}" for layer, n in data.layer_units.items())
    start = "0" if (data.units["lo"] >= 0).all() else "0 (or its lowest activation, if lower)"
    dots = (
        "every image is one dot"
        if data.per_dot == 1
        else f"each dot stands for up to {data.per_dot} images of its row and band"
    )
    notes = (
        ""
        if data.every_class_best
        else f" With {len(data.class_names):,} classes, only the class of each unit's maximum "
        "informedness has its best threshold on the page."
    )
    if data.dead_units:
        one = data.dead_units == 1
        notes += (
            f" {data.dead_units:,} {'unit gives' if one else 'units give'} the same "
            f"activation to every image, so all {'its' if one else 'their'} thresholds "
            "coincide."
        )
    return (
        f"The explorer holds all {data.n_units:,} units ({layers}) and all {data.n_images:,} "
        f"images of {len(data.class_names)} classes. For each unit it keeps the number of "
        f"images of each class at or above each of {data.levels + 1} thresholds, evenly "
        f"spaced from {start} to the unit's largest activation, 1/{data.levels} of that "
        "range apart. Hit rate, false alarms, precision and informedness are counted from "
        "those numbers over every image, so they are exactly the package's values at the "
        f"slider's threshold. The quantising only limits the slider to those "
        f"{data.levels + 1} thresholds: a unit's best threshold and its top-{data.top_n} cut "
        "can fall between two of them, so they are drawn as rules at their exact values. In "
        "the jitterplot "
        f"{dots}, drawn at the middle of its band between two neighbouring thresholds, so a "
        f"dot sits up to {1 / (2 * data.levels):.1%} of the unit's range away from its "
        "image's activation, and the dots right of the slider's rule are exactly the "
        f"images counted. The top images are each unit's {data.top_images} most active "
        "(ties go to the lower image number); the measures are the package's, rounded to "
        f"3 decimals.{notes}"
    )


def spec_bytes(chart: alt.TopLevelMixin) -> int:
    """Bytes of the chart's specification and data as the page embeds them (JSON)."""
    return len(json.dumps(chart.to_dict(), separators=(",", ":")).encode("utf-8"))


def describe_weight(chart: alt.TopLevelMixin, limit: int = WEIGHT_LIMIT) -> str:
    """The chart's weight on the page, against the page's limit; an error above it."""
    size = spec_bytes(chart)
    if size > limit:
        raise ExplorerError(
            f"the explorer's chart takes {size / 1e6:.1f} MB, over the page's "
            f"{limit / 1e6:.0f} MB: lower `levels` or choose fewer `units`"
        )
    return (
        f"The chart with all its data takes {size / 1e6:.1f} MB of this page (the limit for "
        f"the whole page is {limit / 1e6:.0f} MB, including the Vega libraries)."
    )


# --- the charts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Controls:
    """How a chart's transforms find the chosen unit, class and threshold: Vega expressions
    over the parameters (``class_pick``, ``level``) and the unit's row (``datum``)."""

    n_thresholds: int  # thresholds per class in the unit's counts
    threshold: str  # the slider's threshold
    level_text: str  # which threshold, in words
    own_class: str  # the class when the class chooser says "the unit's own"
    unit_filter: str | None = None  # keeps the chosen unit's row (None: the data is one row)

    @property
    def cls(self) -> str:
        return f"(class_pick >= 0 ? class_pick : {self.own_class})"


def _on_unit(chart: Any, controls: _Controls, threshold: bool = True) -> Any:
    """`chart` reduced to the chosen unit's row, with the chosen class ``cls``, the class's
    best threshold ``best`` and informedness there ``best_j`` and, if `threshold`, the
    slider's threshold ``t`` (left out where nothing depends on it, so that moving the
    slider does not redraw the points).

    The views share the unit's row and Vega computes fields in place, so only new fields
    are written, by the same formulas in every view: a field of the row that one view
    overwrote would be wrong in the others."""
    if controls.unit_filter:
        chart = chart.transform_filter(controls.unit_filter)
    chart = chart.transform_calculate(cls=controls.cls)
    chart = chart.transform_calculate(best="datum.bt[datum.cls]", best_j="datum.bj[datum.cls]")
    return chart.transform_calculate(t=controls.threshold) if threshold else chart


def _cells(chart: Any, controls: _Controls) -> Any:
    """The unit's counts, one row per class ``c`` and threshold number ``k``, count ``n``."""
    per_class = controls.n_thresholds
    return (
        chart.transform_calculate(cells="split(datum.h, ',')")
        .transform_calculate(idx="sequence(0, length(datum.cells))")
        .transform_flatten(["cells", "idx"])
        .transform_calculate(
            n="toNumber(datum.cells) || 0",
            c=f"floor(datum.idx / {per_class})",
            k=f"datum.idx % {per_class}",
        )
    )


def _text_lines(lines: Sequence[tuple[str, str]], width: int) -> alt.LayerChart:
    """One text mark per line: (field holding the text, colour), 20 pixels apart."""
    marks = [
        alt.Chart()
        .mark_text(align="left", baseline="top", fontSize=FONT_SIZE - 1, color=colour)
        .encode(x=alt.value(0), y=alt.value(20 * i), text=f"{name}:N")
        for i, (name, colour) in enumerate(lines)
    ]
    return alt.layer(*marks).properties(
        width=width, height=20 * len(lines), view=alt.ViewBackground(stroke=None)
    )


def _readout(controls: _Controls, top_n: int) -> alt.LayerChart:
    """The live numbers at the slider's threshold for the chosen class, a line each."""
    lines = _readout_lines(controls, top_n)
    lines_shown = [(f"line{i}", colour) for i, (_, colour) in enumerate(lines)]
    chart = _text_lines(lines_shown, PANEL_WIDTH)
    chart = _cells(_on_unit(chart, controls), controls)
    return (
        chart.transform_calculate(
            tp="datum.c == datum.cls && datum.k >= level ? datum.n : 0",
            fp="datum.c != datum.cls && datum.k >= level ? datum.n : 0",
            na="datum.c == datum.cls ? datum.n : 0",
        )
        .transform_aggregate(
            tp="sum(tp)",
            fp="sum(fp)",
            na="sum(na)",
            nall="sum(n)",
            groupby=["cls", "t", "best", "best_j", "cut"],
        )
        .transform_calculate(**{f"line{i}": expr for i, (expr, _) in enumerate(lines)})
        .properties(title=_panel_title("At the slider's threshold, for the chosen class"))
    )


def _readout_lines(controls: _Controls, top_n: int) -> list[tuple[str, str]]:
    """The readout's lines: (Vega expression of the text, colour)."""
    name = "class_names[datum.cls]"
    rest, detected = "(datum.nall - datum.na)", "(datum.tp + datum.fp)"
    none = "none (no image is at or above t)"
    plain = "#222222"

    def share(numerator: str, denominator: str, empty: str = "undefined") -> str:
        return (
            f"{numerator} + '/' + {denominator} + ' = ' + ({denominator} > 0 ? "
            f"format({numerator} / {denominator}, '.4f') : '{empty}')"
        )

    return [
        (f"'class ' + {name} + ': N_A = ' + datum.na + ', N_notA = ' + {rest}", plain),
        (
            f"'threshold t = ' + format(datum.t, '.5~g') + ' (' + {controls.level_text} + ')'",
            SLIDER_COLOUR,
        ),
        (f"'hit rate TP/N_A = ' + {share('datum.tp', 'datum.na')}", plain),
        (f"'false alarms FP/(TP+FP) = ' + {share('datum.fp', detected, none)}", plain),
        (f"'false-positive rate FP/N_notA = ' + {share('datum.fp', rest)}", plain),
        (f"'precision TP/(TP+FP) = ' + {share('datum.tp', detected, none)}", plain),
        (
            f"'informedness TP/N_A - FP/N_notA = ' + (datum.na > 0 && {rest} > 0 ? "
            f"format(datum.tp / datum.na - datum.fp / {rest}, '.4f') : 'undefined')",
            plain,
        ),
        (
            f"'best threshold for ' + {name} + ': ' + (isValid(datum.best) ? "
            "format(datum.best, '.5~g') + ' (informedness ' + format(datum.best_j, '.3f') + ')' "
            ": 'not on this page')",
            BEST_COLOUR,
        ),
        (f"'top-{top_n} cut: ' + format(datum.cut, '.5~g')", CUT_COLOUR),
    ]


def _rules(controls: _Controls) -> alt.LayerChart:
    """The slider's threshold (solid), the chosen class's best threshold and the top-N cut
    (dashed), as vertical rules."""
    marks = [
        alt.Chart()
        .mark_rule(color=colour, strokeWidth=2.5, strokeDash=dash)
        .encode(x=f"{field}:Q", tooltip=[alt.Tooltip(f"{field}:Q", title=title, format=".5~g")])
        for field, colour, dash, title in (
            ("best", BEST_COLOUR, [6, 3], "best threshold for the class"),
            ("cut", CUT_COLOUR, [6, 3], "top-N cut"),
            ("t", SLIDER_COLOUR, [1, 0], "slider's threshold"),
        )
    ]
    return _on_unit(alt.layer(*marks), controls).transform_filter("isValid(datum.t)")


def _panel_title(text: str | list[str]) -> alt.TitleParams:
    return alt.TitleParams(text, anchor="start", fontSize=FONT_SIZE, offset=6)


def _class_colour(test: str) -> alt.Color:
    return alt.condition(test, alt.value(HIGHLIGHT_COLOUR), alt.value(OTHER_COLOUR))


def _jitter_rows(data: ExplorerData) -> tuple[int, str, str]:
    """The jitterplot's rows: how many, the row of a cell of class ``datum.c``, and the
    label of row ``datum.value``. A row per class, or, with more than `MAX_ROWS` classes,
    one for the chosen class and one for all the others."""
    n_classes = len(data.class_names)
    if n_classes <= MAX_ROWS:
        return n_classes, "datum.c", "class_names[floor(datum.value)]"
    return 2, "datum.c == datum.cls ? 0 : 1", "datum.value < 1 ? 'the chosen class' : 'others'"


def _explorer_points(data: ExplorerData, controls: _Controls) -> alt.Chart:
    """The unit's jitterplot by class (`_jitter_rows`): a dot per image (or per `per_dot`
    images) at the middle of its band between two thresholds; the chosen class in blue."""
    levels = data.levels
    rows, row_of, row_label = _jitter_rows(data)
    by_class = rows == len(data.class_names)
    band = "(datum.hi - datum.lo) / " + str(levels)
    chart = (
        alt.Chart()
        .mark_circle(size=14, opacity=0.55)
        .encode(
            x=alt.X("x:Q", title="activation"),
            y=alt.Y(
                "y:Q",
                scale=alt.Scale(domain=[0, rows], reverse=True, nice=False, zero=False),
                axis=alt.Axis(
                    values=[r + 0.5 for r in range(rows)],
                    labelExpr=row_label,
                    title=None,
                    grid=False,
                    ticks=False,
                    domain=False,
                ),
            ),
            color=_class_colour("datum.mine == 1"),
            order=alt.Order("mine:Q"),
            tooltip=[
                alt.Tooltip("class:N"),
                alt.Tooltip("from:Q", title="activation from", format=".4~g"),
                alt.Tooltip("to:Q", title="below", format=".4~g"),
                alt.Tooltip("n:Q", title="images here"),
            ],
        )
    )
    chart = _cells(_on_unit(chart, controls, threshold=False), controls)
    return (
        chart.transform_filter("datum.n > 0")
        .transform_calculate(row=row_of)
        .transform_aggregate(n="sum(n)", groupby=["row", "k", "lo", "hi", "cls"])
        .transform_calculate(
            x=f"datum.k < {levels} ? datum.lo + (datum.k + 0.5) * {band} : datum.hi",
            dots=f"sequence(0, ceil(datum.n / {data.per_dot}))",
            mine=f"datum.row == {'datum.cls' if by_class else '0'} ? 1 : 0",
        )
        .transform_calculate(
            **{
                "class": "class_names[datum.row]"
                if by_class
                else "datum.row == 0 ? class_names[datum.cls] : 'other classes'",
                "from": f"datum.lo + datum.k * {band}",
                "to": f"datum.k < {levels} ? datum.lo + (datum.k + 1) * {band} : null",
            }
        )
        .transform_flatten(["dots"])
        .transform_calculate(
            y="datum.row + 0.12 + 0.76 * ((datum.dots * 0.6180339887 + datum.k * 0.2113) % 1)"
        )
    )


def _top_images(data: ExplorerData, controls: _Controls) -> alt.LayerChart:
    """The unit's most active images: a thumbnail (where the page has pictures), its class
    and activation, and its number in the file."""
    x = alt.X("r:O", axis=None, scale=alt.Scale(type="point", padding=0.5))
    tooltip = [
        alt.Tooltip("top:Q", title="image"),
        alt.Tooltip("class:N"),
        alt.Tooltip("tv:Q", title="activation", format=".4~g"),
    ]
    marks = [
        alt.Chart()
        .mark_text(baseline="top", fontSize=FONT_SIZE - 3)
        .encode(x=x, y=alt.value(THUMB + 6 + 15 * i), text=f"{field}:N", tooltip=tooltip)
        for i, field in enumerate(("class", "caption"))
    ]
    if "url" in data.images.columns:
        marks.insert(
            0,
            alt.Chart()
            .mark_image(width=THUMB, height=THUMB, baseline="top")
            .encode(x=x, y=alt.value(0), url="url:N", tooltip=tooltip),
        )
    lookup = alt.LookupData(
        data=_inline(data.images), key="i", fields=[c for c in ("c", "url") if c in data.images]
    )
    chart = _on_unit(alt.layer(*marks), controls, threshold=False)
    return (
        chart.transform_calculate(r="sequence(0, length(datum.top))")
        .transform_flatten(["top", "tv", "r"])
        .transform_lookup(lookup="top", from_=lookup)
        .transform_calculate(
            **{
                "class": "class_names[datum.c]",
                "caption": "format(datum.tv, '.3~g') + ' (#' + datum.top + ')'",
            }
        )
        .properties(
            width=THUMB_STEP * data.top_images,
            height=THUMB + 36,
            view=alt.ViewBackground(stroke=None),
            title=_panel_title(
                f"Its {data.top_images} most active images (activation, image number)"
            ),
        )
    )


def _measures_panel(data: ExplorerData, controls: _Controls) -> alt.LayerChart:
    """The unit's row of measures (the package's, rounded), a line each."""
    lines, j = {}, 0
    for i, (_, words, fmt, cls_column) in enumerate(data.measures):
        value = f"datum.m[{i}]"
        shown = f"({value} ? 'yes' : 'no')" if fmt == "yes/no" else f"format({value}, '{fmt}')"
        text = f"'{words}: ' + (isValid({value}) ? {shown} : 'none')"
        if cls_column:  # the class it is for (for "localist", only when it is localist)
            own = f"datum.mc[{j}]"
            when = f"isValid({own})" + (f" && {value}" if fmt == "yes/no" else "")
            text += f" + ({when} ? ' (' + class_names[{own}] + ')' : '')"
            j += 1
        lines[f"m{i}"] = text
    chart = _text_lines([(name, "#222222") for name in lines], PANEL_WIDTH)
    return (
        _on_unit(chart, controls, threshold=False)
        .transform_calculate(**lines)
        .properties(title=_panel_title("Its measures (the class each is for)"))
    )


def _inline(table: pd.DataFrame) -> alt.InlineData:
    """A table as inline chart data, lists and missing values (null) included."""
    return alt.InlineData(values=json.loads(table.to_json(orient="records")))


def explorer_chart(data: ExplorerData, level: int | None = None) -> alt.VConcatChart:
    """The explorer: one chart of the chosen unit's jitterplot by class, its top images, the
    live numbers at the slider's threshold and, below them, its measures (one column, so
    that the chart fits the book's content column, `CHART_WIDTH`), with a unit chooser (a list
    with three shortcuts, and a box to type a unit's name), a class chooser and a threshold
    slider. `level` is the slider's starting threshold (default: a quarter of the way)."""
    levels = data.levels
    controls = _Controls(
        n_thresholds=levels + 1,
        threshold=f"datum.lo + level * (datum.hi - datum.lo) / {levels}",
        level_text=f"'level ' + level + ' of {levels}'",
        own_class="datum.pc",
        unit_filter="datum.id == unit_id",
    )
    names = data.units["name"].tolist()
    params = _explorer_params(data, names, levels // 4 if level is None else level)
    jitter = alt.layer(_rules(controls), _explorer_points(data, controls)).properties(
        width=JITTER_WIDTH,
        height=max(26 * _jitter_rows(data)[0], 120),
        title=_panel_title(
            [
                "Every image of the unit, by class (the chosen class in blue)",
                "rules: the slider's threshold (black), the class's best threshold (green),",
                f"the top-{data.top_n} cut (red)",
            ]
        ),
    )
    header = (
        "'Unit ' + unit_names[unit_id] + (length(trim(unit_search)) > 0 && "
        "indexof(unit_names, trim(unit_search)) < 0 && "
        "indexof(unit_names, lower(trim(unit_search))) < 0 ? "
        "'   (no unit is named \"' + trim(unit_search) + '\"; type e.g. ' + unit_names[0] + ')' : '')"
    )
    chart = alt.vconcat(
        jitter,
        _top_images(data, controls),
        _readout(controls, data.top_n),
        _measures_panel(data, controls),
        data=_inline(data.units.drop(columns=["layer", "unit"])),
        spacing=24,
        title=alt.TitleParams(alt.ExprRef(header), anchor="start", fontSize=FONT_SIZE + 4),
    )
    return _configured(chart.add_params(*params))


def _explorer_params(data: ExplorerData, names: Sequence[str], level: int) -> list[alt.Parameter]:
    """The explorer's controls and the arrays its expressions read."""
    shortcuts = data.shortcuts
    n = data.n_units
    pick = alt.param(
        name="unit_pick",
        value=MOST_PRECISE,
        bind=alt.binding_select(
            options=[*shortcuts, *range(n)],
            labels=[label for label, _ in shortcuts.values()] + list(names),
            name="unit ",
        ),
    )
    search = alt.param(
        name="unit_search",
        value="",
        bind=alt.binding(input="text", name="or type a unit (e.g. fc6.12) ", placeholder="fc6.12"),
    )
    typed = "indexof(unit_names, trim(unit_search))"
    typed_lower = "indexof(unit_names, lower(trim(unit_search)))"
    chosen = (
        f"{typed} >= 0 ? {typed} : {typed_lower} >= 0 ? {typed_lower} : "
        f"unit_pick == {MOST_PRECISE} ? {shortcuts[MOST_PRECISE][1]} : "
        f"unit_pick == {BEST_INFORMEDNESS} ? {shortcuts[BEST_INFORMEDNESS][1]} : "
        f"unit_pick == {RANDOM_UNIT} ? floor(random() * {n}) : unit_pick"
    )
    return [
        alt.param(name="unit_names", value=list(names)),
        alt.param(name="class_names", value=list(data.class_names)),
        pick,
        search,
        alt.param(name="unit_id", expr=chosen),
        _class_param(data.class_names, own=True),
        _level_param(level, data.levels, "threshold level "),
    ]


def _class_param(class_names: Sequence[str], own: bool, value: int = OWN_CLASS) -> alt.Parameter:
    options = ([OWN_CLASS] if own else []) + list(range(len(class_names)))
    labels = (["the unit's own class (its top-N precision's)"] if own else []) + list(class_names)
    return alt.param(
        name="class_pick",
        value=value,
        bind=alt.binding_select(options=options, labels=labels, name="class "),
    )


def _level_param(value: int, top: int, name: str) -> alt.Parameter:
    return alt.param(
        name="level", value=int(value), bind=alt.binding_range(min=0, max=top, step=1, name=name)
    )


def _configured(chart: Any, renderer: str = "svg") -> Any:
    """Lettering for a projector; SVG so that the numbers are text a reader can select."""
    return (
        chart.configure_axis(labelFontSize=FONT_SIZE - 1, titleFontSize=FONT_SIZE)
        .configure_view(stroke="#dddddd")
        .properties(usermeta={"embedOptions": {"renderer": renderer}})
    )


# --- the one-unit threshold slider -------------------------------------------------------------


def threshold_slider_chart(
    activations: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    unit_measures_row: Mapping[str, Any] | pd.Series,
    *,
    unit_label: str = "the unit",
    highlight_class: int | None = None,
    top_n: int = 60,
    sample: Sequence[int] | np.ndarray | None = None,
    max_steps: int = MAX_STEPS,
    seed: int = 0,
) -> alt.VConcatChart:
    """One unit's jitterplot with a threshold slider and a class chooser: the images at or
    above the slider's threshold are drawn solid, the rest faint, and the hit rate, false
    alarms, precision and informedness for the chosen class are counted live over every
    image (`level_counts` at `slider_thresholds`).

    `unit_measures_row` is the unit's row of `unit_measures` (its ``precision_<top_n>_class``
    is the class shown first unless `highlight_class` is given). The slider steps through
    the unit's activation values (about `max_steps` of them, always including each class's
    max-informedness threshold, where it starts, and the top-`top_n` cut); `sample` limits
    the dots drawn to those images (the counts always use all of them)."""
    x = np.asarray(activations, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if x.size != y.size or x.size == 0 or not np.all(np.isfinite(x)):
        raise ExplorerError(
            f"give one finite activation per label: {x.size} activations, {y.size} labels"
        )
    n_classes = len(class_names)
    row = unit_measures_row
    cls = int(row[f"precision_{top_n}_class"] if highlight_class is None else highlight_class)
    best, score = class_best_thresholds(x, y, n_classes)
    cut = top_n_cut(x, min(top_n, x.size))
    thresholds = slider_thresholds(x, [*best[0], cut], max_steps)
    counts = level_counts(x, y, n_classes, thresholds)
    start = int(np.searchsorted(thresholds, best[0, cls])) if np.isfinite(best[0, cls]) else 0
    unit = pd.DataFrame(
        [
            {
                "h": encode_counts(counts),
                "bt": [None if not np.isfinite(v) else float(v) for v in best[0]],
                "bj": [_sig(v, 3) for v in score[0]],
                "cut": float(cut),
            }
        ]
    )
    controls = _Controls(
        n_thresholds=thresholds.size,
        threshold="thresholds[level]",
        level_text=f"'step ' + level + ' of {thresholds.size - 1}'",
        own_class=str(cls),
    )
    points = _slider_points(x, y, thresholds, sample, seed, controls, class_names)
    jitter = alt.layer(_rules(controls).properties(data=_inline(unit)), points).properties(
        width=560,
        height=160,
        title=_panel_title(
            [
                f"{unit_label}: the images at or above the slider's threshold are solid",
                f"rules: the slider's threshold (black), the class's best threshold (green), "
                f"the top-{top_n} cut (red)",
            ]
        ),
    )
    readout = _readout(controls, top_n).properties(data=_inline(unit))
    chart = alt.vconcat(jitter, readout, spacing=20).add_params(
        alt.param(name="thresholds", value=[float(t) for t in thresholds]),
        alt.param(name="class_names", value=list(class_names)),
        _class_param(class_names, own=False, value=cls),
        _level_param(start, thresholds.size - 1, "threshold step "),
    )
    return _configured(chart, renderer="canvas")


def _slider_points(
    x: np.ndarray,
    y: np.ndarray,
    thresholds: np.ndarray,
    sample: Sequence[int] | np.ndarray | None,
    seed: int,
    controls: _Controls,
    class_names: Sequence[str],
) -> alt.Chart:
    """The drawn images: activation (5 digits), jitter, class, and the number ``b`` of the
    highest threshold at or below the activation (the image counts at step k iff b >= k)."""
    drawn = np.arange(x.size) if sample is None else np.asarray(sample, dtype=int)
    bins = np.searchsorted(thresholds, x[drawn], side="right") - 1
    table = pd.DataFrame(
        {
            "x": [_sig(v, 5) for v in x[drawn]],
            "j": np.round(np.random.default_rng(seed).uniform(0.05, 0.95, drawn.size), 3),
            "c": y[drawn].astype(int),
            "b": bins.astype(int),
        }
    )
    chosen = controls.cls
    return (
        alt.Chart(_inline(table))
        .mark_circle(size=36)
        .encode(
            x=alt.X("x:Q", title="activation", scale=alt.Scale(zero=False)),
            y=alt.Y("j:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
            color=_class_colour(f"datum.c == {chosen}"),
            opacity=alt.condition("datum.b >= level", alt.value(0.9), alt.value(0.15)),
            order=alt.Order("mine:Q"),
            tooltip=[alt.Tooltip("class:N"), alt.Tooltip("x:Q", title="activation")],
        )
        .transform_calculate(
            mine=f"datum.c == {chosen} ? 1 : 0", **{"class": "class_names[datum.c]"}
        )
    )


# --- exercises -------------------------------------------------------------------------------

#: Zhou et al.'s share of a unit's top images in one class (.75), for the exercises' words.
ZHOU_BAR = ZHOU_SHARE[0] / ZHOU_SHARE[1]


def exercises(table: pd.DataFrame, class_names: Sequence[str], top_n: int = 60) -> list:
    """The page's exercises, each solution written from `table` (the measures of the units
    the explorer shows) without its silent units: a unit whose top images flatter it, and
    the layers compared."""
    precision = f"precision_{top_n}"
    kept = leave_out_silent(table).kept.dropna(subset=[precision, "max_informedness"])
    if kept.empty:
        return []
    passes = zhou_detector(kept, top_n)
    made = [
        _flattered_exercise(
            kept[passes] if passes.any() else kept, passes.any(), class_names, top_n
        ),
        _layers_exercise(kept, passes, top_n),
    ]
    return [exercise for exercise in made if exercise is not None]


def _flattered_exercise(pool: pd.DataFrame, precise: bool, class_names, top_n: int):
    """The unit whose top-N precision exceeds its max informedness by the most, among the
    units at Zhou's bar where there are any; None if no unit's precision exceeds it."""
    precision, bar = f"precision_{top_n}", ZHOU_BAR
    gap = pool[precision] - pool["max_informedness"]
    if not (gap > 0).any():
        return None
    unit = pool.loc[gap.idxmax()]
    if not precise:
        why = (
            f"No unit of this run reaches a top-{top_n} precision of {bar:g}, so this unit's "
            f"top images are mixed too; its informedness is lower still."
        )
    elif bool(unit.get("detector", False)):
        why = (
            "Its very top images share a class, and a lower threshold still catches more of "
            "the class than it lets in false alarms (it clears the reasonable detector bar): "
            "precision rewards the top, informedness the whole of the class."
        )
    else:
        why = (
            "Its very top images share a class, but most images of that class lie among the "
            "others further down: no threshold catches more of the class than it misses and "
            "than it lets in false alarms."
        )
    return Exercise(
        label="ex-explorer-flattered",
        title="Flattered by its top images",
        question=(
            (
                f"Among the units with a top-{top_n} precision of at least {bar:g}, find"
                if precise
                else "Find"
            )
            + f" the one whose top-{top_n} precision exceeds its maximum informedness by the "
            f"most (type its name once you have it). Set the slider to its best threshold "
            f"(the green rule): why do the two measures disagree?"
        ),
        solution=(
            f"It is {unit_label(unit['layer'], unit['unit'])}: precision {unit[precision]:.2f} "
            f"for {class_names[int(unit[f'{precision}_class'])]}, but maximum informedness "
            f"{unit['max_informedness']:.2f} (for {class_names[int(unit['mi_class'])]}), "
            f"reached with a hit rate of {unit['mi_recall']:.2f} and false alarms of "
            f"{unit['mi_false_alarm']:.2f} (the paper's FP/(TP+FP)). {why}"
        ),
    )


def _layers_exercise(kept: pd.DataFrame, passes: pd.Series, top_n: int):
    """The share of each layer's units at Zhou's bar and their median false alarms; None
    for a single layer."""
    bar = ZHOU_BAR
    share = passes.groupby(kept["layer"], sort=False).mean()
    if len(share) < 2:
        return None
    alarms = kept.groupby("layer", sort=False)["mi_false_alarm"].median()
    lines = [
        f"{layer}: {share[layer]:.0%} of the units reach {bar:g}, median false alarms "
        f"{alarms[layer]:.2f}"
        for layer in share.index
    ]
    return Exercise(
        label="ex-explorer-layers",
        title="Layer against layer",
        question=(
            f"Draw ten random units from each of {join_words(list(share.index))}. In which "
            f"layer do more units reach a top-{top_n} precision of {bar:g}, and are the "
            f"false alarms at the best threshold lower there too? Check your sample against "
            f"all the units."
        ),
        solution=(
            f"Over every unit that responds: {'; '.join(lines)}. "
            f"{_leaders(share, alarms)} A sample of ten gives only a rough version of these "
            f"shares."
        ),
    )


def _leaders(share: pd.Series, alarms: pd.Series) -> str:
    """Whether the layer with the most precise units also has the fewest false alarms."""
    precise, fewest = share.idxmax(), alarms.idxmin()
    if share.max() == share.min():
        return f"No layer has a larger share than another; {fewest} has the fewest false alarms."
    if precise == fewest:
        return f"{precise} leads on both."
    return (
        f"The layer with the most precise units ({precise}) is not the one with the fewest "
        f"false alarms ({fewest})."
    )
