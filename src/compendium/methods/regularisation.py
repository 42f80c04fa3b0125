"""Selectivity regularisation (Leavitt & Morcos, ICLR 2021): train the small AlexNet with
``L = CE - alpha * SI`` and see what more or less selectivity costs.

``SI`` is the mean, over every unit of the regularised layers (pooled), of the
class-selectivity index ``(mu_max - mu_rest) / (mu_max + mu_rest + eps)`` computed from the
mini-batch's class means: ``mu_max`` the largest class mean of the unit, ``mu_rest`` the
mean of the other classes' means (classes absent from the batch are left out), ``eps =
1e-7`` (``spec/beyond.md``, "Selectivity regularisation"). It is the measures engine's
``ccmas_classmean`` up to `eps`. A conv unit's activation per image is its spatial maximum
by default, the summary the book's recordings measure (``summary="mean"``: the spatial
mean). ``alpha < 0`` discourages selectivity, ``alpha > 0`` encourages it.

The penalty enters training as a loss hook of :func:`compendium.networks.training.fit`
(:class:`SelectivityPenalty`), so everything else (data, order, dropout, optimiser) is
plain training's, and ``alpha = 0`` trains the same weights bit for bit. Trained networks
are cached like every other (:func:`compendium.util.cache.cached_network`, kind
``regularised``), keyed by :class:`RegularisedConfig`; `sweep_measures` records each on the
test images and measures its layers with the book's engine.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from compendium.activations.recording import activation_path, record_activations
from compendium.inputs.datasets import load_fashion_mnist
from compendium.measures import tables
from compendium.methods.ablation import load_average
from compendium.networks.models import build_network, layer_paths
from compendium.networks.training import TrainConfig, fit
from compendium.util.cache import COMPUTED, SHIPPED, cache_key, cached_network
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

__all__ = [
    "REGULARISED",
    "RegularisationError",
    "RegularisedConfig",
    "RegularisedModel",
    "SI_EPS",
    "SUMMARIES",
    "SelectivityPenalty",
    "class_selectivity",
    "mean_selectivity",
    "regularised_model",
    "sweep_measures",
    "unit_activations",
]

#: The cache kind (sub-folder) of regularised networks.
REGULARISED = "regularised"
#: Bump when a change to this module changes what regularised training produces.
REGULARISATION_CODE_VERSION = 1
#: The small constant in the denominator of the selectivity index.
SI_EPS = 1e-7
#: How a conv unit's map becomes one number per image.
SUMMARIES = ("max", "mean")


class RegularisationError(CompendiumError):
    """A regularisation setting is unknown or out of range; the message names the fix."""


def unit_activations(output: torch.Tensor, summary: str = "max") -> torch.Tensor:
    """A layer's output as (images, units): a conv map (N, C, H, W) summarised over space
    by its maximum or mean, an fc layer's output as it is."""
    if output.ndim == 4:
        return output.amax(dim=(2, 3)) if summary == "max" else output.mean(dim=(2, 3))
    if output.ndim == 2:
        return output
    raise RegularisationError(
        f"a regularised layer must output (batch, units) or (batch, units, H, W); got shape "
        f"{tuple(output.shape)}"
    )


def class_selectivity(
    activations: torch.Tensor, labels: torch.Tensor, eps: float = SI_EPS
) -> torch.Tensor:
    """The class-selectivity index of each unit of `activations` (images, units) over the
    classes present in `labels`: ``(mu_max - mu_rest) / (mu_max + mu_rest + eps)``."""
    classes, index = torch.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise RegularisationError(
            "the selectivity index compares classes, but the batch holds one: use batches "
            "of more images (batch_size) so that each holds at least two classes"
        )
    sums = torch.zeros(len(classes), activations.shape[1], dtype=activations.dtype)
    sums = sums.index_add(0, index, activations)
    counts = torch.bincount(index, minlength=len(classes)).to(activations.dtype)
    means = sums / counts[:, None]
    mu_max = means.max(dim=0).values
    mu_rest = (means.sum(dim=0) - mu_max) / (len(classes) - 1)
    return (mu_max - mu_rest) / (mu_max + mu_rest + eps)


