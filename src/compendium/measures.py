"""Every selectivity measure of Gale et al. (2020) for every unit of a layer, in one call.

`unit_measures(activations, labels)` returns one row per unit with the columns defined in
the project's spec (`COLUMNS` below; see the book's chapter 1 for the formulas). The design
follows one rule: **sort each unit once, then read every measure off the sorted order**.

* Units are processed in blocks. A block is read from the array or HDF5 dataset as
  (n_images, block) and transposed to (block, n_images), so every later step runs along
  contiguous rows; memory is bounded by the block size, never by the layer size.
* One stable descending `argsort` per unit gives the ranking (ties by image index, as the
  spec requires for `top_class` and the top-N precision).
* Thresholds live at the distinct activation values, so the sorted order is cut into runs
  of equal values; a threshold counts everything up to the end of its run.
* For signal-detection measures the only per-class quantity needed is, for each image,
  how many members of its own class rank at or above it (`occurrence`). That comes from a
  second, cheap sort of the sorted *labels* (a radix sort on 16-bit integers), so max
  informedness over all classes and thresholds is one pass over the sorted order, with no
  loop over classes.
* Class means, minima and maxima come from `reduceat` over images grouped by class.

Conventions that the spec leaves to the implementation: a class tie in `ccmas_class`,
`ccmas_2_class` or `localist_class` goes to the lower class number; a dead unit (all
activations equal to zero) has `ccmas`, `ccmas_2` and `ccmas_classmean` NaN, because their
denominator is zero.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

log = logging.getLogger(__name__)

#: Precision must reach PRECISION_FLOOR_NUM / PRECISION_FLOOR_DEN (= .95) for `recall_p95`;
#: kept as integers so the comparison is exact.
PRECISION_FLOOR_NUM, PRECISION_FLOOR_DEN = 19, 20

#: Bytes of working memory one block may use (about twelve (block, n_images) arrays).
BLOCK_MEMORY_BYTES = 512 * 2**20

#: Numerical slack when comparing informedness values that are equal in exact arithmetic.
_TIE_TOLERANCE = 1e-12


def measure_columns(top: Sequence[int] = (60, 100)) -> list[str]:
    """The columns `unit_measures` returns, in order, for the given top-N sizes."""
    precision = [c for n in top for c in (f"precision_{n}", f"precision_{n}_class")]
    return [
        "top_class", "localist", "localist_class", "localist_gap",
        *precision, f"n_classes_top{max(top)}",
        "ccmas", "ccmas_class", "ccmas_2", "ccmas_2_class", "ccmas_classmean",
        "recall_p100", "recall_p95",
        "max_informedness", "mi_class", "mi_threshold", "mi_recall", "mi_specificity",
        "mi_false_alarm", "mi_fpr",
    ]  # fmt: skip


COLUMNS = measure_columns()

#: Columns that hold a class number (the rest hold values).
CLASS_COLUMNS = [
    "top_class", "localist_class", "precision_60_class", "precision_100_class",
    "ccmas_class", "ccmas_2_class", "mi_class",
]  # fmt: skip


def unit_measures(
    activations: Any,
    labels: Any,
    n_classes: int | None = None,
    *,
    top: Sequence[int] = (60, 100),
    block_size: int | None = None,
    memory_bytes: int = BLOCK_MEMORY_BYTES,
    progress: bool | None = None,
    unit_offset: int = 0,
    backend: str = "numpy",
    device: str | None = None,
) -> pd.DataFrame:
    """Compute every selectivity measure for every unit of one layer.

    Parameters
    ----------
    activations:
        (n_images, n_units): a numpy array, an h5py dataset, or anything with `.shape`
        that returns a numpy array for `activations[:, start:stop]`. Read a block of units
        at a time.
    labels:
        (n_images,) integer class of each image, 0..n_classes-1; every class needs images.
    n_classes:
        Number of classes; default ``labels.max() + 1``.
    top:
        The N of the top-N precision columns (``precision_60``, ``precision_100``); the
        largest also gives ``n_classes_top<N>``.
    block_size:
        Units per block; default: as many as fit `memory_bytes`.
    memory_bytes:
        Working memory one block may use (default 512 MiB); an error if not even one unit
        fits.
    progress:
        Show a tqdm bar; default when there is more than one block.
    unit_offset:
        Number of the first unit, for the index (when `activations` is a slice of a layer).
    backend, device:
        ``"numpy"`` (default) or ``"torch"``; for torch, `device` is e.g. ``"cuda"`` or
        ``"cpu"`` (default: CUDA when present). Both give the same table.

    Returns
    -------
    pandas.DataFrame indexed by unit number (named ``unit``) with `measure_columns(top)`.
    """
    shape = _check_shape(activations)
    classes = ClassIndex.from_labels(labels, shape[0], n_classes)
    top = _check_top(top, shape[0])
    n_images, n_units = shape
    block = block_size or default_block_size(n_images, n_units, memory_bytes)
    width = read_width(activations, block, memory_bytes)
    compute = _backend(backend, device, classes, top)
    show = progress if progress is not None else n_units > block
    parts = []
    with tqdm(total=n_units, desc="units", unit="unit", disable=not show) as bar:
        for start in range(0, n_units, width):
            x = np.asarray(activations[:, start : min(start + width, n_units)])
            _check_finite(x, unit_offset + start)
            for first in range(0, x.shape[1], block):
                parts.append(compute(x[:, first : first + block]))
                bar.update(min(block, x.shape[1] - first))
    table = pd.DataFrame({c: _column(np.concatenate([p[c] for p in parts])) for c in parts[0]})
    table.index = pd.RangeIndex(unit_offset, unit_offset + n_units, name="unit")
    log.debug("measured %d units x %d images, %d classes", n_units, n_images, classes.n)
    return table[measure_columns(top)]


def present_class_measures(activations: Any, labels: Any, **options: Any) -> pd.DataFrame:
    """`unit_measures` over the classes that have images, for label sets where some
    classes are absent (e.g. a subset of ImageNet): classes are renumbered densely for the
    computation and the class columns are given back in the original numbering."""
    present, dense = np.unique(np.asarray(labels), return_inverse=True)
    table = unit_measures(activations, dense.astype(np.intp), len(present), **options)
    for column in table.columns:
        if column.endswith("_class"):
            table[column] = present[table[column].to_numpy()]
    return table


def _column(values: np.ndarray) -> np.ndarray:
    """One dtype per kind of column, whatever the input's: int64, float64 or bool."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    return values if values.dtype == bool else values.astype(np.float64)


