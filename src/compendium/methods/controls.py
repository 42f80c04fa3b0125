"""The networks a measure's values are compared with, besides chance: the same network
untrained, and the same training with other seeds (spec ``beyond.md``, "Chance").

* **Untrained** (`record_untrained`): the architecture of a training configuration with
  torch's default initialisation, seeded, recorded on exactly the images the trained
  network's recording kept (its correctly classified ones), every one of them kept. With
  the training seed (the default) it is the network training started from.
* **Training seeds** (`seed_configs`, `seed_recordings`): networks that differ from each
  other only in the training seed, each trained (or read from the cache, by its whole
  configuration) and recorded the way the profile records its own network.

Every recording is a file of the activation cache, named after everything that made it, so
a second call reads it back; one made with other weights is recorded again.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from compendium.activations.reader import is_complete, open_activations
from compendium.activations.recording import (
    activation_path,
    record_activations,
    record_small_alexnet,
)
from compendium.inputs.datasets import ImageSet, load_fashion_mnist
from compendium.networks.models import SMALL_ALEXNET, build_network, layer_paths
from compendium.networks.training import TrainConfig, TrainedModel, train_config, trained_model
from compendium.util.cache import cache_key
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

__all__ = [
    "ControlError",
    "SeedRun",
    "record_untrained",
    "seed_configs",
    "seed_recordings",
    "state_sha256",
    "untrained_network",
]

#: Bump when a change here changes what an untrained recording holds.
UNTRAINED_CODE_VERSION = 1


class ControlError(CompendiumError):
    """A control network cannot be made as asked (the message says what to change)."""


def untrained_network(config: TrainConfig, seed: int | None = None) -> nn.Module:
    """The network `config` describes with torch's default initialisation, drawn after
    ``torch.manual_seed(seed)`` (default: the training seed, so these are the weights that
    training `config` starts from), in eval mode."""
    torch.manual_seed(config.seed if seed is None else int(seed))
    return build_network(config.model).eval()


def state_sha256(network: nn.Module) -> str:
    """sha256 of a network's state dict as `torch.save` writes it: the untrained
    network's stand-in for a weights file's sha256."""
    buffer = io.BytesIO()
    torch.save(network.state_dict(), buffer)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def record_untrained(
    config: TrainConfig,
    trained_store: str | os.PathLike,
    *,
    seed: int | None = None,
    batch_size: int = 500,
    device: str = "cpu",
) -> Path:
    """Record the untrained network of `config` (`untrained_network`) on the images the
    recording `trained_store` of the trained network kept, keeping every one, so both files
    hold the same images in the same order; returns the file (cached by the architecture,
    the seed and the trained recording's images)."""
    seed = config.seed if seed is None else int(seed)
    kept = _kept_images(Path(trained_store))
    network = untrained_network(config, seed)
    sha = state_sha256(network)
    name = getattr(config.model, "network_name", SMALL_ALEXNET)
    model = f"{name}-untrained-" + cache_key(
        {"model": config.model.to_dict(), "seed": seed, "code": UNTRAINED_CODE_VERSION}
    )
    path = activation_path(model, kept.name, "all")
    _drop_if_stale(path, sha)
    provenance = {
        "model": model,
        "weights_sha256": sha,
        "untrained_seed": seed,
        "dataset": kept.name,
        "preprocessing": kept.preprocessing,
        "images_of": str(Path(trained_store).name),
        "train_config": json.dumps(config.to_dict(), sort_keys=True),
    }
    record_activations(
        network,
        kept,
        path,
        layers=layer_paths(network),
        class_names=kept.class_names,
        provenance=provenance,
        keep="all",
        batch_size=batch_size,
        device=device,
    )
    _check_same_images(path, Path(trained_store))
    return path


def _kept_images(trained_store: Path) -> ImageSet:
    """The Fashion-MNIST images a recording of the trained network kept, in its order."""
    with open_activations(trained_store) as store:
        dataset = str(store.attrs.get("dataset", ""))
        index, labels = store.image_index, store.labels
        sha = str(store.attrs.get("weights_sha256", ""))
    split = dataset.removeprefix("fashion-mnist:").split("[")[0]
    if not dataset.startswith("fashion-mnist:") or split not in ("train", "test"):
        raise ControlError(
            f"{trained_store} records {dataset or 'an unnamed data set'}, not Fashion-MNIST "
            "images: the untrained network is recorded on Fashion-MNIST profiles only"
        )
    data = load_fashion_mnist(split)
    if not np.array_equal(data.labels[index], labels):
        raise ControlError(
            f"the labels of {trained_store} are not those of Fashion-MNIST's {split} images it "
            "names: the file is damaged or from another data set; record it again"
        )
    return ImageSet(
        data.images[index],
        data.labels[index],
        data.class_names,
        f"{dataset}-kept-by-{sha[:16]}",
        data.mean,
        data.std,
        data.sources,
    )


def _drop_if_stale(path: Path, weights_sha256: str) -> None:
    """Delete a finished recording at `path` made with other weights (a cache entry)."""
    if not is_complete(path):
        return
    with open_activations(path) as store:
        found = store.attrs.get("weights_sha256")
    if found != weights_sha256:
        log.warning(
            "%s was made with weights %s, not %s; recording again", path, found, weights_sha256
        )
        path.unlink()


def _check_same_images(path: Path, trained_store: Path) -> None:
    with open_activations(path) as made, open_activations(trained_store) as trained:
        if not np.array_equal(made.labels, trained.labels):
            raise ControlError(
                f"{path} does not hold the images of {trained_store}; delete it and run again"
            )


# --- training seeds ----------------------------------------------------------------------


@dataclass(frozen=True)
class SeedRun:
    """One network of the seed family: its training seed, the trained network (its weights,
    report and where they came from) and its recording."""

    seed: int
    trained: TrainedModel
    store: Path


def seed_configs(
    base: TrainConfig,
    seeds: Sequence[int],
    *,
    epochs: int | None = None,
    n_train: int | None = None,
) -> list[TrainConfig]:
    """`base` once per seed, with `epochs` and `n_train` replaced where given (None keeps
    `base`'s): configurations that differ only in the training seed."""
    checked = _checked_seeds(seeds)
    settings: dict[str, Any] = base.to_dict()
    return [train_config(settings, seed=s, epochs=epochs, n_train=n_train) for s in checked]


def _checked_seeds(seeds: Sequence[int]) -> list[int]:
    values = list(seeds) if isinstance(seeds, Sequence) and not isinstance(seeds, str) else []
    whole = all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in values)
    if not values or not whole or len(set(values)) != len(values):
        raise ControlError(
            f"seeds must be a list of different whole numbers, such as [0, 1, 2]; got {seeds!r}"
        )
    return [int(s) for s in values]


def seed_recordings(
    configs: Sequence[TrainConfig],
    *,
    split: str = "test",
    n_images: int | None = None,
    keep: str = "correct",
    threads: int | None = 2,
    batch_size: int = 500,
) -> list[SeedRun]:
    """Train (or read from the cache) each configuration's network and record it on
    Fashion-MNIST's `split` (its first `n_images`), keeping `keep` images, as a profile
    records its own network; a recording made with other weights is made again."""
    runs = []
    for config in configs:
        trained = trained_model(config, threads=threads)
        data_name = f"fashion-mnist:{split}" + (f"[:{n_images}]" if n_images else "")
        _drop_if_stale(activation_path(trained.name, data_name, keep), trained.weights_sha256)
        recorded = record_small_alexnet(
            trained, split=split, n_images=n_images, keep=keep, batch_size=batch_size
        )
        runs.append(SeedRun(config.seed, trained, recorded.path))
    return runs
