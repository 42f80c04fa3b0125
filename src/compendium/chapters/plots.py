"""Altair charts of one unit's activations: jitterplots and histograms.

Every chart carries its data inline (no files, no network) and is sized and lettered to
stay legible on a projector.

**One palette for the whole book**, one colour per role, so that a colour means the same
thing on every page: the class of interest is a strong blue (`HIGHLIGHT_COLOUR`), every
other class grey (`OTHER_COLOUR`); the cut below the top N images is red
(`TOP_CUT_COLOUR`) and the threshold of maximum informedness green
(`MAX_INFORMEDNESS_COLOUR`), whatever order a chart is given them in (`threshold_colour`
reads the role off the threshold's name); other thresholds take `EXTRA_COLOURS`; the
paper's own numbers are orange (`PAPER_COLOUR`). Fig. 3's box plots keep the paper's
convention of a red median and a green mean, and the member classes of a group
(`group_jitterplot`) take colours that no threshold uses. Each threshold rule has a text
label above the plot, with the exact value in the tooltip.

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
#: The cut below the top-N images (precision), and the threshold of maximum informedness.
TOP_CUT_COLOUR = "#d62728"
MAX_INFORMEDNESS_COLOUR = "#2c8c2c"
#: Any other threshold, in the order given; and the paper's numbers beside this run's.
EXTRA_COLOURS = ("#8c4fb8", "#6b4c1e")
PAPER_COLOUR = "#e07b00"
#: The threshold colours by role, top-N cut first (for charts that draw their own rules).
THRESHOLD_COLOURS = (TOP_CUT_COLOUR, MAX_INFORMEDNESS_COLOUR, *EXTRA_COLOURS)
#: Dark grey for a reference line that is neither a threshold nor a class (e.g. a floor).
REFERENCE_COLOUR = "#555555"
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
    others = [name for name in (thresholds or {}) if threshold_role(name) is None]
    return pd.DataFrame(
        {
            "threshold": [name for name, _ in items],
            "value": [float(value) for _, value in items],
            "colour": [threshold_colour(name, others) for name, _ in items],
            "row": [i % 2 for i in range(len(items))],
        }
    )


def threshold_role(name: str) -> str | None:
    """The role a threshold's name gives it: ``"top cut"`` ("top-60 cut", "top-5 cut"),
    ``"max informedness"`` ("max-informedness threshold for Sandal", "max. informedness"),
    or None for any other threshold."""
    lowered = name.lower()
    if "informedness" in lowered:
        return "max informedness"
    if "top" in lowered and "cut" in lowered:
        return "top cut"
    return None


def threshold_colour(name: str, others: Sequence[str] = ()) -> str:
    """The palette's colour of the threshold `name`: by its `threshold_role`, else the
    next of `EXTRA_COLOURS` in the order of `others` (the thresholds without a role)."""
    role = threshold_role(name)
    if role == "top cut":
        return TOP_CUT_COLOUR
    if role == "max informedness":
        return MAX_INFORMEDNESS_COLOUR
    position = list(others).index(name) if name in others else 0
    return EXTRA_COLOURS[position % len(EXTRA_COLOURS)]


def _with_thresholds(
    base: alt.Chart,
    thresholds: Mapping[str, float] | None,
    title: str,
    span: tuple[float, float],
    *,
    on_top: bool = False,
) -> alt.LayerChart:
    """`base` with a labelled rule per threshold (drawn behind it, or over it when
    `on_top`, for clouds dense enough to hide a rule), sized for reading.

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
        layers.insert(len(layers) if on_top else 0, rule)
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


