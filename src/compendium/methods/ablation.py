"""Ablation: do the "selective" units matter? (Morcos et al. 2018; Zhou et al. 2018)

Ablating a unit sets its post-ReLU output to zero at evaluation (a convolutional unit: its
whole channel), and the network is scored on every test image, not only on those it gets
right (``spec/beyond.md``, "Ablation"). :class:`Ablator` holds one network, one set of
images and one layer, and answers "what are the logits with these units zeroed?" in one
of two ways:

* **from stored activations** (the fast path): the input of the next linear layer (a
  ``Linear`` or ``Conv2d``) is computed once for every image and kept (``stored_path``
  caches it on disk), with that layer's output. Zeroing units only removes their share of
  that output, so an ablation subtracts it, for the images where the units are active at
  all, and runs the modules above. This needs a network whose forward pass is its
  children in order (the small AlexNet), a layer that is one of those children, and only
  zero-keeping modules (pooling, dropout, flattening) between it and the next linear
  layer; the Ablator checks all three, including that the children in order reproduce the
  network's logits.
* **a full forward pass** with a forward hook that zeroes the units, for any other network
  (torchvision's, the GoogLeNet-style one) or on request (``fast=False``).

On top of it: every unit ablated on its own (`single_unit_ablation`: overall and per-class
accuracy drops), the damage to a unit's own class against the others' (`own_class_damage`),
the top-k sweeps by a measure against random units (`top_k_ablation`), and Spearman
correlations with permutation p-values of each measure with the damage
(`damage_correlations`). Tables of whole layers are cached by their inputs
(`cached_single_units`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from compendium.networks.models import ModelError, layer_paths
from compendium.util.cache import cache_dir, cache_key
from compendium.util.errors import CompendiumError
from compendium.util.files import atomic_path, write_table

log = logging.getLogger(__name__)

__all__ = [
    "ABLATION",
    "AblationError",
    "Ablator",
    "LOWER_IS_SELECTIVE",
    "MEASURE_CLASS",
    "RANKINGS",
    "ablated",
    "cached_single_units",
    "cached_top_k",
    "class_accuracy",
    "damage_correlations",
    "detector_margin",
    "k_sweep",
    "load_average",
    "own_class_damage",
    "ranked_units",
    "sign_flip_p",
    "single_unit_ablation",
    "spearman_permutation",
    "stored_input_path",
    "top_k_ablation",
    "with_detector_margin",
]

#: The cache kind (sub-folder) of ablation tables and stored layer inputs.
ABLATION = "ablation"
#: Bump when a change to this module changes what its cached tables hold.
ABLATION_CODE_VERSION = 1

#: The measures the top-k sweeps rank units by (``detector_margin`` where the measures
#: table has the detector columns of spec/beyond.md).
RANKINGS = (
    "precision_60",
    "ccmas",
    "localist_gap",
    "recall_p100",
    "max_informedness",
    "detector_margin",
)
#: The class each measure names (the class whose damage it is correlated with).
MEASURE_CLASS = {
    "precision_60": "precision_60_class",
    "precision_100": "precision_100_class",
    "ccmas": "ccmas_class",
    "ccmas_classmean": "ccmas_class",
    "localist_gap": "localist_class",
    "recall_p100": "top_class",
    "recall_p95": "top_class",
    "max_informedness": "mi_class",
    "mi_false_alarm": "mi_class",
    "detector_margin": "detector_class",
}
#: Measures for which a lower value means a more selective unit.
LOWER_IS_SELECTIVE = frozenset({"mi_false_alarm", "mi_fpr", "n_classes_top100", "n_classes_top60"})

#: Modules that map a zero channel to a zero channel and leave the others alone (for
#: non-negative, post-ReLU input; dropout in evaluation mode is the identity).
_ZERO_KEEPING = (
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Dropout,
    nn.Identity,
    nn.ReLU,
)


class AblationError(CompendiumError):
    """An ablation asked of a layer or units the network does not have, or a sweep that
    does not fit the layer; the message names the fix."""


# --- zeroing units by a forward hook -----------------------------------------------------


@contextmanager
def ablated(model: nn.Module, units: Mapping[str, Sequence[int]]) -> Iterator[nn.Module]:
    """Inside, the modules named by `units` ({module path: unit numbers}) output zero for
    those units (axis 1: a conv layer's channels, an fc layer's units)."""
    modules = dict(model.named_modules())
    handles = []
    try:
        for path, chosen in units.items():
            index = torch.as_tensor(list(chosen), dtype=torch.long)
            handles.append(modules[path].register_forward_hook(_zeroing_hook(index)))
        yield model
    finally:
        for handle in handles:
            handle.remove()


def _zeroing_hook(index: torch.Tensor) -> Callable:
    def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> torch.Tensor:
        if index.numel() == 0:
            return output
        output = output.clone()
        output[:, index] = 0
        return output

    return hook


@torch.inference_mode()
def _forward(modules: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch: int):
    return torch.cat([modules(x[start : start + batch]) for start in range(0, len(x), batch)])


# --- the fast path: the layers above, from stored activations ------------------------------


@dataclass
class _Tail:
    """What the fast path keeps: the input of the next linear layer (`stored`, units on
    axis 1, before any flattening), that layer (`op`), its output for every image (`pre`)
    and the modules from there to the logits (`after`)."""

    stored: torch.Tensor
    flatten: bool
    op: nn.Linear | nn.Conv2d
    pre: torch.Tensor
    after: list[nn.Module]

    def finish(self, pre: torch.Tensor) -> torch.Tensor:
        for module in self.after:
            pre = module(pre)
        return pre

    def share(self, rows: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """The part of `op`'s output (without its bias) that `index`'s units give `rows`."""
        part = self.stored[:, index][rows]
        weight = self.op.weight
        if isinstance(self.op, nn.Conv2d):
            return F.conv2d(
                part,
                weight[:, index],
                None,
                self.op.stride,
                self.op.padding,
                self.op.dilation,
            )
        if self.flatten:
            per_unit = weight.reshape(weight.shape[0], self.stored.shape[1], -1)
            return part.reshape(len(part), -1) @ per_unit[:, index].reshape(len(weight), -1).T
        return part @ weight[:, index].T

    @torch.inference_mode()
    def logits(self, index: torch.Tensor, base: torch.Tensor, batch: int) -> torch.Tensor:
        part = self.stored[:, index].reshape(len(self.stored), -1)
        rows = torch.nonzero(part.ne(0).any(dim=1)).flatten()
        if rows.numel() == 0:
            return base
        out = base.clone()
        for chunk in rows.split(batch):
            pre = self.pre[chunk]  # a copy: the stored output stays as it is
            out[chunk] = self.finish(pre.sub_(self.share(chunk, index)))
        return out


def _sequential_plan(model: nn.Module, path: str) -> tuple[list, int, bool] | str:
    """The children, the position of the next linear layer after `path` and whether a
    Flatten lies before it; or why the fast path does not apply."""
    children = list(model.named_children())
    names = [name for name, _ in children]
    if path not in names:
        return f"{path} is not a top-level module of {type(model).__name__}"
    j, flatten = names.index(path) + 1, False
    while j < len(children) and isinstance(children[j][1], (*_ZERO_KEEPING, nn.Flatten)):
        flatten = flatten or isinstance(children[j][1], nn.Flatten)
        j += 1
    if j == len(children):
        return f"nothing but zero-keeping modules follows {path}"
    return children, j, flatten


def _split_op(module: nn.Module) -> tuple[nn.Module, list[nn.Module]] | None:
    """A linear layer (Linear or an ungrouped, zero-padded Conv2d) and what follows it
    inside `module`, or None."""
    first, rest = module, []
    if isinstance(module, nn.Sequential) and len(module):
        first, rest = module[0], list(module)[1:]
    if isinstance(first, nn.Linear):
        return first, rest
    if isinstance(first, nn.Conv2d) and first.groups == 1 and first.padding_mode == "zeros":
        return first, rest
    return None


@torch.inference_mode()
def _build_tail(
    model: nn.Module, path: str, images: torch.Tensor, batch: int, stored_path: Path | None
) -> _Tail | str:
    plan = _sequential_plan(model, path)
    if isinstance(plan, str):
        return plan
    children, j, flatten = plan
    split = _split_op(children[j][1])
    if split is None:
        return f"{children[j][0]} is not a Linear or Conv2d layer"
    op, inside = split
    at = [name for name, _ in children].index(path) + 1
    between = [m for _, m in children[at:j] if not isinstance(m, nn.Flatten)]
    below = [m for _, m in children[:at]] + between
    after = inside + [m for _, m in children[j + 1 :]]
    probe = images[: min(len(images), 8)]
    stored_probe = _forward(nn.Sequential(*below), probe, batch)
    pre_probe = op(stored_probe.flatten(1) if flatten else stored_probe)
    try:
        chained = nn.Sequential(*after)(pre_probe)
    except RuntimeError as err:  # shapes that only the network's own forward pass joins
        return f"the modules after {path} do not chain ({err})"
    if not torch.allclose(chained, model(probe), rtol=1e-4, atol=1e-5):
        return f"{type(model).__name__}'s children in order do not reproduce its forward pass"
    stored = _stored_input(nn.Sequential(*below), images, batch, stored_path)
    pre = torch.cat([op(s.flatten(1) if flatten else s) for s in stored.split(batch)])
    return _Tail(stored, flatten, op, pre, after)


def _stored_input(
    below: nn.Module, images: torch.Tensor, batch: int, stored_path: Path | None
) -> torch.Tensor:
    """The input of the next linear layer for every image: read from `stored_path` if it
    holds one of the right length, else computed (and written there, atomically)."""
    if stored_path is not None and stored_path.is_file():
        array = np.load(stored_path)
        if len(array) == len(images):
            log.info("read stored layer input %s", stored_path)
            return torch.from_numpy(array)
        log.warning(
            "%s holds %d images, not %d: computed again", stored_path, len(array), len(images)
        )
    stored = _forward(below, images, batch)
    if stored_path is not None:
        with atomic_path(stored_path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, stored.numpy())
        log.info("wrote stored layer input %s", stored_path)
    return stored


# --- the Ablator ----------------------------------------------------------------------------


def class_accuracy(predictions: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The share of each class's images that `predictions` get right."""
    correct = np.bincount(labels, weights=predictions == labels, minlength=n_classes)
    return correct / np.maximum(np.bincount(labels, minlength=n_classes), 1)