def mean_selectivity(
    outputs: Sequence[torch.Tensor], labels: torch.Tensor, summary: str = "max"
) -> torch.Tensor:
    """SI: the mean class-selectivity index over every unit of `outputs` (one output per
    regularised layer, pooled)."""
    per_unit = [class_selectivity(unit_activations(out, summary), labels) for out in outputs]
    return torch.cat(per_unit).mean()


class SelectivityPenalty:
    """The loss hook ``L = CE - alpha * SI`` for :func:`compendium.networks.training.fit`.

    Called with the network, it registers forward hooks that keep the regularised layers'
    outputs while the network trains, and returns the function fit applies to each batch's
    cross-entropy. `remove` takes the hooks off again; `mean_si` is the mean SI over the
    batches trained so far."""

    def __init__(self, alpha: float, layers: Sequence[str], summary: str = "max") -> None:
        self.alpha, self.layers, self.summary = float(alpha), tuple(layers), summary
        self._outputs: dict[str, torch.Tensor] = {}
        self._handles: list = []
        self._si_sum, self._batches = 0.0, 0

    def __call__(self, model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        paths = layer_paths(model)
        modules = dict(model.named_modules())
        unknown = [layer for layer in self.layers if layer not in paths]
        if unknown:
            raise RegularisationError(
                f"the network has no layers {unknown} to regularise; its layers are "
                f"{', '.join(paths)}"
            )
        for layer in self.layers:
            hook = partial(self._keep, layer)
            self._handles.append(modules[paths[layer]].register_forward_hook(hook))
        return self.adjust

    def _keep(self, layer: str, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        if module.training:
            self._outputs[layer] = output

    def selectivity(self, labels: torch.Tensor) -> torch.Tensor:
        """SI of the batch the network last trained on."""
        return mean_selectivity(
            [self._outputs[layer] for layer in self.layers], labels, self.summary
        )

    def adjust(self, loss: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        si = self.selectivity(labels)
        self._outputs = {}
        self._si_sum += float(si.detach())
        self._batches += 1
        return loss - self.alpha * si

    @property
    def mean_si(self) -> float:
        return self._si_sum / self._batches if self._batches else float("nan")

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


@dataclass(frozen=True)
class RegularisedConfig:
    """Everything that determines a regularised network: plain training's `train`
    configuration, `alpha`, the regularised `layers` and the conv `summary`."""

    train: TrainConfig = field(default_factory=TrainConfig)
    alpha: float = 0.0
    layers: tuple[str, ...] = ("conv5", "fc6", "fc7")
    summary: str = "max"

    def __post_init__(self) -> None:
        if isinstance(self.alpha, bool) or not math.isfinite(float(self.alpha)):
            raise RegularisationError(f"alpha must be a finite number; got {self.alpha!r}")
        if self.summary not in SUMMARIES:
            raise RegularisationError(
                f"summary must be one of {', '.join(SUMMARIES)}; got {self.summary!r}"
            )
        if not self.layers:
            raise RegularisationError("give at least one layer to regularise, e.g. [fc6]")
        known = layer_paths(getattr(self.train.model, "network_name", "small-alexnet"))
        unknown = [layer for layer in self.layers if layer not in known]
        if unknown:
            raise RegularisationError(
                f"the network has no layers {unknown} to regularise; its layers are "
                f"{', '.join(known)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "train": self.train.to_dict(),
            "alpha": float(self.alpha),
            "layers": list(self.layers),
            "summary": self.summary,
            "eps": SI_EPS,
        }

    @property
    def key(self) -> str:
        return cache_key({**self.to_dict(), "code": REGULARISATION_CODE_VERSION})


@dataclass
class RegularisedModel:
    """A network trained with the selectivity penalty, with its weights file and report
    (plain training's fields plus ``mean_si``, the mean SI over the training batches)."""

    model: nn.Module
    config: RegularisedConfig
    weights_path: Path
    report: dict[str, Any]
    origin: str = COMPUTED

    @property
    def weights_sha256(self) -> str:
        return self.report["weights_sha256"]

    @property
    def name(self) -> str:
        return f"small-alexnet-si-{self.config.key}"

    @property
    def shipped(self) -> bool:
        return self.origin == SHIPPED


def fit_regularised(
    config: RegularisedConfig, *, device: str = "cpu", threads: int | None = 2
) -> tuple[nn.Module, dict[str, Any]]:
    """Train with the penalty (touches no cache): plain `fit` with the loss hook."""
    penalty = SelectivityPenalty(config.alpha, config.layers, config.summary)
    try:
        model, report = fit(config.train, device=device, threads=threads, loss_hook=penalty)
    finally:
        penalty.remove()
    fields = {"mean_si": round(penalty.mean_si, 6), "alpha": config.alpha}
    return model, {**report, **fields, "load_average": load_average()}


def regularised_model(
    config: RegularisedConfig, *, retrain: bool = False, threads: int | None = 2
) -> RegularisedModel:
    """The network for `config`: shipped or cached if current, else trained now and cached."""
    entry = cached_network(
        REGULARISED,
        config.key,
        config.to_dict(),
        build=partial(build_network, config.train.model),
        compute=partial(fit_regularised, config, threads=threads),
        recompute=retrain,
    )
    return RegularisedModel(entry.network, config, entry.path, entry.record, entry.origin)


def sweep_measures(
    trained: RegularisedModel,
    *,
    split: str = "test",
    n_images: int | None = None,
    keep: str = "all",
    layers: Sequence[str] | None = None,
    cache_dir: str | Path | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Every measure of every unit of `layers` (default: the regularised ones) of a
    regularised network, recorded like the profile's own network (post-ReLU, conv: spatial
    maximum) on the images of `split` (its first `n_images` if given): all of them by
    default, since the networks of a sweep differ in accuracy (``keep="correct"``: only
    those the network classifies correctly).
    The recording lies in the cache, named by the network; `options` go to
    :func:`compendium.measures.tables.measure_selection` (e.g. ``top``)."""
    layers = list(layers or trained.config.layers)
    data = load_fashion_mnist(split)
    data = data.subset(n_images) if n_images else data
    paths = layer_paths(trained.model)
    # named by the weights too, so that a network trained again never meets an old recording
    name = f"{trained.name}-{trained.weights_sha256[:12]}-{cache_key(layers)[:8]}"
    path = activation_path(name, data.name, keep)
    provenance = {
        "model": trained.name,
        "weights_sha256": trained.weights_sha256,
        "dataset": data.name,
        "preprocessing": data.preprocessing,
        "regularised_config": json.dumps(trained.config.to_dict(), sort_keys=True),
    }
    record_activations(
        trained.model,
        data,
        path,
        layers={layer: paths[layer] for layer in layers},
        class_names=data.class_names,
        provenance=provenance,
        keep=keep,
        batch_size=500,
    )
    selection = tables.unit_selection(path, layers)
    table = tables.measure_selection(path, selection, cache_dir=cache_dir, **options)
    return table.assign(alpha=trained.config.alpha)


def sweep_configs(
    base: TrainConfig, alphas: Sequence[float], layers: Sequence[str], summary: str = "max"
) -> list[RegularisedConfig]:
    """One configuration per alpha, the same in everything else; alphas must differ."""
    values = [float(a) for a in alphas]
    if not values:
        raise RegularisationError("give at least one alpha, e.g. [-1, 0, 1]")
    if len(set(values)) != len(values):
        raise RegularisationError(f"the alphas repeat a value: {values}; give each once")
    return [RegularisedConfig(base, a, tuple(layers), summary) for a in values]


def sweep_report(models: Mapping[float, RegularisedModel]) -> pd.DataFrame:
    """Per alpha: test accuracy, the mean SI over training, the seconds of training and
    where the weights came from."""
    rows = [
        {
            "alpha": alpha,
            "test_accuracy": m.report["test_accuracy"],
            "mean_si_training": m.report.get("mean_si"),
            "seconds": m.report.get("seconds_total"),
            "threads": m.report.get("threads"),
            "load_average": m.report.get("load_average"),
            "origin": m.origin,
        }
        for alpha, m in models.items()
    ]
    return pd.DataFrame(rows)
