"""Chance for every measure of every unit: the label-permutation null (spec ``beyond.md``,
"Chance").

`permutation_null(activations, labels, n_permutations=K, seed=s)` shuffles the labels among
the images K times (permutation k is drawn by ``numpy.random.default_rng([s, k])``, so the
class sizes stay the same and any one shuffle can be drawn again alone: `shuffled_labels`)
and computes the measures of `NULL_MEASURES` for every unit on each shuffle. Per unit and
measure the p-value is ``(1 + #{null >= observed}) / (K + 1)``, with the inequality turned
round for the measures where lower is more selective (``n_classes_top100``,
``mi_false_alarm``, ``mi_fpr``). `benjamini_hochberg` says which of a layer's units beat
chance at a false-discovery rate q (the spec's q = .05).

The work follows `unit_measures`: units are read a slab at a time and **each unit is sorted
once**; only the labels move. For every unit the kernel's ranking (`_numpy.rank_unit`) is
read with all K + 1 label sets at once (`_numpy.rows_measures`; row 0 is the real labels),
so the observed table is the one `unit_measures` gives and every null value is the one
`unit_measures` would give on that shuffle. The torch backend ranks a block of units once
on the device and measures it once per label set (`_torch.rank_block`,
`_torch.ranking_measures`).

Values that differ by less than the kernel's `TIE_TOLERANCE` count as equal in the
p-value (class means summed in another order may differ in the last bit).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from compendium.measures import _numpy, _rows
from compendium.measures._run import (
    BLOCK_MEMORY_BYTES,
    KERNEL_BYTES_PER_UNIT_IMAGE,
    parallel_map,
    real_values,
    worker_count,
)
from compendium.measures._spec import (
    TIE_TOLERANCE,
    ClassIndex,
    MeasureInputError,
    _check_finite,
    _check_shape,
    _check_top,
    measure_columns,
)

__all__ = [
    "NULL_BYTES_PER_ROW_IMAGE",
    "NULL_CODE_VERSION",
    "NullInputError",
    "PermutationNull",
    "benjamini_hochberg",
    "null_measures",
    "p_values",
    "permutation_null",
    "shuffled_labels",
]

log = logging.getLogger(__name__)

#: Bytes of working memory per label set and image while one unit is measured with many
#: label sets at once (the ranked labels, their grouping and the informedness at every
#: rank); with headroom.
NULL_BYTES_PER_ROW_IMAGE = 96

#: (label set, ranked image) entries measured in one pass over a unit: about what a core's
#: cache holds of the pass's arrays; more is slower on a busy machine, fewer costs calls.
PASS_ENTRIES = 2**17

#: Share of the memory budget that the shuffled labels and the null values may take.
FIXED_SHARE = 0.5

#: The drivers' name for "this unit gives every image the same value".
CONSTANT = "_constant"

#: Most images a null handles: the integer keys that order a class's thresholds
#: (`compendium.measures._rows`) reach n_images ** 3, which must fit in 64 bits.
MAX_NULL_IMAGES = 2_000_000

#: Bump when a change here changes what a null gives (cached nulls carry it in their key).
NULL_CODE_VERSION = 2


class NullInputError(MeasureInputError):
    """A permutation null that cannot be computed as asked (the message names the fix)."""


def null_measures(top: Sequence[int] = (60, 100)) -> dict[str, int]:
    """The measures the null is computed for, each with its direction: +1 where a higher
    value is more selective, -1 where a lower one is (the p-value's inequality turns)."""
    higher = ["localist_gap", *(f"precision_{n}" for n in top), "ccmas", "ccmas_classmean"]
    higher += ["recall_p100", "recall_p95", "max_informedness", "mi_recall", "mi_specificity"]
    lower = [f"n_classes_top{max(top)}", "mi_false_alarm", "mi_fpr"]
    return {**dict.fromkeys(higher, 1), **dict.fromkeys(lower, -1)}


def shuffled_labels(labels: Any, n_permutations: int, seed: int = 0) -> np.ndarray:
    """(n_permutations, n_images): row k is `labels` shuffled by
    ``numpy.random.default_rng([seed, k]).permutation``."""
    y = np.asarray(labels)
    return np.stack(
        [np.random.default_rng([seed, k]).permutation(y) for k in range(n_permutations)]
    )


def p_values(observed: np.ndarray, null: np.ndarray, direction: int = 1) -> np.ndarray:
    """``(1 + #{null >= observed}) / (K + 1)`` per row of `null` (units, K), with ``<=``
    for `direction` -1; values within `TIE_TOLERANCE` count as equal. NaN where the
    observed value is NaN (a dead unit's CCMAS); a NaN null value never counts."""
    observed = np.asarray(observed, dtype=np.float64)[:, None]
    null = np.asarray(null, dtype=np.float64)
    if direction >= 0:
        beyond = null >= observed - TIE_TOLERANCE
    else:
        beyond = null <= observed + TIE_TOLERANCE
    p = (1 + beyond.sum(axis=1)) / (null.shape[1] + 1)
    return np.where(np.isnan(observed[:, 0]), np.nan, p)


def benjamini_hochberg(p: Any, q: float = 0.05) -> np.ndarray:
    """Which p-values the Benjamini-Hochberg step-up procedure rejects at false-discovery
    rate `q` (NaN p-values are left out and never rejected)."""
    p = np.asarray(p, dtype=np.float64)
    if not 0 < q < 1:
        raise NullInputError(
            f"q must be a false-discovery rate between 0 and 1, such as 0.05; got {q}"
        )
    finite = np.flatnonzero(~np.isnan(p))
    rejected = np.zeros(p.shape, dtype=bool)
    if finite.size == 0:
        return rejected
    order = finite[np.argsort(p[finite], kind="stable")]
    passes = p[order] <= q * np.arange(1, order.size + 1) / order.size
    if passes.any():
        rejected[order[: np.flatnonzero(passes)[-1] + 1]] = True
    return rejected


@dataclass(frozen=True, eq=False)
class PermutationNull:
    """The null of one layer: the observed table (what `unit_measures` gives), the null
    values of every measure of `directions` (units x permutations) and their p-values."""

    observed: pd.DataFrame  #: the measures table, indexed by unit
    null: dict[str, np.ndarray]  #: measure -> (units, K) values on the shuffled labels
    directions: dict[str, int]  #: measure -> +1 (higher is more selective) or -1
    n_permutations: int
    seed: int
    constant: np.ndarray  #: (units,) True for a unit that gives every image the same value

    @property
    def measures(self) -> list[str]:
        return list(self.directions)

    @property
    def p_values(self) -> pd.DataFrame:
        """(units, measures) p-values of the spec."""
        columns = {
            m: p_values(self.observed[m].to_numpy(float), self.null[m], d)
            for m, d in self.directions.items()
        }
        return pd.DataFrame(columns, index=self.observed.index)

    def table(self) -> pd.DataFrame:
        """The observed table with a ``<measure>_p`` column for each measure."""
        p = self.p_values.add_suffix("_p")
        return self.observed.join(p)

    def summary(self) -> pd.DataFrame:
        """Per unit and measure (long): the observed value, the null's mean, standard
        deviation and 2.5th and 97.5th percentiles, and the p-value."""
        p = self.p_values
        parts = []
        for m in self.measures:
            null = self.null[m]
            low, high = _percentiles(null, axis=1)
            parts.append(
                pd.DataFrame(
                    {
                        "unit": self.observed.index,
                        "measure": m,
                        "observed": self.observed[m].to_numpy(float),
                        "null_mean": _nanstat(np.nanmean, null),
                        "null_sd": _nanstat(np.nanstd, null),
                        "null_low": low,
                        "null_high": high,
                        "p": p[m].to_numpy(),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def band(self, low: float = 2.5, high: float = 97.5) -> pd.DataFrame:
        """Per measure, the pooled null (every permutation of every unit but the `constant`
        ones, whose values no shuffle can change): its `low` and `high` percentiles and its
        median."""
        rows = {}
        varying = ~self.constant
        for m in self.measures:
            values = self.null[m][varying].ravel()
            values = values[~np.isnan(values)]
            rows[m] = np.percentile(values, [low, 50, high]) if values.size else [np.nan] * 3
        return pd.DataFrame.from_dict(rows, orient="index", columns=["low", "median", "high"])

    def beats_chance(self, q: float = 0.05) -> pd.Series:
        """Per measure, the units whose p-value survives Benjamini-Hochberg at `q`."""
        p = self.p_values
        return pd.Series({m: int(benjamini_hochberg(p[m], q).sum()) for m in self.measures})


def _percentiles(null: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    if null.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    with warnings.catch_warnings():  # a unit whose null is all NaN (a dead unit's CCMAS)
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(null, [2.5, 97.5], axis=axis)
    return low, high


def _nanstat(function: Callable, null: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(null, axis=1) if null.size else np.zeros(null.shape[0])


def permutation_null(
    activations: Any,
    labels: Any,
    n_permutations: int = 100,
    seed: int = 0,
    *,
    n_classes: int | None = None,
    top: Sequence[int] = (60, 100),
    memory_bytes: int = BLOCK_MEMORY_BYTES,
    progress: bool | None = None,
    unit_offset: int = 0,
    backend: str = "numpy",
    device: str | None = None,
    workers: int | None = None,
) -> PermutationNull:
    """The permutation null of every measure of `null_measures(top)` for every unit of a
    layer, on `n_permutations` seeded shuffles of `labels` (see the module docstring).

    `activations`, `labels`, `n_classes`, `top`, `progress`, `unit_offset`, `backend`,
    `device` and `workers` are those of `unit_measures`. `memory_bytes` bounds the
    working memory as there: the shuffled labels and the null values (held until the end)
    may take half of it, the rest holds the units read at once and the working arrays of
    the units being measured. A budget that cannot hold them is an error that names it.
    """
    shape = _check_shape(activations)
    if shape[0] > MAX_NULL_IMAGES:
        raise NullInputError(
            f"the permutation null handles at most {MAX_NULL_IMAGES:,} images; got "
            f"{shape[0]:,}: measure a subset of the images (e.g. the first per class)"
        )
    classes = ClassIndex.from_labels(labels, shape[0], n_classes)
    top = _check_top(top, shape[0])
    k = _check_permutations(n_permutations)
    seed = _check_seed(seed)
    directions = null_measures(top)
    n_images, n_units = shape
    rows = np.vstack([classes.labels[None], shuffled_labels(classes.labels, k, seed)])
    rows = rows.astype(_label_dtype(classes.n))
    _check_budget(n_images, n_units, k, len(directions), rows.itemsize, memory_bytes)
    if backend == "torch":
        values = _torch_null(activations, rows, classes, top, memory_bytes, device, progress)
    elif backend == "numpy":
        if device not in (None, "cpu"):
            raise NullInputError(
                f"the numpy backend runs on the CPU; for {device!r} use backend='torch'"
            )
        plan = _NumpyPlan.of(activations, rows, classes, top, memory_bytes, workers)
        values = plan.run(activations, progress)
    else:
        raise NullInputError(f"backend must be 'numpy' or 'torch', not {backend!r}")
    index = pd.RangeIndex(unit_offset, unit_offset + n_units, name="unit")
    observed = {c: _column(values[c][:, 0]) for c in measure_columns(top)}
    observed = pd.DataFrame(observed, index=index)
    null = {m: values[m][:, 1:].astype(np.float64) for m in directions}
    return PermutationNull(observed, null, directions, k, seed, values[CONSTANT][:, 0])


def _check_permutations(n_permutations: Any) -> int:
    if (
        isinstance(n_permutations, bool)
        or not isinstance(n_permutations, int | np.integer)
        or n_permutations < 1
    ):
        raise NullInputError(
            f"n_permutations must be a whole number of shuffles, at least 1 (the spec's "
            f"default is 100); got {n_permutations!r}"
        )
    return int(n_permutations)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise NullInputError(f"seed must be a whole number >= 0, such as 0; got {seed!r}")
    return int(seed)


def _label_dtype(n_classes: int) -> type:
    """The narrowest unsigned type for class numbers: uint8 sorts by one radix pass."""
    if n_classes <= np.iinfo(np.uint8).max + 1:
        return np.uint8
    return np.uint16 if n_classes <= np.iinfo(np.uint16).max + 1 else np.int64


def _fixed_bytes(n_images: int, n_units: int, k: int, n_measures: int, label_bytes: int) -> int:
    """The memory held for the whole call: the K + 1 label sets and the null values."""
    return (k + 1) * n_images * label_bytes + n_units * (k + 1) * (n_measures + 16) * 8


def _check_budget(
    n_images: int, n_units: int, k: int, n_measures: int, label_bytes: int, memory_bytes: int
) -> None:
    fixed = _fixed_bytes(n_images, n_units, k, n_measures, label_bytes)
    smallest = fixed / FIXED_SHARE + NULL_BYTES_PER_ROW_IMAGE * n_images + 12 * n_images
    if memory_bytes < smallest:
        per_k = _fixed_bytes(n_images, n_units, 1, n_measures, label_bytes) / 2
        fits = int((memory_bytes * FIXED_SHARE) // per_k) - 1
        advice = f"use at most n_permutations={fits}" if fits >= 1 else "measure fewer units"
        raise NullInputError(
            f"{k} permutations of {n_units} units on {n_images} images need at least "
            f"{int(smallest):,} bytes, more than the memory budget of {memory_bytes:,} bytes "
            f"(memory_bytes, or --memory): raise it to at least {-(-int(smallest) // 2**20)}MiB "
            f"or {advice}"
        )


def _column(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    return values if values.dtype == bool else values.astype(np.float64)


# --- numpy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NumpyPlan:
    """How the numpy backend goes through a layer: slabs of `width` units read at once,
    each unit measured by one of `n_workers` workers (`_run.parallel_map`: forked processes
    that inherit the slab) with `chunk` label sets at a time."""

    rows: np.ndarray  #: (K + 1, n_images) label sets, row 0 the real labels
    plan: _numpy.Plan
    top: tuple[int, ...]
    width: int
    chunk: int
    n_workers: int

    @classmethod
    def of(cls, activations, rows, classes, top, memory_bytes, workers) -> _NumpyPlan:
        n_images, n_units = int(activations.shape[0]), int(activations.shape[1])
        k = rows.shape[0] - 1
        n_measures = len(null_measures(top))
        spare = memory_bytes - _fixed_bytes(n_images, n_units, k, n_measures, rows.itemsize)
        read = _read_bytes(activations)
        width = int(max(1, min(n_units, spare * 0.25 // (n_images * (read + 8)))))
        compute = spare - width * n_images * (read + 8)
        n_workers = min(worker_count(workers), max(1, n_units))
        per_row = NULL_BYTES_PER_ROW_IMAGE * n_images
        n_workers = int(max(1, min(n_workers, compute // per_row)))
        chunk = int(max(1, min(rows.shape[0], compute // (n_workers * per_row))))
        plan = _numpy.Plan.of(classes, n_images, top)
        return cls(rows, plan, top, width, chunk, n_workers)

    def run(self, activations: Any, progress: bool | None) -> dict[str, np.ndarray]:
        n_units = int(activations.shape[1])
        out: dict[str, np.ndarray] = {}
        show = progress if progress is not None else n_units > self.width
        bar = tqdm(total=n_units, desc="null", unit="unit", disable=not show)
        with bar:
            for start in range(0, n_units, self.width):
                x = real_values(
                    np.asarray(activations[:, start : min(start + self.width, n_units)])
                )
                _check_finite(x, start)
                xt = _numpy.transposed(x)
                del x
                # Forked workers inherit the slab: only a unit's number crosses to them.
                with parallel_map(self.n_workers, partial(self._row, xt)) as run:
                    for u, measured in enumerate(run([(u,) for u in range(xt.shape[0])])):
                        _store(out, start + u, measured, n_units, self.rows.shape[0])
                        bar.update(1)
                del xt
        return out

    def _row(self, xt: np.ndarray, u: int) -> dict[str, np.ndarray]:
        return self._unit(xt[u])

    def _unit(self, row: np.ndarray) -> dict[str, np.ndarray]:
        ranking = _rows.rank_unit(row, self.plan)
        ranked = max(1, ranking.ranked.image.size)
        chunk = max(1, min(self.chunk, PASS_ENTRIES // ranked))  # label sets per pass
        parts = [
            _rows.rows_measures(ranking, self.rows[first : first + chunk], self.plan, self.top)
            for first in range(0, self.rows.shape[0], chunk)
        ]
        out = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
        out[CONSTANT] = np.full(self.rows.shape[0], ranking.ranked.image.size == 0)
        return out


def _read_bytes(activations: Any) -> int:
    """Bytes one value takes when read: none for a numpy array (a slice is a view)."""
    if isinstance(activations, np.ndarray):
        return 0
    dtype = getattr(activations, "dtype", None)
    return np.dtype(np.float32 if dtype is None else dtype).itemsize


def _store(out: dict, u: int, measured: dict, n_units: int, n_rows: int) -> None:
    """Put one unit's values (one per label set) in row `u` of the output arrays."""
    for column, values in measured.items():
        if column not in out:
            out[column] = np.empty((n_units, n_rows), dtype=values.dtype)
        out[column][u] = values


# --- torch --------------------------------------------------------------------------------


def _torch_null(activations, rows, classes, top, memory_bytes, device, progress) -> dict:
    """The torch backend: each block of units is ranked once on the device, then measured
    once per label set."""
    import torch

    from compendium.measures import _torch

    chosen = _torch.resolve_device(device)
    on_device = _torch.TorchClasses(classes, chosen)
    labels = torch.as_tensor(rows.astype(np.int64), device=chosen)
    n_images, n_units = int(activations.shape[0]), int(activations.shape[1])
    k = rows.shape[0] - 1
    spare = memory_bytes - _fixed_bytes(
        n_images, n_units, k, len(null_measures(top)), rows.itemsize
    )
    block = int(max(1, min(n_units, spare // (KERNEL_BYTES_PER_UNIT_IMAGE["torch"] * n_images))))
    out: dict[str, np.ndarray] = {}
    show = progress if progress is not None else n_units > block
    for start in tqdm(range(0, n_units, block), desc="null", unit="block", disable=not show):
        x = real_values(np.asarray(activations[:, start : min(start + block, n_units)]))
        _check_finite(x, start)
        ranking = _torch.rank_block(x, chosen)
        per_row = [
            _torch.ranking_measures(ranking, labels[r], on_device, top) for r in range(len(rows))
        ]
        constant = (ranking.values[:, 0] == ranking.values[:, -1]).cpu().numpy()
        for p in per_row:
            p[CONSTANT] = constant
        for column in per_row[0]:
            stacked = np.stack([p[column] for p in per_row], axis=1)
            if column not in out:
                out[column] = np.empty((n_units, len(rows)), dtype=stacked.dtype)
            out[column][start : start + x.shape[1]] = stacked
    return out
