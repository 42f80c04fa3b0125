"""Train the small AlexNet-style CNN on Fashion-MNIST, once per configuration.

The weights are cached under ``data/cache/models/<key>.pt`` where ``key`` hashes the whole
:class:`TrainConfig` (architecture, data, optimiser, seed), so a rerun with the same
configuration loads them instead of training. Beside the weights, ``<key>.json`` records
the configuration, seconds and test accuracy per epoch, and the weights' sha256 (the
provenance that activation files carry). Both files are written to a temporary name and
renamed, the JSON last: a cache entry without its JSON, or whose sha256 disagrees, is
ignored and retrained.

Training is deterministic for a given seed, torch version and thread count: seeded
initialisation, a seeded shuffle, and dropout drawn from the seeded global generator.
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from hashlib import sha256
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
    file_sha256,
    network_config,
)
from compendium.util.cache import cache_dir
from compendium.util.files import atomic_path

log = logging.getLogger(__name__)

# Bump when a change to this module changes what training produces.
TRAIN_CODE_VERSION = 1

__all__ = [
    "TrainConfig",
    "TrainedModel",
    "evaluate",
    "load_trained",
    "model_dir",
    "smoke_config",
    "predict",
    "train",
    "trained_model",
]


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
            raise ValueError(
                f"training parameters must be positive, got {bad or [f'lr={self.lr}']}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "model": self.model.to_dict()}

    @property
    def key(self) -> str:
        """16 hex digits identifying this configuration (and the training code's version)."""
        text = json.dumps({**self.to_dict(), "code": TRAIN_CODE_VERSION}, sort_keys=True)
        return sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a (profile) mapping; ``model`` may be a dict of SmallAlexNetConfig fields."""
        values = dict(values)
        unknown = set(values) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(
                f"unknown training parameters {sorted(unknown)}; "
                f"known: {sorted(cls.__dataclass_fields__)}"
            )
        model = values.pop("model", {})
        if isinstance(model, dict):
            model = network_config(model)  # ``arch`` picks the network; default small-alexnet
        return cls(model=model, **values)


@dataclass
class TrainedModel:
    """A trained network with its cache files and training report."""

    model: SmallAlexNet
    config: TrainConfig
    weights_path: Path
    report: dict[str, Any]

    @property
    def weights_sha256(self) -> str:
        return self.report["weights_sha256"]

    @property
    def name(self) -> str:
        return f"{getattr(self.config.model, 'network_name', SMALL_ALEXNET)}-{self.config.key}"


def model_dir() -> Path:
    return cache_dir() / "models"


def trained_model(
    config: TrainConfig = TrainConfig(),
    *,
    retrain: bool = False,
    device: str = "cpu",
    threads: int | None = 2,
) -> TrainedModel:
    """The cached network for ``config``, training it first if needed."""
    if not retrain:
        cached = load_trained(config)
        if cached is not None:
            return cached
    return train(config, device=device, threads=threads)


def load_trained(config: TrainConfig) -> TrainedModel | None:
    """The cached network for ``config``, or None if there is no valid cache entry."""
    weights, report_path = _paths(config)
    if not (weights.is_file() and report_path.is_file()):
        return None
    report = json.loads(report_path.read_text())
    if report.get("weights_sha256") != file_sha256(weights):
        log.warning("%s does not match the sha256 in %s; retraining", weights, report_path)
        return None
    model = build_network(config.model)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    log.info("loaded trained model %s (test accuracy %.4f)", weights, report["test_accuracy"])
    return TrainedModel(model.eval(), config, weights, report)


def _paths(config: TrainConfig) -> tuple[Path, Path]:
    base = model_dir() / config.key
    return base.with_suffix(".pt"), base.with_suffix(".json")


def train(
    config: TrainConfig = TrainConfig(), *, device: str = "cpu", threads: int | None = 2
) -> TrainedModel:
    """Train from scratch with Adam and cross-entropy; evaluate on the test set each epoch."""
    if config.dataset not in TRAIN_DATASETS:
        raise ValueError(
            f"training supports datasets {', '.join(TRAIN_DATASETS)}, not {config.dataset!r}"
        )
    if threads:
        torch.set_num_threads(threads)
    train_set = training_split(config.dataset, "train")
    if config.n_train:
        train_set = train_set.subset(config.n_train)
    test_set = training_split(config.dataset, "test")
    if config.model.n_classes != len(train_set.class_names):
        raise ValueError(
            f"{config.dataset} has {len(train_set.class_names)} labels but the "
            f"network has n_classes={config.model.n_classes}; set the model's "
            f"n_classes to {len(train_set.class_names)}"
        )
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    model = build_network(config.model).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    x, y = _tensors(train_set)
    epochs = []
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        loss = _epoch(model, optimiser, x, y, config.batch_size, generator, device, epoch)
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
    return _save(model.cpu().eval(), config, epochs, device, threads)


def _tensors(data: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(data.standardise(data.images)[:, None])
    return x, torch.from_numpy(data.labels)


def _epoch(
    model: SmallAlexNet,
    optimiser: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    device: str,
    epoch: int,
) -> float:
    model.train()
    order = torch.randperm(len(y), generator=generator)
    total, seen = 0.0, 0
    bar = tqdm(range(0, len(y), batch_size), desc=f"train epoch {epoch}", unit="batch")
    for start in bar:
        idx = order[start : start + batch_size]
        xb, yb = x[idx].to(device), y[idx].to(device)
        optimiser.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
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


def _save(
    model: SmallAlexNet, config: TrainConfig, epochs: list[dict], device: str, threads: int | None
) -> TrainedModel:
    weights, report_path = _paths(config)
    weights.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # torch.save names the archive after the file: keep bytes stable
    torch.save(model.state_dict(), buffer)
    with atomic_path(weights) as tmp:
        tmp.write_bytes(buffer.getvalue())
    report = {
        "key": config.key,
        "config": config.to_dict(),
        "epochs": epochs,
        "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
        "seconds_total": round(sum(e["seconds"] for e in epochs), 2),
        "seconds_per_epoch": round(float(np.mean([e["seconds"] for e in epochs])), 2),
        "weights_sha256": file_sha256(weights),
        "torch": torch.__version__,
        "device": device,
        "threads": threads or torch.get_num_threads(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with atomic_path(report_path) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    log.info("wrote %s and %s", weights, report_path)
    return TrainedModel(model, config, weights, report)


def smoke_config(n_train: int = 2000, epochs: int = 1) -> TrainConfig:
    """A tiny configuration for tests and the smoke profile."""
    return replace(TrainConfig(), n_train=n_train, epochs=epochs)


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
