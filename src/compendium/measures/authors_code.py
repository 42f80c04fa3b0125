"""The measures as the authors' public code computes them, beside the spec's.

The spec (``spec/measures.md``, section "What the authors' public code does differently")
lists eight ways in which the code published with Gale et al. (2020) departs from the
definitions the rest of this package implements. Each is re-implemented here from that
description, so that the book's Appendix A can show, on the same activations, how far each
one moves the numbers. Nothing is taken from the authors' repository; where the description
leaves a detail open, the function's docstring says which reading it takes.

The facts, and the function that reproduces each:

1. `recall_p100_first_rank`: recall at 100% precision read at the first rank, where the
   test "precision <= 1" already holds, so it is ``1/N_A`` or 0.
2. `recall_p95_first_drop`: recall at 95% precision read at the first rank where precision
   falls to .95 or below, never revised; 0.0 when it never falls.
3. `informedness_fp_over_n`: specificity as ``1 - FP/N`` (all images) in informedness.
4. `rank_threshold_measures`: every rank its own threshold, ties in an arbitrary order.
5. `scanned_class_measures`: the per-class statistics only for the first ten classes met
   scanning up from rank 100 (`scanned_classes`).
6. `ccmas_ways`: CCMAS with the pooled mean of the other images (the authors', the spec's)
   and with the mean of the other classes' means (Morcos et al.'s).
7. `spatial_summary`: a convolutional map summarised per image by its spatial maximum (the
   authors') or mean (Morcos et al.'s).
8. `localist_hardcoded`: localist selectivity over a hard-coded 1000 classes, keeping the
   last separable one.

Facts 1 to 5 change how measures are read off a unit's ranking, so they are switches of one
`Way` and `measure_ways` computes several ways at once, ranking each unit once per kind of
threshold. `authors_measures` applies 1 to 5 together; `Way()` is the spec, and
`measure_ways` with it gives the same numbers as `compendium.measures.unit_measures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from compendium.measures._numpy import best_position, contrast, occurrence
from compendium.measures._spec import (
    PRECISION_FLOOR_DEN,
    PRECISION_FLOOR_NUM,
    ClassIndex,
    MeasureInputError,
    _check_finite,
    _check_shape,
    _check_top,
)

__all__ = [
    "AUTHORS",
    "HARDCODED_CLASSES",
    "SCAN_CLASSES",
    "SCAN_FROM_RANK",
    "SPEC",
    "Way",
    "authors_measures",
    "ccmas_ways",
    "informedness_fp_over_n",
    "localist_hardcoded",
    "measure_ways",
    "rank_threshold_measures",
    "recall_p100_first_rank",
    "recall_p95_first_drop",
    "scanned_class_measures",
    "scanned_classes",
    "spatial_summary",
]

#: Fact 5: the scan for classes starts at this rank (1-based) and goes up to rank 1 ...
SCAN_FROM_RANK = 100
#: ... and keeps the first this many distinct classes it meets.
SCAN_CLASSES = 10
#: Fact 8: the number of classes the localist test loops over, whatever the data hold.
HARDCODED_CLASSES = 1000
#: (unit, image) entries ranked at once: bounds the working memory (about 60 bytes each).
BLOCK_ENTRIES = 2**21


class AuthorsCodeError(MeasureInputError):
    """A choice of the re-implemented code that does not exist (the message lists them)."""


@dataclass(frozen=True)
class Way:
    """How the ranked measures are read: each field is the spec's choice by default and
    can be switched to what the authors' code does (the fact of the spec in brackets).

    - ``recall_p100``: ``"best"`` (the largest recall where precision is 1) or
      ``"first_rank"`` (fact 1: the recall at rank 1, where precision <= 1 first holds).
    - ``recall_p95``: ``"best"`` (the largest recall where precision >= .95) or
      ``"first_drop"`` (fact 2: the recall where precision first falls to <= .95).
    - ``specificity``: ``"rest"`` (``1 - FP/N_notA``) or ``"all"`` (fact 3: ``1 - FP/N``).
    - ``thresholds``: ``"values"`` (one per distinct activation, ties ranked by image index)
      or ``"ranks"`` (fact 4: one per rank, ties ranked in an arbitrary, seeded order).
    - ``classes``: ``"all"`` (informedness over every class; precision over every class;
      the recalls for the top class) or ``"scanned"`` (fact 5: all three over the classes
      of `scanned_classes` only, each unit's value the best over them).
    """

    recall_p100: str = "best"
    recall_p95: str = "best"
    specificity: str = "rest"
    thresholds: str = "values"
    classes: str = "all"

    def __post_init__(self) -> None:
        for field in fields(self):
            allowed = _CHOICES[field.name]
            value = getattr(self, field.name)
            if value not in allowed:
                raise AuthorsCodeError(
                    f"Way({field.name}={value!r}) is not a choice: use one of {allowed}"
                )


_CHOICES = {
    "recall_p100": ("best", "first_rank"),
    "recall_p95": ("best", "first_drop"),
    "specificity": ("rest", "all"),
    "thresholds": ("values", "ranks"),
    "classes": ("all", "scanned"),
}

#: The spec's definitions.
SPEC = Way()
#: Facts 1 to 5 together: the ranked measures as the authors' code computes them.
AUTHORS = Way("first_rank", "first_drop", "all", "ranks", "scanned")


# --- one function per fact -------------------------------------------------------------------


def recall_p100_first_rank(x: Any, labels: Any, n_classes: int | None = None) -> pd.Series:
    """Fact 1: recall at 100% precision as the authors' code computes it.

    The code walks down the ranking and stops at the first rank whose precision passes the
    test ``precision <= 1``, which every rank passes, so it stops at rank 1 and returns the
    recall there: ``1/N_A`` when the top image is of the unit's class A (it always is for
    the top class) and 0 otherwise. Rank 1 is one image even when others tie with it (the
    code's ranks are positions in its sorted list). Compare `unit_measures`' ``recall_p100``.
    """
    return _one_way(x, labels, n_classes, Way(recall_p100="first_rank"))["recall_p100"]


def recall_p95_first_drop(x: Any, labels: Any, n_classes: int | None = None) -> pd.Series:
    """Fact 2: recall at 95% precision as the authors' code computes it.

    Walking down the ranking of the top class A, the code takes the recall at the first
    rank where precision has fallen to .95 or below and never looks further, although
    precision may climb back above .95 and recall grow. The walk ends with A's last image
    (recall 1): a unit whose precision stays above .95 that far never "drops" and scores
    0.0, where the spec's largest recall at precision >= .95 is 1.0. Thresholds are
    otherwise the spec's; the recall is the one just before the fall (see
    `_first_drop_hits`).
    """
    return _one_way(x, labels, n_classes, Way(recall_p95="first_drop"))["recall_p95"]


def informedness_fp_over_n(x: Any, labels: Any, n_classes: int | None = None) -> pd.DataFrame:
    """Fact 3: maximum informedness with the authors' specificity ``1 - FP/N``.

    FP is divided by every image (N) instead of the images outside the class (N_notA), so
    informedness is ``TP/N_A - FP/N``: false alarms cost less, most where classes are few.
    The best class and threshold are chosen with it; returns ``max_informedness``,
    ``mi_class``, ``mi_threshold``, ``mi_recall``, ``mi_specificity`` (``1 - FP/N``),
    ``mi_false_alarm`` (FP / (TP + FP)) and ``mi_fpr`` (FP/N) for each unit.
    """
    table = _one_way(x, labels, n_classes, Way(specificity="all"))
    return table[_INFORMEDNESS]


def rank_threshold_measures(
    x: Any,
    labels: Any,
    n_classes: int | None = None,
    *,
    seed: int = 0,
    top: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Fact 4: every rank its own threshold, tied activations in an arbitrary order.

    The code sorts each unit's activations and treats each position of the sorted list as a
    threshold, so images with the same activation (after a ReLU, the many exact zeros) are
    split between "above" and "below" by the sort's order, which says nothing about the
    unit. That order is modelled as a random permutation of the images (seeded by `seed`,
    the same for every unit). Every ranked measure is read with it: ``top_class``, top-N
    precision (of the top N for each N of `top`; default 60 and 100, or fewer images),
    both recalls and maximum informedness with its threshold's numbers.
    """
    return _one_way(x, labels, n_classes, Way(thresholds="ranks"), seed=seed, top=top)