def _backend(backend: str, device: str | None, classes: ClassIndex, top: tuple[int, ...]):
    """The function that measures one (images, units) block with the chosen backend."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise MeasureInputError(f"the numpy backend runs on the CPU; for {device!r} use backend='torch'")
        return lambda x: _block_measures(np.ascontiguousarray(x.T), classes, top)
    if backend == "torch":
        from compendium import measures_torch

        chosen = measures_torch.resolve_device(device)
        on_device = measures_torch.TorchClasses(classes, chosen)
        log.info("measuring with torch on %s", chosen)
        return lambda x: measures_torch.block_measures(x, on_device, top, chosen)
    raise MeasureInputError(f"backend must be 'numpy' or 'torch', not {backend!r}")


def read_width(activations: Any, block: int, memory_bytes: int = BLOCK_MEMORY_BYTES) -> int:
    """Units read from storage at once: a whole number of compute blocks filling up to
    `memory_bytes` of float32, and of HDF5 chunks where the data set is chunked. Reading
    wide slabs matters on disk: a row-major file must be scanned whole for every read."""
    n_images = int(activations.shape[0])
    fits = max(block, memory_bytes // (4 * n_images) // block * block)
    chunks = getattr(activations, "chunks", None)
    if chunks and fits >= chunks[1]:
        fits -= fits % chunks[1]
    return min(fits, int(activations.shape[1]))


#: Bytes of working memory per unit and image (about twelve arrays of 8 bytes).
BYTES_PER_UNIT_IMAGE = 12 * 8


def default_block_size(n_images: int, n_units: int, memory_bytes: int = BLOCK_MEMORY_BYTES) -> int:
    """Units per block so that one block's working arrays fit `memory_bytes`."""
    per_unit = BYTES_PER_UNIT_IMAGE * n_images
    if memory_bytes < per_unit:
        raise MeasureInputError(
            f"one unit of {n_images} images needs about {per_unit / 2**20:.0f} MiB of working "
            f"memory, more than memory_bytes={memory_bytes / 2**20:.0f} MiB: raise the limit"
        )
    block = memory_bytes // per_unit
    if block >= 32:
        block -= block % 32  # whole HDF5 chunks of the project's store
    return min(block, n_units)


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
        return cls(y.astype(dtype), n, counts, None if grouped else order, starts,
                   occurrence, dtype)


