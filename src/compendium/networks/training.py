"""Train the small AlexNet-style CNN (and its VGG- and GoogLeNet-style siblings) on
Fashion-MNIST, once per configuration.

The weights are an entry of the project's cache (:mod:`compendium.util.cache`, kind
``models``): ``<key>.pt`` where ``key`` hashes the whole :class:`TrainConfig`
(architecture, data, optimiser, seed), with ``<key>.json`` beside it recording the
configuration, seconds and test accuracy per epoch, and the weights' sha256 (the provenance
that activation files carry). :func:`trained_model` looks first among the weights shipped
with the compendium (``data/weights/models/``), then in ``data/cache/models/``, and trains
only when neither holds a current entry, or when asked to (``retrain=True``). An entry
whose configuration or sha256 disagrees is passed over with a log line, never used.

Training is deterministic for a given seed, torch version and thread count: seeded
initialisation, a seeded shuffle, and dropout drawn from the seeded global generator.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from compendium.inputs.datasets import ImageSet, load_fashion_mnist
from compendium.networks.models import (
    SMALL_ALEXNET,
    SmallAlexNet,
    SmallAlexNetConfig,
    build_network,
    network_config,
)
from compendium.util.cache import (
    COMPUTED,
    SHIPPED,
    CachedNetwork,
    cache_dir,
    cache_key,
    cached_network,
    load_cached,
)
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

# Bump when a change to this module changes what training produces.
TRAIN_CODE_VERSION = 1
#: The cache kind (sub-folder) of trained networks.
MODELS = "models"

__all__ = [
    "MODELS",
    "LossHook",
    "TrainConfig",
    "TrainedModel",
    "TrainingError",
    "evaluate",
    "fit",
    "image_tensors",
    "load_trained",
    "model_dir",
    "predict",
    "train",
    "train_config",
    "train_epoch",
    "trained_model",
]


class TrainingError(CompendiumError):
    """A training setting is unknown or out of range; the message names the fix."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the trained weights. ``n_train``: use only the first
    ``n_train`` training images (the smoke profile); ``None`` for all 60,000."""

    model: SmallAlexNetConfig = field(default_factory=SmallAlexNetConfig)
    dataset: str = "fashion-mnist"
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    n_train: int | None = None

    def __post_init__(self) -> None:
        bad = [
            f"{name}={getattr(self, name)}"
            for name in ("epochs", "batch_size", "n_train")
            if getattr(self, name) is not None and getattr(self, name) < 1
        ]
        if bad or self.lr <= 0:
            raise TrainingError(
                f"training parameters must be positive, got {bad or [f'lr={self.lr}']}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "model": self.model.to_dict()}

    @property
    def key(self) -> str:
        """The cache key of this configuration (and of the training code's version)."""
        return cache_key({**self.to_dict(), "code": TRAIN_CODE_VERSION})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a (profile) mapping; ``model`` may be a dict of SmallAlexNetConfig fields."""
        values = dict(values)
        unknown = set(values) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise TrainingError(
                f"unknown training parameters {sorted(unknown)}; "
                f"known: {sorted(cls.__dataclass_fields__)}"
            )
        model = values.pop("model", {})
        if isinstance(model, dict):
            model = network_config(model)  # ``arch`` picks the network; default small-alexnet
        return cls(model=model, **values)


def train_config(settings: Mapping[str, Any] | None = None, /, **overrides: Any) -> TrainConfig:
    """The one way to turn settings into a :class:`TrainConfig`: `settings` (a profile's
    ``train`` section, a network entry, an observer's fields) updated with `overrides`;
    an override given as None keeps the setting (or the default). Unknown settings raise
    `TrainingError`."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return TrainConfig.from_dict({**(settings or {}), **given})


@dataclass
class TrainedModel:
    """A trained network with its weights file and training report. ``origin``: where the
    weights came from (:data:`compendium.util.cache.SHIPPED`, ``CACHED`` or ``COMPUTED``)."""

    model: SmallAlexNet
    config: TrainConfig
    weights_path: Path
    report: dict[str, Any]
    origin: str = COMPUTED

    @property
    def weights_sha256(self) -> str:
        return self.report["weights_sha256"]

    @property
    def shipped(self) -> bool:
        """True for the weights committed with the compendium (``data/weights``)."""
        return self.origin == SHIPPED

    @property
    def provenance(self) -> str:
        """Where the weights came from, in words: 'shipped' or 'trained here'."""
        return "shipped" if self.shipped else "trained here"

    @property
    def name(self) -> str:
        return f"{getattr(self.config.model, 'network_name', SMALL_ALEXNET)}-{self.config.key}"


def model_dir() -> Path:
    """The cache folder of trained networks."""
    return cache_dir() / MODELS


def trained_model(
    config: TrainConfig = TrainConfig(),
    *,
    retrain: bool = False,
    shipped: bool = True,
    device: str = "cpu",
    threads: int | None = 2,
) -> TrainedModel:
    """The network for ``config``: the shipped weights (unless ``shipped=False``), else the
    cached ones, else trained now and cached. ``retrain=True`` trains whatever exists."""
    entry = cached_network(
        MODELS,
        config.key,
        config.to_dict(),
        build=partial(build_network, config.model),
        compute=partial(fit, config, device=device, threads=threads),
        recompute=retrain,
        shipped=shipped,
    )
    return _trained(entry, config)


def load_trained(config: TrainConfig, *, shipped: bool = True) -> TrainedModel | None:
    """The shipped (unless ``shipped=False``) or cached network for ``config``, or None if
    there is no current entry; never trains."""
    entry = load_cached(
        MODELS, config.key, config.to_dict(), partial(build_network, config.model), shipped=shipped
    )
    return None if entry is None else _trained(entry, config)


def _trained(entry: CachedNetwork, config: TrainConfig) -> TrainedModel:
    trained = TrainedModel(entry.network, config, entry.path, entry.record, entry.origin)
    if entry.origin != COMPUTED:
        log.info(
            "loaded trained model %s (%s, test accuracy %.4f)",
            entry.path,
            trained.provenance,
            entry.record["test_accuracy"],
        )
    return trained


def train(
    config: TrainConfig = TrainConfig(), *, device: str = "cpu", threads: int | None = 2
) -> TrainedModel:
    """Train from scratch (whatever is shipped or cached) and write the cache entry."""
    return trained_model(config, retrain=True, device=device, threads=threads)


#: A term added to the training loss. Called once with the new network before training
#: (to register the forward hooks it needs), it returns the function that maps each batch's
#: cross-entropy and labels to the loss minimised.
LossHook = Callable[[torch.nn.Module], Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]


def fit(
    config: TrainConfig,
    *,
    device: str = "cpu",
    threads: int | None = 2,
    loss_hook: LossHook | None = None,
) -> tuple[SmallAlexNet, dict[str, Any]]:
    """Train from scratch with Adam and cross-entropy (adjusted by `loss_hook`, if given),
    evaluating on the test set after each epoch; touches no cache. Returns the network (on
    the CPU, in eval mode) and the report's fields: per-epoch seconds, loss and test
    accuracy, torch version, threads."""
    if config.dataset not in TRAIN_DATASETS:
        raise TrainingError(
            f"training supports datasets {', '.join(TRAIN_DATASETS)}, not {config.dataset!r}"
        )
    if threads:
        torch.set_num_threads(threads)
    train_set = training_split(config.dataset, "train")
    if config.n_train:
        train_set = train_set.subset(config.n_train)
    test_set = training_split(config.dataset, "test")
    if config.model.n_classes != len(train_set.class_names):
        raise TrainingError(
            f"{config.dataset} has {len(train_set.class_names)} labels but the "
            f"network has n_classes={config.model.n_classes}; set the model's "
            f"n_classes to {len(train_set.class_names)}"
        )
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    model = build_network(config.model).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    adjust = loss_hook(model) if loss_hook is not None else None
    x, y = image_tensors(train_set)
    epochs = []
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        loss = train_epoch(
            model, optimiser, x, y, config.batch_size, generator, device, epoch, adjust
        )
        seconds = time.perf_counter() - start
        accuracy = evaluate(model, test_set, device=device)
        epochs.append(
            {
                "epoch": epoch,
                "seconds": round(seconds, 2),
                "train_loss": round(loss, 5),
                "test_accuracy": accuracy,
            }
        )
        log.info(
            "epoch %d: %.1f s, train loss %.4f, test accuracy %.4f", epoch, seconds, loss, accuracy
        )
    return model.cpu().eval(), _report(epochs, device, threads)


def _report(epochs: list[dict], device: str, threads: int | None) -> dict[str, Any]:
    return {
        "epochs": epochs,
        "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
        "seconds_total": round(sum(e["seconds"] for e in epochs), 2),
        "seconds_per_epoch": round(float(np.mean([e["seconds"] for e in epochs])), 2),
        "torch": torch.__version__,
        "device": device,
        "threads": threads or torch.get_num_threads(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def image_tensors(data: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised images (N, 1, H, W) and labels of `data`, as training reads them."""
    x = torch.from_numpy(data.standardise(data.images)[:, None])
    return x, torch.from_numpy(data.labels)


def train_epoch(
    model: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    device: str,
    epoch: int,
    adjust: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> float:
    """One pass over (`x`, `y`) in the order of a permutation drawn from `generator`, with
    one optimiser step per batch; returns the mean training loss. `adjust` (see `LossHook`)
    maps each batch's cross-entropy and labels to the loss minimised."""
    model.train()
    order = torch.randperm(len(y), generator=generator)
    total, seen = 0.0, 0
    bar = tqdm(range(0, len(y), batch_size), desc=f"train epoch {epoch}", unit="batch")
    for start in bar:
        idx = order[start : start + batch_size]
        xb, yb = x[idx].to(device), y[idx].to(device)
        optimiser.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        if adjust is not None:
            loss = adjust(loss, yb)
        loss.backward()
        optimiser.step()
        total += loss.item() * len(idx)
        seen += len(idx)
        bar.set_postfix(loss=f"{total / seen:.3f}")
    return total / seen


@torch.inference_mode()
def predict(
    model: torch.nn.Module, data: ImageSet, *, batch_size: int = 1000, device: str = "cpu"
) -> np.ndarray:
    """Predicted class per image."""
    model.eval()
    out = []
    for start in range(0, len(data), batch_size):
        xb = torch.from_numpy(data.standardise(data.images[start : start + batch_size])[:, None])
        out.append(model(xb.to(device)).argmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def evaluate(model: torch.nn.Module, data: ImageSet, *, device: str = "cpu") -> float:
    """Fraction of ``data`` classified correctly."""
    return round(float((predict(model, data, device=device) == data.labels).mean()), 5)


#: Training sets: Fashion-MNIST with its 10 classes, or with the coarse labels of
#: :data:`compendium.inputs.categories.COARSE_GROUPS` (the stand-in for a scene-trained network).
TRAIN_DATASETS = ("fashion-mnist", "fashion-mnist-coarse")


def training_split(dataset: str, split: str) -> ImageSet:
    """The images and training labels of ``dataset`` (one of `TRAIN_DATASETS`)."""
    data = load_fashion_mnist(split)
    if dataset == "fashion-mnist-coarse":
        from compendium.inputs.categories import coarse_task

        data = coarse_task(data)
    return data