def scanned_class_measures(
    x: Any, labels: Any, n_classes: int | None = None, *, top: Sequence[int] | None = None
) -> pd.DataFrame:
    """Fact 5: the per-class statistics for the classes the code scans, not for the top
    class or every class.

    For each unit the code collects the first `SCAN_CLASSES` distinct classes it meets
    walking up the ranking from rank `SCAN_FROM_RANK` to rank 1 (`scanned_classes`) and
    computes its per-class statistics for those only. This reading takes each unit's value
    as the best over them: top-N precision (the largest share of a scanned class),
    recall at 100% and at 95% precision, and maximum informedness. Where a unit's top 100
    holds more than ten classes, the most frequent class, or the top image's, can be left
    out. Also returns ``n_scanned_classes`` and ``top_class_scanned`` (whether the top
    image's class is among them). `top` as in `rank_threshold_measures`.
    """
    return _one_way(x, labels, n_classes, Way(classes="scanned"), top=top)


def ccmas_ways(x: Any, labels: Any, n_classes: int | None = None) -> pd.DataFrame:
    """Fact 6: CCMAS of the class with the highest mean, two ways.

    ``ccmas`` compares the class mean with the mean of every other image, pooled (the
    authors' code, the paper's text and the spec); ``ccmas_classmean`` with the mean of the
    other classes' means (Morcos et al., 2018). They differ when classes differ in size.
    NaN for a dead unit. Also returns ``ccmas_class``.
    """
    xt, classes = _prepared(x, labels, n_classes)
    sums = np.stack([np.bincount(classes.labels, weights=row, minlength=classes.n) for row in xt])
    means = sums / classes.counts
    best = np.argmax(means, axis=1)
    units = np.arange(xt.shape[0])
    mu_a = means[units, best]
    pooled = (sums.sum(axis=1) - sums[units, best]) / (classes.labels.size - classes.counts[best])
    class_mean = (means.sum(axis=1) - mu_a) / (classes.n - 1)
    return _frame(
        {
            "ccmas": contrast(mu_a, pooled),
            "ccmas_classmean": contrast(mu_a, class_mean),
            "ccmas_class": best,
        }
    )


