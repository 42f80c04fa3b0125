"""Altair charts of one unit's activations: jitterplots and histograms.

Every chart carries its data inline (no files, no network) and is sized and lettered to
stay legible on a projector. Colours: the class of interest is drawn in a strong blue,
every other class in grey; threshold rules get their own colours and a text label above
the plot, with the exact value in the tooltip.

The charts show in a notebook through Altair's default HTML renderer; in the built book
the Vega libraries come from one page-level script (see `compendium.pipeline`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

#: Colour of the class of interest, and of every other class.
HIGHLIGHT_COLOUR = "#1f4e9c"
OTHER_COLOUR = "#a8a8a8"
#: Colours of threshold rules, in the order the thresholds are given.
THRESHOLD_COLOURS = ("#d62728", "#2c8c2c", "#8c4fb8", "#e07b00")
#: Label for every class but the one of interest.
OTHER_CLASSES = "other classes"

WIDTH = 560
HEIGHT = 200
FONT_SIZE = 14
#: Vertical room (pixels) per row of threshold labels drawn above a plot.
LABEL_ROW = 16


def jitterplot(
    activations: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    unit_label: str,
    highlight_class: int,
    thresholds: Mapping[str, float] | None = None,
    seed: int = 0,
) -> alt.LayerChart:
    """One unit's activations, one point per image: activation on x, random jitter on y.

    The images of `highlight_class` are drawn on top in colour, every other image in grey.
    Hovering a point shows its image index, class and activation. `thresholds` maps a
    label (e.g. ``"top-60 cut"``) to an activation, drawn as a labelled vertical rule.
    The jitter comes from `numpy.random.default_rng(seed)`, so the picture is repeatable.
    """
    x, y = _check_unit(activations, labels, class_names, highlight_class)
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "image": np.arange(x.size),
            "activation": x,
            "class": [class_names[c] for c in y],
            "group": np.where(y == highlight_class, class_names[highlight_class], OTHER_CLASSES),
            "in_class": (y == highlight_class).astype(int),
            "jitter": rng.uniform(0.0, 1.0, x.size),
        }
    )
    points = (
        alt.Chart(_inline(table))
        .mark_point(filled=True, size=40, opacity=0.65)
        .encode(
            x=alt.X("activation:Q", title="activation", scale=alt.Scale(zero=False, nice=True)),
            y=alt.Y("jitter:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
            color=_group_scale(class_names[highlight_class]),
            shape=alt.Shape(
                "group:N",
                scale=alt.Scale(
                    domain=[class_names[highlight_class], OTHER_CLASSES],
                    range=["diamond", "circle"],
                ),
                title=None,
            ),
            order=alt.Order("in_class:Q"),
            tooltip=[
                alt.Tooltip("image:Q", title="image"),
                alt.Tooltip("class:N", title="class"),
                alt.Tooltip("activation:Q", title="activation", format=".4g"),
            ],
        )
    )
    title = f"{unit_label}: activation of every image ({class_names[highlight_class]} highlighted)"
    return _with_thresholds(points, thresholds, title, (x.min(), x.max()))


def histogram(
    activations: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    unit_label: str,
    highlight_class: int,
    thresholds: Mapping[str, float] | None = None,
    which: str = "class",
    bins: int = 30,
) -> alt.LayerChart:
    """Histogram of one unit's activations, with the same threshold rules as `jitterplot`.

    `which` is ``"class"`` (only the images of `highlight_class`, as in the paper's Fig. 4
    middle panel) or ``"all"`` (every image, as in its inset). The `bins` equal bins span
    the plotted images and are counted here, so the chart holds `bins` rows, not one per
    image.
    """
    x, y = _check_unit(activations, labels, class_names, highlight_class)
    if which not in ("class", "all"):
        raise ValueError(f"which must be 'class' or 'all', not {which!r}")
    if bins < 1:
        raise ValueError(f"bins must be a positive number of bins, not {bins}")
    chosen = x[y == highlight_class] if which == "class" else x
    counts, edges = np.histogram(chosen, bins=bins)
    table = pd.DataFrame({"start": edges[:-1], "end": edges[1:], "images": counts})
    name = class_names[highlight_class] if which == "class" else "all classes"
    colour = HIGHLIGHT_COLOUR if which == "class" else OTHER_COLOUR
    bars = (
        alt.Chart(_inline(table))
        .mark_bar(color=colour, stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("start:Q", title="activation", bin="binned", scale=alt.Scale(zero=False)),
            x2="end:Q",
            y=alt.Y("images:Q", title="number of images"),
            tooltip=[
                alt.Tooltip("start:Q", title="from", format=".4g"),
                alt.Tooltip("end:Q", title="to", format=".4g"),
                alt.Tooltip("images:Q", title="images"),
            ],
        )
    )
    title = f"{unit_label}: activations of {name} ({chosen.size} images)"
    return _with_thresholds(bars, thresholds, title, (edges[0], edges[-1]))


def top_n_cut(activations: Sequence[float] | np.ndarray, n: int) -> float:
    """The activation of the `n`-th most active image: the rule that bounds a top-`n` set."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    if not 1 <= n <= x.size:
        raise ValueError(f"n must be between 1 and the number of images ({x.size}), not {n}")
    return float(np.partition(x, x.size - n)[x.size - n])


