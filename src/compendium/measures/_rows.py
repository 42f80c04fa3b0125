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
from compendium.measures._spec import (
    PRECISION_FLOOR_DEN,
    PRECISION_FLOOR_NUM,
    TIE_TOLERANCE,
)


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
    n_rows = label_rows.shape[0]
    head_labels = _head_labels(ranking, label_rows, classes.counts, max(top))
    width = head_labels.shape[1]
    out: dict[str, np.ndarray] = {"top_class": head_labels[:, 0].astype(np.int64)}
    for n in top:
        out.update(_top_precision(head_labels[:, :n], classes.n, n))
    head = Ranking(
        np.broadcast_to(ranking.head.values[0, :width], (n_rows, width)),
        head_labels,
        np.broadcast_to(ranking.head.n_at_or_above[0, :width], (n_rows, width)),
        np.broadcast_to(ranking.head.ends_run[0, :width], (n_rows, width)),
    )
    out.update(recall_at_precision(head, head_labels[:, :1], classes.counts[head_labels[:, 0]]))
    groups = _RowGroups.of(ranking, label_rows, plan)
    out.update(groups.best(ranking, plan).measures(classes))
    out.update(groups.detector(ranking, plan))
    out.update(groups.class_statistics(ranking, plan))
    return out


#: Ranks of the head read first; enough for shuffled labels (see `_head_labels`).
HEAD_PROBE = 256


def _head_labels(
    ranking: UnitRanking, label_rows: np.ndarray, counts: np.ndarray, largest_top: int
) -> np.ndarray:
    """The labels of the first ranks that top-N precision and the recall measures need,
    for each label set: the kernel's whole head, or fewer ranks where that is provably the
    same. Precision can reach .95 only while the misses (images outside the top class) are
    at most 1/19 of the class's size, since hits >= 19 x misses is needed and hits cannot
    pass the class's size; once every row is past that rank, later ranks change nothing
    (and the first image outside the top class, which recall at perfect precision needs,
    lies before it). On shuffled labels that comes within a few dozen ranks."""
    width = ranking.head_images.size
    probe = min(width, max(largest_top, HEAD_PROBE))
    first = np.take(label_rows, ranking.head_images[:probe], axis=1)
    misses = np.cumsum(first != first[:, :1], axis=1, dtype=np.int32)
    allowed = (PRECISION_FLOOR_DEN - PRECISION_FLOOR_NUM) * counts[first[:, 0]][:, None]
    past = PRECISION_FLOOR_NUM * misses > allowed
    if probe == width or not past[:, -1].all():
        return first if probe == width else np.take(label_rows, ranking.head_images, axis=1)
    return first[:, : max(largest_top, int(np.argmax(past, axis=1).max()) + 1)]