def spatial_summary(maps: Any, how: str = "max") -> np.ndarray:
    """Fact 7: one number per image and convolutional unit from its (H, W) map.

    `maps` is (n_images, n_units, H, W), post-ReLU. ``how="max"`` takes the largest value
    over the positions (the authors' files, and this package's recordings); ``how="mean"``
    their mean (Morcos et al.). Returns (n_images, n_units) float32 (the recordings' type).
    """
    m = np.asarray(maps)
    if m.ndim != 4:
        raise AuthorsCodeError(
            f"maps must be (n_images, n_units, H, W); got shape {m.shape}: pass a "
            "convolutional layer's output before any summary"
        )
    if how == "max":
        return m.max(axis=(2, 3)).astype(np.float32)
    if how == "mean":
        return m.mean(axis=(2, 3), dtype=np.float64).astype(np.float32)
    raise AuthorsCodeError(f"how must be 'max' or 'mean', not {how!r}")


def localist_hardcoded(
    x: Any, labels: Any, n_classes: int = HARDCODED_CLASSES, *, empty: str = "vacuous"
) -> pd.DataFrame:
    """Fact 8: localist selectivity over classes 0 to `n_classes` - 1, whatever the data
    hold, keeping the last class that passes.

    Class c passes when every image of c is more active than every other image. The code
    loops over a hard-coded 1000 classes and keeps the last that passes; among classes
    that have images at most one can pass, so the choice matters only for classes with no
    images, which the description leaves open. `empty` names the reading:
    ``"vacuous"``: such a class passes, as "every image of c ..." is true of no images
    (Python's ``all([])``), so on data with fewer than `n_classes` classes every unit is
    localist for class `n_classes` - 1; ``"skip"``: it fails, and the verdict is the spec's.
    Returns ``localist`` and ``localist_class`` (-1 when none passes); classes are the
    labels' own numbers.
    """
    if empty not in ("vacuous", "skip"):
        raise AuthorsCodeError(f"empty must be 'vacuous' or 'skip', not {empty!r}")
    xt = _activations(x)
    y = _integer_labels(labels, xt.shape[1])
    present, dense = np.unique(y, return_inverse=True)
    order = np.argsort(dense, kind="stable")
    starts = np.searchsorted(dense[order], np.arange(present.size))
    grouped = xt[:, order]
    lows = np.minimum.reduceat(grouped, starts, axis=1)
    highs = np.maximum.reduceat(grouped, starts, axis=1)
    units = np.arange(xt.shape[0])
    top = np.argmax(highs, axis=1)
    runner_up = np.sort(highs, axis=1)[:, -2] if present.size > 1 else np.full(units.size, -np.inf)
    elsewhere = np.where(
        np.arange(present.size) == top[:, None], runner_up[:, None], highs[units, top][:, None]
    )
    passes = np.full((xt.shape[0], n_classes), empty == "vacuous")
    tested = present < n_classes
    passes[:, present[tested]] = (lows > elsewhere)[:, tested]
    any_pass = passes.any(axis=1)
    last = n_classes - 1 - np.argmax(passes[:, ::-1], axis=1)
    return _frame({"localist": any_pass, "localist_class": np.where(any_pass, last, -1)})


