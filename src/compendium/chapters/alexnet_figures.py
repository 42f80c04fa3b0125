"""The figures and image grids of chapter 2's page: Fig. 3's box plots with their outliers,
Fig. 4's jitterplot plan and threshold slider, and the grids of images that stand for the
paper's Fig. 2 (bottom: a precise unit's top images) and Fig. 4 (right: images at zero, near
the mean and at the maximum).

The images come from the data set the activation file was recorded on, when the compendium
can read it without the network (Fashion-MNIST from the cache:
`compendium.chapters.explorer.dataset_images`), in the order of the file's ``image_index``;
for any other file (the authors' AlexNet_Merged files hold no images) the grids say so.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from compendium.chapters import explorer, plots
from compendium.chapters.alexnet import ChapterSource, Fig4Unit, TopN, jitter_sample

#: The columns of the first rows of the measures table the page shows (after `precision_N`).
PREVIEW_COLUMNS = ["ccmas", "recall_p100", "max_informedness", "mi_false_alarm"]

#: Fig. 3's panels: two to a row, each this many pixels wide and high, so that the nine fit
#: the book's text column and read from the back of a room.
FIG3_COLUMNS, FIG3_WIDTH, FIG3_HEIGHT = 2, 280, 220

#: Side of one image in a grid, in pixels (Fashion-MNIST's 28 pixels, a little over doubled).
THUMBNAIL = 64


#: How the preview names its columns: in words that wrap, so that it fits the text column.
PREVIEW_TITLES = {
    "ccmas": "CCMAS",
    "recall_p100": "recall at precision 1",
    "max_informedness": "max informedness",
    "mi_false_alarm": "false alarms at max informedness",
}


def measures_preview(table: pd.DataFrame, top: TopN, n: int = 5) -> pd.DataFrame:
    """The first `n` rows of the measures table, in the columns the page introduces, named
    in words (the CSV download keeps the column names)."""
    shown = table[["layer", "unit", top.precision, *PREVIEW_COLUMNS]].head(n)
    return shown.rename(columns={top.precision: f"precision (top {top.small})", **PREVIEW_TITLES})


def fig3_chart(
    stats: pd.DataFrame,
    panels: Mapping[str, str],
    layers: Sequence[str],
    reference: pd.DataFrame | None,
    outliers: pd.DataFrame | None,
    band: pd.DataFrame | None = None,
) -> alt.ConcatChart:
    """The paper's Fig. 3 for this run (`plots.box_plots`), with its outliers, at the page's
    panel size."""
    chart = plots.box_plots(
        stats,
        panels,
        layers=layers,
        reference=reference,
        columns=FIG3_COLUMNS,
        band=band,
        outliers=outliers,
        panel_width=FIG3_WIDTH,
        panel_height=FIG3_HEIGHT,
    )
    # The legend in two columns, its labels whole (the default cuts long ones short).
    return chart.configure_legend(
        labelFontSize=plots.FONT_SIZE,
        orient="bottom",
        symbolSize=120,
        labelLimit=0,
        columns=2,
    )


# --- Fig. 4 ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class JitterPlan:
    """What Fig. 4's jitterplot draws: the images (`sample`, sorted indices), the words for
    them (`drawn`), a note when they are a sample (else None), and the thresholds."""

    sample: np.ndarray
    drawn: str
    note: str | None
    thresholds: dict[str, float]
    title: str


def jitter_plan(
    source: ChapterSource,
    unit: Fig4Unit,
    numbers: Mapping[str, float],
    max_points: int,
    seed: int,
    top: TopN,
) -> JitterPlan:
    """Which images the jitterplot of `unit` draws (`jitter_sample`), how the page says so,
    and its two thresholds: the top-N cut (red, as in chapter 1) and the best one for the
    unit's class (green)."""
    labels, cls, name = source.labels, unit.cls, source.class_names[unit.cls]
    sample = jitter_sample(labels, cls, max_points, seed)
    n_images, n_class = source.n_images, numbers["class_count"]
    note = None
    if sample.size < n_images:
        n_other = int((labels != cls).sum())
        drawn = (
            f"all {n_class:,} images of {name} and a random {sample.size - n_class:,} of the "
            f"other {n_other:,}"
        )
        note = (
            f"With {n_images:,} images a jitterplot of every image would be too heavy for a web "
            f"page, so it draws {drawn} (seed {seed}; `max_points = {max_points}`). The "
            "thresholds and every number on this page use all the images."
        )
    else:
        drawn = f"all {n_images:,} images"
    thresholds = {
        f"top-{top.small} cut": numbers[f"top{top.small}_threshold"],
        f"max-informedness threshold for {name}": numbers["class_mi_threshold"],
    }
    title = f"{unit.label}: {drawn} ({name} highlighted)"
    return JitterPlan(sample, drawn, note, thresholds, title)