def _block_measures(xt: np.ndarray, classes: ClassIndex, top: Sequence[int]) -> dict:
    """All measures for one block; `xt` is (units, images), one row per unit."""
    ranking = Ranking.of(xt, classes.labels)
    # A copy, not a view: a view would keep the whole ranked block alive with the table.
    out: dict[str, np.ndarray] = {"top_class": ranking.labels[:, 0].copy()}
    out.update(_class_statistics(xt, classes))
    for n in top:
        out.update(_top_precision(ranking.labels[:, :n], classes.n, n))
    out.update(_recall_at_precision(ranking, classes))
    out.update(_max_informedness(ranking, classes))
    return out


@dataclass(frozen=True)
class Ranking:
    """Each unit's images in descending activation, cut into runs of equal values."""

    values: np.ndarray  #: (units, images) activations, descending
    labels: np.ndarray  #: (units, images) class of each ranked image
    n_at_or_above: np.ndarray  #: (units, images) images with activation >= this rank's
    ends_run: np.ndarray  #: (units, images) True at the last rank of each run

    @classmethod
    def of(cls, xt: np.ndarray, labels: np.ndarray) -> Ranking:
        order, values = _descending(xt)
        ends_run = np.ones(xt.shape, dtype=bool)
        np.not_equal(values[:, :-1], values[:, 1:], out=ends_run[:, :-1])
        count = np.arange(1, xt.shape[1] + 1, dtype=np.int32)
        count = np.where(ends_run, count, xt.shape[1])[:, ::-1]
        n_at_or_above = np.minimum.accumulate(count, axis=1)[:, ::-1]
        return cls(values, labels[order], n_at_or_above, ends_run)


def _descending(xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's order by descending value, ties by ascending index, and sorted values."""
    if xt.dtype != np.float32:
        order = np.argsort(-xt, axis=1, kind="stable")
        return order, np.take(xt, order + _row_offsets(xt.shape))
    # float32: pack (descending value, index) into one int64 key per image and sort the
    # keys, which is several times faster than an argsort and breaks ties by index.
    n_units, n_images = xt.shape
    keys = np.empty(xt.shape, dtype=np.int64)
    words = keys.view(np.int32).reshape(n_units, n_images, 2)  # little-endian: low, high
    words[:, :, 0] = np.arange(n_images, dtype=np.int32)
    np.invert(_float_order_bits(xt + np.float32(0)), out=words[:, :, 1])  # +0: -0.0 -> 0.0
    keys.sort(axis=1)
    order, high = words[:, :, 0], np.invert(words[:, :, 1])
    values = _float_order_bits(high.view(np.float32)).view(np.float32)
    return order.astype(np.intp), values


def _float_order_bits(x: np.ndarray) -> np.ndarray:
    """float32 bits as int32 that sort like the floats (the map is its own inverse)."""
    bits = x.view(np.int32)
    return bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))


def _row_offsets(shape: tuple[int, int]) -> np.ndarray:
    """Offsets that turn per-row column indices into indices of the flattened array."""
    return (np.arange(shape[0], dtype=np.intp) * shape[1])[:, None]


