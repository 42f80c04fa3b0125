"""Network Dissection (Bau et al., 2017) of one convolutional layer, run by the compendium.

For every unit of the layer:

1. **Threshold.** Over all images and all positions of the unit's activation map, the
   value above which the top ``quantile`` (0.5%) of the values lie: the (1 - quantile)
   quantile of all those values, with numpy's default (linear) interpolation. It is
   computed in one streaming pass that keeps only each unit's largest values
   (:class:`TopQuantile`), never every map.
2. **Masks.** In a second pass each map is upsampled (bilinear) to the resolution of the
   concept masks and thresholded: the unit's mask is where the map is *above* the threshold.
3. **IoU.** For every concept ``c``, summed over the images,
   ``IoU(unit, c) = sum |unit mask AND mask_c| / sum |unit mask OR mask_c|``.
4. **Label.** A unit's label is its best concept; the unit is a *detector* of it when that
   IoU exceeds ``iou_threshold`` (0.04).

The published constants are the defaults, `QUANTILE` and `IOU_THRESHOLD`; both are
parameters. Concept masks come from a callable; for Fashion-MNIST, whose photos show the
garment on a black background, :class:`ForegroundMasks` makes the mask of a concept the
garment's pixels in images of the concept's classes, and an empty mask elsewhere.

Published dissections (Network Dissection's result CSV, ``tally.csv``: columns ``unit``,
``category``, ``label``, ``score``) are read by :func:`read_dissection_csv`. **Their units
are numbered from 1**; the reader adds a ``unit_index`` column numbered from 0, which is how
this package (and torch) count channels.

A dissection of a trained network is cached (:func:`cached_dissection`, keyed by every input
that changes its result); :func:`nominate` lists the units it nominates as detectors of a
concept; :func:`iou_ceilings` gives the largest IoU any unit can reach with each concept.

Differences from Network Dissection's own code: the probe images are the data set's own
labelled images rather than the Broden data set, and a concept mask is the whole object's
pixels; the threshold is an exact quantile (their code estimates it with a quantile sketch);
every image counts in every concept's union, where their code counts a unit's pixels only
in images annotated for the concept's category (all images here carry the one category).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from compendium.util.errors import CompendiumError
from compendium.util.files import atomic_path

log = logging.getLogger(__name__)

#: Network Dissection's published constants: the top 0.5% of a unit's activations make its
#: mask, and a unit detects a concept when the IoU exceeds 0.04.
QUANTILE = 0.005
IOU_THRESHOLD = 0.04
#: Columns a Network Dissection result CSV must have.
DISSECTION_COLUMNS = ("unit", "category", "label", "score")
#: Bump when a change here changes what a dissection produces (cached results).
DISSECT_CODE_VERSION = 1

__all__ = [
    "Concept",
    "DISSECTION_COLUMNS",
    "Dissection",
    "DissectionError",
    "ForegroundMasks",
    "IOU_THRESHOLD",
    "QUANTILE",
    "TopQuantile",
    "cached_dissection",
    "class_concepts",
    "dissect",
    "dissect_imageset",
    "dissection_cache_path",
    "iou_ceilings",
    "nominate",
    "nominated_units",
    "read_dissection_csv",
]


class DissectionError(CompendiumError):
    """Network Dissection cannot run on this input (the message says what to change)."""


# --------------------------------------------------------------------------------------
# The streamed threshold
# --------------------------------------------------------------------------------------


def _check_quantile(quantile: float) -> None:
    if not 0 < quantile < 1:
        raise DissectionError(
            f"quantile must be a fraction between 0 and 1 (Network "
            f"Dissection uses {QUANTILE}), not {quantile}"
        )


class TopQuantile:
    """Exact upper quantile per unit over a stream of values, keeping only the largest.

    The threshold is ``np.quantile(values, 1 - quantile)`` (linear interpolation) of all
    ``total`` values a unit will receive. That quantile lies at sorted position
    ``p = (1 - quantile) * (total - 1)``, so only the ``total - floor(p)`` largest values
    are needed. `update` adds a (n_units, m) block; values are buffered and cut down to the
    largest ones whenever the buffer has grown by as many values as are kept.
    """

    def __init__(self, n_units: int, total: int, quantile: float = QUANTILE) -> None:
        _check_quantile(quantile)
        if n_units < 1 or total < 1:
            raise DissectionError(
                f"need at least one unit and one value (got {n_units} "
                f"units, {total} values per unit)"
            )
        self.n_units, self.total, self.quantile = n_units, total, quantile
        self.position = (1.0 - quantile) * (total - 1)
        self.keep = total - math.floor(self.position)
        self.seen = 0
        self._kept = np.empty((n_units, 0), np.float32)
        self._pending: list[np.ndarray] = []
        self._pending_width = 0

    @property
    def buffer_bytes(self) -> int:
        """Bytes the buffer can reach (about): the kept values plus the pending ones, which
        are cut down once they number as many as are kept (at least 65,536 per unit)."""
        return self.n_units * 4 * min(self.total, self.keep + 2 * max(self.keep, 1 << 16))

    def update(self, values: np.ndarray) -> None:
        """Add a block of values, shape (n_units, m)."""
        values = np.asarray(values, np.float32)
        if values.ndim != 2 or values.shape[0] != self.n_units:
            raise DissectionError(
                f"expected values of shape ({self.n_units}, m), got {values.shape}"
            )
        if self.seen + values.shape[1] > self.total:
            raise DissectionError(
                f"more values than announced ({self.seen + values.shape[1]}"
                f" > {self.total}); give the true total per unit"
            )
        if not np.isfinite(values).all():
            raise DissectionError(
                "activation maps contain NaN or infinity; check the network's weights and inputs"
            )
        self.seen += values.shape[1]
        self._pending.append(values)
        self._pending_width += values.shape[1]
        if self._pending_width >= max(self.keep, 1 << 16):
            self._merge()

    def _merge(self) -> None:
        merged = np.concatenate([self._kept, *self._pending], axis=1)
        self._pending, self._pending_width = [], 0
        if merged.shape[1] > self.keep:
            cut = merged.shape[1] - self.keep
            merged = np.partition(merged, cut, axis=1)[:, cut:]
        self._kept = np.ascontiguousarray(merged)

    def thresholds(self) -> np.ndarray:
        """The (n_units,) thresholds; every announced value must have been added."""
        if self.seen != self.total:
            raise DissectionError(
                f"only {self.seen} of {self.total} values per unit were "
                "added; the threshold needs them all"
            )
        self._merge()
        top = np.sort(self._kept.astype(np.float64), axis=1)
        low = top[:, 0]
        high = top[:, 1] if top.shape[1] > 1 else low
        fraction = self.position - math.floor(self.position)
        return low + fraction * (high - low)


# --------------------------------------------------------------------------------------
# Concepts and their masks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    """A concept to dissect for: a name and the class numbers whose images show it."""

    name: str
    classes: tuple[int, ...]


def class_concepts(
    class_names: Sequence[str],
    super_categories: Mapping[str, Sequence[str]] | None = None,
    *,
    include_classes: bool = True,
) -> list[Concept]:
    """One concept per class (unless ``include_classes`` is False), then one per
    super-category (a name mapped to class names)."""
    from compendium.inputs.categories import class_indices

    concepts = (
        [Concept(name, (i,)) for i, name in enumerate(class_names)] if include_classes else []
    )
    for name, members in (super_categories or {}).items():
        if name in class_names and include_classes:
            raise DissectionError(f"super-category {name!r} has the name of a class; rename it")
        concepts.append(Concept(name, class_indices(class_names, members)))
    if not concepts:
        raise DissectionError(
            "no concepts to dissect for: include the classes or give super-categories"
        )
    return concepts


class ForegroundMasks:
    """Concept masks for photos of one object on a plain dark background.

    The mask of concept ``c`` in image ``i`` is the object's pixels (value above
    ``background``) when image ``i``'s class is one of ``c``'s classes, and empty otherwise.
    Called with uint8 images (B, H, W) and labels (B,), it returns bool (B, K, H, W).
    """

    def __init__(self, concepts: Sequence[Concept], n_classes: int, background: int = 0) -> None:
        self.concepts = list(concepts)
        self.background = background
        self.membership = np.zeros((len(concepts), n_classes), bool)
        for k, concept in enumerate(concepts):
            bad = [c for c in concept.classes if not 0 <= c < n_classes]
            if bad:
                raise DissectionError(
                    f"concept {concept.name!r} names classes {bad}, but "
                    f"there are {n_classes} classes (0..{n_classes - 1})"
                )
            self.membership[k, list(concept.classes)] = True

    def __call__(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        foreground = np.asarray(images) > self.background
        member = self.membership[:, np.asarray(labels)].T  # (B, K)
        return foreground[:, None] & member[:, :, None, None]

    def pixel_counts(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Masked pixels per concept over all ``images`` (without building the masks)."""
        per_image = (np.asarray(images) > self.background).reshape(len(images), -1).sum(1)
        per_class = np.bincount(
            np.asarray(labels), weights=per_image, minlength=self.membership.shape[1]
        )
        return (self.membership @ per_class).astype(np.int64)


