"""Networks whose hidden units are measured, and the names of their recorded layers.

* :class:`SmallAlexNet`: AlexNet's layout (conv1..conv5, fc6, fc7, fc8; max pooling after
  conv1, conv2 and conv5; dropout before fc7 and fc8) at a quarter of its width, for
  1 x 28 x 28 images, trained from scratch by :mod:`compendium.networks.training`. Each named hidden
  layer is a ``Sequential(layer, ReLU)``, so a forward hook on ``conv1`` .. ``fc7`` sees the
  post-ReLU activations the paper records; ``fc8`` gives the logits.
* :class:`SmallVGG` and :class:`SmallGoogLeNet`: VGG's and GoogLeNet's layouts at the same
  scale (chapter 4), built from their configurations by :func:`build_network`.
* torchvision's AlexNet, VGG-16 and GoogLeNet, with pretrained weights from torchvision's
  weights mechanism (downloads on a machine with internet) or from a local file, or random
  weights (``weights=None``; what the offline tests use).

:func:`layer_paths` maps the paper's layer names to module paths in each network, pointing
at the module whose *output* is the post-ReLU map (e.g. AlexNet's ``conv5`` is
``features.11``, the ReLU after the fifth convolution).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compendium.util.errors import CompendiumError
from compendium.util.files import file_sha256  # re-exported: provenance of weights files

log = logging.getLogger(__name__)

TORCHVISION_MODELS = ("alexnet", "vgg16", "googlenet")
SMALL_ALEXNET = "small-alexnet"

__all__ = [
    "ModelError",
    "SMALL_ALEXNET",
    "SmallAlexNet",
    "SmallAlexNetConfig",
    "TORCHVISION_MODELS",
    "file_sha256",
    "imagenet_transform",
    "layer_paths",
    "load_torchvision",
    "SMALL_GOOGLENET",
    "SMALL_NETWORKS",
    "SMALL_VGG",
    "SmallGoogLeNet",
    "SmallGoogLeNetConfig",
    "SmallVGG",
    "SmallVGGConfig",
    "build_network",
    "network_config",
]


class ModelError(CompendiumError):
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
    return nn.Sequential(
        OrderedDict(conv=nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), relu=nn.ReLU())
    )


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
            raise ModelError(
                f"image_size {config.image_size} is too small for SmallAlexNet; use at least 12"
            )
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

    Accepts a model instance or one of ``"small-alexnet"``, ``"small-vgg"``,
    ``"small-googlenet"`` (default configurations), ``"alexnet"``, ``"vgg16"``,
    ``"googlenet"`` (for these a random-weight instance is built to read its layout).
    """
    if isinstance(model, str):
        if model == SMALL_ALEXNET:
            return {name: name for name in SmallAlexNet.layer_names}
        if model in (SMALL_VGG, SMALL_GOOGLENET):
            model = SMALL_NETWORKS[model][1]()
        else:
            model = load_torchvision(model, weights=None)
    if isinstance(model, (SmallAlexNet, SmallVGG, SmallGoogLeNet)):
        return {name: name for name in model.layer_names}
    kind = type(model).__name__.lower()
    if kind == "alexnet":
        return _alexnet_paths()
    if kind == "vgg":
        return _vgg_paths(model)
    if kind == "googlenet":
        return _googlenet_paths(model)
    raise ModelError(
        f"no layer table for {type(model).__name__}; pass the layers to record "
        "as {name: module path} (see model.named_modules())"
    )


def _alexnet_paths() -> dict[str, str]:
    convs = {
        "conv1": "features.1",
        "conv2": "features.4",
        "conv3": "features.7",
        "conv4": "features.9",
        "conv5": "features.11",
    }
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
    names = ["conv1", "conv2", "conv3"] + [
        n for n, _ in model.named_children() if n.startswith("inception")
    ]
    return {**{n: n for n in names}, "fc": "fc"}


# --------------------------------------------------------------------------------------
# torchvision models
# --------------------------------------------------------------------------------------


def load_torchvision(
    name: str, weights: str | os.PathLike | None = "DEFAULT", *, num_classes: int = 1000
) -> nn.Module:
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
        raise ModelError(
            f"torchvision has no weights {weights!r} for {name}; choose one of "
            f"{[w.name for w in tvm.get_model_weights(name)]} or give a file path"
        ) from err
    try:
        return getattr(tvm, name)(weights=chosen)
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        raise ModelError(
            f"could not get torchvision's {name} weights {chosen.name} ({err}). Fix: run once on "
            f"a machine with internet (they are cached under $TORCH_HOME, now "
            f"{torch.hub.get_dir()}), or download {chosen.url} yourself and pass its path as "
            "weights"
        ) from err


