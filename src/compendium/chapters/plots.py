"""Altair charts of one unit's activations: jitterplots and histograms.

Every chart carries its data inline (no files, no network) and is sized and lettered to
stay legible on a projector. Colours: the class of interest is drawn in a strong blue,
every other class in grey; threshold rules get their own colours and a text label above
the plot, with the exact value in the tooltip.

The charts show in a notebook through Altair's default HTML renderer; in the built book
the Vega libraries come from one page-level script (see `compendium.build.pipeline`).
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
    title: str | None = None,
    image_index: Sequence[int] | np.ndarray | None = None,
) -> alt.LayerChart:
    """One unit's activations, one point per image: activation on x, random jitter on y.

    The images of `highlight_class` are drawn on top in colour, every other image in grey.
    Hovering a point shows its image index, class and activation. `thresholds` maps a
    label (e.g. ``"top-60 cut"``) to an activation, drawn as a labelled vertical rule.
    The jitter comes from `numpy.random.default_rng(seed)`, so the picture is repeatable.
    `title` replaces the default title (e.g. to say that only a sample of images is drawn);
    `image_index` gives the images' numbers for the tooltip (default 0, 1, 2, ...).
    """
    x, y = _check_unit(activations, labels, class_names, highlight_class)
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "image": np.arange(x.size) if image_index is None else np.asarray(image_index),
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
    title = (
        title
        or f"{unit_label}: activation of every image ({class_names[highlight_class]} highlighted)"
    )
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
            "colour": [
                THRESHOLD_COLOURS[order[name] % len(THRESHOLD_COLOURS)] for name, _ in items
            ],
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
                text.encode(
                    x="value:Q",
                    y=alt.Y("label_y:Q", scale=None, axis=None),
                    text="threshold:N",
                    color=colour,
                    tooltip=tooltip,
                )
            )
    label_rows = 0 if rules.empty else 1 + int(rules["row"].max())
    return (
        alt.layer(*layers)
        .properties(
            width=WIDTH,
            height=HEIGHT,
            title=alt.TitleParams(
                title, fontSize=FONT_SIZE + 1, anchor="start", offset=8 + LABEL_ROW * label_rows
            ),
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
        scale=alt.Scale(
            domain=[highlight_name, OTHER_CLASSES], range=[HIGHLIGHT_COLOUR, OTHER_COLOUR]
        ),
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
            f"highlight_class {highlight_class} is not a class number (0..{len(class_names) - 1})"
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
            tooltip=[
                alt.Tooltip(f"{size}:Q", title=label, format=","),
                alt.Tooltip("method:N"),
                alt.Tooltip("seconds:Q", format=".3g"),
            ],
        )
        .properties(width=WIDTH // 2, height=HEIGHT + 40)
        .configure_axis(labelFontSize=FONT_SIZE - 1, titleFontSize=FONT_SIZE)
        .configure_legend(labelFontSize=FONT_SIZE, orient="bottom")
    )


#: Fig. 3's marks and their colours (the paper draws medians red and means green).
BOX_MARKS = {"median": "#d62728", "mean ± SE": "#2c8c2c", "paper (AlexNet)": "#e07b00"}
BOX_FILL = "#c6d7ee"
#: Pixel offsets beside a box: the mean to its right, the paper's value to its left.
BOX_SIDE = 15
#: Width of a `box_plots` panel per layer: three panels of three layers fit a book page.
BOX_WIDTH_PER_LAYER = 50


def box_plots(
    stats: pd.DataFrame,
    panels: Mapping[str, str],
    layers: Sequence[str] | None = None,
    reference: pd.DataFrame | None = None,
    columns: int = 3,
) -> alt.ConcatChart:
    """The paper's Fig. 3: one panel per measure, one box per layer.

    `stats` has a row per (``layer``, ``measure``) with ``q25``, ``median``, ``q75``,
    ``whisker_low``, ``whisker_high``, ``mean`` and ``sem`` (as
    `compendium.chapters.alexnet.layer_distributions` gives). `panels` maps each measure to its
    panel title, in the order drawn. Each panel shows the box (quartiles), whiskers, the
    median (red), and the mean with a bar of one standard error each way (green, to the
    right of the box). `reference` rows (``measure``, ``layer``, ``value``, ``label``) are
    the paper's values: a diamond left of a layer's box, or, where ``layer`` is empty (a
    number for the whole network), a dashed line across the panel. Hover any mark for its
    numbers.
    """
    missing = {
        "layer",
        "measure",
        "q25",
        "median",
        "q75",
        "whisker_low",
        "whisker_high",
        "mean",
        "sem",
    } - set(stats.columns)
    if missing:
        raise ValueError(f"stats lacks columns {sorted(missing)}: use results.layer_distributions")
    order = list(layers) if layers is not None else list(dict.fromkeys(stats["layer"]))
    absent = [m for m in panels if m not in set(stats["measure"])]
    if absent:
        raise ValueError(
            f"no statistics for measures {absent}; stats has {sorted(set(stats['measure']))}"
        )
    reference = (
        reference
        if reference is not None
        else pd.DataFrame(columns=["measure", "layer", "value", "label"])
    )
    charts = [
        _box_panel(
            stats[stats["measure"] == measure],
            reference[reference["measure"] == measure],
            title,
            order,
        )
        for measure, title in panels.items()
    ]
    return (
        alt.concat(*charts, columns=columns, spacing=18)
        .configure_axis(labelFontSize=FONT_SIZE - 1, titleFontSize=FONT_SIZE)
        .configure_legend(labelFontSize=FONT_SIZE, orient="bottom", symbolSize=120)
        .configure_view(stroke="#dddddd")
        .configure_title(fontSize=FONT_SIZE, anchor="start")
    )


def _box_panel(
    stats: pd.DataFrame, reference: pd.DataFrame, title: str, order: Sequence[str]
) -> alt.LayerChart:
    """One measure's panel of `box_plots`."""
    data = stats.assign(
        low=stats["mean"] - stats["sem"].fillna(0), high=stats["mean"] + stats["sem"].fillna(0)
    )
    data = data.replace({np.nan: None})
    x = alt.X("layer:N", sort=list(order), title=None, axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(domain=_box_domain(data, reference))
    base = alt.Chart(_inline(data)).encode(x=x)
    colour = alt.Color(
        "mark:N",
        title=None,
        scale=alt.Scale(domain=list(BOX_MARKS), range=list(BOX_MARKS.values())),
    )
    tooltip = [alt.Tooltip("layer:N"), alt.Tooltip("n:Q", title="units")] + [
        alt.Tooltip(f"{c}:Q", title=t, format=".3f")
        for c, t in (
            ("median", "median"),
            ("q25", "25th percentile"),
            ("q75", "75th percentile"),
            ("mean", "mean"),
            ("sem", "standard error"),
            ("min", "minimum"),
            ("max", "maximum"),
        )
        if c in data.columns
    ]
    layers = [
        base.mark_rule(color="#555555", strokeWidth=1.5).encode(
            y=alt.Y("whisker_low:Q", scale=y_scale, title=None),
            y2="whisker_high:Q",
            tooltip=tooltip,
        ),
        base.mark_bar(size=2 * BOX_SIDE - 6, color=BOX_FILL, stroke="#555555").encode(
            y="q25:Q", y2="q75:Q", tooltip=tooltip
        ),
        base.mark_tick(thickness=3, size=2 * BOX_SIDE - 6)
        .transform_calculate(mark="'median'")
        .encode(y="median:Q", color=colour, tooltip=tooltip),
        base.mark_rule(strokeWidth=2.5, xOffset=BOX_SIDE)
        .transform_calculate(mark="'mean ± SE'")
        .encode(y="low:Q", y2="high:Q", color=colour, tooltip=tooltip),
        base.mark_point(filled=True, size=60, opacity=1, xOffset=BOX_SIDE)
        .transform_calculate(mark="'mean ± SE'")
        .encode(y="mean:Q", color=colour, tooltip=tooltip),
    ]
    layers += _reference_marks(reference, x, colour)
    return alt.layer(*layers).properties(
        width=max(120, BOX_WIDTH_PER_LAYER * len(order)),
        height=140,
        title=alt.TitleParams(_title_lines(title), fontSize=FONT_SIZE - 1),
    )


def _title_lines(title: str) -> list[str]:
    """A long panel title on two lines, broken before its bracket: "g. Specificity",
    "(at max. informedness)"."""
    head, bracket, tail = title.partition(" (")
    return [head, bracket.strip() + tail] if bracket else [title, " "]


def _reference_marks(reference: pd.DataFrame, x: alt.X, colour: alt.Color) -> list[alt.Chart]:
    """The paper's values in a `box_plots` panel: diamonds at layers, dashed lines otherwise."""
    if reference.empty:
        return []
    ref = reference.assign(mark="paper (AlexNet)", value=reference["value"].astype(float))
    tooltip = [
        alt.Tooltip("label:N", title="paper"),
        alt.Tooltip("value:Q", title="value", format=".3g"),
    ]
    marks = []
    at_layer = ref[ref["layer"].notna() & (ref["layer"] != "")]
    if not at_layer.empty:
        marks.append(
            alt.Chart(_inline(at_layer))
            .mark_point(shape="diamond", filled=True, size=110, opacity=1, xOffset=-BOX_SIDE)
            .encode(x=x, y="value:Q", color=colour, tooltip=tooltip)
        )
    network = ref[ref["layer"].isna() | (ref["layer"] == "")].drop(columns="layer")
    if not network.empty:
        marks.append(
            alt.Chart(_inline(network))
            .mark_rule(strokeDash=[6, 3], strokeWidth=2)
            .encode(y="value:Q", color=colour, tooltip=tooltip)
        )
    return marks


def _box_domain(stats: pd.DataFrame, reference: pd.DataFrame) -> list[float]:
    """A panel's y range: [0, 1] for the proportions, widened to hold every mark."""
    values = pd.concat(
        [
            stats[c]
            for c in ("whisker_low", "whisker_high", "min", "max", "low", "high")
            if c in stats.columns
        ]
        + [reference["value"].astype(float)]
    )
    values = values.astype(float).dropna()
    low = min(0.0, float(values.min())) if len(values) else 0.0
    if low < -1e-6:  # e.g. logits: a little room below too
        low = float(np.floor(low * 1.05))
    high = max(1.0, float(values.max())) if len(values) else 1.0
    if high > 1.0 + 1e-6:  # counts (e.g. classes in the top 100): a little headroom
        high = float(np.ceil(high * 1.05))
    else:
        high = 1.0
    return [low, high]


#: Colours and marks of a group's member classes in `group_jitterplot` (the paper's Fig. 6
#: draws its three bus classes as blue squares, red pentagons and green stars).
GROUP_COLOURS = ("#1f4e9c", "#d62728", "#2c8c2c", "#e07b00", "#8c4fb8")
GROUP_SHAPES = ("square", "triangle-up", "diamond", "cross", "triangle-down")


def group_jitterplot(
    activations: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    unit_label: str,
    group: Sequence[int],
    thresholds: Mapping[str, float] | None = None,
    seed: int = 0,
    title: str | Sequence[str] | None = None,
) -> alt.LayerChart:
    """Like `jitterplot`, for a group of classes (a super-category): each class of `group`
    has its own colour and mark, drawn on top; every other image is a grey circle.
    `title` may be a list of lines."""
    x, y = _check_unit(activations, labels, class_names, int(group[0]) if len(group) else -1)
    group = [int(c) for c in group]
    if not 1 <= len(group) <= len(GROUP_COLOURS) or len(set(group)) != len(group):
        raise ValueError(
            f"group must list 1 to {len(GROUP_COLOURS)} different classes, not {group}"
        )
    for c in group:
        _check_unit(x, y, class_names, c)
    names = [class_names[c] for c in group]
    member = np.isin(y, group)
    table = pd.DataFrame(
        {
            "image": np.arange(x.size),
            "activation": x,
            "class": [class_names[c] for c in y],
            "group": np.where(member, [class_names[c] for c in y], OTHER_CLASSES),
            "in_group": member.astype(int),
            "jitter": np.random.default_rng(seed).uniform(0, 1, x.size),
        }
    )
    domain = [*names, OTHER_CLASSES]
    dense = x.size > 2000  # smaller, lighter marks so that dense clouds and rules stay visible
    points = (
        alt.Chart(_inline(table))
        .mark_point(filled=True, size=16 if dense else 45, opacity=0.45 if dense else 0.7)
        .encode(
            x=alt.X("activation:Q", title="activation", scale=alt.Scale(zero=False, nice=True)),
            y=alt.Y("jitter:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "group:N",
                title=None,
                scale=alt.Scale(domain=domain, range=[*GROUP_COLOURS[: len(group)], OTHER_COLOUR]),
            ),
            shape=alt.Shape(
                "group:N",
                title=None,
                scale=alt.Scale(domain=domain, range=[*GROUP_SHAPES[: len(group)], "circle"]),
            ),
            order=alt.Order("in_group:Q"),
            tooltip=[
                alt.Tooltip("image:Q", title="image"),
                alt.Tooltip("class:N", title="class"),
                alt.Tooltip("activation:Q", title="activation", format=".4g"),
            ],
        )
    )
    title = title or f"{unit_label}: activation of every image ({', '.join(names)} highlighted)"
    return _with_thresholds(points, thresholds, title, (x.min(), x.max()))


def am_ratio_chart(ratios: pd.DataFrame, title: str | None = None) -> alt.LayerChart:
    """Activation maximisation check: per layer, one point per unit at the mean activation
    of its AM images divided by its largest activation over the data set (log scale); the
    rule at 1 marks the data set's maximum. `ratios` has columns ``layer``, ``unit``,
    ``ratio``, ``AM mean`` and ``dataset max``."""
    needed = {"layer", "unit", "ratio", "AM mean", "dataset max"}
    if not needed <= set(ratios.columns):
        raise ValueError(f"ratios needs columns {sorted(needed)}; it has {sorted(ratios.columns)}")
    table = ratios[list(needed)].copy()
    if not (table["ratio"] > 0).all():
        raise ValueError(
            "every ratio must be positive to draw on a log scale; leave out "
            "units whose AM images do not activate them"
        )
    order = list(dict.fromkeys(table["layer"]))
    points = (
        alt.Chart(_inline(table))
        .mark_point(filled=True, size=70, color=HIGHLIGHT_COLOUR)
        .encode(
            x=alt.X(
                "ratio:Q",
                title="AM activation / largest activation over the data set",
                scale=alt.Scale(type="log"),
            ),
            y=alt.Y("layer:N", sort=order, title=None),
            tooltip=[
                alt.Tooltip("layer:N"),
                alt.Tooltip("unit:Q"),
                alt.Tooltip("ratio:Q", format=".2f"),
                alt.Tooltip("AM mean:Q", format=".3g"),
                alt.Tooltip("dataset max:Q", format=".3g"),
            ],
        )
    )
    rule = (
        alt.Chart(_inline(pd.DataFrame({"ratio": [1.0]})))
        .mark_rule(color=THRESHOLD_COLOURS[0], strokeDash=[4, 3])
        .encode(x="ratio:Q")
    )
    return (
        (rule + points)
        .properties(
            width=WIDTH,
            height=40 * len(order) + 20,
            title=title or "Do the AM images drive their units beyond the data set's maximum?",
        )
        .configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
        .configure_title(fontSize=FONT_SIZE + 2)
    )