def _class_statistics(xt: np.ndarray, classes: ClassIndex) -> dict:
    """CCMAS and its variants (class means) and localist selectivity (class extremes)."""
    grouped = xt if classes.by_class is None else xt[:, classes.by_class]
    sums = np.add.reduceat(grouped, classes.starts, axis=1, dtype=np.float64)
    means = sums / classes.counts
    units = np.arange(xt.shape[0])
    first, second = _two_largest(means)
    n_total = classes.labels.size

    def ccmas(a: np.ndarray) -> np.ndarray:
        mu_a = means[units, a]
        mu_rest = (sums.sum(axis=1) - sums[units, a]) / (n_total - classes.counts[a])
        return _contrast(mu_a, mu_rest)

    mu_first = means[units, first]
    mu_other_means = (means.sum(axis=1) - mu_first) / (classes.n - 1)
    lows = np.minimum.reduceat(grouped, classes.starts, axis=1)
    highs = np.maximum.reduceat(grouped, classes.starts, axis=1)
    top_high, _ = _two_largest(highs)
    highest_elsewhere = np.where(
        np.arange(classes.n) == top_high[:, None],
        np.sort(highs, axis=1)[:, -2:-1],  # the top class's rival is the runner-up
        highs[units, top_high][:, None],
    )
    gaps = lows.astype(np.float64) - highest_elsewhere
    localist_class = np.argmax(gaps, axis=1)
    localist_gap = gaps[units, localist_class]
    return {
        "localist": localist_gap > 0,
        "localist_class": localist_class,
        "localist_gap": localist_gap,
        "ccmas": ccmas(first),
        "ccmas_class": first,
        "ccmas_2": ccmas(second),
        "ccmas_2_class": second,
        "ccmas_classmean": _contrast(mu_first, mu_other_means),
    }


