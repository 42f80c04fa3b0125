"""The numpy kernel: every measure for one block of units (see the package docstring for
the design: one sort per unit, runs of equal values, the ranked labels grouped by class).

Each unit is ranked on its own, so that its row stays in the processor's cache while
every step runs over it, and only the images **above the unit's lowest value** are sorted.
The others form the last run of the ranking: its order is known without a sort (ties go by
image index) and its part in every measure is known in closed form. After a ReLU that run
holds the zeros, most of a layer. Per unit the kernel then keeps

* the first `Plan.head_width` ranks of the whole ranking (a `Ranking` of that width): they
  hold everything that top-N precision and recall at perfect and at .95 precision depend
  on;
* the best threshold for informedness (`BestThresholds`), found over the sorted images in
  one pass in class-grouped order and over the last run with one candidate per class that
  has images there.

`Ranking.of` gives whole rankings, from the same per-unit ranking (`Ranked`); the
functions below it that work on whole rankings (`occurrence`, `own_class_informedness`,
`best_position`, `recall_at_precision`) serve `compendium.measures.classes`.
"""

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
    plan = Plan.of(classes, xt.shape[1], top)
    head = Ranking.empty(xt.shape[0], plan.head_width, xt.dtype, classes.labels.dtype)
    best = BestThresholds.empty(xt.shape[0], xt.dtype)
    detector = BestDetector.empty(xt.shape[0])
    for u, row in enumerate(xt):
        ranked = Ranked.of(row, classes.labels, plan.count)
        ranked.fill(head, u, row, classes.labels)
        groups = _ClassGroups.of(ranked, plan)
        best.fill(u, ranked, row, plan, groups)
        detector.fill(u, ranked, groups, plan)
    top_class = head.labels[:, :1]
    out: dict[str, np.ndarray] = {"top_class": top_class[:, 0].copy()}
    out.update(_class_statistics(xt, classes))
    for n in top:
        out.update(_top_precision(head.labels[:, :n], classes.n, n))
    out.update(recall_at_precision(head, top_class, classes.counts[top_class[:, 0]]))
    out.update(best.measures(classes))
    out.update(detector.measures(classes))
    return out


