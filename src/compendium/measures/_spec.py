"""What the measures are, independent of how they are computed: the column names, the
constants of the spec (the .95 precision floor, the tie tolerance), the checks of the
inputs, and `ClassIndex`, what every kernel needs to know about the labels.

Both kernels (`_numpy`, `_torch`) import only this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compendium.util.errors import CompendiumError

#: Precision must reach PRECISION_FLOOR_NUM / PRECISION_FLOOR_DEN (= .95) for `recall_p95`;
#: kept as integers so the comparison is exact.
PRECISION_FLOOR_NUM, PRECISION_FLOOR_DEN = 19, 20

#: Numerical slack when comparing informedness values that are equal in exact arithmetic.
TIE_TOLERANCE = 1e-12


def measure_columns(top: Sequence[int] = (60, 100)) -> list[str]:
    """The columns `unit_measures` returns, in order, for the given top-N sizes."""
    precision = [c for n in top for c in (f"precision_{n}", f"precision_{n}_class")]
    return [
        "top_class",
        "localist",
        "localist_class",
        "localist_gap",
        *precision,
        f"n_classes_top{max(top)}",
        "ccmas",
        "ccmas_class",
        "ccmas_2",
        "ccmas_2_class",
        "ccmas_classmean",
        "recall_p100",
        "recall_p95",
        "max_informedness",
        "mi_class",
        "mi_threshold",
        "mi_recall",
        "mi_specificity",
        "mi_false_alarm",
        "mi_fpr",
        *DETECTOR_COLUMNS,
    ]


#: The paper's reasonable reading of an object detector (spec/beyond.md): some threshold
#: with more hits than misses and more hits than false alarms; the class and threshold
#: with the largest hits minus false alarms, and the recall and false alarms there.
DETECTOR_COLUMNS = ["detector", "detector_class", "detector_recall", "detector_false_alarm"]

COLUMNS = measure_columns()

#: Columns that hold a class number (the rest hold values).
CLASS_COLUMNS = [
    "top_class",
    "localist_class",
    "precision_60_class",
    "precision_100_class",
    "ccmas_class",
    "ccmas_2_class",
    "mi_class",
    "detector_class",
]


@dataclass(frozen=True)
class ClassIndex:
    """What the measures need to know about the labels, computed once per layer."""

    labels: np.ndarray  #: (n_images,) class of each image
    n: int  #: number of classes
    counts: np.ndarray  #: (n,) images per class
    by_class: np.ndarray | None  #: image order grouping classes; None if already grouped
    starts: np.ndarray  #: (n,) first position of each class in the grouped order
    occurrence_in_grouped: np.ndarray  #: (n_images,) 1-based rank within class, grouped order
    sort_dtype: type  #: narrowest integer type that holds a class number (radix sort)

    @classmethod
    def from_labels(cls, labels: Any, n_images: int, n_classes: int | None) -> ClassIndex:
        y = _check_labels(labels, n_images, n_classes)
        n = int(n_classes) if n_classes is not None else int(y.max()) + 1
        counts = np.bincount(y, minlength=n)
        _check_classes(counts)
        order = np.argsort(y, kind="stable")
        grouped = bool(np.all(y[:-1] <= y[1:]))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        occurrence = (np.arange(n_images) - starts[y[order]] + 1).astype(np.int32)
        dtype = np.uint16 if n <= np.iinfo(np.uint16).max else np.intp
        return cls(
            y.astype(dtype), n, counts, None if grouped else order, starts, occurrence, dtype
        )


class MeasureInputError(CompendiumError):
    """Activations or labels that the measures cannot be computed from."""


def _check_shape(activations: Any) -> tuple[int, int]:
    shape = getattr(activations, "shape", None)
    if shape is None:
        raise MeasureInputError(
            "activations must be an array of shape (n_images, n_units); got "
            f"{type(activations).__name__}: convert it with numpy.asarray(...)"
        )
    if len(shape) != 2:
        raise MeasureInputError(
            f"activations must be 2-D (n_images, n_units); got shape {tuple(shape)}: "
            "flatten the unit axes, e.g. x.reshape(len(x), -1)"
        )
    if int(shape[0]) == 0:
        raise MeasureInputError(
            f"activations hold no images (shape {tuple(shape)}); selectivity needs the "
            "activations of images of at least 2 classes: pass (n_images, n_units) with n_images > 0"
        )
    _check_dtype(getattr(activations, "dtype", None))
    return int(shape[0]), int(shape[1])


#: numpy dtype kinds the measures accept: floats, signed and unsigned integers, booleans.
NUMERIC_KINDS = "fiub"


def _check_dtype(dtype: Any) -> None:
    """Activations must be real numbers; None (a source without a dtype) passes here and is
    checked block by block as it is read."""
    if dtype is None:
        return
    dtype = np.dtype(dtype)
    if dtype.kind not in NUMERIC_KINDS:
        raise MeasureInputError(
            f"activations must be real numbers (float or integer); got dtype {dtype}: "
            "convert them, e.g. numpy.asarray(x, dtype=numpy.float32)"
        )


def _check_labels(labels: Any, n_images: int, n_classes: int | None) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size != n_images:
        raise MeasureInputError(
            f"labels must be one integer per image: got shape {y.shape} for {n_images} "
            "images (activations' first axis); pass the labels of the same images"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise MeasureInputError(
            f"labels must be integers 0..C-1, got dtype {y.dtype}: map class names to "
            "numbers first, e.g. numpy.unique(names, return_inverse=True)[1]"
        )
    if n_classes is not None and int(n_classes) < 2:
        raise MeasureInputError(
            f"n_classes must be at least 2 (selectivity compares classes); got {n_classes}"
        )
    limit = int(n_classes) if n_classes is not None else int(y.max()) + 1
    bad = (y < 0) | (y >= limit)
    if bad.any():
        first = int(np.argmax(bad))
        allowed = (
            f"0..{limit - 1}"
            if n_classes is not None
            else f"0..C-1 = 0..{limit - 1} (C = labels.max() + 1 = {limit}: n_classes not given)"
        )
        raise MeasureInputError(
            f"labels must lie in {allowed}; {int(bad.sum())} do not (e.g. "
            f"{y[first]} at image {first}): fix the labels or n_classes"
        )
    return y.astype(np.intp, copy=False)


def _check_classes(counts: np.ndarray) -> None:
    if counts.size < 2:
        raise MeasureInputError(
            "selectivity needs at least 2 classes; the labels hold 1: add images of other classes"
        )
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise MeasureInputError(
            f"classes {empty[:10].tolist()} have no images: every class 0..C-1 needs "
            "images; re-number the classes that occur (numpy.unique(labels, "
            "return_inverse=True)) or lower n_classes"
        )


def _check_top(top: Sequence[int], n_images: int) -> tuple[int, ...]:
    top = tuple(int(n) for n in top)
    if not top or min(top) < 1:
        raise MeasureInputError(f"top must be positive sizes such as (60, 100); got {top}")
    if max(top) > n_images:
        raise MeasureInputError(
            f"precision of the top {max(top)} images needs at least {max(top)} images; "
            f"got {n_images}: record more images or pass top=(...) with smaller sizes"
        )
    return top


def _check_finite(block: np.ndarray, first_unit: int) -> None:
    _check_dtype(block.dtype)
    finite = np.isfinite(block)
    if not finite.all():
        units = first_unit + np.flatnonzero(~finite.all(axis=0))
        raise MeasureInputError(
            f"activations hold NaN or infinite values in {units.size} unit(s), first "
            f"unit {units[0]}: recompute or drop those units (e.g. --units to skip them)"
        )
