"""The torch backend of `compendium.measures`: the same block computation on CUDA (or on
the CPU), for layers too large to measure quickly with numpy.

It computes what the numpy kernel (`measures._numpy`) computes, on whole rankings: one
sort of packed (value, index) keys per unit, runs of equal values, the within-class
occurrence from a stable sort of the ranked labels, class statistics from scatter
reductions. Counts are exact integers and informedness is computed in float64, so
the table equals numpy's (integers equal, floats within rounding). Choose it with
``unit_measures(..., backend="torch", device="cuda")``.

The work is split in two: `rank_block` sorts a block once (nothing in it depends on the
labels) and `ranking_measures` reads every measure off that ranking for given labels, so
that the permutation null (`compendium.measures.null`) sorts each block once for all its
label shuffles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from compendium.measures._spec import (
    PRECISION_FLOOR_DEN,
    PRECISION_FLOOR_NUM,
    TIE_TOLERANCE,
    ClassIndex,
    MeasureInputError,
)


def resolve_device(device: str | None) -> torch.device:
    """`device`, or CUDA when present and the CPU otherwise; an error for a CUDA device
    on a machine without one (no silent fall-back: timings would mislead)."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    chosen = torch.device(device)
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise MeasureInputError(
            f"device {device!r} asked for, but torch sees no CUDA GPU here: use "
            "device='cpu', or backend='numpy' (the default)"
        )
    return chosen


class TorchClasses:
    """`ClassIndex` moved to a device once per layer."""

    def __init__(self, classes: ClassIndex, device: torch.device) -> None:
        self.n = classes.n
        self.n_images = classes.labels.size
        self.labels = torch.as_tensor(classes.labels.astype(np.int64), device=device)
        self.counts = torch.as_tensor(classes.counts, dtype=torch.float64, device=device)
        self.occurrence_in_grouped = torch.as_tensor(
            classes.occurrence_in_grouped.astype(np.int64), device=device
        )


def block_measures(
    x: np.ndarray, classes: TorchClasses, top: Sequence[int], device: torch.device
) -> dict:
    """All measures for one block; `x` is (images, units) as read. Returns numpy arrays."""
    return ranking_measures(rank_block(x, device), classes.labels, classes, top)


@dataclass(frozen=True)
class TorchRanking:
    """A block of units ranked on the device, for any labels: each unit's images by
    descending value (ties by index), the sorted values and the runs of equal values."""

    xt: torch.Tensor  #: (units, images) the activations
    order: torch.Tensor  #: (units, images) image at each rank
    values: torch.Tensor  #: (units, images) value at each rank
    ends_run: torch.Tensor  #: (units, images) True at the last rank of each run
    n_at_or_above: torch.Tensor  #: (units, images) images with a value >= this rank's


def rank_block(x: np.ndarray, device: torch.device) -> TorchRanking:
    """Rank every unit of a block `x` (images, units) once: the part of the measures that
    does not depend on the labels."""
    xt = torch.as_tensor(np.ascontiguousarray(x.T), device=device)
    order, values = _descending(xt)
    ends_run = torch.ones_like(order, dtype=torch.bool)
    ends_run[:, :-1] = values[:, :-1] != values[:, 1:]
    count = torch.arange(1, xt.shape[1] + 1, device=device).expand_as(order)
    count = torch.where(ends_run, count, xt.shape[1])
    n_at_or_above = torch.cummin(count.flip(1), dim=1).values.flip(1)
    return TorchRanking(xt, order, values, ends_run, n_at_or_above)


def ranking_measures(
    ranking: TorchRanking, image_labels: torch.Tensor, classes: TorchClasses, top: Sequence[int]
) -> dict:
    """All measures of a ranked block for the labels `image_labels` (images,), a tensor on
    the ranking's device: the real labels, or a shuffle of them with the same class sizes
    (`classes` holds the sizes). Returns numpy arrays."""
    values, ends_run, n_at_or_above = ranking.values, ranking.ends_run, ranking.n_at_or_above
    labels = image_labels[ranking.order]
    out = {"top_class": labels[:, 0].clone()}  # not a view of the whole block
    out.update(_class_statistics(ranking.xt, classes, image_labels))
    for n in top:
        out.update(_top_precision(labels[:, :n], classes.n, n))
    out.update(_recall_at_precision(values, labels, ends_run, n_at_or_above, classes))
    hits = _occurrence(labels, classes)
    out.update(_max_informedness(values, labels, hits, n_at_or_above, classes))
    out.update(_detector(labels, hits, n_at_or_above, classes))
    return {name: v.cpu().numpy().copy() for name, v in out.items()}