class Ablator:
    """One network, one set of images, one layer: the logits and accuracies with any set of
    the layer's units zeroed.

    `images` are the network's inputs (N, ...) and `labels` their classes 0..n_classes-1.
    ``fast=True`` evaluates from stored activations where the network allows (see the
    module's docstring; `method` says which path is used), `stored_path` caching the stored
    input on disk. `max_stored_bytes` bounds what the fast path keeps in memory.
    """

    def __init__(
        self,
        model: nn.Module,
        images: torch.Tensor | np.ndarray,
        labels: np.ndarray | Sequence[int],
        layer: str,
        *,
        n_classes: int | None = None,
        fast: bool = True,
        batch_size: int = 1000,
        stored_path: str | os.PathLike | None = None,
        max_stored_bytes: int = 2**31,
    ) -> None:
        self.model = model.eval()
        self.layer = layer
        self.path = _layer_path(model, layer)
        self.images = torch.as_tensor(images, dtype=torch.float32)
        self.labels = np.asarray(labels, dtype=np.int64)
        if self.labels.shape != (len(self.images),):
            raise AblationError(
                f"labels must give one class per image: {self.labels.shape} labels for "
                f"{len(self.images)} images"
            )
        self.batch_size = int(batch_size)
        self.n_units = _unit_count(self.model, self.path, self.images[:1])
        self.tail: _Tail | None = None
        if fast:
            self.tail = self._fast_tail(stored_path, max_stored_bytes)
        self.method = "stored activations" if self.tail is not None else "full forward pass"
        self.base_logits = self._base_logits()
        self.n_classes = int(n_classes or self.base_logits.shape[1])
        predicted = self.base_logits.argmax(1).numpy()
        self.base_class_accuracy = class_accuracy(predicted, self.labels, self.n_classes)
        self.base_accuracy = float(np.mean(predicted == self.labels))

    @torch.inference_mode()
    def _base_logits(self) -> torch.Tensor:
        if self.tail is None:
            return self._full_logits(())
        return torch.cat([self.tail.finish(p) for p in self.tail.pre.split(self.batch_size)])

    def _fast_tail(self, stored_path, max_stored_bytes: int) -> _Tail | None:
        tail = _build_tail(
            self.model,
            self.path,
            self.images,
            self.batch_size,
            None if stored_path is None else Path(stored_path),
        )
        if isinstance(tail, str):
            log.info("ablation of %s by full forward passes: %s", self.layer, tail)
            return None
        size = (tail.stored.numel() + tail.pre.numel()) * tail.stored.element_size()
        if size > max_stored_bytes:
            log.info("ablation of %s by full forward passes: %d bytes to store", self.layer, size)
            return None
        return tail

    def check_units(self, units: Iterable[int]) -> list[int]:
        """`units` as a list of unit numbers of the layer; an error for any outside it."""
        chosen = [int(u) for u in units]
        outside = [u for u in chosen if not 0 <= u < self.n_units]
        if outside:
            raise AblationError(
                f"unit {outside[0]} is outside layer {self.layer!r}, which has units "
                f"0..{self.n_units - 1}: choose units in that range"
            )
        return chosen

    def logits(self, units: Iterable[int]) -> torch.Tensor:
        """The logits of every image with `units` of the layer zeroed."""
        chosen = self.check_units(units)
        return self._tail_logits(chosen) if self.tail else self._full_logits(chosen)

    def full_logits(self, units: Iterable[int]) -> torch.Tensor:
        """As `logits`, always by a full forward pass (the reference for the fast path)."""
        return self._full_logits(self.check_units(units))

    def _tail_logits(self, units: Sequence[int]) -> torch.Tensor:
        if not len(units):
            return self.base_logits
        index = torch.as_tensor(list(units), dtype=torch.long)
        return self.tail.logits(index, self.base_logits, self.batch_size)

    def _full_logits(self, units: Sequence[int]) -> torch.Tensor:
        with ablated(self.model, {self.path: units}):
            return _forward(self.model, self.images, self.batch_size)

    def predictions(self, units: Iterable[int]) -> np.ndarray:
        return self.logits(units).argmax(1).numpy()

    def accuracy(self, units: Iterable[int]) -> tuple[float, np.ndarray]:
        """Overall accuracy and each class's accuracy with `units` zeroed."""
        predicted = self.predictions(units)
        return (
            float(np.mean(predicted == self.labels)),
            class_accuracy(predicted, self.labels, self.n_classes),
        )


