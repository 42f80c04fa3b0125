"""Record hidden-unit activations of a network into an activation file.

Forward hooks on named modules capture each layer's output (post-ReLU: see
:func:`compendium.networks.models.layer_paths`). A 4-D output (batch, units, H, W) is a conv layer
and is summarised per image by its spatial maximum (the paper's choice) and spatial mean
(Morcos et al.'s); a 2-D output is stored as is. By default only correctly classified
images are kept, as in the paper.

Recording is resumable: the writer (:class:`compendium.activations.writer.ActivationWriter`)
remembers how many source images it has processed (``source_done``), so a rerun after an
interruption starts at the next unprocessed image, and no image is stored twice or lost.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from compendium.activations.reader import is_complete, open_activations
from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

KEEP_CHOICES = ("correct", "all")

__all__ = [
    "KEEP_CHOICES",
    "LayerRecorder",
    "RecordResult",
    "activation_path",
    "probe_layers",
    "record_activations",
    "record_small_alexnet",
    "record_torchvision",
    "record_torchvision_layer",
]


@dataclass
class RecordResult:
    """What a recording wrote: ``n_images`` stored out of ``n_seen`` processed in this run."""

    path: Path
    n_images: int
    n_seen: int
    seconds: float

    @property
    def images_per_second(self) -> float:
        return self.n_seen / self.seconds if self.seconds > 0 else float("nan")


class RecordingError(CompendiumError):
    """A recording that cannot be made as asked (the message says what to change)."""


class UnknownLayerError(RecordingError, KeyError):
    """A layer or module the network does not have (also a KeyError, as it was before)."""

    def __str__(self) -> str:
        return BaseException.__str__(self)


class LayerRecorder:
    """Forward hooks that keep the latest output of each named module, summarised.

    Use as a context manager so the hooks are removed afterwards.
    """

    def __init__(self, model: nn.Module, layers: Mapping[str, str]) -> None:
        modules = dict(model.named_modules())
        missing = [path for path in layers.values() if path not in modules]
        if missing:
            raise UnknownLayerError(
                f"model has no modules {missing}; pass layers as {{name: module "
                "path}} using names from model.named_modules()"
            )
        self.outputs: dict[str, dict[str, torch.Tensor]] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self._handles = [
            modules[path].register_forward_hook(self._hook(name)) for name, path in layers.items()
        ]

    def _hook(self, name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            if isinstance(output, tuple):  # e.g. GoogLeNet's aux outputs; keep the main one
                output = output[0]
            self.shapes[name] = tuple(output.shape[1:])
            if output.ndim == 4:
                self.outputs[name] = {
                    "max": output.amax(dim=(2, 3)),
                    "mean": output.mean(dim=(2, 3)),
                }
            elif output.ndim == 2:
                self.outputs[name] = {"max": output}
            else:
                raise RecordingError(
                    f"layer {name!r} outputs shape {tuple(output.shape)}; only "
                    "(batch, units) and (batch, units, H, W) can be recorded"
                )

        return hook

    def take(self, rows: np.ndarray | None = None) -> dict[str, dict[str, np.ndarray]]:
        """The captured batch as numpy, optionally only ``rows``; clears the capture."""
        out = {}
        for name, summaries in self.outputs.items():
            out[name] = {}
            for s, tensor in summaries.items():
                array = tensor.detach().float().cpu().numpy()
                out[name][s] = array if rows is None else array[rows]
        self.outputs = {}
        return out

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()

    def __enter__(self) -> LayerRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe_layers(
    model: nn.Module, layers: Mapping[str, str], example: torch.Tensor, device: str = "cpu"
) -> list[LayerSpec]:
    """Run one input through ``model`` to learn each layer's shape and kind."""
    with LayerRecorder(model, layers) as rec, torch.inference_mode():
        model(example[None].to(device))
    specs = []
    for name in layers:
        shape = rec.shapes[name]
        specs.append(
            LayerSpec(name, shape[0], kind="conv" if len(shape) == 3 else "fc", shape=shape)
        )
    return specs