def scanned_classes(
    ranked_labels: np.ndarray, start: int = SCAN_FROM_RANK, count: int = SCAN_CLASSES
) -> np.ndarray:
    """Fact 5's classes: for each row of `ranked_labels` (units, ranks; classes in descending
    activation), the first `count` distinct classes met walking from rank `start` (1-based;
    the last rank if there are fewer) up to rank 1, in the order met; -1 pads a row that
    meets fewer. A loop over units: each scan is short and sequential."""
    ranked = np.asarray(ranked_labels)
    window = ranked[:, : min(start, ranked.shape[1])][:, ::-1]
    out = np.full((ranked.shape[0], count), -1, dtype=np.intp)
    for u, row in enumerate(window):
        _, first = np.unique(row, return_index=True)
        met = row[np.sort(first)][:count]
        out[u, : met.size] = met
    return out


def authors_measures(
    x: Any,
    labels: Any,
    n_classes: int | None = None,
    *,
    top: Sequence[int] = (60, 100),
    seed: int = 0,
) -> pd.DataFrame:
    """Facts 1 to 5 together (`AUTHORS`): the ranked measures as the authors' code computes
    them, with ties in the seeded arbitrary order of fact 4."""
    return _one_way(x, labels, n_classes, AUTHORS, top=top, seed=seed)


# --- the ranked measures, several ways at once -----------------------------------------------