def _descending(xt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Order by descending value, ties by ascending index, and the sorted values."""
    if xt.dtype != torch.float32:
        values, order = torch.sort(xt, dim=1, descending=True, stable=True)
        return order, values
    bits = (xt + 0.0).view(torch.int32)  # + 0.0 turns -0.0 into 0.0
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)  # int32 that sort like the floats
    index = torch.arange(xt.shape[1], device=xt.device, dtype=torch.int64)
    keys = ((~ordered).to(torch.int64) << 32) | index
    keys, _ = torch.sort(keys, dim=1)
    order = keys & 0xFFFFFFFF
    return order, torch.gather(xt, 1, order)


def _class_statistics(xt: torch.Tensor, classes: TorchClasses, labels: torch.Tensor) -> dict:
    n_units = xt.shape[0]
    index = labels.expand(n_units, -1)
    x64 = xt.to(torch.float64)
    sums = torch.zeros(n_units, classes.n, dtype=torch.float64, device=xt.device)
    sums.scatter_add_(1, index, x64)
    means = sums / classes.counts
    units = torch.arange(n_units, device=xt.device)
    first, second = _two_largest(means)
    total = sums.sum(dim=1)

    def ccmas(a: torch.Tensor) -> torch.Tensor:
        mu_rest = (total - sums[units, a]) / (classes.n_images - classes.counts[a])
        return _contrast(means[units, a], mu_rest)

    mu_first = means[units, first]
    mu_other_means = (means.sum(dim=1) - mu_first) / (classes.n - 1)
    empty = torch.empty(n_units, classes.n, dtype=torch.float64, device=xt.device)
    lows = empty.scatter_reduce(1, index, x64, "amin", include_self=False)
    highs = empty.scatter_reduce(1, index, x64, "amax", include_self=False)
    top_high, runner_up = _two_largest(highs)
    highest_elsewhere = highs[units, top_high][:, None].expand(-1, classes.n).clone()
    highest_elsewhere[units, top_high] = highs[units, runner_up]
    gaps = lows - highest_elsewhere
    localist_class = torch.argmax(gaps, dim=1)
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


def _two_largest(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Column of the largest and second-largest value per row (ties: lower column)."""
    first = _first_argmax(values)
    rest = values.clone()
    rest[torch.arange(values.shape[0], device=values.device), first] = -torch.inf
    return first, _first_argmax(rest)


def _first_argmax(values: torch.Tensor) -> torch.Tensor:
    """Index of the first maximum of each row (torch.argmax does not promise the first)."""
    is_max = values == values.max(dim=1, keepdim=True).values
    return _first_true(is_max)


def _first_true(mask: torch.Tensor) -> torch.Tensor:
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return torch.where(mask, positions, mask.shape[1]).min(dim=1).values


def _contrast(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    total = a + b
    return torch.where(total == 0, torch.nan, (a - b) / torch.where(total == 0, 1.0, total))


def _top_precision(ranked: torch.Tensor, n_classes: int, n: int) -> dict:
    n_units = ranked.shape[0]
    keyed = ranked + n_classes * torch.arange(n_units, device=ranked.device)[:, None]
    counts = torch.bincount(keyed.reshape(-1), minlength=n_units * n_classes)
    counts = counts.reshape(n_units, n_classes)
    best = counts.max(dim=1).values
    reaches_best = torch.gather(counts, 1, ranked) == best[:, None]
    winner = ranked[torch.arange(n_units, device=ranked.device), _first_true(reaches_best)]
    return {
        f"precision_{n}": best.to(torch.float64) / n,
        f"precision_{n}_class": winner,
        f"n_classes_top{n}": (counts > 0).sum(dim=1),
    }


def _recall_at_precision(values, labels, ends_run, n_at_or_above, classes: TorchClasses) -> dict:
    top = labels[:, :1]
    n_top = classes.counts[top[:, 0]]
    units = torch.arange(labels.shape[0], device=labels.device)
    best_other = values[units, _first_true(labels != top)]
    recall_p100 = (values > best_other[:, None]).sum(dim=1) / n_top
    hits = torch.cumsum((labels == top).to(torch.int64), dim=1)
    enough = PRECISION_FLOOR_DEN * hits >= PRECISION_FLOOR_NUM * n_at_or_above
    recall_p95 = torch.where(ends_run & enough, hits, 0).max(dim=1).values / n_top
    return {"recall_p100": recall_p100, "recall_p95": recall_p95}


def _occurrence(labels: torch.Tensor, classes: TorchClasses) -> torch.Tensor:
    """At each rank, the members of the image's class ranked at or above it (1-based)."""
    grouped = torch.sort(labels, dim=1, stable=True).indices
    return torch.empty_like(labels).scatter_(
        1, grouped, classes.occurrence_in_grouped.expand_as(grouped)
    )


def _max_informedness(values, labels, hits, n_at_or_above, classes: TorchClasses) -> dict:
    n_class = classes.counts
    n_other = classes.n_images - n_class
    per_hit, per_image = (1 / n_class + 1 / n_other)[labels], (1 / n_other)[labels]
    informedness = hits * per_hit - n_at_or_above * per_image
    # Ties: the higher threshold, then the lower class.
    near_best = informedness >= informedness.max(dim=1, keepdim=True).values - TIE_TOLERANCE
    highest = torch.where(near_best, values, -torch.inf).max(dim=1, keepdim=True).values
    near_best &= values == highest
    lowest_class = torch.where(near_best, labels, classes.n).min(dim=1, keepdim=True).values
    at = _first_true(near_best & (labels == lowest_class))[:, None]

    def pick(a: torch.Tensor) -> torch.Tensor:
        return torch.gather(a, 1, at)[:, 0]

    tp, c = pick(hits).to(torch.float64), pick(labels)
    fp = pick(n_at_or_above) - tp
    return {
        "max_informedness": pick(informedness),
        "mi_class": c,
        "mi_threshold": pick(values),
        "mi_recall": tp / n_class[c],
        "mi_specificity": 1 - fp / n_other[c],
        "mi_false_alarm": fp / (tp + fp),
        "mi_fpr": fp / n_other[c],
    }


def _detector(labels, hits, n_at_or_above, classes: TorchClasses) -> dict:
    """The paper's reasonable reading of a detector (spec/beyond.md): among thresholds with
    more hits than misses, the largest hits minus false alarms (ties: the higher threshold)
    for the class where it is largest (ties: the lower class). Every rank is a candidate
    for its image's class; the last member of a class in a run holds the run's counts."""
    counts = classes.counts.to(torch.int64)
    margin = 2 * hits - n_at_or_above  # TP - FP = TP - (above - TP)
    no_margin = torch.iinfo(torch.int64).min
    margin = torch.where(2 * hits > counts[labels], margin, no_margin)
    per_class = torch.full(
        (labels.shape[0], classes.n), no_margin, dtype=torch.int64, device=labels.device
    ).scatter_reduce(1, labels, margin, "amax")
    c = _first_argmax(per_class)  # ties: the lower class
    best = torch.gather(per_class, 1, c[:, None])
    at = _first_true((labels == c[:, None]) & (margin == best))[:, None]  # the highest
    tp = torch.gather(hits, 1, at)[:, 0]
    above = torch.gather(n_at_or_above, 1, at)[:, 0]
    return {
        "detector": best[:, 0] > 0,
        "detector_class": c,
        "detector_recall": tp.to(torch.float64) / classes.counts[c],
        "detector_false_alarm": (above - tp).to(torch.float64) / above,
    }
