"""TEMPORARY home of the kernel's split (to move into _numpy.py once it is free)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compendium.measures._numpy import (
    BestThresholds,
    Plan,
    Ranked,
    Ranking,
    _top_precision,
    _two_largest,
    _values,
    contrast,
    recall_at_precision,
)
from compendium.measures._spec import TIE_TOLERANCE


@dataclass(frozen=True)
class UnitRanking:
    """One unit ranked, without its labels: what every label set of the unit shares."""

    row: np.ndarray  #: (n_images,) the unit's activations
    ranked: Ranked  #: the images above the lowest value, in rank order
    values: np.ndarray  #: (C,) float64 their values (-0.0 read as 0.0)
    low: float  #: the lowest value, as float64
    run: np.ndarray  #: (C,) number of each rank's run of equal values
    head: Ranking  #: (1, head width) the first ranks (labels unused)
    head_images: np.ndarray  #: (head width,) the image at each of the first ranks


def rank_unit(row: np.ndarray, plan: Plan) -> UnitRanking:
    """Rank one unit (a row of the transposed block) once, for any labels."""
    blank = np.zeros(row.size, dtype=np.uint8)
    ranked = Ranked.of(row, blank, plan.count)
    width = plan.head_width
    head = Ranking.empty(1, width, row.dtype, np.uint8)
    ranked.fill(head, 0, row, blank)
    n = min(ranked.image.size, width)
    images = ranked.image[:n]
    if n < width:
        images = np.concatenate([images, np.flatnonzero(row <= ranked.low)[: width - n]])
    low = float(_values(row, np.array([np.argmin(row)]))[0])
    run = np.concatenate([[0], np.cumsum(~ranked.ties)]) if ranked.image.size else np.zeros(0, int)
    values = _values(row, ranked.image).astype(np.float64)
    return UnitRanking(row, ranked, values, low, run, head, images)


def rows_measures(
    ranking: UnitRanking, label_rows: np.ndarray, plan: Plan, top: Sequence[int]
) -> dict[str, np.ndarray]:
    """Every measure of one ranked unit for each label set (row) of `label_rows`
    (label sets, n_images): one value per label set, as `block_measures` gives for one
    label set."""
    classes = plan.classes
    n_rows, width = label_rows.shape[0], plan.head_width
    head_labels = np.take(label_rows, ranking.head_images, axis=1)
    out: dict[str, np.ndarray] = {"top_class": head_labels[:, 0].astype(np.int64)}
    for n in top:
        out.update(_top_precision(head_labels[:, :n], classes.n, n))
    head = Ranking(
        np.broadcast_to(ranking.head.values[0], (n_rows, width)),
        head_labels,
        np.broadcast_to(ranking.head.n_at_or_above[0], (n_rows, width)),
        np.broadcast_to(ranking.head.ends_run[0], (n_rows, width)),
    )
    out.update(recall_at_precision(head, head_labels[:, :1], classes.counts[head_labels[:, 0]]))
    groups = _RowGroups.of(ranking, label_rows, plan)
    out.update(groups.best(ranking, plan).measures(classes))
    out.update(groups.class_statistics(ranking, plan))
    return out


@dataclass(frozen=True)
class _RowGroups:
    """For each label set, the unit's ranked images grouped by class (each class in rank
    order), flattened over label sets: position j of row r is entry r * C + j."""

    ranks: np.ndarray  #: (rows, C) rank at each grouped position
    labels: np.ndarray  #: (rows * C,) class at each grouped position
    starts: np.ndarray  #: (rows * n,) first flat position of each (row, class)
    sizes: np.ndarray  #: (rows, n) ranked images of each class
    hits: np.ndarray  #: (rows * C,) 1-based place in its class's group
    score: np.ndarray  #: (rows, C) informedness at each grouped position

    @classmethod
    def of(cls, ranking: UnitRanking, label_rows: np.ndarray, plan: Plan) -> _RowGroups:
        n, n_rows = plan.classes.n, label_rows.shape[0]
        size = ranking.ranked.image.size
        ranked = np.take(label_rows, ranking.ranked.image, axis=1)
        ranks = np.argsort(ranked, axis=1, kind="stable")  # radix: one pass for uint8
        ranked.sort(axis=1, kind="stable")  # the labels at the grouped positions
        key = np.add(ranked, (n * np.arange(n_rows, dtype=np.int32))[:, None], dtype=np.int32)
        labels = ranked.ravel()
        bounds = np.searchsorted(key.ravel(), np.arange(n_rows * n + 1, dtype=np.int32))
        del key
        starts, sizes = bounds[:-1], np.diff(bounds)
        hits = np.arange(1, n_rows * size + 1, dtype=np.int64)
        hits -= np.repeat(starts, sizes)
        score = np.repeat(np.tile(plan.per_hit, n_rows), sizes)
        score *= hits
        gone = np.repeat(np.tile(plan.per_image, n_rows), sizes)
        gone *= np.take(ranking.ranked.n_at_or_above, ranks).ravel()
        score -= gone
        del gone
        return cls(ranks, labels, starts, sizes.reshape(n_rows, n), hits, score.reshape(n_rows, size))

    def best(self, ranking: UnitRanking, plan: Plan) -> BestThresholds:
        """The best threshold of each row, as `BestThresholds.fill` finds it for one."""
        classes = plan.classes
        n_rows, size = self.ranks.shape
        rows = np.arange(n_rows)
        in_last_run = classes.counts > self.sizes
        last = np.where(in_last_run, plan.last_run_score, -np.inf)
        best_ranked = self.score.max(axis=1, initial=-np.inf)
        best = np.maximum(best_ranked, last.max(axis=1))
        floor = (best - TIE_TOLERANCE)[:, None]
        low_class = np.argmax(last >= floor, axis=1)  # the lowest such class
        if size == 0:
            return _at_last_run(last, low_class, ranking, classes)
        at = np.argmax(self.score, axis=1)
        near = self.score >= floor
        ties = np.flatnonzero(near.sum(axis=1) > 1)
        if ties.size:  # the higher threshold (an earlier run), then the lower class
            labels = self.labels.reshape(n_rows, size)[ties]
            order = ranking.run[self.ranks[ties]] * (classes.n + 1) + labels
            at[ties] = np.argmin(np.where(near[ties], order, np.iinfo(np.int64).max), axis=1)
        ranked = near[rows, at]
        rank, flat = self.ranks[rows, at], rows * size + at
        fallback = _at_last_run(last, low_class, ranking, classes)
        return BestThresholds(
            np.where(ranked, self.score[rows, at], fallback.score),
            np.where(ranked, self.labels[flat], fallback.label),
            np.where(ranked, ranking.values[rank], fallback.threshold).astype(ranking.row.dtype),
            np.where(ranked, self.hits[flat], fallback.hits),
            np.where(ranked, ranking.ranked.n_at_or_above[rank], fallback.n_at_or_above),
        )

    def class_statistics(self, ranking: UnitRanking, plan: Plan) -> dict[str, np.ndarray]:
        """`_class_statistics` of each row, from the ranking: a class's images outside
        the ranking all hold the unit's lowest value."""
        classes = plan.classes
        n_rows, size = self.ranks.shape
        low = ranking.low
        grouped = np.empty(n_rows * size + 1)
        np.take(ranking.values, self.ranks, out=grouped[:-1].reshape(n_rows, size))
        grouped[-1] = 0.0
        sizes = self.sizes.ravel()
        n = classes.n
        sums = np.where(sizes > 0, np.add.reduceat(grouped, self.starts), 0.0).reshape(n_rows, n)
        outside = classes.counts - self.sizes
        sums += outside * low
        last = np.maximum(self.starts + sizes - 1, 0)
        highs = np.where(self.sizes > 0, grouped[self.starts].reshape(n_rows, n), low)
        lows = np.where(outside > 0, low, grouped[last].reshape(n_rows, n))
        return class_measures_from(sums, lows, highs, classes.counts, ranking.row.size)