def fig4_slider(
    source: ChapterSource, unit: Fig4Unit, plan: JitterPlan, top: TopN, seed: int
) -> alt.VConcatChart:
    """Fig. 4's unit with a threshold slider (`explorer.threshold_slider_chart`): the dots
    are the jitterplot's, the counts are over every image."""
    return explorer.threshold_slider_chart(
        unit.activations,
        source.labels,
        source.class_names,
        unit.row,
        unit_label=unit.label,
        highlight_class=unit.cls,
        top_n=top.small,
        sample=plan.sample,
        seed=seed,
    )


# --- images -----------------------------------------------------------------------------------


def pictures(source: ChapterSource) -> np.ndarray | None:
    """The picture of every row of the activation file, (n_images, H, W) uint8, when the
    compendium can read the data set it was recorded on; else None."""
    images = explorer.dataset_images(source.attrs)
    if images is None or source.image_index is None:
        return None
    index = np.asarray(source.image_index, dtype=int)
    if index.size != source.n_images or index.max(initial=0) >= len(images):
        return None
    return images[index]


def image_grid(
    images: np.ndarray,
    rows: Sequence[int],
    captions: Sequence[str],
    marked: Sequence[bool] | None = None,
    title: str = "",
) -> str:
    """An HTML grid of the pictures `images[rows]` (each pixel drawn `THUMBNAIL` / 28 times larger), each with its caption;
    a `marked` picture gets a blue frame (the class of interest), the others a grey one."""
    marked = [False] * len(rows) if marked is None else list(marked)
    cells = []
    for row, caption, mark in zip(rows, captions, marked, strict=True):
        colour = plots.HIGHLIGHT_COLOUR if mark else plots.OTHER_COLOUR
        cells.append(
            f'<figure style="margin:0 6px 8px 0;width:{THUMBNAIL + 6}px;text-align:center">'
            f'<img src="{explorer.thumbnail_uri(images[int(row)])}" alt="{html.escape(caption)}" '
            f'style="width:{THUMBNAIL}px;height:{THUMBNAIL}px;image-rendering:pixelated;'
            f'border:3px solid {colour}"/>'
            f'<figcaption style="font-size:0.8em;line-height:1.2">{html.escape(caption)}'
            "</figcaption></figure>"
        )
    head = f"<p><strong>{html.escape(title)}</strong></p>" if title else ""
    return f'{head}<div style="display:flex;flex-wrap:wrap;max-width:100%">{"".join(cells)}</div>'


def top_images_grid(
    images: np.ndarray,
    shown: Sequence[int],
    labels: np.ndarray,
    class_names: Sequence[str],
    cls: int,
    title: str,
) -> str:
    """Fig. 2 (bottom) for this run: a unit's top images in rank order, each captioned with
    its class; the images of class `cls` framed in blue."""
    y = np.asarray(labels)
    return image_grid(
        images,
        list(shown),
        [class_names[int(y[i])] for i in shown],
        [int(y[i]) == cls for i in shown],
        title,
    )


#: The rows of Fig. 4's right column, as the page titles them.
EXAMPLE_TITLES = {"zero": "at exactly zero", "mean": "near the mean", "max": "the most active"}


def examples_grid(
    images: np.ndarray, examples: Mapping[str, np.ndarray], activations: np.ndarray, name: str
) -> str:
    """Fig. 4 (right) for this run: one row of images of the class `name` for each part of
    `alexnet.example_images`, each captioned with its activation."""
    x = np.asarray(activations, dtype=float)
    parts = [
        image_grid(
            images,
            list(rows),
            [f"{x[i]:.3g}" for i in rows],
            [True] * len(rows),
            f"{name}, {EXAMPLE_TITLES[key]}",
        )
        for key, rows in examples.items()
        if len(rows)
    ]
    return "".join(parts)


def no_images_note(source: ChapterSource) -> str:
    """What the page says in place of an image grid when the file's images cannot be read."""
    return (
        f"The images behind this file ({source.made_by}) are not available to the compendium "
        "(it reads pictures only of the Fashion-MNIST files in its cache), so the grid is left "
        "out; the unit explorer lists the top images by number."
    )