def record_activations(
    model: nn.Module,
    dataset: Any,
    path: str | os.PathLike,
    *,
    layers: Mapping[str, str],
    class_names: Sequence[str],
    provenance: Mapping[str, Any],
    keep: str = "correct",
    batch_size: int = 256,
    device: str = "cpu",
    num_workers: int = 0,
    commit_rows: int | None = None,
    resume: bool = True,
) -> RecordResult:
    """Record ``layers`` ({name: module path}) of ``model`` over ``dataset`` into ``path``.

    ``dataset[i]`` must give ``(input tensor or array, label)``. ``keep="correct"`` stores
    only images whose top-scoring output equals the label (the model's outputs must then be
    numbered like the labels); ``"all"`` stores every image. If ``path`` is already a
    finished recording it is returned untouched.
    """
    path = Path(path)
    if keep not in KEEP_CHOICES:
        raise RecordingError(f"keep must be one of {KEEP_CHOICES}, not {keep!r}")
    if is_complete(path):
        with open_activations(path) as f:
            n = f.n_images
        log.info("%s is already recorded (%d images); delete it to record again", path, n)
        return RecordResult(path, n, 0, 0.0)
    if len(dataset) == 0:
        raise RecordingError("the dataset to record is empty; check its folder or subset size")
    model = model.eval().to(device)
    example = torch.as_tensor(dataset[0][0])
    specs = probe_layers(model, layers, example, device)
    prov = {**provenance, "selection": "correctly classified" if keep == "correct" else "all"}
    with ActivationWriter(
        path,
        specs,
        class_names,
        prov,
        expected_images=len(dataset),
        commit_rows=commit_rows,
        resume=resume,
    ) as writer:
        start = writer.source_done
        seen, seconds = _run(
            model, dataset, writer, layers, start, keep, batch_size, device, num_workers
        )
        n_images = writer.n_images
        writer.finish()
    log.info(
        "recorded %d of %d images in %.1f s (%.0f images/s) into %s",
        n_images,
        len(dataset),
        seconds,
        seen / max(seconds, 1e-9),
        path,
    )
    return RecordResult(path, n_images, seen, seconds)


def _run(
    model: nn.Module,
    dataset: Any,
    writer: ActivationWriter,
    layers: Mapping[str, str],
    start: int,
    keep: str,
    batch_size: int,
    device: str,
    num_workers: int,
) -> tuple[int, float]:
    if start:
        log.info("resuming at image %d of %d", start, len(dataset))
    remaining = Subset(dataset, range(start, len(dataset)))
    loader = DataLoader(
        remaining,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device.startswith("cuda"),
    )
    position, began = start, time.perf_counter()
    with LayerRecorder(model, layers) as rec, torch.inference_mode():
        bar = tqdm(loader, desc=f"record {writer.path.name}", unit="batch")
        for inputs, labels in bar:
            logits = model(inputs.to(device, non_blocking=True))
            labels = np.asarray(labels, dtype=np.int64)
            rows = np.arange(len(labels))
            if keep == "correct":
                rows = np.flatnonzero(logits.argmax(1).cpu().numpy() == labels)
            acts = rec.take(rows)
            writer.append(acts, labels[rows], position + rows, source_done=position + len(labels))
            position += len(labels)
            bar.set_postfix(kept=writer.n_images)
    return position - start, time.perf_counter() - began


# --------------------------------------------------------------------------------------
# The profiles' recordings
# --------------------------------------------------------------------------------------


def activation_path(model_name: str, dataset_name: str, keep: str) -> Path:
    """Default place of a recording in the cache, named by its inputs."""
    from compendium.util.cache import cache_dir

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset_name)
    return cache_dir() / "activations" / f"{model_name}__{safe}__{keep}.h5"