def threshold_table(thresholds: Mapping[str, float] | None) -> pd.DataFrame:
    """Thresholds as rows (name, value, colour, label row), sorted by value.

    Neighbouring labels go on alternate rows so that close thresholds do not overprint.
    """
    items = sorted((thresholds or {}).items(), key=lambda item: item[1])
    for name, value in items:
        if not np.isfinite(value):
            raise ValueError(f"threshold {name!r} is {value}; give a finite activation value")
    order = {name: i for i, name in enumerate(thresholds or {})}
    return pd.DataFrame(
        {
            "threshold": [name for name, _ in items],
            "value": [float(value) for _, value in items],
            "colour": [THRESHOLD_COLOURS[order[name] % len(THRESHOLD_COLOURS)] for name, _ in items],
            "row": [i % 2 for i in range(len(items))],
        }
    )


def _with_thresholds(
    base: alt.Chart, thresholds: Mapping[str, float] | None, title: str, span: tuple[float, float]
) -> alt.LayerChart:
    """`base` with a labelled rule per threshold (drawn behind it), sized for reading.

    `span` is the range of the x data: a label in the right half of it is written to the
    left of its rule, otherwise to the right, so that labels stay inside the chart.
    """
    rules = threshold_table(thresholds)
    layers = [base]
    if not rules.empty:
        lo, hi = span
        rules["label_y"] = -6 - LABEL_ROW * rules["row"]
        rules["right_half"] = (rules["value"] - lo) > 0.5 * (hi - lo)
        source = alt.Chart(_inline(rules))
        tooltip = [
            alt.Tooltip("threshold:N", title="threshold"),
            alt.Tooltip("value:Q", title="activation", format=".4g"),
        ]
        colour = alt.Color("colour:N", scale=None)
        rule = source.mark_rule(strokeWidth=2.5, strokeDash=[6, 3]).encode(
            x="value:Q", color=colour, tooltip=tooltip
        )
        layers.insert(0, rule)
        for right_half, align, dx in ((False, "left", 3), (True, "right", -3)):
            if not (rules["right_half"] == right_half).any():
                continue
            text = source.transform_filter(alt.datum.right_half == right_half).mark_text(
                align=align, dx=dx, baseline="bottom", fontSize=FONT_SIZE - 1, fontWeight="bold"
            )
            layers.append(
                text.encode(x="value:Q", y=alt.Y("label_y:Q", scale=None, axis=None),
                            text="threshold:N", color=colour, tooltip=tooltip)
            )
    label_rows = 0 if rules.empty else 1 + int(rules["row"].max())
    return (
        alt.layer(*layers)
        .properties(
            width=WIDTH,
            height=HEIGHT,
            title=alt.TitleParams(title, fontSize=FONT_SIZE + 1, anchor="start",
                                  offset=8 + LABEL_ROW * label_rows),
        )
        .configure_axis(labelFontSize=FONT_SIZE - 1, titleFontSize=FONT_SIZE)
        .configure_legend(labelFontSize=FONT_SIZE - 1, orient="bottom")
        .configure_view(stroke="#dddddd")
    )


def _group_scale(highlight_name: str) -> alt.Color:
    """Colour by group: the class of interest in blue, all others grey, with a legend."""
    return alt.Color(
        "group:N",
        title=None,
        scale=alt.Scale(domain=[highlight_name, OTHER_CLASSES],
                        range=[HIGHLIGHT_COLOUR, OTHER_COLOUR]),
    )


def _inline(table: pd.DataFrame) -> alt.InlineData:
    """The table as inline chart data (JSON-safe Python values, no row limit)."""
    return alt.InlineData(values=table.to_dict(orient="records"))


def _check_unit(
    activations: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    highlight_class: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One unit's activations and labels as arrays, after checking they fit together."""
    x = np.asarray(activations, dtype=float)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(
            f"activations must be one unit's values, shape (n_images,) or (n_images, 1); "
            f"got shape {x.shape}: pass activations[:, unit]"
        )
    y = np.asarray(labels)
    if y.shape != x.shape or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"labels must be integers, one per image: got {y.dtype} shape {y.shape} "
            f"for {x.size} activations"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("activations contain NaN or infinity: plot only finite values")
    if y.size and (y.min() < 0 or y.max() >= len(class_names)):
        raise ValueError(
            f"labels run from {y.min()} to {y.max()} but there are {len(class_names)} "
            f"class names: give one name per class"
        )
    if not 0 <= highlight_class < len(class_names):
        raise ValueError(
            f"highlight_class {highlight_class} is not a class number "
            f"(0..{len(class_names) - 1})"
        )
    return x, y


def scaling_chart(table: pd.DataFrame, size: str, title: str) -> alt.Chart:
    """Benchmark seconds against a size (``n_images`` or ``n_units``), one line per method,
    both axes logarithmic. `table` has columns `size`, ``method`` and ``seconds``."""
    missing = {size, "method", "seconds"} - set(table.columns)
    if missing:
        raise ValueError(f"the benchmark table lacks columns {sorted(missing)}")
    label = {"n_images": "images", "n_units": "units"}.get(size, size)
    data = table[[size, "method", "seconds"]].astype({size: int, "seconds": float})
    return (
        alt.Chart(_inline(data), title=title)
        .mark_line(point=alt.OverlayMarkDef(size=60, filled=True))
        .encode(
            x=alt.X(f"{size}:Q", title=f"number of {label}", scale=alt.Scale(type="log")),
            y=alt.Y("seconds:Q", title="seconds", scale=alt.Scale(type="log")),
            color=alt.Color("method:N", title=None),
            tooltip=[alt.Tooltip(f"{size}:Q", title=label, format=","),
                     alt.Tooltip("method:N"), alt.Tooltip("seconds:Q", format=".3g")],  # fmt: skip
        )
        .properties(width=WIDTH // 2, height=HEIGHT + 40)
        .configure_axis(labelFontSize=FONT_SIZE - 1, titleFontSize=FONT_SIZE)
        .configure_legend(labelFontSize=FONT_SIZE, orient="bottom")
    )
