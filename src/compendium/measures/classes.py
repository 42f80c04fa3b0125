"""How well units detect one given class, or one group of classes, against every other image.

`unit_measures` lets each unit choose its class (its favourite, or the one where a measure is
best). Many questions fix the class instead: how well does this unit find class A, or the
super-category "footwear", or the class it is named after in the paper? This module is the
one place that answers them:

* `class_measures(activations, in_class, top=100)`: one row per unit, for the class marked
  by the boolean `in_class`, with the column names of `unit_measures` where the idea applies
  (`class_measure_columns`). Columns that name a class (`top_class`, `mi_class`, ...) are
  absent: the class is given.
* `top_n_cut` and `detection_at`: one threshold of one unit, for charts and for the numbers a
  chapter quotes (the cut below the top N images; the hits and false alarms at a threshold).

It reads everything off the same ranking as the numpy kernel (`_numpy.Ranking`): the class is
class 0 of a two-class `ClassIndex` (0: in the class, 1: the rest), recall at fixed precision
comes from `_numpy.recall_at_precision` with class 0 as the target, and the best threshold is
the kernel's `best_position` over the ranks of class-0 images, so a threshold chosen here is
the one `unit_measures` chooses when its `mi_class` is the same class. The values reported at
that threshold are computed from its integer counts, e.g. ``max_informedness = TP / N_A -
FP / N_notA``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from compendium.measures._numpy import (
    Ranking,
    best_position,
    contrast,
    occurrence,
    own_class_informedness,
    recall_at_precision,
)
from compendium.measures._spec import ClassIndex, MeasureInputError, _check_finite, _check_shape

__all__ = ["class_measure_columns", "class_measures", "detection_at", "top_n_cut"]

#: Class number of the images in the class (the rest are class 1).
IN_CLASS, REST = 0, 1

#: Ranked (unit, image) entries per block: bounds the working memory of `class_measures`.
BLOCK_ENTRIES = 2**22


def class_measure_columns(top: int = 100) -> list[str]:
    """The columns `class_measures` returns, in order."""
    return [
        "localist",
        "localist_gap",
        f"precision_{top}",
        "ccmas",
        "recall_p100",
        "recall_p95",
        "max_informedness",
        "mi_threshold",
        "mi_recall",
        "mi_specificity",
        "mi_false_alarm",
        "mi_fpr",
    ]


def class_measures(activations: Any, in_class: Any, *, top: int = 100) -> pd.DataFrame:
    """Selectivity of each unit for one class (or group of classes) A against the rest.

    Parameters
    ----------
    activations:
        (n_images, n_units) array, or (n_images,) for one unit.
    in_class:
        (n_images,) booleans: True for the images of A. A and the rest both need images.
    top:
        The N of ``precision_<N>``: the share of A among the N most active images (ties by
        image index, as in `unit_measures`).

    Returns
    -------
    pandas.DataFrame indexed by unit number (``unit``) with `class_measure_columns(top)`:
    ``localist`` and ``localist_gap`` (``min(x[A]) - max(x[not A])``), ``precision_<top>``,
    ``ccmas`` (A's mean against the pooled mean of the rest), ``recall_p100`` and
    ``recall_p95`` for A, and the largest informedness for A over thresholds at the distinct
    activation values (ties: the higher threshold) with its threshold, recall, specificity,
    false-alarm proportion FP / (TP + FP) and false-positive rate FP / N_notA.
    """
    x = _activations(activations)
    member = _membership(in_class, x.shape[0])
    if not 1 <= top <= x.shape[0]:
        raise MeasureInputError(
            f"top must be between 1 and the number of images ({x.shape[0]}), not {top}: "
            "pass a smaller top"
        )
    classes = ClassIndex.from_labels(np.where(member, IN_CLASS, REST), member.size, 2)
    block = max(1, BLOCK_ENTRIES // member.size)
    parts = [_class_means(x, member)]
    ranked = [_ranked(x[:, s : s + block], classes, top) for s in range(0, x.shape[1], block)]
    parts += [{c: np.concatenate([p[c] for p in ranked]) for c in ranked[0]}] if ranked else []
    table = pd.DataFrame({c: v for part in parts for c, v in part.items()})
    table.index = pd.RangeIndex(x.shape[1], name="unit")
    return table.reindex(columns=class_measure_columns(top))


def _class_means(x: np.ndarray, member: np.ndarray) -> dict[str, np.ndarray]:
    """CCMAS and the localist gap from A's and the rest's means, minima and maxima."""
    inside, rest = x[member], x[~member]
    gap = inside.min(axis=0).astype(np.float64) - rest.max(axis=0)
    ccmas = contrast(inside.mean(axis=0, dtype=np.float64), rest.mean(axis=0, dtype=np.float64))
    return {"localist": gap > 0, "localist_gap": gap, "ccmas": ccmas}


def _ranked(x: np.ndarray, classes: ClassIndex, top: int) -> dict[str, np.ndarray]:
    """The measures read off each unit's ranking, for one block of units."""
    ranking = Ranking.of(np.ascontiguousarray(x.T), classes.labels)
    target = np.full((x.shape[1], 1), IN_CLASS, dtype=ranking.labels.dtype)
    return {
        f"precision_{top}": (ranking.labels[:, :top] == IN_CLASS).sum(axis=1) / top,
        **recall_at_precision(ranking, target, classes.counts[IN_CLASS]),
        **_max_informedness(ranking, classes),
    }


def _max_informedness(ranking: Ranking, classes: ClassIndex) -> dict[str, np.ndarray]:
    """The largest informedness for class A and what holds at its threshold. The best
    threshold is the activation of one of A's images (see `_numpy._max_informedness`), so
    only their ranks are candidates."""
    hits = occurrence(ranking.labels, classes)
    is_a = ranking.labels == IN_CLASS
    score = np.where(is_a, own_class_informedness(ranking, classes, hits), -np.inf)
    at = best_position(score, ranking.values, ranking.labels)
    units = np.arange(at.size)
    tp = hits[units, at]
    fp = ranking.n_at_or_above[units, at] - tp
    n_a, n_rest = (int(n) for n in classes.counts)
    return {
        "max_informedness": tp / n_a - fp / n_rest,
        "mi_threshold": ranking.values[units, at].astype(np.float64),
        "mi_recall": tp / n_a,
        "mi_specificity": 1 - fp / n_rest,
        "mi_false_alarm": fp / (tp + fp),
        "mi_fpr": fp / n_rest,
    }


# --- one threshold of one unit ------------------------------------------------------------


def top_n_cut(activations: Any, n: int) -> float:
    """The activation of the `n`-th most active image: the threshold that bounds the top-`n`
    set of ``precision_<n>`` (more images pass it when the `n`-th is tied)."""
    x = np.asarray(activations, dtype=float).reshape(-1)
    if not 1 <= n <= x.size:
        raise MeasureInputError(
            f"n must be between 1 and the number of images ({x.size}), not {n}: pass a "
            "smaller n or more images"
        )
    return float(np.partition(x, x.size - n)[x.size - n])


def detection_at(
    activations: Any, in_class: Any, threshold: float, *, prefix: str
) -> dict[str, float]:
    """One unit used as a detector of class A (`in_class`) at `threshold` (an image is
    detected when its activation is >= `threshold`).

    The keys are the names of the ``mi_*`` columns with `prefix` in place of ``mi``:
    ``<prefix>_threshold``, ``<prefix>_hits`` (TP), ``<prefix>_false_positives`` (FP),
    ``<prefix>_recall``, ``<prefix>_specificity``, ``<prefix>_false_alarm`` (FP / (TP + FP),
    NaN when nothing is detected) and ``<prefix>_fpr`` (FP / N_notA). With the unit's
    `mi_threshold` and ``prefix="mi"`` they are the columns of `class_measures`.
    """
    x = np.asarray(activations, dtype=float)
    if x.ndim != 1:
        raise MeasureInputError(
            f"detection_at reads one unit: give its activations as 1-D, not shape {x.shape}"
        )
    member = _membership(in_class, x.size)
    above = x >= threshold
    tp, fp = int(np.sum(above & member)), int(np.sum(above & ~member))
    n_a, n_rest = int(member.sum()), int((~member).sum())
    return {
        f"{prefix}_threshold": float(threshold),
        f"{prefix}_hits": tp,
        f"{prefix}_false_positives": fp,
        f"{prefix}_recall": tp / n_a,
        f"{prefix}_specificity": 1 - fp / n_rest,
        f"{prefix}_false_alarm": fp / (tp + fp) if tp + fp else float("nan"),
        f"{prefix}_fpr": fp / n_rest,
    }


# --- input checks: each names the problem and the fix -------------------------------------


def _activations(activations: Any) -> np.ndarray:
    """(n_images, n_units) finite activations: float32 kept, anything else as float64."""
    x = np.asarray(activations)
    if x.ndim == 1:
        x = x[:, None]
    _check_shape(x)
    if x.dtype != np.float32:
        x = x.astype(np.float64, copy=False)
    _check_finite(x, 0)
    return x


def _membership(in_class: Any, n_images: int) -> np.ndarray:
    member = np.asarray(in_class)
    if member.dtype != bool or member.shape != (n_images,):
        raise MeasureInputError(
            f"in_class must be one boolean per image: got dtype {member.dtype}, shape "
            f"{member.shape} for {n_images} images; pass e.g. labels == cls or "
            "numpy.isin(labels, group)"
        )
    n_in = int(member.sum())
    if n_in in (0, n_images):
        raise MeasureInputError(
            f"in_class marks {n_in} of {n_images} images; the class and the rest must both "
            "have images: choose a class that occurs, and not every image"
        )
    return member
