"""Model observers: trained networks that stand in for the paper's human participants.

No human judgements of this compendium's AM panels exist, so the default profile asks
other networks instead. Each observer is a classifier of the same images trained
independently of the network whose units are studied (another seed, another
architecture). Shown a panel, an observer answers **yes** when it puts at least
``agreement`` of the panel's images in one class, each with probability at least
``confidence``; its label is then that class's name. The answers fill the same response
table (:data:`compendium.methods.behaviour.RESPONSE_COLUMNS`) a human experiment would, so
:func:`compendium.methods.behaviour.table1` treats both alike.

These are machines, not people: a network can be confident about images no person would
name, and it can only ever name one of its own classes. The book says so beside every
number that comes from them.

Architectures: ``mlp`` (two hidden layers), ``lenet`` (two convolutions, two fully
connected layers) and ``small-alexnet`` (:class:`compendium.networks.models.SmallAlexNet`, trained
through :func:`compendium.networks.training.trained_model`). Trained observers are entries of
the project's cache (:mod:`compendium.util.cache`, kind ``observers``): ``<key>.pt`` with a
JSON record beside it, keyed by their settings; shipped ones (``data/weights/observers/``)
are used first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from compendium.methods.am import ImageSpec, classify_images
from compendium.methods.behaviour import Design
from compendium.util.cache import cache_key, cached_network, parse_weights

log = logging.getLogger(__name__)

__all__ = [
    "LeNet",
    "MLP",
    "OBSERVER_ARCHS",
    "Observer",
    "ObserverSpec",
    "build_observer",
    "describe",
    "observer_responses",
    "respond",
    "trained_observer",
    "trained_observers",
]

OBSERVER_ARCHS = ("mlp", "lenet", "small-alexnet", "torchvision")
#: Settings that only a torchvision observer reads (left out of the other observers' keys).
_TORCHVISION_FIELDS = ("network", "weights", "num_classes")
# Bump when a change here changes what training produces.
OBSERVER_CODE_VERSION = 1
#: The cache kind (sub-folder) of trained observers.
OBSERVERS = "observers"


class MLP(nn.Module):
    """Flatten, then ``width`` and ``width // 2`` ReLU units, then the classes."""

    def __init__(self, width: int = 256, n_classes: int = 10, pixels: int = 784) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(pixels, width),
            nn.ReLU(),
            nn.Linear(width, width // 2),
            nn.ReLU(),
            nn.Linear(width // 2, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LeNet(nn.Module):
    """Two 5 x 5 convolutions (``width`` and ``2 * width`` channels, each followed by 2 x 2
    max pooling), a hidden layer of 128 units, then the classes; for 28 x 28 input."""

    def __init__(self, width: int = 8, n_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * 49, 128), nn.ReLU(), nn.Linear(128, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@dataclass(frozen=True)
class ObserverSpec:
    """One observer: its architecture and training. ``width``: hidden units (mlp) or first
    convolution's channels (lenet); ``model``: SmallAlexNetConfig fields (small-alexnet).
    ``arch="torchvision"`` takes a pretrained torchvision ``network`` (alexnet, vgg16,
    googlenet) with ``weights`` (a torchvision weights name or a file; ``num_classes``
    for a file), for ImageNet-style images; nothing is trained."""

    name: str
    arch: str = "mlp"
    width: int = 256
    seed: int = 1
    epochs: int = 2
    n_train: int | None = None
    lr: float = 1e-3
    batch_size: int = 128
    model: dict = field(default_factory=dict)
    network: str = ""
    weights: str = "DEFAULT"
    num_classes: int = 1000

    def __post_init__(self) -> None:
        if self.arch not in OBSERVER_ARCHS:
            raise ValueError(
                f"observer {self.name!r}: arch must be one of "
                f"{', '.join(OBSERVER_ARCHS)}, not {self.arch!r}"
            )
        if self.width < 1 or self.epochs < 1 or (self.n_train is not None and self.n_train < 1):
            raise ValueError(f"observer {self.name!r}: width, epochs and n_train must be positive")
        if self.model and self.arch != "small-alexnet":
            raise ValueError(
                f"observer {self.name!r}: `model` settings apply to arch small-alexnet only"
            )
        if self.arch == "torchvision":
            from compendium.networks.models import TORCHVISION_MODELS

            if self.network not in TORCHVISION_MODELS:
                raise ValueError(
                    f"observer {self.name!r}: a torchvision observer needs "
                    f"`network`, one of {', '.join(TORCHVISION_MODELS)}"
                )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ObserverSpec:
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"unknown observer settings {unknown}; known: {sorted(cls.__dataclass_fields__)}"
            )
        if "name" not in values:
            raise ValueError(f"an observer needs a `name` (its participant id); got {dict(values)}")
        return cls(**values)

    def settings(self) -> dict[str, Any]:
        """The fields that decide the trained network: all but the name (and, except for a
        torchvision observer, the torchvision fields). A cache entry stores them."""
        return {
            k: v
            for k, v in asdict(self).items()
            if k != "name" and (self.arch == "torchvision" or k not in _TORCHVISION_FIELDS)
        }

    @property
    def key(self) -> str:
        """The cache key of `settings` (and of the training code's version)."""
        return cache_key({**self.settings(), "code": OBSERVER_CODE_VERSION})

    def training(self) -> Any:
        """The :class:`compendium.networks.training.TrainConfig` of a small-alexnet observer."""
        from compendium.networks.training import train_config

        return train_config(
            {
                "model": dict(self.model),
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "lr": self.lr,
                "seed": self.seed,
                "n_train": self.n_train,
            }
        )


@dataclass
class Observer:
    """A trained observer: its network, settings, test accuracy and training seconds."""

    spec: ObserverSpec
    model: nn.Module
    test_accuracy: float
    seconds: float

    @property
    def name(self) -> str:
        return self.spec.name


def build_observer(spec: ObserverSpec) -> nn.Module:
    """An untrained mlp or lenet observer network of `spec`."""
    if spec.arch == "mlp":
        return MLP(spec.width)
    return LeNet(spec.width)


def trained_observer(spec: ObserverSpec) -> Observer:
    """The cached observer for ``spec``, training it on Fashion-MNIST first if needed."""
    if spec.arch == "torchvision":
        from compendium.networks.models import load_torchvision

        model = load_torchvision(
            spec.network, parse_weights(spec.weights), num_classes=spec.num_classes
        )
        return Observer(spec, model, float("nan"), 0.0)
    if spec.arch == "small-alexnet":
        from compendium.networks.training import trained_model

        trained = trained_model(spec.training(), threads=None)
        return Observer(
            spec,
            trained.model.eval(),
            float(trained.report["test_accuracy"]),
            float(trained.report["seconds_total"]),
        )
    entry = cached_network(
        OBSERVERS,
        spec.key,
        spec.settings(),
        build=partial(build_observer, spec),
        compute=partial(_fit, spec),
    )
    record = entry.record
    return Observer(spec, entry.network.eval(), record["test_accuracy"], record["seconds"])


def _fit(spec: ObserverSpec) -> tuple[nn.Module, dict[str, Any]]:
    """Train an mlp or lenet observer from its seed; the network and its record's fields."""
    from compendium.inputs.datasets import load_fashion_mnist
    from compendium.networks.training import evaluate, image_tensors, train_epoch

    data = load_fashion_mnist("train")
    if spec.n_train:
        data = data.subset(spec.n_train)
    x, y = image_tensors(data)
    torch.manual_seed(spec.seed)
    generator = torch.Generator().manual_seed(spec.seed)
    model = build_observer(spec)
    optimiser = torch.optim.Adam(model.parameters(), lr=spec.lr)
    began = time.perf_counter()
    for epoch in range(1, spec.epochs + 1):
        train_epoch(model, optimiser, x, y, spec.batch_size, generator, "cpu", epoch)
    seconds = time.perf_counter() - began
    model.eval()
    accuracy = evaluate(model, load_fashion_mnist("test"))
    log.info(
        "trained observer %s (%s) in %.1f s: test accuracy %.4f",
        spec.name,
        spec.arch,
        seconds,
        accuracy,
    )
    return model, {
        "test_accuracy": accuracy,
        "seconds": round(seconds, 2),
        "torch": torch.__version__,
    }


def trained_observers(specs: Sequence[Mapping[str, Any] | ObserverSpec]) -> list[Observer]:
    """Every observer of a profile's list, trained or read from the cache."""
    parsed = [s if isinstance(s, ObserverSpec) else ObserverSpec.from_dict(s) for s in specs]
    names = [s.name for s in parsed]
    if len(set(names)) != len(names):
        raise ValueError(f"observer names must be unique; got {names}")
    if not parsed:
        raise ValueError("give at least one observer")
    return [trained_observer(s) for s in parsed]


def describe(judges: Sequence[Observer]) -> pd.DataFrame:
    """One row per observer: architecture, seed, training data and epochs, test accuracy
    and training seconds."""
    return pd.DataFrame(
        [
            {
                "observer": j.name,
                "architecture": j.spec.arch,
                "seed": j.spec.seed,
                "training images": j.spec.n_train or 60000,
                "epochs": j.spec.epochs,
                "test accuracy": j.test_accuracy,
                "training seconds": round(j.seconds, 1),
            }
            for j in judges
        ]
    )


# --------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------


def respond(
    probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    confidence: float = 0.8,
    agreement: float = 0.5,
) -> tuple[bool, str]:
    """An observer's answer to one panel from its class probabilities (K, classes)."""
    probabilities = np.asarray(probabilities)
    if not (0 < confidence <= 1 and 0 < agreement <= 1):
        raise ValueError(
            f"confidence and agreement must lie in (0, 1]; got {confidence}, {agreement}"
        )
    best = probabilities.argmax(axis=1)
    sure = probabilities.max(axis=1) >= confidence
    votes = np.bincount(best[sure], minlength=probabilities.shape[1])
    winner = int(votes.argmax())
    if votes[winner] >= agreement * len(probabilities):
        return True, class_names[winner]
    return False, ""


def observer_responses(
    design: Design,
    observers: Sequence[Observer],
    panels: Mapping[tuple[str, int], np.ndarray],
    class_names: Sequence[str],
    *,
    image: ImageSpec | None = None,
    confidence: float = 0.8,
    agreement: float = 0.5,
    device: str = "cpu",
) -> pd.DataFrame:
    """Each observer answers the panels of its list: a response table.

    ``design.participants`` must name the observers; ``panels`` maps (layer, unit) to the
    panel's uint8 images (K, C, H, W).
    """
    by_name = {o.name: o for o in observers}
    missing = sorted(set(design.participants["participant"]) - set(by_name))
    if missing:
        raise ValueError(
            f"the design has participants {missing} that are not observers; "
            f"build it with participants={sorted(by_name)}"
        )
    image = image if image is not None else ImageSpec()
    rows = []
    for participant, list_id in design.participants.itertuples(index=False):
        observer = by_name[participant]
        mine = design.lists[design.lists["list"] == list_id]
        keys = [(layer, int(unit)) for layer, unit in mine[["layer", "unit"]].to_numpy()]
        absent = [k for k in keys if k not in panels]
        if absent:
            raise ValueError(f"no AM images for panels {absent[:3]}; make them first")
        stack = np.concatenate([panels[k] for k in keys])
        pixels = torch.from_numpy(stack.astype(np.float32) / 255.0)
        probs = classify_images(observer.model, pixels, image=image, device=device)
        start = 0
        for layer, unit in keys:
            k = len(panels[(layer, unit)])
            yes, label = respond(
                probs[start : start + k], class_names, confidence=confidence, agreement=agreement
            )
            start += k
            rows.append((participant, int(list_id), layer, unit, "yes" if yes else "no", label))
    from compendium.methods.behaviour import RESPONSE_COLUMNS

    return pd.DataFrame(rows, columns=list(RESPONSE_COLUMNS))