def _load_state(model: nn.Module, path: Path, name: str) -> None:
    if not path.is_file():
        raise ModelError(f"no weights file at {path}; give the path of a saved state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise ModelError(
            f"{path} is not a readable torch weights file ({err}); check the "
            "path or download it again"
        ) from err
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
    wrong = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:4]}{' ...' if len(unexpected) > 4 else ''}")
        if wrong:
            parts.append(f"shape mismatch {wrong[:3]}")
        raise ModelError(
            f"{path} does not fit torchvision's {name}: {'; '.join(parts)}. Is it "
            f"a state dict for {name}, with the right num_classes?"
        )


def imagenet_transform() -> Any:
    """Resize 256, centre crop 224, scale to [0, 1], normalise with ImageNet's mean/std."""
    from torchvision import transforms as T

    return T.Compose(
        [
            T.Resize(256),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ]
    )


# --------------------------------------------------------------------------------------
# More small architectures for 28 x 28 images (chapter 4): VGG-style and GoogLeNet-style
# --------------------------------------------------------------------------------------

SMALL_VGG = "small-vgg"
SMALL_GOOGLENET = "small-googlenet"


@dataclass(frozen=True)
class SmallVGGConfig:
    """Shape of :class:`SmallVGG`: blocks of 3 x 3 convolutions, each block ended by 2 x 2
    max pooling, then fc6, fc7 and fc8 (VGG-16's layout with three blocks instead of five).
    ``blocks`` gives the filters of each convolution, block by block."""

    in_channels: int = 1
    image_size: int = 28
    n_classes: int = 10
    blocks: tuple[tuple[int, ...], ...] = ((16, 16), (32, 32), (48, 48, 48))
    fc_width: int = 256
    dropout: float = 0.5

    network_name = SMALL_VGG  # not a field: the name used in file names and reports

    def to_dict(self) -> dict[str, Any]:
        return {"arch": SMALL_VGG, **asdict(self), "blocks": [list(b) for b in self.blocks]}


class SmallVGG(nn.Module):
    """VGG's layout scaled down for 28 x 28 images; layers ``conv<block>_<k>``, fc6-fc8.

    With the default three blocks the maps are 28, 14 and 7 pixels wide, so ``conv3_3``
    plays the part of VGG-16's ``conv5_3`` (its last convolution, 14 x 14 at 224 pixels).
    Each named layer is a ``Sequential(layer, ReLU)``: hooks see post-ReLU activations.
    """

    def __init__(self, config: SmallVGGConfig = SmallVGGConfig()) -> None:
        super().__init__()
        self.config = config
        side, c_in, names = config.image_size, config.in_channels, []
        for b, widths in enumerate(config.blocks, 1):
            for k, width in enumerate(widths, 1):
                names.append(f"conv{b}_{k}")
                self.add_module(names[-1], _conv(c_in, width, 3))
                c_in = width
            self.add_module(f"pool{b}", nn.MaxPool2d(2))
            side //= 2
        if side < 1 or not config.blocks:
            raise ModelError(
                f"{len(config.blocks)} blocks do not fit image_size "
                f"{config.image_size}; use fewer blocks or larger images"
            )
        self.flatten = nn.Flatten()
        self.drop6 = nn.Dropout(config.dropout)
        self.fc6 = _fc(c_in * side * side, config.fc_width)
        self.drop7 = nn.Dropout(config.dropout)
        self.fc7 = _fc(config.fc_width, config.fc_width)
        self.drop8 = nn.Dropout(config.dropout)
        self.fc8 = nn.Linear(config.fc_width, config.n_classes)
        self.layer_names = (*names, "fc6", "fc7", "fc8")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for b, widths in enumerate(self.config.blocks, 1):
            for k in range(1, len(widths) + 1):
                x = getattr(self, f"conv{b}_{k}")(x)
            x = getattr(self, f"pool{b}")(x)
        x = self.fc6(self.drop6(self.flatten(x)))
        x = self.fc7(self.drop7(x))
        return self.fc8(self.drop8(x))


@dataclass(frozen=True)
class SmallGoogLeNetConfig:
    """Shape of :class:`SmallGoogLeNet`. ``stem``: filters of conv1 (5 x 5) and conv2
    (3 x 3); ``blocks``: one tuple per inception block, (1x1, 3x3 reduce, 3x3, 5x5 reduce,
    5x5, pool projection) as in Szegedy et al.'s Table 1; the first ``blocks_at_14`` blocks
    work on 14 x 14 maps (stage 3), the rest on 7 x 7 maps (stage 4)."""

    in_channels: int = 1
    image_size: int = 28
    n_classes: int = 10
    stem: tuple[int, int] = (16, 32)
    blocks: tuple[tuple[int, ...], ...] = (
        (16, 16, 24, 4, 12, 12),
        (24, 16, 32, 4, 12, 12),
        (32, 24, 40, 6, 12, 12),
    )
    blocks_at_14: int = 1
    dropout: float = 0.2

    network_name = SMALL_GOOGLENET

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": SMALL_GOOGLENET,
            **asdict(self),
            "stem": list(self.stem),
            "blocks": [list(b) for b in self.blocks],
        }