def _at_last_run(last, low_class, ranking: UnitRanking, classes) -> BestThresholds:
    n_rows = last.shape[0]
    return BestThresholds(
        last[np.arange(n_rows), low_class],
        low_class,
        np.full(n_rows, ranking.low, dtype=ranking.row.dtype),
        classes.counts[low_class],
        np.full(n_rows, ranking.row.size),
    )


def class_measures_from(
    sums: np.ndarray, lows: np.ndarray, highs: np.ndarray, counts: np.ndarray, n_images: int
) -> dict[str, np.ndarray]:
    """CCMAS, its variants and localist selectivity from each row's class sums, minima and
    maxima (rows, classes)."""
    n = counts.size
    means = sums / counts
    rows = np.arange(sums.shape[0])
    first, second = _two_largest(means)
    total = sums.sum(axis=1)

    def ccmas(a: np.ndarray) -> np.ndarray:
        return contrast(means[rows, a], (total - sums[rows, a]) / (n_images - counts[a]))

    mu_first = means[rows, first]
    mu_other_means = (means.sum(axis=1) - mu_first) / (n - 1)
    top_high, _ = _two_largest(highs)
    highest_elsewhere = np.where(
        np.arange(n) == top_high[:, None],
        np.sort(highs, axis=1)[:, -2:-1],
        highs[rows, top_high][:, None],
    )
    gaps = lows.astype(np.float64) - highest_elsewhere
    localist_class = np.argmax(gaps, axis=1)
    localist_gap = gaps[rows, localist_class]
    return {
        "localist": localist_gap > 0,
        "localist_class": localist_class,
        "localist_gap": localist_gap,
        "ccmas": ccmas(first),
        "ccmas_class": first,
        "ccmas_2": ccmas(second),
        "ccmas_2_class": second,
        "ccmas_classmean": contrast(mu_first, mu_other_means),
    }
