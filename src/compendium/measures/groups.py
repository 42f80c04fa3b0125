"""Selectivity of units for a group of classes: the measures of the paper's Tables A3-A5.

Class A is a super-category made of several classes (e.g. footwear, or the paper's three
bus classes); every other image is not-A. :func:`group_measures` gives, per unit, the
columns of Tables A3-A5 (shares above zero, means with standard errors, the top-N
precision, CCMAS), the signal-detection measures of
:func:`compendium.measures.classes.class_measures` for the same class A, and the columns of
the paper's three detector bars for A (`../shared/spec/beyond.md`, "The paper's own
detector criteria"): ``localist`` (a grandmother unit for A), the top-60 precision that
Zhou et al.'s bar reads, and ``detector``, ``detector_recall`` and ``detector_false_alarm``
(:func:`fixed_class_detector`: the reasonable bar, with A fixed instead of chosen), and
``silent``: the unit gives every image the same activation. (With the class fixed, a unit
whose best threshold takes in every image need not be silent: a unit that fires *less* for A
ends there too, so silence is read off the activations, not off the best threshold.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from compendium.measures._spec import MeasureInputError
from compendium.measures.classes import _activations, _membership, class_measures

__all__ = [
    "DETECTOR_COLUMNS",
    "GROUP_COLUMNS",
    "ZHOU_TOP",
    "fixed_class_detector",
    "group_measures",
]

#: The columns of `group_measures`, in order: the paper's Tables A3-A5, then the
#: signal-detection measures for the same class A.
GROUP_COLUMNS = [
    "pct_above_zero_A",
    "pct_above_zero_notA",
    "mean_A",
    "sem_A",
    "mean_notA",
    "sem_notA",
    "precision_100",
    "ccmas",
    "recall_p100",
    "recall_p95",
    "max_informedness",
    "mi_threshold",
    "mi_recall",
    "mi_false_alarm",
    "mi_fpr",
    "mi_specificity",
    "localist",
    "precision_60",
    "detector",
    "detector_recall",
    "detector_false_alarm",
    "silent",
]

#: The N of Zhou et al.'s precision bar (their 60 most active images): `group_measures` adds
#: ``precision_60`` beside ``precision_<top>`` (NaN with fewer than 60 images).
ZHOU_TOP = 60

#: The reasonable detector bar for class A (spec/beyond.md), as columns.
DETECTOR_COLUMNS = ["detector", "detector_recall", "detector_false_alarm"]


def group_measures(
    activations: Any,
    labels: Any,
    classes: Sequence[int],
    *,
    units: Sequence[int] | None = None,
    top: int = 100,
) -> pd.DataFrame:
    """Selectivity of each unit for one group of classes ``A`` (e.g. footwear, or the
    paper's three bus classes) against all other images, one row per unit.

    ``activations`` is (n_images, n_units); ``units`` names its columns (default 0..).
    Columns (`GROUP_COLUMNS`): the share of activations above zero in A and in not-A (%),
    their means with standard errors (sample standard deviation / sqrt(n)), the share of
    A among the ``top`` most active images (ties by image order), CCMAS with A's mean
    against the pooled mean of the rest, recall at precision 1 and at precision >= .95,
    and the maximum informedness for A with its threshold, hit rate, false-alarm
    proportion FP / (TP + FP), false-positive rate FP / N_notA and specificity; then the
    paper's detector bars for A: ``localist``, ``precision_60`` (Zhou et al.'s N, NaN with
    fewer than 60 images; the same column as ``precision_<top>`` when ``top`` is 60) and the
    columns of `fixed_class_detector`; and ``silent``. Thresholds follow the measures'
    convention: an image is detected when x >= t, t at the activation values.
    """
    x, is_a = _group_inputs(activations, labels, classes)
    measures = class_measures(x, is_a, top=top)  # checks the activations and `top`
    a, rest = x[is_a], x[~is_a]
    table = pd.DataFrame(
        {
            "pct_above_zero_A": 100 * (a > 0).mean(0),
            "pct_above_zero_notA": 100 * (rest > 0).mean(0),
            "mean_A": a.mean(0),
            "sem_A": _sem(a),
            "mean_notA": rest.mean(0),
            "sem_notA": _sem(rest),
            "silent": x.max(axis=0) == x.min(axis=0),
        },
        index=measures.index,
    ).join(measures)
    table = table.join(_zhou_precision(x, is_a, top, measures.index)).join(
        fixed_class_detector(x, is_a)
    )
    table.index = pd.Index(list(units) if units is not None else range(x.shape[1]), name="unit")
    return table[_columns(top)]


def _columns(top: int) -> list[str]:
    """`GROUP_COLUMNS` with the table's top-N precision in the place of ``precision_100``
    (and ``precision_60`` once only when N is 60)."""
    named = [f"precision_{top}" if c == "precision_100" else c for c in GROUP_COLUMNS]
    return list(dict.fromkeys(named))


def _zhou_precision(x: np.ndarray, is_a: np.ndarray, top: int, index: pd.Index) -> pd.DataFrame:
    """``precision_60`` for Zhou et al.'s bar (when the table's N is another number): NaN when
    there are fewer than 60 images, since the bar is then undefined."""
    column = f"precision_{ZHOU_TOP}"
    if top == ZHOU_TOP:
        return pd.DataFrame(index=index)
    if x.shape[0] < ZHOU_TOP:
        return pd.DataFrame({column: np.nan}, index=index)
    return class_measures(x, is_a, top=ZHOU_TOP)[[column]].set_axis(index)


def fixed_class_detector(activations: Any, in_class: Any) -> pd.DataFrame:
    """The paper's reasonable reading of a detector (spec/beyond.md), for one given class A
    (e.g. a super-category) instead of the class the unit favours.

    Thresholds lie at the distinct activation values (an image is detected when x >= t).
    Among the thresholds with more hits than misses (``TP > N_A / 2``), the one with the
    largest ``TP - FP`` (ties: the higher threshold); the unit is a ``detector`` of A when
    ``TP > FP`` there, and ``detector_recall`` (TP / N_A) and ``detector_false_alarm``
    (FP / (TP + FP)) are read at that threshold. The lowest threshold (every image) always
    qualifies, so every unit has a row. One row per unit (index ``unit``, 0..).
    """
    x = _activations(activations)
    member = _membership(in_class, x.shape[0])
    n_a = int(member.sum())
    rows = [_detector_of_unit(x[:, u], member, n_a) for u in range(x.shape[1])]
    table = pd.DataFrame(rows, columns=DETECTOR_COLUMNS)
    table.index = pd.RangeIndex(x.shape[1], name="unit")
    return table


def _detector_of_unit(x: np.ndarray, member: np.ndarray, n_a: int) -> tuple[bool, float, float]:
    """`fixed_class_detector` for one unit: counts at the last image of each run of equal
    values in descending order (the thresholds), then the best one that takes in more than
    half of A."""
    order = np.argsort(-x, kind="stable")
    values = x[order]
    hits = np.cumsum(member[order])
    above = np.arange(1, x.size + 1)
    ends = np.r_[values[1:] != values[:-1], True]
    hits, above = hits[ends], above[ends]
    margin = np.where(2 * hits > n_a, 2 * hits - above, np.iinfo(np.int64).min)  # TP - FP
    at = int(np.argmax(margin))  # the first of the largest: the higher threshold
    return bool(margin[at] > 0), hits[at] / n_a, (above[at] - hits[at]) / above[at]


def _group_inputs(
    activations: Any, labels: Any, classes: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(activations, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise MeasureInputError(
            f"activations must be (n_images, n_units) with one label per image; "
            f"got {x.shape} and {y.shape} labels"
        )
    return x, np.isin(y, list(classes))


def _sem(values: np.ndarray) -> np.ndarray:
    if len(values) < 2:
        return np.full(values.shape[1], np.nan)
    return values.std(0, ddof=1) / np.sqrt(len(values))