class Inception(nn.Module):
    """Four parallel branches concatenated along channels, each ending in a ReLU (as in
    torchvision's GoogLeNet), so the block's output is post-ReLU."""

    def __init__(self, c_in: int, b1: int, r3: int, b3: int, r5: int, b5: int, proj: int) -> None:
        super().__init__()
        self.branch1 = _conv(c_in, b1, 1)
        self.branch2 = nn.Sequential(_conv(c_in, r3, 1), _conv(r3, b3, 3))
        self.branch3 = nn.Sequential(_conv(c_in, r5, 1), _conv(r5, b5, 5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv(c_in, proj, 1))
        self.out_channels = b1 + b3 + b5 + proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class SmallGoogLeNet(nn.Module):
    """GoogLeNet's layout scaled down for 28 x 28 images: conv1, pool, conv2, inception
    blocks 3a, 3b, ... (14 x 14), pool, 4a, 4b, ... (7 x 7), global average pooling,
    dropout and one linear layer ``fc`` (the logits)."""

    def __init__(self, config: SmallGoogLeNetConfig = SmallGoogLeNetConfig()) -> None:
        super().__init__()
        self.config = config
        if not 0 <= config.blocks_at_14 <= len(config.blocks) or config.image_size < 4:
            raise ModelError(
                f"blocks_at_14 must be between 0 and {len(config.blocks)}, and "
                f"image_size at least 4 (got {config.blocks_at_14}, {config.image_size})"
            )
        self.conv1 = _conv(config.in_channels, config.stem[0], 5)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = _conv(config.stem[0], config.stem[1], 3)
        c_in, names = config.stem[1], ["conv1", "conv2"]
        for i, shape in enumerate(config.blocks):
            stage, letter = (3, i) if i < config.blocks_at_14 else (4, i - config.blocks_at_14)
            names.append(f"inception{stage}{'abcdefghij'[letter]}")
            block = Inception(c_in, *shape)
            self.add_module(names[-1], block)
            c_in = block.out_channels
        self.pool3 = nn.MaxPool2d(2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(c_in, config.n_classes)
        self.blocks = names[2:]
        self.layer_names = (*names, "fc")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.pool1(self.conv1(x)))
        for i, name in enumerate(self.blocks):
            if i == self.config.blocks_at_14:
                x = self.pool3(x)
            x = getattr(self, name)(x)
        return self.fc(self.dropout(self.flatten(self.avgpool(x))))


#: Network configurations by their ``arch`` name (``network_config`` builds one from a dict).
SMALL_NETWORKS: dict[str, tuple[type, type]] = {
    SMALL_ALEXNET: (SmallAlexNetConfig, SmallAlexNet),
    SMALL_VGG: (SmallVGGConfig, SmallVGG),
    SMALL_GOOGLENET: (SmallGoogLeNetConfig, SmallGoogLeNet),
}


def network_config(values: dict[str, Any]) -> Any:
    """A network configuration from a (profile) mapping: ``arch`` picks the network
    (default ``small-alexnet``); lists become tuples (nested lists: tuples of tuples)."""
    values = dict(values)
    arch = values.pop("arch", SMALL_ALEXNET)
    if arch not in SMALL_NETWORKS:
        raise ModelError(f"unknown arch {arch!r}; choose one of {', '.join(SMALL_NETWORKS)}")
    config_type = SMALL_NETWORKS[arch][0]
    unknown = set(values) - set(config_type.__dataclass_fields__)
    if unknown:
        raise ModelError(
            f"{arch} has no settings {sorted(unknown)}; its settings are "
            f"{sorted(config_type.__dataclass_fields__)}"
        )
    return config_type(**{k: _tupled(v) for k, v in values.items()})


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def build_network(config: Any) -> nn.Module:
    """The small network a configuration describes (SmallAlexNet, SmallVGG or SmallGoogLeNet)."""
    for config_type, network in SMALL_NETWORKS.values():
        if isinstance(config, config_type):
            return network(config)
    raise ModelError(
        f"no small network for {type(config).__name__}; use one of "
        f"{', '.join(c.__name__ for c, _ in SMALL_NETWORKS.values())}"
    )