def scaling_chart(
    table: pd.DataFrame,
    size: str,
    title: str,
    colours: Mapping[str, str] | None = None,
    width: int = WIDTH // 2,
) -> alt.Chart:
    """Benchmark seconds against a size (``n_images`` or ``n_units``), one line per method,
    both axes logarithmic and spanning exactly the data (no rounding out to the next power
    of ten). `table` has columns `size`, ``method`` and ``seconds``; `colours` maps a
    method to its colour (default: the palette's, in order of appearance)."""
    missing = {size, "method", "seconds"} - set(table.columns)
    if missing:
        raise ValueError(f"the benchmark table lacks columns {sorted(missing)}")
    if table.empty:
        raise ValueError("the benchmark table has no rows to draw")
    label = {"n_images": "images", "n_units": "units"}.get(size, size)
    data = table[[size, "method", "seconds"]].astype({size: int, "seconds": float})
    methods = list(dict.fromkeys(data["method"]))
    palette = [HIGHLIGHT_COLOUR, REFERENCE_COLOUR, *EXTRA_COLOURS, PAPER_COLOUR]
    chosen = dict(colours or {})
    range_ = [chosen.get(m, palette[i % len(palette)]) for i, m in enumerate(methods)]
    return (
        alt.Chart(_inline(data), title=title)
        .mark_line(point=alt.OverlayMarkDef(size=60, filled=True))
        .encode(
            x=alt.X(
                f"{size}:Q",
                title=f"number of {label}",
                scale=alt.Scale(type="log", domain=_log_domain(data[size]), nice=False, clamp=True),
                axis=alt.Axis(format="~s", tickCount=5),
            ),
            y=alt.Y(
                "seconds:Q",
                title="seconds",
                scale=alt.Scale(type="log", domain=_log_domain(data["seconds"]), nice=False),
                axis=alt.Axis(format="~g", tickCount=5),
            ),
            color=alt.Color("method:N", title=None, scale=alt.Scale(domain=methods, range=range_)),
            tooltip=[
                alt.Tooltip(f"{size}:Q", title=label, format=","),
                alt.Tooltip("method:N"),
                alt.Tooltip("seconds:Q", format=".3g"),
            ],
        )
        .properties(width=width, height=HEIGHT + 40)
        .configure_axis(labelFontSize=FONT_SIZE - 1, titleFontSize=FONT_SIZE)
        .configure_legend(labelFontSize=FONT_SIZE, orient="bottom", columns=2, labelLimit=0)
    )


def _log_domain(values: pd.Series) -> list[float]:
    """A log axis's range: the data's, widened by 10% either way so no point sits on a
    border."""
    low, high = float(values.min()), float(values.max())
    if low <= 0:
        raise ValueError("a log axis needs positive values; leave out zeros")
    return [low / 1.1, high * 1.1]