def _two_largest(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column of the largest and second-largest value in each row (ties: lower column)."""
    first = np.argmax(values, axis=1)
    rest = values.astype(np.float64, copy=True)
    rest[np.arange(values.shape[0]), first] = -np.inf
    return first, np.argmax(rest, axis=1)


def _contrast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), NaN where a + b == 0 (a dead unit)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a + b == 0, np.nan, (a - b) / (a + b))


def _top_precision(ranked_labels: np.ndarray, n_classes: int, n: int) -> dict:
    """Largest share of one class among each unit's top `n` images, and that class."""
    n_units = ranked_labels.shape[0]
    keyed = ranked_labels + n_classes * np.arange(n_units)[:, None]
    counts = np.bincount(keyed.ravel(), minlength=n_units * n_classes)
    counts = counts.reshape(n_units, n_classes)
    best = counts.max(axis=1)
    # Class ties: the class whose best-ranked member ranks higher, i.e. the first
    # ranked image whose class reaches the best count.
    reaches_best = np.take_along_axis(counts, ranked_labels, axis=1) == best[:, None]
    winner = ranked_labels[np.arange(n_units), np.argmax(reaches_best, axis=1)]
    return {
        f"precision_{n}": best / n,
        f"precision_{n}_class": winner,
        f"n_classes_top{n}": (counts > 0).sum(axis=1),
    }


def _recall_at_precision(ranking: Ranking, classes: ClassIndex) -> dict:
    """Recall at perfect and at .95 precision for each unit's `top_class`."""
    labels = ranking.labels
    top = labels[:, :1]
    n_top = classes.counts[top[:, 0]]
    # Perfect precision: the top class's images strictly above the best other image (all
    # images above it are of the top class, since it is the first other one in the ranking).
    first_other = np.argmax(labels != top, axis=1)
    best_other = ranking.values[np.arange(labels.shape[0]), first_other]
    recall_p100 = (ranking.values > best_other[:, None]).sum(axis=1) / n_top
    # .95 precision: the best recall over thresholds (run ends) whose precision reaches it.
    hits = np.cumsum(labels == top, axis=1, dtype=np.int32)
    enough = PRECISION_FLOOR_DEN * hits >= PRECISION_FLOOR_NUM * ranking.n_at_or_above
    recall_p95 = np.where(ranking.ends_run & enough, hits, 0).max(axis=1) / n_top
    return {"recall_p100": recall_p100, "recall_p95": recall_p95}


def _max_informedness(ranking: Ranking, classes: ClassIndex) -> dict:
    """Largest informedness over every class and threshold, with its class and threshold.

    For the image at each rank, `hits` counts its own class's members ranked at or above
    it. At the last member of a class within a run, (hits, n_at_or_above - hits) are that
    class's true and false positives at the run's threshold; at earlier members of the
    same class and run they give a strictly smaller value, so the maximum is unaffected.
    """
    labels = ranking.labels
    hits = _occurrence(labels, classes)
    n_class = classes.counts.astype(np.float64)
    n_other = classes.labels.size - n_class
    # informedness = hits / n_class - (n_at_or_above - hits) / n_other, without divisions
    per_hit, per_image = (1 / n_class + 1 / n_other)[labels], (1 / n_other)[labels]
    informedness = hits * per_hit - ranking.n_at_or_above * per_image
    at = _best_position(informedness, ranking.values, labels)

    def pick(a: np.ndarray) -> np.ndarray:
        return a[np.arange(a.shape[0]), at]

    tp, c = pick(hits), pick(labels)
    fp = pick(ranking.n_at_or_above) - tp
    return {
        "max_informedness": pick(informedness),
        "mi_class": c,
        "mi_threshold": pick(ranking.values),
        "mi_recall": tp / n_class[c],
        "mi_specificity": 1 - fp / n_other[c],
        "mi_false_alarm": fp / (tp + fp),
        "mi_fpr": fp / n_other[c],
    }


def _best_position(score: np.ndarray, values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rank of each row's best score; ties: the higher threshold, then the lower class.
    Near-ties are few, so the tie-break looks only at them."""
    rows, cols = np.nonzero(score >= score.max(axis=1, keepdims=True) - _TIE_TOLERANCE)
    first = np.lexsort((labels[rows, cols], -values[rows, cols], rows))
    is_first = np.ones(first.size, dtype=bool)
    is_first[1:] = rows[first[1:]] != rows[first[:-1]]
    return cols[first[is_first]]


def _occurrence(ranked_labels: np.ndarray, classes: ClassIndex) -> np.ndarray:
    """For each rank, how many images of the same class rank at or above it (1-based).

    A stable sort of the ranked labels groups each class with its members still in rank
    order; the class sizes are the same for every unit, so the position inside each group
    is `classes.occurrence_in_grouped`, scattered back to rank order.
    """
    grouped = np.argsort(ranked_labels.astype(classes.sort_dtype), axis=1, kind="stable")
    out = np.empty(grouped.size, dtype=np.int32)
    values = np.broadcast_to(classes.occurrence_in_grouped, grouped.shape)
    out[(grouped + _row_offsets(grouped.shape)).ravel()] = values.ravel()
    return out.reshape(grouped.shape)


# ---------------------------------------------------------------------------------------
# Input checks: each names the problem and the fix.


class MeasureInputError(ValueError):
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
    return int(shape[0]), int(shape[1])


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
    limit = n_classes if n_classes is not None else np.iinfo(np.intp).max
    bad = (y < 0) | (y >= limit)
    if bad.any():
        raise MeasureInputError(
            f"labels must lie in 0..{limit - 1}; {int(bad.sum())} do not (e.g. "
            f"{y[bad][0]} at image {int(np.argmax(bad))}): fix the labels or n_classes"
        )
    return y.astype(np.intp, copy=False)


def _check_classes(counts: np.ndarray) -> None:
    if counts.size < 2:
        raise MeasureInputError(
            "selectivity needs at least 2 classes; the labels hold 1: "
            "add images of other classes"
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
    finite = np.isfinite(block)
    if not finite.all():
        units = first_unit + np.flatnonzero(~finite.all(axis=0))
        raise MeasureInputError(
            f"activations hold NaN or infinite values in {units.size} unit(s), first "
            f"unit {units[0]}: recompute or drop those units (e.g. --units to skip them)"
        )
