"""The numpy kernel: every measure for one block of units (see the package docstring for
the design: one sort per unit, runs of equal values, a radix sort of the ranked labels)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compendium.measures._spec import (
    PRECISION_FLOOR_DEN,
    PRECISION_FLOOR_NUM,
    TIE_TOLERANCE,
    ClassIndex,
)


def block_measures(xt: np.ndarray, classes: ClassIndex, top: Sequence[int]) -> dict:
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
    rows, cols = np.nonzero(score >= score.max(axis=1, keepdims=True) - TIE_TOLERANCE)
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