#: Fig. 3's marks and their colours (the paper draws medians red and means green).
PAPER_MARK = "paper (AlexNet)"
BOX_MARKS = {"median": "#d62728", "mean ± SE": "#2c8c2c", PAPER_MARK: PAPER_COLOUR}
#: The chance band's legend entry and colour (drawn behind the boxes, when given).
CHANCE_MARK, CHANCE_COLOUR = "chance (null, 2.5-97.5%)", "#f2b134"
BOX_FILL = "#c6d7ee"
#: The outliers' legend entry and colour (the paper's red crosses).
OUTLIER_MARK, OUTLIER_COLOUR = "outliers (beyond the whiskers)", "#b2182b"
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
    *,
    band: pd.DataFrame | None = None,
    outliers: pd.DataFrame | None = None,
    panel_width: int | None = None,
    panel_height: int = 140,
) -> alt.ConcatChart:
    """The paper's Fig. 3: one panel per measure, one box per layer.

    `stats` has a row per (``layer``, ``measure``) with ``q25``, ``median``, ``q75``,
    ``whisker_low``, ``whisker_high``, ``mean`` and ``sem`` (as
    `compendium.chapters.alexnet.layer_distributions` gives). `panels` maps each measure to its
    panel title, in the order drawn. Each panel shows the box (quartiles), whiskers, the
    median (red), and the mean with a bar of one standard error each way (green, to the
    right of the box). `reference` rows (``measure``, ``layer``, ``value``, ``label``) are
    the paper's values: a diamond left of a layer's box, or, where ``layer`` is empty (a
    number for the whole network), a dashed line across the panel. `band` rows (``measure``,
    ``layer``, ``low``, ``high``) are chance levels, e.g. the permutation null's 2.5-97.5
    percentile band (`compendium.chapters.chance.fig3_band`): a shaded bar behind a layer's
    box, or across the panel where ``layer`` is empty. `outliers` rows (``measure``,
    ``layer``, ``value``, ``n``, ``label``; e.g. `compendium.chapters.alexnet.fig3_outliers`)
    are the units beyond the whiskers, drawn as crosses as in the paper. Each panel is
    `panel_width` (default: `BOX_WIDTH_PER_LAYER` per layer) by `panel_height` pixels.
    Hover any mark for its numbers.
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
            None if band is None else band[band["measure"] == measure],
            None if outliers is None else outliers[outliers["measure"] == measure],
            (panel_width, panel_height),
            with_paper=not reference.empty,
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
    stats: pd.DataFrame,
    reference: pd.DataFrame,
    title: str,
    order: Sequence[str],
    band: pd.DataFrame | None = None,
    outliers: pd.DataFrame | None = None,
    size: tuple[int | None, int] = (None, 140),
    *,
    with_paper: bool = True,
) -> alt.LayerChart:
    """One measure's panel of `box_plots` (`band`: its chance levels, if any; `outliers`:
    the units beyond the whiskers; `size`: width, or None for the default, and height;
    `with_paper`: whether the legend names the paper's marks). A box's label breaks into
    lines at its spaces ("fc6 untrained")."""
    data = stats.assign(
        low=stats["mean"] - stats["sem"].fillna(0), high=stats["mean"] + stats["sem"].fillna(0)
    )
    data = data.replace({np.nan: None})
    axis = alt.Axis(labelAngle=0, labelExpr="split(datum.label, ' ')")
    x = alt.X("layer:N", sort=list(order), title=None, axis=axis)
    marks = {k: v for k, v in BOX_MARKS.items() if with_paper or k != PAPER_MARK}
    if band is not None:
        marks[CHANCE_MARK] = CHANCE_COLOUR
    if outliers is not None:
        marks[OUTLIER_MARK] = OUTLIER_COLOUR
    bounds = (
        reference
        if band is None
        else pd.concat([reference[["value"]], band.melt(value_vars=["low", "high"])[["value"]]])
    )
    y_scale = alt.Scale(domain=_box_domain(data, bounds))
    base = alt.Chart(_inline(data)).encode(x=x)
    colour = alt.Color(
        "mark:N",
        title=None,
        scale=alt.Scale(domain=list(marks), range=list(marks.values())),
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
    layers = [] if band is None else _band_marks(band, x, colour, y_scale)
    layers += [
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
    layers += _outlier_marks(outliers, x, colour)
    width, height = size
    return alt.layer(*layers).properties(
        width=width or max(120, BOX_WIDTH_PER_LAYER * len(order)),
        height=height,
        title=alt.TitleParams(_title_lines(title), fontSize=FONT_SIZE - 1),
    )


def _outlier_marks(outliers: pd.DataFrame | None, x: alt.X, colour: alt.Color) -> list:
    """The units beyond the whiskers in a `box_plots` panel: a cross at each distinct value
    (its tooltip: how many units have it, and the first of them)."""
    if outliers is None or outliers.empty:
        return []
    data = outliers.assign(mark=OUTLIER_MARK, value=outliers["value"].astype(float))
    return [
        alt.Chart(_inline(data[["layer", "value", "n", "label", "mark"]]))
        .mark_point(shape="cross", size=40, filled=True, opacity=0.8)
        .encode(
            x=x,
            y="value:Q",
            color=colour,
            tooltip=[
                alt.Tooltip("layer:N"),
                alt.Tooltip("value:Q", format=".3f"),
                alt.Tooltip("n:Q", title="units with this value"),
                alt.Tooltip("label:N", title="first of them"),
            ],
        )
    ]


def _title_lines(title: str) -> list[str]:
    """A long panel title on two lines, broken before its bracket: "g. Specificity",
    "(at max. informedness)"."""
    head, bracket, tail = title.partition(" (")
    return [head, bracket.strip() + tail] if bracket else [title, " "]


def _reference_marks(reference: pd.DataFrame, x: alt.X, colour: alt.Color) -> list[alt.Chart]:
    """The paper's values in a `box_plots` panel: diamonds at layers, dashed lines otherwise."""
    if reference.empty:
        return []
    ref = reference.assign(mark=PAPER_MARK, value=reference["value"].astype(float))
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


