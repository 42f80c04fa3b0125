"""Networks whose hidden units are measured, and the names of their recorded layers.

* :class:`SmallAlexNet`: AlexNet's layout (conv1..conv5, fc6, fc7, fc8; max pooling after
  conv1, conv2 and conv5; dropout before fc7 and fc8) at a quarter of its width, for
  1 x 28 x 28 images, trained from scratch by :mod:`compendium.train`. Each named hidden
  layer is a ``Sequential(layer, ReLU)``, so a forward hook on ``conv1`` .. ``fc7`` sees the
  post-ReLU activations the paper records; ``fc8`` gives the logits.
* torchvision's AlexNet, VGG-16 and GoogLeNet, with pretrained weights from torchvision's
  weights mechanism (downloads on a machine with internet) or from a local file, or random
  weights (``weights=None``; what the offline tests use).

:func:`layer_paths` maps the paper's layer names to module paths in each network, pointing
at the module whose *output* is the post-ReLU map (e.g. AlexNet's ``conv5`` is
``features.11``, the ReLU after the fifth convolution).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

TORCHVISION_MODELS = ("alexnet", "vgg16", "googlenet")
SMALL_ALEXNET = "small-alexnet"

__all__ = [
    "ModelError", "SMALL_ALEXNET", "SmallAlexNet", "SmallAlexNetConfig", "TORCHVISION_MODELS",
    "file_sha256", "imagenet_transform", "layer_kinds", "layer_paths", "load_torchvision",
]


class ModelError(ValueError):
    """A model cannot be built or its weights do not fit it (the message says how to fix it)."""


@dataclass(frozen=True)
class SmallAlexNetConfig:
    """Shape of :class:`SmallAlexNet`. Defaults: AlexNet's widths (96, 256, 384, 384, 256;
    4096) divided by four, for 28 x 28 greyscale images and 10 classes."""

    in_channels: int = 1
    image_size: int = 28
    n_classes: int = 10
    widths: tuple[int, int, int, int, int] = (24, 64, 96, 96, 64)
    kernels: tuple[int, int, int, int, int] = (5, 5, 3, 3, 3)
    fc_width: int = 1024
    dropout: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "widths": list(self.widths), "kernels": list(self.kernels)}


def _conv(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict(conv=nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2),
                                     relu=nn.ReLU()))


def _fc(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict(linear=nn.Linear(n_in, n_out), relu=nn.ReLU()))


class SmallAlexNet(nn.Module):
    """AlexNet's layer sequence scaled down for 28 x 28 images.

    Spatial sizes for 28 x 28 input: conv1 28, pool 14, conv2 14, pool 7, conv3-5 7,
    pool 3 (3 x 3 windows, stride 2, as AlexNet's overlapping pooling).
    """

    layer_names = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")

    def __init__(self, config: SmallAlexNetConfig = SmallAlexNetConfig()) -> None:
        super().__init__()
        self.config = config
        w1, w2, w3, w4, w5 = config.widths
        k1, k2, k3, k4, k5 = config.kernels
        self.conv1 = _conv(config.in_channels, w1, k1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = _conv(w1, w2, k2)
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = _conv(w2, w3, k3)
        self.conv4 = _conv(w3, w4, k4)
        self.conv5 = _conv(w4, w5, k5)
        self.pool5 = nn.MaxPool2d(3, stride=2)
        side = ((config.image_size // 2 // 2) - 3) // 2 + 1
        if side < 1:
            raise ModelError(f"image_size {config.image_size} is too small for SmallAlexNet; "
                             "use at least 12")
        self.flatten = nn.Flatten()
        self.drop6 = nn.Dropout(config.dropout)
        self.fc6 = _fc(w5 * side * side, config.fc_width)
        self.drop7 = nn.Dropout(config.dropout)
        self.fc7 = _fc(config.fc_width, config.fc_width)
        self.drop8 = nn.Dropout(config.dropout)
        self.fc8 = nn.Linear(config.fc_width, config.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = self.pool5(self.conv5(self.conv4(self.conv3(x))))
        x = self.fc6(self.drop6(self.flatten(x)))
        x = self.fc7(self.drop7(x))
        return self.fc8(self.drop8(x))


# --------------------------------------------------------------------------------------
# Layer names
# --------------------------------------------------------------------------------------


def layer_paths(model: nn.Module | str) -> dict[str, str]:
    """The paper's layer names -> module paths whose output is the post-ReLU activation.

    Accepts a model instance or one of ``"small-alexnet"``, ``"alexnet"``, ``"vgg16"``,
    ``"googlenet"`` (for the latter a random-weight instance is built to read its layout).
    """
    if isinstance(model, str):
        if model == SMALL_ALEXNET:
            return {name: name for name in SmallAlexNet.layer_names}
        model = load_torchvision(model, weights=None)
    if isinstance(model, SmallAlexNet):
        return {name: name for name in SmallAlexNet.layer_names}
    kind = type(model).__name__.lower()
    if kind == "alexnet":
        return _alexnet_paths()
    if kind == "vgg":
        return _vgg_paths(model)
    if kind == "googlenet":
        return _googlenet_paths(model)
    raise ModelError(f"no layer table for {type(model).__name__}; pass the layers to record "
                     "as {name: module path} (see model.named_modules())")


def layer_kinds(paths: dict[str, str]) -> dict[str, str]:
    """``"fc"`` for fc*/logit layers, ``"conv"`` for the rest."""
    return {name: "fc" if name.startswith("fc") else "conv" for name in paths}


def _alexnet_paths() -> dict[str, str]:
    convs = {"conv1": "features.1", "conv2": "features.4", "conv3": "features.7",
             "conv4": "features.9", "conv5": "features.11"}
    return {**convs, "fc6": "classifier.2", "fc7": "classifier.5", "fc8": "classifier.6"}


def _vgg_paths(model: nn.Module) -> dict[str, str]:
    """conv<block>_<k> for each ReLU of ``features`` (blocks end at max pooling)."""
    paths, block, k = {}, 1, 0
    for index, module in model.features.named_children():
        if isinstance(module, nn.ReLU):
            k += 1
            paths[f"conv{block}_{k}"] = f"features.{index}"
        elif isinstance(module, nn.MaxPool2d):
            block, k = block + 1, 0
    return {**paths, "fc6": "classifier.1", "fc7": "classifier.4", "fc8": "classifier.6"}


def _googlenet_paths(model: nn.Module) -> dict[str, str]:
    """Stem convolutions and inception blocks (torchvision applies ReLU inside each)."""
    names = ["conv1", "conv2", "conv3"] + [n for n, _ in model.named_children()
                                           if n.startswith("inception")]
    return {**{n: n for n in names}, "fc": "fc"}


# --------------------------------------------------------------------------------------
# torchvision models
# --------------------------------------------------------------------------------------


def load_torchvision(name: str, weights: str | os.PathLike | None = "DEFAULT", *,
                     num_classes: int = 1000) -> nn.Module:
    """torchvision's ``alexnet``, ``vgg16`` or ``googlenet`` in eval mode.

    ``weights``: ``None`` for random weights (seeded by the caller); a torchvision weights
    name (``"DEFAULT"``, ``"IMAGENET1K_V1"``), downloaded by torchvision into
    ``$TORCH_HOME`` on first use; or the path of a local state-dict file (e.g. converted
    Places-365 weights, then ``num_classes=365``).
    """
    import torchvision.models as tvm

    if name not in TORCHVISION_MODELS:
        raise ModelError(f"unknown model {name!r}; choose one of {', '.join(TORCHVISION_MODELS)}")
    builder = getattr(tvm, name)
    extra = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    if weights is None:
        model = builder(weights=None, num_classes=num_classes, **extra)
    elif _is_local(weights):
        model = builder(weights=None, num_classes=num_classes, **extra)
        _load_state(model, Path(weights), name)
    else:
        model = _from_torchvision(tvm, name, str(weights))
    return model.eval()


def _is_local(weights: str | os.PathLike) -> bool:
    text = str(weights)
    return isinstance(weights, os.PathLike) or os.sep in text or text.endswith((".pt", ".pth"))


def _from_torchvision(tvm: Any, name: str, weights: str) -> nn.Module:
    try:
        enum = tvm.get_model_weights(name)
        chosen = enum.DEFAULT if weights == "DEFAULT" else enum[weights]
    except KeyError as err:
        raise ModelError(f"torchvision has no weights {weights!r} for {name}; choose one of "
                         f"{[w.name for w in tvm.get_model_weights(name)]} or give a file path") from err
    try:
        return getattr(tvm, name)(weights=chosen)
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        raise ModelError(
            f"could not get torchvision's {name} weights {chosen.name} ({err}). Fix: run once on "
            f"a machine with internet (they are cached under $TORCH_HOME, now "
            f"{torch.hub.get_dir()}), or download {chosen.url} yourself and pass its path as "
            "weights") from err


def _load_state(model: nn.Module, path: Path, name: str) -> None:
    if not path.is_file():
        raise ModelError(f"no weights file at {path}; give the path of a saved state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise ModelError(f"{path} is not a readable torch weights file ({err}); check the "
                         "path or download it again") from err
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    _check_state(model, state, path, name)
    model.load_state_dict(state)
    log.info("loaded %s weights from %s", name, path)


def _check_state(model: nn.Module, state: dict[str, Any], path: Path, name: str) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
             for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:4]}{' ...' if len(unexpected) > 4 else ''}")
        if wrong:
            parts.append(f"shape mismatch {wrong[:3]}")
        raise ModelError(f"{path} does not fit torchvision's {name}: {'; '.join(parts)}. Is it "
                         f"a state dict for {name}, with the right num_classes?")


def imagenet_transform() -> Any:
    """Resize 256, centre crop 224, scale to [0, 1], normalise with ImageNet's mean/std."""
    from torchvision import transforms as T

    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                      T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, for provenance."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
