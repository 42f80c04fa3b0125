"""The numpy kernel read with many label sets at once: what the permutation null
(`compendium.measures.null`) needs, the kernel split in two.

* **Rank** (`rank_unit`): one unit's images in descending order, ties by index, cut into
  runs of equal values, with its first ranks; the kernel's own ranking (`_numpy.Ranked`), no
  labels involved.
* **Measure** (`rows_measures`): every column of `unit_measures` for that ranking and each
  of R label sets (rows) at once, as (R,) arrays. The steps that need labels are those of
  `_numpy.block_measures`, on 2-D arrays with a row per label set: the first ranks' labels
  give top-N precision and the recall measures (`_numpy._top_precision`,
  `_numpy.recall_at_precision`); one stable radix sort of the ranked labels per row groups
  the classes, and the informedness and detector candidates come off it as in
  `_numpy._ClassGroups`; the class sums, minima and maxima come off the same grouping (the
  images outside the ranking all hold the unit's lowest value) and go to
  `_numpy.class_statistics_from`.

With the real labels as the only row this gives the table of `unit_measures` (the tests
check it); with shuffled labels, the table `unit_measures` gives on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compendium.measures._numpy import (
    NO_MARGIN,
    BestThresholds,
    Plan,
    Ranked,
    Ranking,
    _top_precision,
    _values,
    class_statistics_from,
    detector_measures,
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
    out.update(groups.detector(ranking, plan))
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
    n_above: np.ndarray  #: (rows * C,) images at or above each grouped position's rank
    score: np.ndarray  #: (rows, C) informedness at each grouped position

    @classmethod
    def of(cls, ranking: UnitRanking, label_rows: np.ndarray, plan: Plan) -> _RowGroups:
        n, n_rows = plan.classes.n, label_rows.shape[0]
        size = ranking.ranked.image.size
        ranked = np.take(label_rows, ranking.ranked.image, axis=1)
        ranks = np.argsort(ranked, axis=1, kind="stable")  # radix: one pass for uint8
        ranked.sort(axis=1, kind="stable")  # the labels at the grouped positions
        group = np.add(ranked, (n * np.arange(n_rows, dtype=np.int32))[:, None], dtype=np.int32)
        group = group.ravel()  # (row, class) of each position: ascending
        bounds = np.searchsorted(group, np.arange(n_rows * n + 1, dtype=np.int32))
        starts, sizes = bounds[:-1], np.diff(bounds)
        hits = np.arange(1, n_rows * size + 1, dtype=np.int64)
        hits -= np.repeat(starts, sizes)
        n_above = np.take(ranking.ranked.n_at_or_above, ranks).ravel()
        score = np.repeat(np.tile(plan.per_hit, n_rows), sizes)
        score *= hits
        score -= n_above * np.repeat(np.tile(plan.per_image, n_rows), sizes)
        return cls(
            ranks,
            ranked.ravel(),
            starts,
            sizes.reshape(n_rows, n),
            hits,
            n_above,
            score.reshape(n_rows, size),
        )

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
            np.where(ranked, self.n_above[flat], fallback.n_at_or_above),
        )

    def detector(self, ranking: UnitRanking, plan: Plan) -> dict[str, np.ndarray]:
        """The `detector` columns of each row, as `BestDetector.fill` finds them for one.

        A class's members with more hits than misses are the last ``size - counts // 2`` of
        its group; one integer per position orders them by hits minus false alarms, then
        by fewer hits (an earlier rank: the higher threshold), so one ``maximum.reduceat``
        over those parts of the groups finds each (row, class)'s best threshold."""
        counts, n = plan.classes.counts, plan.classes.n
        n_rows, size = self.ranks.shape
        total, rows = n_rows * size, np.arange(n_rows)
        scale = ranking.row.size + 1  # more than any number of hits
        # (TP - FP) * scale - TP, with TP - FP = TP - (above - TP)
        key = np.empty(total + 1, dtype=np.int64)
        np.multiply(self.hits, 2 * scale - 1, out=key[:-1])
        key[:-1] -= self.n_above * np.int64(scale)
        key[-1] = 0
        first = self.starts + np.tile(counts // 2, n_rows)  # the first with 2 * TP > n_class
        end = self.starts + self.sizes.ravel()
        eligible = first < end
        bounds = np.empty(2 * first.size, dtype=np.intp)
        bounds[0::2], bounds[1::2] = np.minimum(first, total), end
        best_key = np.maximum.reduceat(key, bounds)[0::2]
        hits = np.where(eligible, -best_key % scale, 1)
        ranked_best = np.where(eligible, (best_key + hits) // scale, NO_MARGIN).reshape(n_rows, n)
        position = np.where(eligible, self.starts + hits - 1, 0).reshape(n_rows, n)
        last = np.where(counts > self.sizes, 2 * counts - ranking.row.size, NO_MARGIN)
        c = np.argmax(np.maximum(ranked_best, last), axis=1)  # ties: the lower class
        from_ranked = ranked_best[rows, c] >= last[rows, c]
        at = position[rows, c]
        tp = np.where(from_ranked, self.hits[at] if total else 0, counts[c])
        above = np.where(from_ranked, self.n_above[at] if total else 0, ranking.row.size)
        best = np.where(from_ranked, ranked_best[rows, c], last[rows, c])
        return detector_measures(best, c, tp, above, plan.classes)

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
        return class_statistics_from(sums, lows, highs, classes.counts, ranking.row.size)


def _at_last_run(last, low_class, ranking: UnitRanking, classes) -> BestThresholds:
    n_rows = last.shape[0]
    return BestThresholds(
        last[np.arange(n_rows), low_class],
        low_class,
        np.full(n_rows, ranking.low, dtype=ranking.row.dtype),
        classes.counts[low_class],
        np.full(n_rows, ranking.row.size),
    )