def check_concepts_have_pixels(names: Sequence[str], pixel_counts: np.ndarray) -> None:
    """An error naming every concept whose masks are empty in every image."""
    empty = [name for name, n in zip(names, pixel_counts, strict=False) if n == 0]
    if empty:
        raise DissectionError(
            f"concepts {empty} have no masked pixels in any image, so their "
            "IoU is undefined: check that their classes occur in the images "
            "and that the background level leaves some pixels, or drop them"
        )


# --------------------------------------------------------------------------------------
# The dissection
# --------------------------------------------------------------------------------------


@dataclass
class Dissection:
    """One layer's dissection: per-unit thresholds and the IoU of every unit with every
    concept (units numbered from 0), with the settings and timings that produced it."""

    layer: str
    concepts: list[str]
    thresholds: np.ndarray
    iou: np.ndarray
    n_images: int
    map_shape: tuple[int, int]
    mask_shape: tuple[int, int]
    quantile: float = QUANTILE
    iou_threshold: float = IOU_THRESHOLD
    seconds: dict[str, float] = field(default_factory=dict)
    buffer_bytes: int = 0
    active_fraction: float = float("nan")

    @property
    def n_units(self) -> int:
        return len(self.thresholds)

    def iou_table(self) -> pd.DataFrame:
        """IoU of every unit (rows) with every concept (columns)."""
        return pd.DataFrame(
            self.iou, columns=self.concepts, index=pd.RangeIndex(self.n_units, name="unit")
        )

    def table(self) -> pd.DataFrame:
        """One row per unit: its best concept (``label``), that IoU, its threshold, and
        whether it counts as a detector (IoU above ``iou_threshold``)."""
        best = np.argmax(self.iou, axis=1)
        score = self.iou[np.arange(self.n_units), best]
        return pd.DataFrame(
            {
                "unit": np.arange(self.n_units),
                "label": [self.concepts[b] for b in best],
                "iou": score,
                "threshold": self.thresholds,
                "detector": score > self.iou_threshold,
            }
        )

    def detectors(self, concept: str | None = None) -> pd.DataFrame:
        """Units labelled as detectors (of ``concept``, if given), highest IoU first."""
        table = self.table()
        table = table[table["detector"]]
        if concept is not None:
            self._check_concept(concept)
            table = table[table["label"] == concept]
        return table.sort_values(["iou", "unit"], ascending=[False, True]).reset_index(drop=True)

    def concept_units(self, concept: str, min_iou: float | None = None) -> pd.DataFrame:
        """Every unit whose IoU with ``concept`` exceeds ``min_iou`` (default: the IoU
        threshold), whatever its best concept, highest first; ``label`` is its best."""
        self._check_concept(concept)
        cut = self.iou_threshold if min_iou is None else min_iou
        table = self.table().rename(columns={"iou": "best_iou"})
        table.insert(1, "iou", self.iou[:, self.concepts.index(concept)])
        table = table[table["iou"] > cut]
        return table.sort_values(["iou", "unit"], ascending=[False, True]).reset_index(drop=True)

    def result_frame(self, category: str = "object") -> pd.DataFrame:
        """This dissection in Network Dissection's CSV layout (units numbered from 1)."""
        table = self.table()
        return pd.DataFrame(
            {
                "unit": table["unit"] + 1,
                "category": category,
                "label": table["label"],
                "score": table["iou"],
            }
        )

    def iou_ceiling(self, concept: str, mask_pixels: int) -> float:
        """The largest IoU any unit could reach with a concept of ``mask_pixels`` masked
        pixels, given that about ``active_fraction`` of all pixels are above threshold."""
        active = self.active_fraction * self.n_images * self.mask_shape[0] * self.mask_shape[1]
        return float(min(active, mask_pixels) / max(active, mask_pixels))

    def _check_concept(self, concept: str) -> None:
        if concept not in self.concepts:
            raise DissectionError(
                f"no concept {concept!r}; the concepts are {', '.join(self.concepts)}"
            )

    # -- saving and loading (the cache) -------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write to an ``.npz`` file (atomically)."""
        meta = {
            k: getattr(self, k)
            for k in (
                "layer",
                "concepts",
                "n_images",
                "map_shape",
                "mask_shape",
                "quantile",
                "iou_threshold",
                "seconds",
                "buffer_bytes",
                "active_fraction",
            )
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, thresholds=self.thresholds, iou=self.iou, meta=np.array(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Dissection:
        with np.load(path) as f:
            meta = json.loads(str(f["meta"]))
            return cls(
                thresholds=f["thresholds"],
                iou=f["iou"],
                **{
                    **meta,
                    "map_shape": tuple(meta["map_shape"]),
                    "mask_shape": tuple(meta["mask_shape"]),
                },
            )


class _Stop(Exception):
    """Raised by the hook once the layer's output is captured: the rest of the network
    is not needed."""


class _MapHook:
    def __init__(self, model: nn.Module, module_path: str, layer: str) -> None:
        modules = dict(model.named_modules())
        if module_path not in modules:
            raise DissectionError(
                f"the network has no module {module_path!r} (for layer "
                f"{layer!r}); give a name from model.named_modules()"
            )
        self.layer, self.output = layer, None
        self.handle = modules[module_path].register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, inputs: Any, output: Any) -> None:
        output = output[0] if isinstance(output, tuple) else output
        if output.ndim != 4:
            raise DissectionError(
                f"layer {self.layer!r} gives shape {tuple(output.shape[1:])} per image: one "
                "value per unit, with no spatial map. Network Dissection needs the maps of a "
                "convolutional layer (e.g. conv5, conv5_3, inception4e); choose one of those"
            )
        self.output = output
        raise _Stop

    def maps(self, model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        try:
            model(inputs)
        except _Stop:
            pass
        if self.output is None:
            raise DissectionError(f"layer {self.layer!r} was not reached by a forward pass")
        out, self.output = self.output, None
        return out


Batches = Callable[[], Iterable[tuple[torch.Tensor, np.ndarray]]]


@torch.inference_mode()
def dissect(
    model: nn.Module,
    module_path: str,
    batches: Batches,
    n_images: int,
    concepts: Sequence[str],
    *,
    layer: str | None = None,
    quantile: float = QUANTILE,
    iou_threshold: float = IOU_THRESHOLD,
    device: str = "cpu",
    progress: bool = True,
) -> Dissection:
    """Dissect the layer whose maps ``module_path`` outputs.

    ``batches()`` must yield, each time it is called, the same sequence of
    ``(inputs, masks)``: network inputs (B, ...) and bool concept masks (B, K, H, W), for
    ``n_images`` images in all and the K ``concepts`` in order. It is called twice (the
    threshold pass and the IoU pass).
    """
    _check_quantile(quantile)
    if not 0 <= iou_threshold <= 1:
        raise DissectionError(f"iou_threshold must lie between 0 and 1, not {iou_threshold}")
    layer = layer or module_path
    model = model.eval().to(device)
    hook = _MapHook(model, module_path, layer)
    try:
        began = time.perf_counter()
        quantiles = _threshold_pass(model, hook, batches, n_images, quantile, device, progress)
        middle = time.perf_counter()
        counts = _iou_pass(
            model, hook, batches, quantiles.thresholds(), len(concepts), device, progress, layer
        )
        end = time.perf_counter()
    finally:
        hook.handle.remove()
    inter, unit_pixels, mask_pixels, map_shape, mask_shape = counts
    check_concepts_have_pixels(concepts, mask_pixels)
    union = unit_pixels[:, None] + mask_pixels[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    total_pixels = n_images * mask_shape[0] * mask_shape[1]
    result = Dissection(
        layer=layer,
        concepts=list(concepts),
        thresholds=quantiles.thresholds(),
        iou=iou,
        n_images=n_images,
        map_shape=map_shape,
        mask_shape=mask_shape,
        quantile=quantile,
        iou_threshold=iou_threshold,
        seconds={"threshold pass": round(middle - began, 3), "IoU pass": round(end - middle, 3)},
        buffer_bytes=quantiles.buffer_bytes,
        active_fraction=float(unit_pixels.mean() / total_pixels),
    )
    log.info(
        "dissected %s: %d units, %d images, %.1f s", layer, result.n_units, n_images, end - began
    )
    return result


def _threshold_pass(
    model: nn.Module,
    hook: _MapHook,
    batches: Batches,
    n_images: int,
    quantile: float,
    device: str,
    progress: bool,
) -> TopQuantile:
    stream, seen = None, 0
    for inputs, _ in tqdm(batches(), desc=f"{hook.layer}: thresholds", disable=not progress):
        maps = hook.maps(model, inputs.to(device))
        b, units, h, w = maps.shape
        if stream is None:
            stream = TopQuantile(units, n_images * h * w, quantile)
        stream.update(maps.permute(1, 0, 2, 3).reshape(units, -1).float().cpu().numpy())
        seen += b
    if stream is None or seen != n_images:
        raise DissectionError(f"the batches held {seen} images, not the {n_images} announced")
    return stream


def _iou_pass(
    model: nn.Module,
    hook: _MapHook,
    batches: Batches,
    thresholds: np.ndarray,
    n_concepts: int,
    device: str,
    progress: bool,
    layer: str,
):
    cut = torch.as_tensor(thresholds, dtype=torch.float32, device=device)[None, :, None, None]
    inter = np.zeros((len(thresholds), n_concepts), np.int64)
    unit_pixels = np.zeros(len(thresholds), np.int64)
    mask_pixels = np.zeros(n_concepts, np.int64)
    map_shape = mask_shape = None
    for inputs, masks in tqdm(batches(), desc=f"{layer}: IoU", disable=not progress):
        maps = hook.maps(model, inputs.to(device))
        masks = torch.as_tensor(np.asarray(masks), device=device)
        if masks.ndim != 4 or masks.shape[0] != maps.shape[0] or masks.shape[1] != n_concepts:
            raise DissectionError(
                f"masks must have shape (batch {maps.shape[0]}, concepts "
                f"{n_concepts}, H, W); got {tuple(masks.shape)}"
            )
        map_shape, mask_shape = tuple(maps.shape[2:]), tuple(masks.shape[2:])
        up = F.interpolate(maps.float(), size=mask_shape, mode="bilinear", align_corners=False)
        # float32 counts are exact below 2**24 pixels per batch; beyond that use float64
        exact = torch.float32 if up[:, 0].numel() < 2**24 else torch.float64
        active = (up > cut).transpose(0, 1).reshape(len(thresholds), -1).to(exact)
        flat = masks.transpose(0, 1).reshape(n_concepts, -1).to(exact)
        # one product gives the overlaps and, through a row of ones, each unit's pixels
        counts = active @ torch.cat([flat, torch.ones_like(flat[:1])]).T
        counts = torch.round(counts).long().cpu().numpy()
        inter += counts[:, :-1]
        unit_pixels += counts[:, -1]
        mask_pixels += torch.round(flat.sum(1)).long().cpu().numpy()
    return inter, unit_pixels, mask_pixels, map_shape, mask_shape


def dissect_imageset(
    model: nn.Module,
    data: Any,
    layer: str,
    concepts: Sequence[Concept],
    *,
    module_path: str | None = None,
    background: int = 0,
    batch_size: int = 250,
    **options: Any,
) -> Dissection:
    """Dissect ``layer`` of a small network on an in-memory image set
    (:class:`compendium.inputs.datasets.ImageSet`), with :class:`ForegroundMasks`."""
    from compendium.networks.models import layer_paths

    if module_path is None:
        paths = layer_paths(model)
        if layer not in paths:
            raise DissectionError(
                f"the network has no layer {layer!r}; its layers are {', '.join(paths)}"
            )
        module_path = paths[layer]
    masks = ForegroundMasks(concepts, len(data.class_names), background)
    names = [c.name for c in concepts]
    check_concepts_have_pixels(names, masks.pixel_counts(data.images, data.labels))

    def batches() -> Iterable[tuple[torch.Tensor, np.ndarray]]:
        for start in range(0, len(data), batch_size):
            images = data.images[start : start + batch_size]
            inputs = torch.from_numpy(data.standardise(images)[:, None])
            yield inputs, masks(images, data.labels[start : start + batch_size])

    return dissect(model, module_path, batches, len(data), names, layer=layer, **options)


# --------------------------------------------------------------------------------------
# Published results
# --------------------------------------------------------------------------------------


def read_dissection_csv(path: str | Path) -> pd.DataFrame:
    """A Network Dissection result CSV (``tally.csv``): one row per unit with at least
    ``unit`` (numbered from 1), ``category``, ``label`` and ``score`` (the IoU).

    Returns those columns (and any others the file has) plus ``unit_index``, the unit
    numbered from 0 as torch counts channels.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no dissection result at {path}; give the path of Network "
            "Dissection's result CSV (tally.csv)"
        )
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DissectionError(f"{path} is not a readable CSV file ({err})") from err
    missing = [c for c in DISSECTION_COLUMNS if c not in table.columns]
    if missing:
        raise DissectionError(
            f"{path} lacks the columns {missing} (it has {list(table.columns)}). A Network "
            "Dissection result has one row per unit with columns unit (numbered from 1), "
            "category, label and score (the IoU): rename the columns or give that file"
        )
    if table.empty:
        raise DissectionError(f"{path} has no rows; it should have one row per unit")
    units = pd.to_numeric(table["unit"], errors="coerce")
    scores = pd.to_numeric(table["score"], errors="coerce")
    if units.isna().any() or (units % 1 != 0).any():
        raise DissectionError(f"{path}: column unit must hold whole numbers")
    if (units < 1).any():
        raise DissectionError(
            f"{path}: unit {int(units.min())} found, but Network Dissection "
            "numbers units from 1; if the file counts from 0, add 1 to "
            "every unit"
        )
    if units.duplicated().any():
        raise DissectionError(
            f"{path}: units {sorted(set(units[units.duplicated()]))[:5]} "
            "appear twice; one row per unit, please"
        )
    if scores.isna().any() or (scores < 0).any() or (scores > 1).any():
        raise DissectionError(f"{path}: column score must hold IoU values between 0 and 1")
    table["unit"], table["score"] = units.astype(np.int64), scores.astype(float)
    table.insert(1, "unit_index", table["unit"] - 1)
    return table


def nominated_units(
    result: pd.DataFrame, label: str, iou_threshold: float = IOU_THRESHOLD
) -> pd.DataFrame:
    """Rows of a dissection result (`read_dissection_csv` or `Dissection.result_frame`)
    labelled ``label`` with a score above ``iou_threshold``, highest score first."""
    rows = result[(result["label"] == label) & (result["score"] > iou_threshold)]
    return rows.sort_values(["score", "unit"], ascending=[False, True]).reset_index(drop=True)


# --------------------------------------------------------------------------------------
# A dissection of a trained small network, cached; the units it nominates; IoU ceilings
# --------------------------------------------------------------------------------------


def dissection_cache_path(
    model_name: str,
    weights_sha256: str,
    layer: str,
    data_name: str,
    n_images: int,
    concepts: Sequence[Any],
    quantile: float,
    iou_threshold: float,
    background: int,
) -> Any:
    """Where a dissection is cached: named by the network and layer, keyed by every input
    that changes the result."""
    from compendium.util.cache import cache_dir, cache_key

    key = {
        "weights": weights_sha256,
        "layer": layer,
        "data": data_name,
        "n": n_images,
        "concepts": [[c.name, list(c.classes)] for c in concepts],
        "quantile": quantile,
        "iou_threshold": iou_threshold,
        "background": background,
        "code": DISSECT_CODE_VERSION,
    }
    return cache_dir() / "dissection" / f"{model_name}__{layer}__{cache_key(key)}.npz"


def cached_dissection(
    trained: Any,
    data: Any,
    layer: str,
    concepts: Sequence[Any],
    *,
    quantile: float,
    iou_threshold: float,
    background: int = 0,
    batch_size: int = 250,
) -> Any:
    """Dissect ``layer`` of a trained small network on ``data``, or load the cached result
    of the same dissection."""
    path = dissection_cache_path(
        trained.name,
        trained.weights_sha256,
        layer,
        data.name,
        len(data),
        concepts,
        quantile,
        iou_threshold,
        background,
    )
    if path.is_file():
        log.info("read cached dissection %s", path)
        return Dissection.load(path)
    result = dissect_imageset(
        trained.model,
        data,
        layer,
        concepts,
        quantile=quantile,
        iou_threshold=iou_threshold,
        background=background,
        batch_size=batch_size,
    )
    result.save(path)
    log.info("wrote %s", path)
    return result


def nominate(dissection: Any, concept: str, rule: str = "label") -> pd.DataFrame:
    """The units a dissection nominates as detectors of ``concept``.

    ``rule="label"``: Network Dissection's labelling, the units whose best concept is
    ``concept`` with an IoU above the threshold (the lists the paper took from Zhou et
    al.). ``rule="iou"``: every unit whose IoU with ``concept`` is above the threshold,
    whatever its best concept (the wording of the paper's Appendix D).
    """
    if rule == "label":
        rows = dissection.detectors(concept)
    elif rule == "iou":
        rows = dissection.concept_units(concept)
    else:
        raise DissectionError(f"rule must be 'label' or 'iou', not {rule!r}")
    return rows[["unit", "iou", "label"]].reset_index(drop=True)


def iou_ceilings(
    data: Any, concepts: Sequence[Any], active: Mapping[str, float], background: int = 0
) -> pd.DataFrame:
    """The largest IoU a unit can reach with each concept: a unit's mask covers about a
    share ``a`` of all pixels and a concept's masks a share ``m``, so the intersection is
    at most min(a, m) and the union at least max(a, m). ``active`` maps a column name to a
    share ``a`` (e.g. the quantile, or a dissection's measured active fraction)."""
    masks = ForegroundMasks(concepts, len(data.class_names), background)
    share = masks.pixel_counts(data.images, data.labels) / data.images.size
    table = pd.DataFrame({"concept": [c.name for c in concepts], "share of all pixels": share})
    for name, a in active.items():
        table[name] = np.minimum(a, share) / np.maximum(a, share)
    return table.set_index("concept")