def measure_ways(
    x: Any,
    labels: Any,
    n_classes: int | None = None,
    ways: Mapping[str, Way] | None = None,
    *,
    top: Sequence[int] = (60, 100),
    seed: int = 0,
    unit_offset: int = 0,
    block_entries: int = BLOCK_ENTRIES,
) -> dict[str, pd.DataFrame]:
    """The ranked measures of every unit of a layer, each of `ways` (name -> `Way`; default
    the spec and `AUTHORS`), as one table per way indexed by unit.

    `x` is (n_images, n_units), `labels` (n_images,) classes 0..n_classes-1 that all have
    images. Units are ranked in blocks of about `block_entries` (unit, image) entries, once
    per kind of threshold among the ways. Columns: ``top_class``, ``precision_<N>`` and
    ``precision_<N>_class`` for each N of `top`, ``n_classes_top<max N>``,
    ``recall_p100``, ``recall_p95``, the ``max_informedness`` and ``mi_*`` columns of
    `unit_measures`, ``n_scanned_classes``, ``top_class_scanned`` and ``n_tied`` (images
    whose activation another image of the unit shares).
    """
    ways = {"spec": SPEC, "authors": AUTHORS} if ways is None else dict(ways)
    bad = [name for name, way in ways.items() if not isinstance(way, Way)]
    if bad:
        raise AuthorsCodeError(f"ways {bad} are not Way(...) objects: build them with Way(...)")
    xt, classes = _prepared(x, labels, n_classes)
    top = _check_top(top, xt.shape[1])
    perm = np.random.default_rng(seed).permutation(xt.shape[1])
    block = max(1, int(block_entries) // xt.shape[1])
    parts: dict[str, list[dict]] = {name: [] for name in ways}
    for first in range(0, xt.shape[0], block):
        rows = xt[first : first + block]
        rankings: dict[str, _Ranks] = {}
        for name, way in ways.items():
            if way.thresholds not in rankings:
                rankings[way.thresholds] = _Ranks.of(rows, classes, way.thresholds, perm)
            parts[name].append(_way_measures(rankings[way.thresholds], classes, way, top))
    return {
        name: _frame({c: np.concatenate([p[c] for p in blocks]) for c in blocks[0]}, unit_offset)
        for name, blocks in parts.items()
    }


def _one_way(x, labels, n_classes, way: Way, *, top=None, seed: int = 0) -> pd.DataFrame:
    """One way's table; `top` None: (60, 100), each cut to the number of images."""
    if top is None:
        n_images = np.shape(x)[0] if np.ndim(x) else 0
        top = tuple(dict.fromkeys(max(1, min(n, n_images)) for n in (60, 100)))
    return measure_ways(x, labels, n_classes, {"way": way}, top=top, seed=seed)["way"]


@dataclass(frozen=True)
class _Ranks:
    """Each unit's whole ranking and its thresholds, for one block of units."""

    values: np.ndarray  #: (units, N) activations, descending
    labels: np.ndarray  #: (units, N) class at each rank
    n_at_or_above: np.ndarray  #: (units, N) images counted "above" at this rank's threshold
    ends_run: np.ndarray  #: (units, N) True where a threshold falls after this rank
    hits: np.ndarray  #: (units, N) images of this rank's class at or above it (1-based)
    height: np.ndarray  #: (units, N) larger for a higher threshold (tie-breaks)

    @classmethod
    def of(cls, xt: np.ndarray, classes: ClassIndex, thresholds: str, perm: np.ndarray) -> _Ranks:
        n = xt.shape[1]
        if thresholds == "values":  # ties by image index, one threshold per distinct value
            order = np.argsort(-xt, axis=1, kind="stable")
        else:  # fact 4: ties in the order of `perm`, one threshold per rank
            order = perm[np.argsort(-xt[:, perm], axis=1, kind="stable")]
        values = np.take_along_axis(xt, order, axis=1)
        labels = classes.labels[order]
        position = np.broadcast_to(np.arange(n, dtype=np.int32), values.shape)
        if thresholds == "values":
            ends = np.ones(values.shape, dtype=bool)
            ends[:, :-1] = values[:, :-1] != values[:, 1:]
            last = np.where(ends, position, n)[:, ::-1]
            n_at_or_above = np.minimum.accumulate(last, axis=1)[:, ::-1] + 1
            height = values.astype(np.float64)
        else:
            ends = np.ones(values.shape, dtype=bool)
            n_at_or_above = position + 1
            height = -position.astype(np.float64)
        hits = occurrence(labels, classes)
        return cls(values, labels, n_at_or_above.astype(np.int32), ends, hits, height)


def _way_measures(r: _Ranks, classes: ClassIndex, way: Way, top: tuple[int, ...]) -> dict:
    """The ranked measures of one block, read the way `way` says."""
    top_class = r.labels[:, 0].astype(np.intp)
    if way.classes == "all":
        targets, allowed = top_class[:, None], None
    else:
        targets = scanned_classes(r.labels)
        allowed = np.zeros((targets.shape[0], classes.n), dtype=bool)
        rows = np.repeat(np.arange(targets.shape[0]), targets.shape[1])
        kept = targets.ravel() >= 0
        allowed[rows[kept], targets.ravel()[kept]] = True
    out: dict[str, np.ndarray] = {"top_class": top_class}
    for n in top:
        out.update(_precision(r.labels[:, :n], classes.n, n, allowed, targets[:, 0]))
    out[f"n_classes_top{max(top)}"] = _n_classes(r.labels[:, : max(top)], classes.n)
    out.update(_recalls(r, classes, targets, way))
    out.update(_informedness(r, classes, way.specificity, allowed))
    out["n_scanned_classes"] = (targets >= 0).sum(axis=1)
    out["top_class_scanned"] = (targets == top_class[:, None]).any(axis=1)
    out["n_tied"] = _n_tied(r.values)
    return out


def _class_counts(top_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(units, classes): how often each class occurs in each row."""
    n_units = top_labels.shape[0]
    keyed = top_labels.astype(np.intp) + n_classes * np.arange(n_units)[:, None]
    return np.bincount(keyed.ravel(), minlength=n_units * n_classes).reshape(n_units, n_classes)


def _n_classes(top_labels: np.ndarray, n_classes: int) -> np.ndarray:
    return (_class_counts(top_labels, n_classes) > 0).sum(axis=1)


def _precision(top_labels, n_classes: int, n: int, allowed, fallback) -> dict:
    """Top-`n` precision: the largest share of one class (of an `allowed` class, for fact 5)
    among the first `n` ranks; class ties go to the class ranked first. A unit none of whose
    allowed classes is in its top `n` gets 0 and its first scanned class (`fallback`)."""
    counts = _class_counts(top_labels, n_classes)
    if allowed is not None:
        counts = np.where(allowed, counts, -1)
    best = counts.max(axis=1)
    reaches = np.take_along_axis(counts, top_labels.astype(np.intp), axis=1) == best[:, None]
    winner = top_labels[np.arange(top_labels.shape[0]), np.argmax(reaches, axis=1)]
    winner = np.where(best > 0, winner, fallback).astype(np.intp)
    return {f"precision_{n}": np.maximum(best, 0) / n, f"precision_{n}_class": winner}


def _recalls(r: _Ranks, classes: ClassIndex, targets: np.ndarray, way: Way) -> dict:
    """Recall at 100% and at 95% precision for each unit's target classes (one column per
    target, -1 for none), each unit's value the best over its targets."""
    p100 = np.full(targets.shape, -np.inf)
    p95 = np.full(targets.shape, -np.inf)
    rule100 = _first_rank_hits if way.recall_p100 == "first_rank" else _best_hits
    rule95 = _first_drop_hits if way.recall_p95 == "first_drop" else _best_hits
    for j in range(targets.shape[1]):
        target = targets[:, j]
        if not (target >= 0).any():
            continue
        is_target = r.labels == target[:, None]
        hits = np.cumsum(is_target, axis=1, dtype=np.int32)
        n_target = classes.counts[np.maximum(target, 0)]
        ok = target >= 0
        p100[:, j] = np.where(ok, rule100(r, is_target, hits, 1, 1) / n_target, -np.inf)
        p95[:, j] = np.where(
            ok,
            rule95(r, is_target, hits, PRECISION_FLOOR_NUM, PRECISION_FLOOR_DEN) / n_target,
            -np.inf,
        )
    return {"recall_p100": p100.max(axis=1), "recall_p95": p95.max(axis=1)}


def _best_hits(r: _Ranks, is_target, hits: np.ndarray, num: int, den: int) -> np.ndarray:
    """The spec: the most target images above any threshold whose precision is at least
    num/den (0 if none is)."""
    enough = den * hits >= num * r.n_at_or_above
    return np.where(r.ends_run & enough, hits, 0).max(axis=1)


def _first_rank_hits(r: _Ranks, is_target, hits, num: int, den: int) -> np.ndarray:
    """Fact 1: the test precision <= 1 passes at the first rank, so the walk of
    `_first_drop_hits` ends there: the target images at rank 1 (one image), 1 or 0."""
    return is_target[:, 0].astype(np.int64)


def _first_drop_hits(r: _Ranks, is_target, hits: np.ndarray, num: int, den: int) -> np.ndarray:
    """Fact 2: walking down the thresholds to the one that takes in the last target image,
    the target images above the last threshold before precision first falls to num/den or
    below; 0 if it falls at the first threshold or never. With one image per rank (the
    code's ranks) that is the count where precision falls, as the image that lowers it is
    not a target; with tied images a threshold would take in a whole run at once, so the
    count before the fall is the one that isolates this fact from fact 4."""
    n = r.labels.shape[1]
    position = np.arange(n)
    last = n - 1 - np.argmax(is_target[:, ::-1], axis=1)
    walk_end = np.argmax(r.ends_run & (position >= last[:, None]), axis=1)
    walked = r.ends_run & (position <= walk_end[:, None])
    dropped = walked & (den * hits <= num * r.n_at_or_above)
    first = np.where(dropped.any(axis=1), np.argmax(dropped, axis=1), -1)
    before = r.ends_run & (position < first[:, None])
    return np.where(before, hits, 0).max(axis=1)


#: The columns of maximum informedness and of its threshold.
_INFORMEDNESS = [
    "max_informedness",
    "mi_class",
    "mi_threshold",
    "mi_recall",
    "mi_specificity",
    "mi_false_alarm",
    "mi_fpr",
]


def _informedness(r: _Ranks, classes: ClassIndex, specificity: str, allowed) -> dict:
    """The largest informedness over classes (the `allowed` ones, for fact 5) and
    thresholds, and what holds at it; ties: the higher threshold, then the lower class.
    The best threshold for a class is at one of its images, so each rank is scored for its
    own image's class. `specificity` ``"all"`` divides FP by N (fact 3)."""
    n_class = classes.counts.astype(np.float64)
    n_images = classes.labels.size
    other = (n_images - n_class) if specificity == "rest" else np.full_like(n_class, n_images)
    labels = r.labels.astype(np.intp)
    score = r.hits / n_class[labels] - (r.n_at_or_above - r.hits) / other[labels]
    if allowed is not None:
        score = np.where(np.take_along_axis(allowed, labels, axis=1), score, -np.inf)
    at = best_position(score, r.height, labels)
    units = np.arange(at.size)
    c = labels[units, at]
    tp = r.hits[units, at].astype(np.int64)
    above = r.n_at_or_above[units, at].astype(np.int64)
    fp = above - tp
    return {
        "max_informedness": tp / n_class[c] - fp / other[c],
        "mi_class": c,
        "mi_threshold": r.values[units, at].astype(np.float64),
        "mi_recall": tp / n_class[c],
        "mi_specificity": 1 - fp / other[c],
        "mi_false_alarm": fp / above,
        "mi_fpr": fp / other[c],
    }


def _n_tied(values: np.ndarray) -> np.ndarray:
    """Images per unit whose activation is shared with another image."""
    same = values[:, 1:] == values[:, :-1]
    tied = np.zeros(values.shape, dtype=bool)
    tied[:, 1:] |= same
    tied[:, :-1] |= same
    return tied.sum(axis=1)


# --- inputs --------------------------------------------------------------------------------


def _prepared(x: Any, labels: Any, n_classes: int | None) -> tuple[np.ndarray, ClassIndex]:
    """(units, images) activations and the labels' `ClassIndex` (every class needs images)."""
    xt = _activations(x)
    return xt, ClassIndex.from_labels(labels, xt.shape[1], n_classes)


def _activations(x: Any) -> np.ndarray:
    """Checked activations as a C-contiguous (units, images) array, float32 kept."""
    a = np.asarray(x)
    if a.ndim == 1:
        a = a[:, None]
    _check_shape(a)
    a = a.astype(np.float64) if a.dtype.kind in "iub" else a
    _check_finite(a, 0)
    return np.ascontiguousarray(a.T) + 0  # + 0 turns -0.0 into 0.0, as the kernels read it


def _integer_labels(labels: Any, n_images: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size != n_images or not np.issubdtype(y.dtype, np.integer):
        raise MeasureInputError(
            f"labels must be one integer per image: got dtype {y.dtype}, shape {y.shape} for "
            f"{n_images} images; pass the labels of the same images"
        )
    if (y < 0).any():
        raise MeasureInputError("labels must be class numbers 0, 1, 2, ...; some are negative")
    return y.astype(np.intp)


def _frame(columns: Mapping[str, np.ndarray], unit_offset: int = 0) -> pd.DataFrame:
    table = pd.DataFrame(dict(columns))
    table.index = pd.RangeIndex(unit_offset, unit_offset + len(table), name="unit")
    return table