def transposed(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`x` (images, units) as a C-contiguous (units, images) array, copied in slabs of
    rows small enough for the cache: several times faster than ``ascontiguousarray(x.T)``,
    which reads a whole column of the source for every row it writes. `out`: the array
    to copy into (a (units, images) array or a view of one); default a new one. No copy is
    made where ``x.T`` is already C-contiguous (the kernel only reads it)."""
    if out is None and x.T.flags.c_contiguous:
        return x.T
    out = np.empty(x.shape[::-1], x.dtype) if out is None else out
    rows = max(1, TRANSPOSE_VALUES // max(1, x.shape[1]))
    for first in range(0, x.shape[0], rows):
        out[:, first : first + rows] = x[first : first + rows].T
    return out


#: Values per slab of `transposed` (source and copy then fit a core's L2 cache).
TRANSPOSE_VALUES = 2**16


@dataclass(frozen=True)
class Plan:
    """What every unit of a block shares: the labels and the per-class constants."""

    classes: ClassIndex
    n_images: int
    head_width: int  #: ranks kept per unit for top-N precision and the recall measures
    count: np.ndarray  #: (n_images,) 1, 2, 3, ... as int32
    per_hit: np.ndarray  #: (n,) 1 / n_class + 1 / n_other
    per_image: np.ndarray  #: (n,) 1 / n_other
    last_run_score: np.ndarray  #: (n,) each class's informedness with every image above
    group_shift: int  #: bits of the rank in a (class, rank) key
    group_dtype: type  #: unsigned type that holds a (class, rank) key

    @classmethod
    def of(cls, classes: ClassIndex, n_images: int, top: Sequence[int]) -> Plan:
        n_class = classes.counts.astype(np.float64)
        n_other = n_images - n_class
        per_hit, per_image = 1 / n_class + 1 / n_other, 1 / n_other
        # The arithmetic of every other candidate: hits * per_hit - n_above * per_image.
        last_run_score = classes.counts * per_hit - n_images * per_image
        shift = max(1, (n_images - 1).bit_length())
        return cls(
            classes=classes,
            n_images=n_images,
            head_width=_head_width(classes.counts, n_images, top),
            count=np.arange(1, n_images + 1, dtype=np.int32),
            per_hit=per_hit,
            per_image=per_image,
            last_run_score=last_run_score,
            group_shift=shift,
            group_dtype=np.uint32 if classes.n < 2 ** (32 - shift) else np.uint64,
        )


def _head_width(counts: np.ndarray, n_images: int, top: Sequence[int]) -> int:
    """Ranks that hold every threshold with precision >= .95 and the first image outside
    the top class: at a rank beyond DEN / NUM * (the largest class's size) precision is
    below .95 whatever the class, and more ranks than any class has images must hold an
    image of another class."""
    reach = -(-PRECISION_FLOOR_DEN * int(counts.max()) // PRECISION_FLOOR_NUM) + 1
    return max(max(top), min(n_images, reach))


@dataclass(frozen=True)
class Ranking:
    """Each unit's images in descending activation, cut into runs of equal values: the
    whole ranking (`Ranking.of`) or its first ranks (the kernel's head)."""

    values: np.ndarray  #: (units, ranks) activations, descending
    labels: np.ndarray  #: (units, ranks) class of each ranked image
    n_at_or_above: np.ndarray  #: (units, ranks) images with activation >= this rank's
    ends_run: np.ndarray  #: (units, ranks) True at the last rank of each run

    @classmethod
    def of(cls, xt: np.ndarray, labels: np.ndarray) -> Ranking:
        """The whole ranking of each row of `xt` (units, images)."""
        ranking = cls.empty(*xt.shape, xt.dtype, labels.dtype)
        count = np.arange(1, xt.shape[1] + 1, dtype=np.int32)
        for u, row in enumerate(xt):
            Ranked.of(row, labels, count).fill(ranking, u, row, labels)
        return ranking

    @classmethod
    def empty(cls, n_units: int, width: int, value_dtype, label_dtype) -> Ranking:
        shape = (n_units, width)
        return cls(
            np.empty(shape, value_dtype),
            np.empty(shape, label_dtype),
            np.empty(shape, np.int32),
            np.zeros(shape, bool),
        )


@dataclass(frozen=True)
class Ranked:
    """One unit's images above its lowest value, by descending value (ties: by index)."""

    low: np.generic  #: the unit's lowest value: its last run holds every other image
    image: np.ndarray  #: (C,) image at each rank
    labels: np.ndarray  #: (C,) class at each rank
    keys: np.ndarray  #: (C,) ascending as values descend, equal when the values are
    ties: np.ndarray  #: (C - 1,) True where a rank's run goes on to the next rank
    n_at_or_above: np.ndarray  #: (C,) int32 images with a value >= this rank's

    @classmethod
    def of(cls, row: np.ndarray, labels: np.ndarray, count: np.ndarray) -> Ranked:
        """Rank `row`; `count` is 1, 2, ... (int32) for at least as many ranks."""
        low = row.min()
        above = np.flatnonzero(row > low)
        rank = _rank_float32 if row.dtype == np.float32 else _rank_any
        image, keys = rank(row, above, low)
        ties = keys[:-1] == keys[1:]
        n_at_or_above = _runs(ties, count[: image.size])
        return cls(low, image, labels[image], keys, ties, n_at_or_above)

    def fill(self, ranking: Ranking, u: int, row: np.ndarray, labels: np.ndarray) -> None:
        """Row `u` of `ranking`: this unit's first ranks, the last run's (in index order)
        after the ranked ones."""
        width, n = ranking.values.shape[1], min(self.image.size, ranking.values.shape[1])
        ranking.values[u, :n] = _values(row, self.image[:n])
        ranking.labels[u, :n] = self.labels[:n]
        ranking.n_at_or_above[u, :n] = self.n_at_or_above[:n]
        ranking.ends_run[u, : min(n, self.ties.size)] = ~self.ties[:n]
        if n and n == self.image.size:
            ranking.ends_run[u, n - 1] = True  # the last rank above the lowest value
        if n < width:
            rest = np.flatnonzero(row <= self.low)[: width - n]
            ranking.values[u, n:] = _values(row, rest)
            ranking.labels[u, n:] = labels[rest]
            ranking.n_at_or_above[u, n:] = row.size
            ranking.ends_run[u, n:] = False
            ranking.ends_run[u, row.size - 1 :] = True  # present if the width is the row's


def _rank_float32(row: np.ndarray, above: np.ndarray, low) -> tuple[np.ndarray, np.ndarray]:
    """Sort (value, image) packed in one int64 per image, which is several times faster
    than an argsort: the high word holds the value's bits, mapped to an int32 that sorts
    like the float and inverted so that larger values come first; the low word the image."""
    values = row[above]
    if low < 0:  # only then can -0.0 be above the lowest value
        values = values + np.float32(0)  # -0.0 -> 0.0
    keys = np.invert(_float_order_bits(values)).astype(np.int64)
    keys <<= 32
    keys |= above
    keys.sort()
    return keys & 0xFFFFFFFF, (keys >> 32).astype(np.int32)


def _rank_any(row: np.ndarray, above: np.ndarray, low) -> tuple[np.ndarray, np.ndarray]:
    """Other dtypes: a stable argsort of the negated values (ties stay in index order)."""
    keys = -row[above]
    order = np.argsort(keys, kind="stable")
    return above[order], keys[order]


def _float_order_bits(x: np.ndarray) -> np.ndarray:
    """float32 bits as int32 that sort like the floats (the map is its own inverse)."""
    bits = x.view(np.int32)
    return bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))


def _values(row: np.ndarray, images: np.ndarray) -> np.ndarray:
    """The ranking's values of `images`: float32 with -0.0 read as 0.0, as in the keys."""
    values = row[images]
    return values + np.float32(0) if row.dtype == np.float32 else values


def _runs(ties: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Images at or above each rank, i.e. the 1-based position of the last rank of its
    run, from `count` = 1, 2, ... for each rank; runs of more than one rank are few."""
    n_at_or_above = count.copy()
    inside = np.flatnonzero(ties)  # ranks whose run goes on
    if inside.size:
        breaks = np.flatnonzero(np.diff(inside) != 1)  # a run ends after these
        last = np.append(inside[breaks], inside[-1])
        sizes = np.diff(np.concatenate(([-1], breaks, [inside.size - 1])))
        n_at_or_above[inside] = np.repeat(last + 2, sizes)
    return n_at_or_above


@dataclass(frozen=True)
class BestThresholds:
    """For each unit, the class and threshold of the largest informedness and its counts."""

    score: np.ndarray  #: (units,) the informedness
    label: np.ndarray  #: (units,) its class
    threshold: np.ndarray  #: (units,) its threshold (a value of the unit)
    hits: np.ndarray  #: (units,) images of the class at or above the threshold
    n_at_or_above: np.ndarray  #: (units,) all images at or above the threshold

    @classmethod
    def empty(cls, n_units: int, dtype) -> BestThresholds:
        return cls(
            np.empty(n_units),
            np.empty(n_units, np.intp),
            np.empty(n_units, dtype),
            np.empty(n_units, np.int64),
            np.empty(n_units, np.int64),
        )

    def fill(
        self,
        u: int,
        ranked: Ranked,
        row: np.ndarray,
        plan: Plan,
        groups: _ClassGroups | None = None,
    ) -> None:
        """The best threshold of unit `u`, among (a) each rank above the lowest value with
        its image's class (true positives: that class's members ranked at or above it) and
        (b) the lowest value with each class that has images there. Ties: the higher
        threshold, then the lower class. `groups`: the unit's `_ClassGroups`, if made."""
        groups = _ClassGroups.of(ranked, plan) if groups is None else groups
        in_last_run = plan.classes.counts > groups.sizes
        last = np.where(in_last_run, plan.last_run_score, -np.inf)
        best = max(groups.score.max(initial=-np.inf), last.max())
        near = np.flatnonzero(groups.score >= best - TIE_TOLERANCE)
        if near.size:  # every rank above the lowest value has a higher threshold
            ranks = groups.order[near]
            first = np.lexsort((ranked.labels[ranks], ranked.keys[ranks]))[0]
            at, rank = near[first], ranks[first]
            self.score[u], self.label[u] = groups.score[at], ranked.labels[rank]
            self.threshold[u] = _values(row, ranked.image[rank : rank + 1])[0]
            self.hits[u], self.n_at_or_above[u] = groups.hits[at], ranked.n_at_or_above[rank]
            return
        c = int(np.argmax(last >= best - TIE_TOLERANCE))  # the lowest such class
        members = np.flatnonzero((row <= ranked.low) & (plan.classes.labels == c))
        self.score[u], self.label[u] = last[c], c
        self.threshold[u] = _values(row, members[-1:])[0]  # the class's last-ranked image
        self.hits[u], self.n_at_or_above[u] = plan.classes.counts[c], plan.n_images

    def measures(self, classes: ClassIndex) -> dict:
        n_class = classes.counts.astype(np.float64)
        n_other = classes.labels.size - n_class
        c, tp = self.label, self.hits
        fp = self.n_at_or_above - tp
        return {
            "max_informedness": self.score,
            "mi_class": c,
            "mi_threshold": self.threshold,
            "mi_recall": tp / n_class[c],
            "mi_specificity": 1 - fp / n_other[c],
            "mi_false_alarm": fp / (tp + fp),
            "mi_fpr": fp / n_other[c],
        }


#: Hits minus false alarms of a threshold with no more hits than misses: below any real one.
NO_MARGIN = np.iinfo(np.int64).min


@dataclass(frozen=True)
class BestDetector:
    """For each unit, the paper's reasonable reading of a detector (spec/beyond.md): among
    the thresholds with more hits than misses (recall > .5), the one with the largest hits
    minus false alarms (ties: the higher threshold), for the class where that is largest
    (ties: the lower class). The unit is a detector when it is positive there."""

    margin: np.ndarray  #: (units,) hits minus false alarms at that class and threshold
    label: np.ndarray  #: (units,) the class
    hits: np.ndarray  #: (units,) images of the class at or above the threshold
    n_at_or_above: np.ndarray  #: (units,) all images at or above the threshold

    @classmethod
    def empty(cls, n_units: int) -> BestDetector:
        return cls(*(np.empty(n_units, np.int64) for _ in range(4)))

    def fill(self, u: int, ranked: Ranked, groups: _ClassGroups, plan: Plan) -> None:
        """Unit `u`'s class and threshold, from the same candidates as `BestThresholds`:
        each class's members in rank order (the last of a run holds the run's counts, the
        earlier ones fewer hits for the same false alarms) and the lowest value, where every
        image is above and recall is 1."""
        counts = plan.classes.counts
        n_above = ranked.n_at_or_above[groups.order]
        margin = 2 * groups.hits.astype(np.int64) - n_above  # TP - FP = TP - (above - TP)
        margin[2 * groups.hits <= np.repeat(counts, groups.sizes)] = NO_MARGIN
        starts = np.cumsum(groups.sizes) - groups.sizes
        ranked_best = np.full(counts.size, NO_MARGIN)
        present = np.flatnonzero(groups.sizes)
        if present.size:
            ranked_best[present] = np.maximum.reduceat(margin, starts[present])
        last = np.where(counts > groups.sizes, 2 * counts - plan.n_images, NO_MARGIN)
        c = int(np.argmax(np.maximum(ranked_best, last)))  # ties: the lower class
        self.label[u] = c
        if ranked_best[c] >= last[c]:  # a rank above the lowest value: a higher threshold
            group = margin[starts[c] : starts[c] + groups.sizes[c]]
            at = starts[c] + int(np.argmax(group == ranked_best[c]))  # the first: highest
            self.margin[u], self.hits[u], self.n_at_or_above[u] = (
                margin[at],
                groups.hits[at],
                n_above[at],
            )
            return
        self.margin[u], self.hits[u], self.n_at_or_above[u] = last[c], counts[c], plan.n_images

    def measures(self, classes: ClassIndex) -> dict:
        return detector_measures(self.margin, self.label, self.hits, self.n_at_or_above, classes)


def detector_measures(
    margin: np.ndarray,
    label: np.ndarray,
    hits: np.ndarray,
    n_at_or_above: np.ndarray,
    classes: ClassIndex,
) -> dict:
    """The `detector` columns from each unit's chosen class and threshold counts."""
    return {
        "detector": margin > 0,
        "detector_class": label,
        "detector_recall": hits / classes.counts[label],
        "detector_false_alarm": (n_at_or_above - hits) / n_at_or_above,
    }


@dataclass(frozen=True)
class _ClassGroups:
    """One unit's ranks above its lowest value grouped by class, each group in rank
    order, with the informedness at each: true positives are the rank's place in its
    group (`hits`), false positives the other images at or above it. At the last member
    of a class in a run that is the class's informedness at the run's threshold; at its
    earlier members there it is smaller by at least 1 / n_class, so never a near-tie."""

    order: np.ndarray  #: (C,) rank at each grouped position
    sizes: np.ndarray  #: (n,) ranks of each class
    hits: np.ndarray  #: (C,) int32 1-based place in its class's group
    score: np.ndarray  #: (C,) informedness

    @classmethod
    def of(cls, ranked: Ranked, plan: Plan) -> _ClassGroups:
        dtype, shift = plan.group_dtype, plan.group_dtype(plan.group_shift)
        n_ranked = ranked.labels.size
        # Sorting (class << shift | rank) groups the classes and keeps each in rank order.
        keys = ranked.labels.astype(dtype) << shift
        keys |= np.arange(n_ranked, dtype=dtype)
        keys.sort()
        order = (keys & dtype((1 << plan.group_shift) - 1)).astype(np.intp)
        bounds = np.searchsorted(keys, np.arange(plan.classes.n + 1, dtype=dtype) << shift)
        sizes = bounds[1:] - bounds[:-1]
        hits = plan.count[:n_ranked] - np.repeat(bounds[:-1].astype(np.int32), sizes)
        score = hits * np.repeat(plan.per_hit, sizes)
        score -= ranked.n_at_or_above[order] * np.repeat(plan.per_image, sizes)
        return cls(order, sizes, hits, score)


def _class_statistics(xt: np.ndarray, classes: ClassIndex) -> dict:
    """CCMAS and its variants (class means) and localist selectivity (class extremes)."""
    grouped = xt if classes.by_class is None else xt[:, classes.by_class]
    sums = _class_sums(grouped, classes.starts)
    lows = np.minimum.reduceat(grouped, classes.starts, axis=1)
    highs = np.maximum.reduceat(grouped, classes.starts, axis=1)
    return class_statistics_from(sums, lows, highs, classes.counts, classes.labels.size)


def class_statistics_from(
    sums: np.ndarray, lows: np.ndarray, highs: np.ndarray, counts: np.ndarray, n_images: int
) -> dict:
    """The columns of `_class_statistics` from each row's class sums (float64), minima and
    maxima, (rows, classes): what the measures need of the classes, however the rows were
    grouped (here by class; `compendium.measures._rows` reads them off a ranking)."""
    means = sums / counts
    units = np.arange(sums.shape[0])
    first, second = _two_largest(means)

    def ccmas(a: np.ndarray) -> np.ndarray:
        mu_a = means[units, a]
        mu_rest = (sums.sum(axis=1) - sums[units, a]) / (n_images - counts[a])
        return contrast(mu_a, mu_rest)

    mu_first = means[units, first]
    mu_other_means = (means.sum(axis=1) - mu_first) / (counts.size - 1)
    top_high, _ = _two_largest(highs)
    highest_elsewhere = np.where(
        np.arange(counts.size) == top_high[:, None],
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
        "ccmas_classmean": contrast(mu_first, mu_other_means),
    }


def _class_sums(grouped: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each row's sum over each class in float64 (pairwise within a class), a row at a
    time: the same sums as a 2-D ``add.reduceat(..., axis=1)``, several times faster."""
    sums = np.empty((grouped.shape[0], starts.size))
    for u, row in enumerate(grouped):
        sums[u] = np.add.reduceat(row.astype(np.float64, copy=False), starts)
    return sums


def _two_largest(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column of the largest and second-largest value in each row (ties: lower column)."""
    first = np.argmax(values, axis=1)
    rest = values.astype(np.float64, copy=True)
    rest[np.arange(values.shape[0]), first] = -np.inf
    return first, np.argmax(rest, axis=1)


def contrast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
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


def recall_at_precision(ranking: Ranking, target: np.ndarray, n_target: np.ndarray) -> dict:
    """Recall at perfect and at .95 precision for class `target[u, 0]` of each unit `u`,
    which has `n_target[u]` images. A head of the ranking serves if it holds the first
    image outside the target class and every rank where precision can reach .95."""
    labels = ranking.labels
    # Perfect precision: the target's images strictly above the best other image (all
    # images above it are of the target class, since it is the first other one in the
    # ranking; none are when the top image is another class's).
    first_other = np.argmax(labels != target, axis=1)
    best_other = ranking.values[np.arange(labels.shape[0]), first_other]
    recall_p100 = (ranking.values > best_other[:, None]).sum(axis=1) / n_target
    # .95 precision: the best recall over thresholds (run ends) whose precision reaches it.
    hits = np.cumsum(labels == target, axis=1, dtype=np.int32)
    enough = PRECISION_FLOOR_DEN * hits >= PRECISION_FLOOR_NUM * ranking.n_at_or_above
    recall_p95 = np.where(ranking.ends_run & enough, hits, 0).max(axis=1) / n_target
    return {"recall_p100": recall_p100, "recall_p95": recall_p95}


# --- whole rankings: what compendium.measures.classes reads ------------------------------


def own_class_informedness(ranking: Ranking, classes: ClassIndex, hits: np.ndarray) -> np.ndarray:
    """At each rank, the informedness for the class of the image there, at the threshold of
    its run, given `hits` (`occurrence`): the class's members ranked at or above it."""
    n_class = classes.counts.astype(np.float64)
    n_other = classes.labels.size - n_class
    # informedness = hits / n_class - (n_at_or_above - hits) / n_other, without divisions
    labels = ranking.labels
    per_hit, per_image = (1 / n_class + 1 / n_other)[labels], (1 / n_other)[labels]
    return hits * per_hit - ranking.n_at_or_above * per_image


def best_position(score: np.ndarray, values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rank of each row's best score; ties: the higher threshold, then the lower class.
    Near-ties are few, so the tie-break looks only at them."""
    rows, cols = np.nonzero(score >= score.max(axis=1, keepdims=True) - TIE_TOLERANCE)
    first = np.lexsort((labels[rows, cols], -values[rows, cols], rows))
    is_first = np.ones(first.size, dtype=bool)
    is_first[1:] = rows[first[1:]] != rows[first[:-1]]
    return cols[first[is_first]]


def occurrence(ranked_labels: np.ndarray, classes: ClassIndex) -> np.ndarray:
    """For each rank, how many images of the same class rank at or above it (1-based).

    A stable sort of the ranked labels groups each class with its members still in rank
    order; the class sizes are the same for every unit, so the position inside each group
    is `classes.occurrence_in_grouped`, scattered back to rank order.
    """
    grouped = np.argsort(ranked_labels.astype(classes.sort_dtype), axis=1, kind="stable")
    out = np.empty(grouped.size, dtype=np.int32)
    values = np.broadcast_to(classes.occurrence_in_grouped, grouped.shape)
    offsets = (np.arange(grouped.shape[0], dtype=np.intp) * grouped.shape[1])[:, None]
    out[(grouped + offsets).ravel()] = values.ravel()
    return out.reshape(grouped.shape)