def _band_marks(band: pd.DataFrame, x: alt.X, colour: alt.Color, y_scale: alt.Scale) -> list:
    """Chance levels in a `box_plots` panel: a shaded bar behind a layer's box, or a shaded
    strip across the panel for a row without a layer."""
    if band.empty:
        return []
    data = band.assign(
        mark=CHANCE_MARK, low=band["low"].astype(float), high=band["high"].astype(float)
    )
    tooltip = [
        alt.Tooltip("layer:N"),
        alt.Tooltip("low:Q", title="chance: 2.5th percentile", format=".3f"),
        alt.Tooltip("high:Q", title="chance: 97.5th percentile", format=".3f"),
    ]
    y = alt.Y("low:Q", scale=y_scale, title=None)
    marks = []
    at_layer = data[data["layer"].notna() & (data["layer"] != "")]
    if not at_layer.empty:
        marks.append(
            alt.Chart(_inline(at_layer))
            .mark_bar(size=2 * BOX_SIDE + 18, opacity=0.45)
            .encode(x=x, y=y, y2="high:Q", color=colour, tooltip=tooltip)
        )
    across = data[data["layer"].isna() | (data["layer"] == "")].drop(columns="layer")
    if not across.empty:
        marks.append(
            alt.Chart(_inline(across))
            .mark_rect(opacity=0.3)
            .encode(y=y, y2="high:Q", color=colour, tooltip=tooltip[1:])
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
#: draws its three bus classes as blue squares, red pentagons and green stars; here red and
#: green stay the thresholds' colours, so the classes are blue, purple and gold).
GROUP_COLOURS = (HIGHLIGHT_COLOUR, "#8c4fb8", "#b58900", "#d4459c", "#138d90")
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
    has its own colour and mark, drawn on top; every other image is a grey circle. The
    threshold rules are drawn over the points, which can be dense.
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
    return _with_thresholds(points, thresholds, title, (x.min(), x.max()), on_top=True)


def am_ratio_chart(ratios: pd.DataFrame, title: str | None = None) -> alt.LayerChart:
    """Activation maximisation check: per layer, one point per unit at the mean activation
    of its AM images divided by its largest activation over the data set (log scale, fitted
    to the data and the rule at 1, which marks the data set's maximum). `ratios` has columns
    ``layer``, ``unit``, ``ratio``, ``AM mean`` and ``dataset max``, and optionally
    ``method``: then each method has its own colour and shape, and the rows of a layer are
    split by method."""
    needed = ["AM mean", "dataset max", "layer", "ratio", "unit"]
    if not set(needed) <= set(ratios.columns):
        raise ValueError(f"ratios needs columns {needed}; it has {sorted(ratios.columns)}")
    methods = "method" in ratios.columns
    table = ratios[needed + (["method"] if methods else [])].dropna(subset=["ratio"])
    if not (table["ratio"] > 0).all():
        raise ValueError(
            "every ratio must be positive to draw on a log scale; leave out "
            "units whose AM images do not activate them"
        )
    order = list(dict.fromkeys(table["layer"]))
    kinds = list(dict.fromkeys(table["method"])) if methods else []
    encoding = {
        "x": alt.X(
            "ratio:Q",
            title="AM activation / largest activation over the data set",
            scale=alt.Scale(
                type="log",
                domain=_log_domain(pd.concat([table["ratio"], pd.Series([1.0])])),
                nice=False,
            ),
        ),
        "y": alt.Y("layer:N", sort=order, title=None),
        "tooltip": [
            alt.Tooltip("layer:N"),
            alt.Tooltip("unit:Q"),
            *([alt.Tooltip("method:N")] if methods else []),
            alt.Tooltip("ratio:Q", format=".2f"),
            alt.Tooltip("AM mean:Q", format=".3g"),
            alt.Tooltip("dataset max:Q", format=".3g"),
        ],
    }
    mark: dict[str, object] = {"filled": True, "size": 70}
    if methods:
        for channel, kind, values in (
            ("color", alt.Color, GROUP_COLOURS),
            ("shape", alt.Shape, GROUP_SHAPES),
        ):
            encoding[channel] = kind(
                "method:N",
                sort=kinds,
                title="AM method",
                scale=alt.Scale(domain=kinds, range=list(values[: len(kinds)])),
            )
        encoding["yOffset"] = alt.YOffset("method:N", sort=kinds)
    else:
        mark["color"] = HIGHLIGHT_COLOUR
    points = alt.Chart(_inline(table)).mark_point(**mark).encode(**encoding)
    rule = (
        alt.Chart(_inline(pd.DataFrame({"ratio": [1.0]})))
        .mark_rule(color=REFERENCE_COLOUR, strokeDash=[4, 3])
        .encode(x="ratio:Q")
    )
    return (
        (rule + points)
        .properties(
            width=WIDTH,
            height=30 * len(order) * max(1, len(kinds)) + 20,
            title=title or "Do the AM images drive their units beyond the data set's maximum?",
        )
        .configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
        .configure_title(fontSize=FONT_SIZE + 2)
        .configure_legend(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, orient="bottom")
    )