def record_small_alexnet(
    trained: Any,
    *,
    split: str = "test",
    n_images: int | None = None,
    keep: str = "correct",
    path: str | os.PathLike | None = None,
    batch_size: int = 500,
    device: str = "cpu",
) -> RecordResult:
    """Record the trained SmallAlexNet (a :class:`compendium.networks.training.TrainedModel`) on
    Fashion-MNIST's ``split`` (its first ``n_images`` if given)."""
    import json

    from compendium.inputs.datasets import load_fashion_mnist
    from compendium.networks.models import layer_paths

    data = load_fashion_mnist(split)
    if n_images:
        data = data.subset(n_images)
    path = Path(path) if path else activation_path(trained.name, data.name, keep)
    provenance = {
        "model": trained.name,
        "weights_sha256": trained.weights_sha256,
        "dataset": data.name,
        "preprocessing": data.preprocessing,
        "train_config": json.dumps(trained.config.to_dict(), sort_keys=True),
    }
    return record_activations(
        trained.model,
        data,
        path,
        layers=layer_paths(trained.model),
        class_names=data.class_names,
        provenance=provenance,
        keep=keep,
        batch_size=batch_size,
        device=device,
    )


def record_torchvision(
    name: str,
    image_folder: str | os.PathLike,
    *,
    weights: str | os.PathLike | None = "DEFAULT",
    synsets: str | os.PathLike | None = None,
    max_per_class: int | None = None,
    layers: Sequence[str] | None = None,
    keep: str = "correct",
    path: str | os.PathLike | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    num_workers: int = 0,
    seed: int = 0,
    num_classes: int = 1000,
) -> RecordResult:
    """Record torchvision's ``name`` (alexnet, vgg16, googlenet) on an ImageNet-style folder.

    ``layers`` picks among :func:`compendium.networks.models.layer_paths` names (default: all).
    With ``weights=None`` the network has seeded random weights (for tests).
    ``num_classes``: outputs of the network the weights belong to (365 for Places-365).
    """
    from compendium.inputs.datasets import ImageFolderDataset
    from compendium.networks.models import (
        file_sha256,
        imagenet_transform,
        layer_paths,
        load_torchvision,
    )

    torch.manual_seed(seed)
    model = load_torchvision(name, weights, num_classes=num_classes)
    data = ImageFolderDataset(
        image_folder, synsets=synsets, transform=imagenet_transform(), max_per_class=max_per_class
    )
    table = layer_paths(model)
    names = list(layers) if layers else list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise UnknownLayerError(f"{name} has no layers {unknown}; it has {', '.join(table)}")
    chosen = {n: table[n] for n in names}
    if weights is None:
        weights_id = f"random(seed={seed})"
    elif os.path.isfile(str(weights)):
        weights_id = file_sha256(weights)
    else:
        weights_id = f"torchvision:{weights}"
    model_name = f"{name}-{Path(str(weights)).stem if weights else 'random'}"
    path = Path(path) if path else activation_path(model_name, data.name, keep)
    provenance = {
        "model": model_name,
        "weights_sha256": weights_id,
        "dataset": data.name,
        "preprocessing": "resize 256, centre crop 224, ImageNet mean/std",
    }
    return record_activations(
        model,
        data,
        path,
        layers=chosen,
        class_names=data.class_names,
        provenance=provenance,
        keep=keep,
        batch_size=batch_size,
        device=device,
        num_workers=num_workers,
    )


def record_torchvision_layer(
    name: str,
    layer: str,
    image_folder: str | os.PathLike,
    *,
    weights: str | os.PathLike | None,
    synsets: str | os.PathLike | None = None,
    max_per_class: int | None = None,
    batch_size: int = 32,
    seed: int = 0,
    num_classes: int = 1000,
) -> Path:
    """Record one ``layer`` of torchvision's ``name`` on the first ``max_per_class`` images
    of each class of an ImageNet-style folder, keeping every image (as the paper's Appendix
    D does), and return the file's path.

    The file lies in the cache, named by the network, its weights, the layer and the images,
    so the same call finds the finished recording (or resumes an interrupted one).
    ``weights``: as :func:`record_torchvision` takes them (``None``: seeded random weights).
    """
    folder = Path(image_folder).resolve()
    stem = Path(str(weights)).stem if weights else f"random{seed}"
    path = activation_path(
        f"{name}-{stem}-{layer}",
        f"{folder}-first{max_per_class or 'all'}",
        "all",
    )
    record_torchvision(
        name,
        folder,
        weights=weights,
        synsets=synsets,
        max_per_class=max_per_class,
        layers=[layer],
        keep="all",
        path=path,
        batch_size=batch_size,
        seed=seed,
        num_classes=num_classes,
    )
    return path
