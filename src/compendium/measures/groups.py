"""Selectivity of units for a group of classes: the measures of the paper's Tables A3-A5.

Class A is a super-category made of several classes (e.g. footwear, or the paper's three
bus classes); every other image is not-A. :func:`group_measures` gives, per unit, the
columns of Tables A3-A5 (shares above zero, means with standard errors, the top-N
precision, CCMAS) and the signal-detection measures of
:func:`compendium.measures.classes.class_measures` for the same class A.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from compendium.measures._spec import MeasureInputError
from compendium.measures.classes import class_measures

__all__ = ["GROUP_COLUMNS", "group_measures"]

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
]


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
    proportion FP / (TP + FP) and false-positive rate FP / N_notA. Thresholds follow the
    measures' convention: an image is detected when x >= t, t at the activation values.
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
        },
        index=measures.index,
    ).join(measures)
    table.index = pd.Index(list(units) if units is not None else range(x.shape[1]), name="unit")
    return table[[f"precision_{top}" if c == "precision_100" else c for c in GROUP_COLUMNS]]


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