def _layer_path(model: nn.Module, layer: str) -> str:
    try:
        paths = layer_paths(model)
    except ModelError:
        paths = {name: name for name, _ in model.named_modules() if name}
    if layer not in paths:
        raise AblationError(
            f"the network has no layer {layer!r}; its layers are {', '.join(paths)}: "
            "choose one of those"
        )
    return paths[layer]


def _unit_count(model: nn.Module, path: str, example: torch.Tensor) -> int:
    shapes = []
    module = dict(model.named_modules())[path]
    handle = module.register_forward_hook(lambda m, i, out: shapes.append(out.shape))
    try:
        with torch.inference_mode():
            model(example)
    finally:
        handle.remove()
    return int(shapes[0][1])


# --- single units -------------------------------------------------------------------------


def single_unit_ablation(
    ablator: Ablator, units: Iterable[int] | None = None, *, progress: bool = True
) -> pd.DataFrame:
    """Every unit of `units` (default: the whole layer) ablated on its own: one row per unit
    with ``layer``, ``unit``, ``accuracy``, ``drop`` (the base accuracy minus it) and
    ``drop_class_<k>`` for each class k (that class's accuracy lost; negative: gained)."""
    chosen = ablator.check_units(range(ablator.n_units) if units is None else units)
    rows = []
    for unit in tqdm(chosen, desc=f"ablate {ablator.layer}", unit="unit", disable=not progress):
        accuracy, per_class = ablator.accuracy([unit])
        rows.append([unit, accuracy, *(ablator.base_class_accuracy - per_class)])
    columns = ["unit", "accuracy", *[f"drop_class_{k}" for k in range(ablator.n_classes)]]
    table = pd.DataFrame(rows, columns=columns)
    table.insert(0, "layer", ablator.layer)
    table.insert(3, "drop", ablator.base_accuracy - table["accuracy"])
    return table