@dataclass(frozen=True)
class _RowGroups:
    """For each label set, the unit's ranked images grouped by class (each class in rank
    order), flattened over label sets: position j of row r is entry r * C + j.

    The best threshold of a class is found with integers: for class c (n_c images, n_o
    others) at a position with `hits` of its members and `n_above` images at or above,
    informedness times n_c * n_o is ``hits * N - n_above * n_c``; within a class, two
    positions whose informedness differs at all differ by at least 1 / (n_c * n_o), far
    beyond the kernel's tie tolerance, so the integer orders them as the kernel's floats
    do. Each (row, class) best is then one ``maximum.reduceat`` of a key that also prefers
    the earlier rank (`_best_in_groups`), and only those few candidates get the kernel's
    float informedness."""

    ranks: np.ndarray  #: (rows, C) rank at each grouped position
    labels: np.ndarray  #: (rows * C,) class at each grouped position
    starts: np.ndarray  #: (rows * n,) first flat position of each (row, class)
    sizes: np.ndarray  #: (rows, n) ranked images of each class
    hits: np.ndarray  #: (rows * C,) 1-based place in its class's group
    n_above: np.ndarray  #: (rows * C,) images at or above each grouped position's rank

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
        return cls(ranks, ranked.ravel(), starts, sizes.reshape(n_rows, n), hits, n_above)

    def best(self, ranking: UnitRanking, plan: Plan) -> BestThresholds:
        """The best threshold of each row, as `BestThresholds.fill` finds it for one."""
        classes = plan.classes
        counts, n = classes.counts, classes.n
        n_rows, size = self.ranks.shape
        rows = np.arange(n_rows)
        n_images = ranking.row.size
        key = np.repeat(np.tile(counts, n_rows), self.sizes.ravel())  # n_c at each position
        key *= -self.n_above
        key += self.hits * n_images  # informedness * n_c * n_o
        hits, at = _best_in_groups(key, self.hits, self.starts, self.starts, self.sizes, n_images)
        present = self.sizes > 0
        above = self.n_above[at] if size else np.zeros_like(at)
        labels = np.broadcast_to(np.arange(n), (n_rows, n))
        # the kernel's float informedness of each class's candidate
        score = np.where(present, hits * plan.per_hit[labels] - above * plan.per_image, -np.inf)
        last = np.where(counts > self.sizes, plan.last_run_score, -np.inf)
        best = np.maximum(score.max(axis=1), last.max(axis=1))
        floor = (best - TIE_TOLERANCE)[:, None]
        near = score >= floor
        # the higher threshold (an earlier run), then the lower class
        run = ranking.run[self.ranks.ravel()[at]] if size else np.zeros_like(at)
        order = np.where(near, run * (n + 1) + labels, np.iinfo(np.int64).max)
        c = np.argmin(order, axis=1)
        ranked = near[rows, c]
        fallback = _at_last_run(last, np.argmax(last >= floor, axis=1), ranking, classes)
        rank = self.ranks.ravel()[at[rows, c]] if size else np.zeros(n_rows, np.intp)
        return BestThresholds(
            np.where(ranked, score[rows, c], fallback.score),
            np.where(ranked, c, fallback.label),
            np.where(ranked, ranking.values[rank] if size else 0, fallback.threshold).astype(
                ranking.row.dtype
            ),
            np.where(ranked, hits[rows, c], fallback.hits),
            np.where(ranked, above[rows, c], fallback.n_at_or_above),
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
        margin = 2 * self.hits - self.n_above  # TP - FP = TP - (above - TP)
        first = self.starts + np.tile(counts // 2, n_rows)  # the first with 2 * TP > n_class
        hits, position = _best_in_groups(
            margin, self.hits, first, self.starts, self.sizes, ranking.row.size
        )
        eligible = (self.sizes > counts // 2).reshape(n_rows, n)
        ranked_best = np.where(
            eligible, 2 * hits - self.n_above[position] if total else 0, NO_MARGIN
        )
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


def _best_in_groups(
    value: np.ndarray,
    hits: np.ndarray,
    first: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
    n_images: int,
) -> tuple[np.ndarray, np.ndarray]:
    """For each (row, class) group, the position from `first` to the group's end with the
    largest integer `value`, ties to the earlier one (fewer `hits`: a higher threshold):
    its hits and its flat position, each (rows, classes). Groups with no such position get
    hits 1 and position 0 (the caller masks them)."""
    scale = n_images + 1  # more than any number of hits
    total = value.size
    key = np.empty(total + 1, dtype=np.int64)
    np.multiply(value, scale, out=key[:-1])
    key[:-1] -= hits
    key[-1] = 0
    end = starts + sizes.ravel()
    bounds = np.empty(2 * first.size, dtype=np.intp)
    bounds[0::2], bounds[1::2] = np.minimum(first, total), end
    best_key = np.maximum.reduceat(key, bounds)[0::2]
    found = first < end
    best_hits = np.where(found, -best_key % scale, 1)
    position = np.where(found, starts + best_hits - 1, 0)
    return best_hits.reshape(sizes.shape), position.reshape(sizes.shape)


def _at_last_run(last, low_class, ranking: UnitRanking, classes) -> BestThresholds:
    n_rows = last.shape[0]
    return BestThresholds(
        last[np.arange(n_rows), low_class],
        low_class,
        np.full(n_rows, ranking.low, dtype=ranking.row.dtype),
        classes.counts[low_class],
        np.full(n_rows, ranking.row.size),
    )