def _cached_table(
    name: str, key: Mapping[str, object], compute: Callable[[], tuple[pd.DataFrame, dict]]
) -> tuple[pd.DataFrame, dict]:
    """A table of the ablation cache: read back when `key` was computed before, else
    ``compute()`` (the table and a record of how it was made), written atomically, record
    last. The record comes back with ``cached`` True or False."""
    path = (
        cache_dir() / ABLATION / f"{name}-{cache_key({**key, 'code': ABLATION_CODE_VERSION})}.csv"
    )
    record_path = path.with_suffix(".json")
    if path.is_file() and record_path.is_file():
        log.info("read cached ablation table %s", path)
        return pd.read_csv(path), {**json.loads(record_path.read_text()), "cached": True}
    table, record = compute()
    write_table(table, path, index=False)
    with atomic_path(record_path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return table, {**record, "cached": False}


def _timed(ablator: Ablator, compute: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, dict]:
    start = time.perf_counter()
    table = compute()
    return table, {
        "seconds": round(time.perf_counter() - start, 2),
        "method": ablator.method,
        "n_images": len(ablator.images),
        "n_units": ablator.n_units,
        "base_accuracy": ablator.base_accuracy,
        "threads": torch.get_num_threads(),
        "load_average": load_average(),
    }


def load_average() -> float | None:
    """The machine's load average over the last minute (``/proc/loadavg``), recorded beside
    a timing because a busy machine slows everything; None where it cannot be read."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cached_single_units(
    ablator: Ablator, model_key: str, images_key: str, *, progress: bool = True
) -> tuple[pd.DataFrame, dict]:
    """`single_unit_ablation` of the whole layer, read from the cache when the same network
    (`model_key`, e.g. its weights' sha256) and images (`images_key`) were ablated before,
    else computed and cached. Returns the table and its record: ``seconds`` (of the
    computation, when it was made), ``method``, ``n_images``, ``n_units``,
    ``base_accuracy``, ``threads`` and ``cached`` (True when read back)."""
    key = {
        "model": model_key,
        "images": images_key,
        "layer": ablator.layer,
        "n": len(ablator.images),
    }
    return _cached_table(
        f"single-{ablator.layer}",
        key,
        lambda: _timed(ablator, lambda: single_unit_ablation(ablator, progress=progress)),
    )


def cached_top_k(
    ablator: Ablator,
    measures: pd.DataFrame,
    rankings: Sequence[str],
    ks: Sequence[int] | None,
    model_key: str,
    images_key: str,
    *,
    n_random: int = 5,
    seed: int = 0,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """`top_k_ablation`, cached like `cached_single_units` (the key holds each ranking's
    order of units, so a changed measures table computes afresh)."""
    layer = measures[measures["layer"] == ablator.layer] if "layer" in measures else measures
    orders = {name: ranked_units(layer, name).tolist() for name in rankings}
    key = {
        "model": model_key,
        "images": images_key,
        "layer": ablator.layer,
        "n": len(ablator.images),
        "orders": orders,
        "ks": k_sweep(ablator.n_units, ks, repr(ablator.layer)),
        "n_random": n_random,
        "seed": seed,
    }
    return _cached_table(
        f"topk-{ablator.layer}",
        key,
        lambda: _timed(
            ablator,
            lambda: top_k_ablation(
                ablator, layer, rankings, ks, n_random=n_random, seed=seed, progress=progress
            ),
        ),
    )


def stored_input_path(model_key: str, images_key: str, layer: str, n_images: int) -> Path:
    """Where the fast path caches the stored layer input for this network and images."""
    key = cache_key({"model": model_key, "images": images_key, "n": n_images, "layer": layer})
    return cache_dir() / ABLATION / f"input-{layer}-{key}.npy"


def own_class_damage(
    ablation: pd.DataFrame, measures: pd.DataFrame, class_column: str = "mi_class"
) -> pd.DataFrame:
    """Per unit: the accuracy its ablation costs its own class (the class `class_column` of
    the measures table names: ``mi_class``, ``precision_60_class``, ...), ``own_drop``,
    against the mean over the other classes, ``other_drop``; ``own_minus_other``."""
    drops = [c for c in ablation.columns if c.startswith("drop_class_")]
    merged = ablation.merge(measures, on=["layer", "unit"], how="inner", validate="1:1")
    if merged.empty:
        raise AblationError(
            "the ablation and measures tables share no (layer, unit): measure the ablated units"
        )
    if class_column not in merged.columns:
        raise AblationError(
            f"the measures table has no column {class_column!r}: measure the units first"
        )
    merged = merged[merged[class_column].notna()].reset_index(drop=True)
    classes = merged[class_column].to_numpy(dtype=int)
    values = merged[drops].to_numpy(dtype=float)
    own = values[np.arange(len(values)), classes]
    other = (values.sum(axis=1) - own) / (values.shape[1] - 1)
    return merged.assign(
        own_class=classes, own_drop=own, other_drop=other, own_minus_other=own - other
    )


# --- correlations ---------------------------------------------------------------------------


def spearman_permutation(
    x: Sequence[float], y: Sequence[float], n_permutations: int = 1000, seed: int = 0
) -> tuple[float, float, int]:
    """Spearman's rank correlation of `x` and `y` (pairs with a NaN left out), its two-sided
    permutation p-value ``(1 + #{|rho_perm| >= |rho|}) / (K + 1)`` over `n_permutations`
    seeded shuffles of `y`, and the number of pairs. NaN for fewer than 3 pairs or a
    constant variable."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    if n < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan"), n
    ra = _centred_ranks(a)
    rb = _centred_ranks(b)
    scale = np.sqrt((ra**2).sum() * (rb**2).sum())
    rho = float(ra @ rb / scale)
    rng = np.random.default_rng(seed)
    shuffled = np.stack([rng.permutation(rb) for _ in range(n_permutations)])
    null = shuffled @ ra / scale
    p = (1 + int(np.sum(np.abs(null) >= abs(rho) - 1e-12))) / (n_permutations + 1)
    return rho, p, n


def _centred_ranks(values: np.ndarray) -> np.ndarray:
    ranks = pd.Series(values).rank(method="average").to_numpy()
    return ranks - ranks.mean()


def damage_correlations(
    ablation: pd.DataFrame,
    measures: pd.DataFrame,
    names: Sequence[str],
    target: str = "own",
    *,
    n_permutations: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per layer and measure: Spearman's rho of the measure with the damage its ablation
    does, with its permutation p and the number of units. ``target="own"``: the accuracy
    lost by the class the measure itself names (`MEASURE_CLASS`: precision's class for
    precision, the best class mean's for CCMAS, ...); ``"overall"``: overall accuracy lost.
    rho is oriented so that a positive value means "more selective, more damage" (measures
    in `LOWER_IS_SELECTIVE` are negated). Measures the table lacks are left out."""
    if target not in ("own", "overall"):
        raise AblationError(f"target must be 'own' or 'overall', not {target!r}")
    rows = []
    for k, name in enumerate(names):
        if name not in measures.columns:
            continue
        if target == "own":
            table = own_class_damage(ablation, measures, MEASURE_CLASS[name])
            table = table.assign(damage=table["own_drop"])
        else:
            table = ablation.merge(measures, on=["layer", "unit"], validate="1:1")
            table = table.assign(damage=table["drop"])
        sign = -1.0 if name in LOWER_IS_SELECTIVE else 1.0
        for layer, part in table.groupby("layer", sort=False):
            rho, p, n = spearman_permutation(
                sign * part[name].to_numpy(dtype=float),
                part["damage"].to_numpy(dtype=float),
                n_permutations,
                seed + k,
            )
            rows.append({"layer": layer, "measure": name, "rho": rho, "p": p, "n": n})
    return pd.DataFrame(rows, columns=["layer", "measure", "rho", "p", "n"])


def sign_flip_p(differences: Sequence[float], n_permutations: int = 1000, seed: int = 0) -> float:
    """Two-sided p of a mean paired difference by random sign flips:
    ``(1 + #{|mean of flipped| >= |mean|}) / (K + 1)``; NaN without differences."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan")
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_permutations, d.size))
    null = np.abs(signs @ d) / d.size
    return (1 + int(np.sum(null >= abs(d.mean()) - 1e-15))) / (n_permutations + 1)


# --- top-k sweeps ---------------------------------------------------------------------------


def detector_margin(table: pd.DataFrame) -> pd.Series | None:
    """How far each unit clears the paper's "reasonable" detector bar (spec/beyond.md):
    ``min(detector_recall - .5, .5 - detector_false_alarm)``, positive for a detector; None
    when the table lacks the detector columns."""
    if not {"detector_recall", "detector_false_alarm"} <= set(table.columns):
        return None
    recall = table["detector_recall"].astype(float) - 0.5
    return np.minimum(recall, 0.5 - table["detector_false_alarm"].astype(float))


def with_detector_margin(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with a ``detector_margin`` column where its detector columns allow one."""
    margin = detector_margin(table)
    return table if margin is None else table.assign(detector_margin=margin)


def k_sweep(n_units: int, ks: Sequence[int] | None = None, layer: str = "the layer") -> list[int]:
    """The numbers of units a top-k sweep ablates: `ks` if given (checked against the
    layer), else 1, 2, 4, ... up to half the layer."""
    if ks is None:
        values, k = [], 1
        while k <= max(n_units // 2, 1):
            values.append(k)
            k *= 2
        return values
    values = [int(k) for k in ks]
    too_large = [k for k in values if k > n_units]
    if too_large:
        raise AblationError(
            f"k = {too_large[0]} is larger than {layer}, which has {n_units} units: choose "
            f"k <= {n_units}"
        )
    if any(k < 1 for k in values):
        raise AblationError(f"every k must be at least 1; got {values}")
    return sorted(set(values))


def ranked_units(table: pd.DataFrame, measure: str) -> np.ndarray:
    """The layer's units, most selective by `measure` first (a lower value first for
    `LOWER_IS_SELECTIVE`), ties by unit number, units without a value last."""
    if measure not in table.columns:
        raise AblationError(
            f"the measures table has no column {measure!r}; rank by one of "
            f"{', '.join(c for c in RANKINGS if c in table.columns)}"
        )
    values = table[measure].astype(float)
    if measure not in LOWER_IS_SELECTIVE:
        values = -values
    order = pd.DataFrame({"v": values.to_numpy(), "unit": table["unit"].to_numpy()})
    return order.sort_values(["v", "unit"], na_position="last", kind="stable")["unit"].to_numpy()


def top_k_ablation(
    ablator: Ablator,
    measures: pd.DataFrame,
    rankings: Sequence[str],
    ks: Sequence[int] | None = None,
    *,
    n_random: int = 5,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Accuracy with the k most selective units by each ranking measure zeroed, and with k
    random units (``ranking = "random"``, `n_random` seeded draws, nested over k), for each
    k of `k_sweep`. One row per (ranking, seed, k): ``accuracy`` and ``drop``."""
    layer = measures[measures["layer"] == ablator.layer] if "layer" in measures else measures
    ks = k_sweep(ablator.n_units, ks, repr(ablator.layer))
    orders = {name: ranked_units(layer, name) for name in rankings}
    for r in range(n_random):
        orders[("random", r)] = np.random.default_rng([seed, r]).permutation(ablator.n_units)
    rows = []
    bar = tqdm(orders.items(), desc=f"top-k {ablator.layer}", disable=not progress)
    for name, order in bar:
        ranking, draw = name if isinstance(name, tuple) else (name, None)
        for k in ks:
            accuracy, _ = ablator.accuracy(order[:k])
            rows.append((ablator.layer, ranking, draw, k, accuracy))
    table = pd.DataFrame(rows, columns=["layer", "ranking", "seed", "k", "accuracy"])
    return table.assign(drop=ablator.base_accuracy - table["accuracy"])
