"""Activation maximisation (AM) without a generator network, batched over many units.

The paper made its AM images with Nguyen et al.'s PPGN, which searches the latent space of a
trained image generator. No such generator exists for the compendium's small networks, so
this module uses the generator-free family of methods instead: optimise the image itself,
but express it in a space where natural-looking images are easy to reach and make the
result survive small random changes of the image. The pieces:

* **Image parameterisation.** :class:`FourierImages` holds each image as the coefficients
  of its 2-D Fourier transform, scaled by ``1 / frequency ** decay``, so that a step of the
  optimiser moves coarse structure more than pixel noise. For three-channel images the
  channels are mixed from a luminance axis and two colour-opponent axes whose amplitudes
  shrink (:func:`opponent_colour_basis`), so colour changes cost more than brightness
  changes, as in natural photographs. A sigmoid maps the result into [0, 1] pixels. The
  same code serves greyscale 28 x 28 and RGB 224 x 224 images. Zero parameters give an
  image at the data set's mean pixel value (dark grey for Fashion-MNIST, whose pictures
  lie on black). :class:`PixelImages` is the
  plain alternative, kept for comparison.
* **Robustness transforms.** Every step sees each image through its own random affine
  map: a shift (jitter), a zoom and a rotation (:func:`random_affine`).
* **Objective.** For hidden units, the *pre-ReLU* response (a unit that the ReLU has
  switched off still has a gradient); for a convolutional channel, the value at the centre
  of its map (or its spatial mean or maximum). Output units are maximised on the logits.
* **Diversity.** Images of one unit are pushed apart by penalising the mean pairwise
  cosine similarity of their (centred) pixels. The weight is relative to the unit's
  current mean activation, so one setting works for layers whose activations differ in
  scale.
* **Batching and seeds.** Many units are optimised in one batch (images of unit ``u`` are
  rows ``u * K .. u * K + K - 1``). Every random number (initial images, transforms) is
  drawn on the CPU from a generator seeded by ``(seed, layer, unit)``, so a unit's images do
  not depend on which other units share its batch, nor on the device.

:func:`am_images` adds a disk cache (one file per unit under ``data/cache/am``).
:func:`unit_response` measures images the way :mod:`compendium.activations.recording` records the
data set (post-ReLU; conv layers by the spatial maximum), which is what the chapter compares
with the data set's largest activation.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from compendium.util.cache import cache_dir, cache_key
from compendium.util.errors import CompendiumError
from compendium.util.files import atomic_path

log = logging.getLogger(__name__)

__all__ = [
    "AMConfig",
    "AMError",
    "AMResult",
    "FourierImages",
    "ImageSpec",
    "PixelImages",
    "activation_ratios",
    "am_images",
    "classify_images",
    "default_device",
    "layer_units",
    "maximise",
    "opponent_colour_basis",
    "own_class_share",
    "random_affine",
    "unit_response",
]

#: Where on a convolutional channel's map the objective is read.
CONV_POSITIONS = ("centre", "mean", "max")
PARAMETERISATIONS = ("fourier", "pixel")
PADDINGS = ("zeros", "border", "reflection")
# Bump when a change here changes the images that a configuration produces.
AM_CODE_VERSION = 1


class AMError(CompendiumError):
    """Activation maximisation cannot run as asked (the message says what to change)."""


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageSpec:
    """The images a network takes: ``channels`` x ``size`` x ``size`` pixels in [0, 1],
    normalised per channel with ``mean`` and ``std`` before the network sees them.
    ``padding`` fills what a transform moves into view (``"zeros"`` is a black
    background, right for Fashion-MNIST; ``"reflection"`` suits photographs)."""

    channels: int = 1
    size: int = 28
    mean: tuple[float, ...] = (0.2860,)
    std: tuple[float, ...] = (0.3530,)
    padding: str = "zeros"

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise AMError(f"images must have 1 or 3 channels, not {self.channels}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise AMError(
                f"give one mean and one std per channel ({self.channels}); got "
                f"mean {self.mean}, std {self.std}"
            )
        if self.size < 8:
            raise AMError(f"image size {self.size} is too small; use at least 8 pixels")
        if self.padding not in PADDINGS:
            raise AMError(f"padding must be one of {PADDINGS}, not {self.padding!r}")

    @classmethod
    def fashion_mnist(cls) -> ImageSpec:
        """1 x 28 x 28, standardised like :class:`compendium.inputs.datasets.ImageSet`."""
        from compendium.inputs.datasets import FASHION_MNIST_MEAN, FASHION_MNIST_STD

        return cls(1, 28, (FASHION_MNIST_MEAN,), (FASHION_MNIST_STD,), "zeros")

    @classmethod
    def imagenet(cls, size: int = 224) -> ImageSpec:
        """3 x 224 x 224 with ImageNet's channel means and standard deviations."""
        return cls(3, size, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "reflection")


@dataclass(frozen=True)
class AMConfig:
    """How to optimise. The defaults suit the small 28 x 28 networks.

    ``jitter`` is the largest shift as a fraction of the image side; ``scale`` the range of
    zoom factors; ``rotate`` the largest rotation in degrees. ``diversity`` weighs the
    penalty on the mean pairwise cosine similarity of a unit's images, relative to the
    unit's current mean activation (0 switches it off). With ``anneal`` the transforms
    shrink linearly to nothing over the steps, so the last steps polish the images the
    network will actually be shown. ``decay`` is the exponent of the
    Fourier amplitude scaling. ``max_batch`` caps the images optimised at once (whole units
    are kept together).
    """

    images_per_unit: int = 100
    steps: int = 48
    lr: float = 0.2
    parameterisation: str = "fourier"
    decay: float = 1.5
    init_std: float = 0.5
    jitter: float = 0.04
    scale: tuple[float, float] = (0.95, 1.05)
    rotate: float = 5.0
    diversity: float = 0.05
    anneal: bool = True
    conv_position: str = "centre"
    seed: int = 0
    max_batch: int = 1000

    def __post_init__(self) -> None:
        positive = {
            "images_per_unit": self.images_per_unit,
            "steps": self.steps,
            "lr": self.lr,
            "max_batch": self.max_batch,
        }
        bad = [f"{k}={v}" for k, v in positive.items() if not v > 0]
        bad += [
            f"{k}={v}"
            for k, v in {
                "jitter": self.jitter,
                "rotate": self.rotate,
                "diversity": self.diversity,
                "decay": self.decay,
                "init_std": self.init_std,
            }.items()
            if v < 0
        ]
        if bad:
            raise AMError(
                f"AM settings out of range: {', '.join(bad)} (counts, lr and "
                "max_batch must be positive; the others at least 0)"
            )
        if not 0 < self.scale[0] <= self.scale[1]:
            raise AMError(f"scale must be (low, high) with 0 < low <= high, not {self.scale}")
        if self.parameterisation not in PARAMETERISATIONS:
            raise AMError(
                f"parameterisation must be one of {PARAMETERISATIONS}, "
                f"not {self.parameterisation!r}"
            )
        if self.conv_position not in CONV_POSITIONS:
            raise AMError(
                f"conv_position must be one of {CONV_POSITIONS}, not {self.conv_position!r}"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AMConfig:
        """Build from a (profile) mapping; unknown keys are refused."""
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise AMError(
                f"unknown AM settings {unknown}; known: {sorted(cls.__dataclass_fields__)}"
            )
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "scale": list(self.scale)}

    @property
    def key(self) -> str:
        """The cache key of what this configuration produces."""
        fields = {k: v for k, v in self.to_dict().items() if k != "max_batch"}
        return cache_key({**fields, "code": AM_CODE_VERSION})


@dataclass
class AMResult:
    """AM images of some units of one layer.

    ``images``: uint8 (n_units, K, channels, size, size), what would be shown to people;
    ``objective``: float32 (n_units, K), the optimised quantity (pre-ReLU where the layer
    has a ReLU) for the final, untransformed, 8-bit images; ``seconds``: optimisation time
    per unit when the images were made; ``from_cache``: which units were read back from
    the cache rather than made now.
    """

    layer: str
    units: np.ndarray
    images: np.ndarray
    objective: np.ndarray
    seconds: np.ndarray
    config: AMConfig = field(default_factory=AMConfig)
    from_cache: np.ndarray | None = None

    def unit(self, unit: int) -> np.ndarray:
        """The images of one unit, (K, channels, size, size) uint8."""
        where = np.flatnonzero(self.units == unit)
        if where.size == 0:
            raise AMError(
                f"unit {unit} of {self.layer} has no AM images here; "
                f"it has units {self.units.tolist()}"
            )
        return self.images[where[0]]

    def float_images(self) -> torch.Tensor:
        """All images as float pixels in [0, 1], (n_units * K, channels, size, size)."""
        flat = self.images.reshape(-1, *self.images.shape[2:])
        return torch.from_numpy(flat.astype(np.float32) / 255.0)


def default_device() -> str:
    """``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


# --------------------------------------------------------------------------------------
# Image parameterisations and transforms
# --------------------------------------------------------------------------------------


def opponent_colour_basis(chroma: tuple[float, float] = (0.35, 0.2)) -> torch.Tensor:
    """3 x 3 matrix mapping (luminance, red-green, blue-yellow) amplitudes to RGB.

    The columns are the orthonormal axes (1, 1, 1)/sqrt(3), (1, 0, -1)/sqrt(2) and
    (1, -2, 1)/sqrt(6), the last two scaled down by ``chroma``: in natural images the
    colour channels move mostly together, so an optimiser working in these coordinates
    finds brightness structure easily and saturated colour only when it pays.
    """
    axes = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0], [1.0, -2.0, 1.0]])
    axes = axes / axes.norm(dim=1, keepdim=True)
    scales = torch.tensor([1.0, *chroma])
    return (axes * scales[:, None]).T


class FourierImages(nn.Module):
    """``n`` images held as scaled Fourier coefficients; ``forward()`` gives pixels in [0, 1].

    ``init`` is a complex tensor (n, channels, size, size // 2 + 1) of starting
    coefficients (drawn by the caller, so seeds stay on the CPU); the amplitude scale
    ``1 / max(f, 1/size) ** decay`` is normalised to unit root-mean-square.
    """

    def __init__(
        self,
        init: torch.Tensor,
        size: int,
        decay: float = 1.0,
        start: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("offset", _offset(start, init.shape[1]))
        fy = torch.fft.fftfreq(size)[:, None]
        fx = torch.fft.rfftfreq(size)[None, :]
        freq = torch.sqrt(fx**2 + fy**2).clamp(min=1.0 / size)
        scale = freq ** (-decay)
        self.register_buffer("scale", scale / scale.pow(2).mean().sqrt())
        self.register_buffer("colour", opponent_colour_basis())
        self.coefficients = nn.Parameter(torch.view_as_real(init).clone())

    def forward(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.coefficients) * self.scale
        x = torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho")
        if x.shape[1] == 3:
            x = torch.einsum("dc,bchw->bdhw", self.colour, x)
        return torch.sigmoid(x + self.offset)


class PixelImages(nn.Module):
    """``n`` images held as raw values before a sigmoid (no frequency prior)."""

    def __init__(self, init: torch.Tensor, start: Sequence[float] | None = None) -> None:
        super().__init__()
        self.register_buffer("offset", _offset(start, init.shape[1]))
        self.values = nn.Parameter(init.clone())

    def forward(self) -> torch.Tensor:
        return torch.sigmoid(self.values + self.offset)


def _offset(start: Sequence[float] | None, channels: int) -> torch.Tensor:
    """Per-channel shift before the sigmoid, so that zero parameters give pixels ``start``."""
    level = torch.tensor(list(start) if start is not None else [0.5] * channels)
    return torch.logit(level.clamp(0.01, 0.99)).view(1, channels, 1, 1)


def random_affine(
    images: torch.Tensor,
    draws: torch.Tensor,
    *,
    jitter: float,
    scale: tuple[float, float],
    rotate: float,
    padding: str = "zeros",
) -> torch.Tensor:
    """Shift, zoom and rotate each image by its own amount.

    ``draws`` is (n, 4) uniform numbers in [0, 1) (drawn by the caller from a seeded
    generator): angle, zoom and the two shifts. Shifts go up to ``jitter`` of the side,
    zooms span ``scale`` (above 1 enlarges), rotations ``+-rotate`` degrees.
    """
    draws = draws.to(images.device, images.dtype)
    angle = (draws[:, 0] * 2 - 1) * math.radians(rotate)
    zoom = scale[0] + draws[:, 1] * (scale[1] - scale[0])
    shift = (draws[:, 2:] * 2 - 1) * (2 * jitter)  # normalised coordinates span 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding, align_corners=False)


# --------------------------------------------------------------------------------------
# Reading a unit's response
# --------------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised by a probe once it has what it needs, to skip the rest of the network."""


def _resolve_layer(model: nn.Module, layer: str, layer_path: str | None) -> tuple[str, nn.Module]:
    from compendium.networks.models import ModelError, layer_paths

    modules = dict(model.named_modules())
    if layer_path is None:
        try:
            table = layer_paths(model)
        except ModelError:
            table = {}
        if layer in table:
            layer_path = table[layer]
        elif layer in modules and layer:
            layer_path = layer
        else:
            known = ", ".join(table) if table else "(see model.named_modules())"
            raise AMError(
                f"the model has no layer {layer!r}; choose one of {known}, or pass "
                "layer_path with a module name from model.named_modules()"
            )
    if layer_path not in modules:
        raise AMError(
            f"the model has no module {layer_path!r}; use a name from model.named_modules()"
        )
    return layer_path, modules[layer_path]


def _pre_relu_site(module: nn.Module) -> tuple[nn.Module, bool]:
    """The module to probe and whether to read its input (the value before a ReLU)."""
    if isinstance(module, nn.ReLU):
        return module, True
    if isinstance(module, nn.Sequential) and len(module) and isinstance(module[-1], nn.ReLU):
        return module[-1], True
    return module, False


class _Probe:
    """Captures a layer's value on the next forward pass and stops the pass there.

    With ``pre_relu`` the value is the input of the layer's ReLU, taken before the ReLU
    runs (so an in-place ReLU never overwrites it); otherwise the module's output.
    """

    def __init__(self, module: nn.Module, pre_relu: bool) -> None:
        site, self.reads_input = _pre_relu_site(module) if pre_relu else (module, False)
        self.value: torch.Tensor | None = None
        if self.reads_input:
            self._handle = site.register_forward_pre_hook(self._before)
        else:
            self._handle = site.register_forward_hook(self._after)

    def _before(self, module: nn.Module, inputs: tuple) -> None:
        self.value = inputs[0]
        raise _Stop

    def _after(self, module: nn.Module, inputs: tuple, output: Any) -> None:
        self.value = output[0] if isinstance(output, tuple) else output
        raise _Stop

    def run(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        self.value = None
        try:
            model(x)
        except _Stop:
            pass
        if self.value is None:
            raise AMError(
                "the chosen layer was not reached by the forward pass; is it part "
                "of the model's forward()?"
            )
        return self.value

    def close(self) -> None:
        self._handle.remove()


@contextmanager
def _probe(
    model: nn.Module, layer: str, layer_path: str | None, pre_relu: bool = True
) -> Iterator[_Probe]:
    _, module = _resolve_layer(model, layer, layer_path)
    probe = _Probe(module, pre_relu)
    try:
        yield probe
    finally:
        probe.close()


def _select(value: torch.Tensor, channel: torch.Tensor, position: str) -> torch.Tensor:
    """Each row's value of its own unit: (B,) from (B, units) or (B, units, H, W)."""
    rows = torch.arange(value.shape[0], device=value.device)
    picked = value[rows, channel]
    if picked.ndim == 1:
        return picked
    if picked.ndim != 3:
        raise AMError(
            f"the layer's output has shape {tuple(value.shape)}; AM handles "
            "(batch, units) and (batch, channels, H, W)"
        )
    if position == "centre":
        return picked[:, picked.shape[1] // 2, picked.shape[2] // 2]
    if position == "mean":
        return picked.mean(dim=(1, 2))
    return picked.amax(dim=(1, 2))


def layer_units(
    model: nn.Module,
    layer: str,
    image: ImageSpec,
    *,
    layer_path: str | None = None,
    device: str = "cpu",
) -> int:
    """How many units (channels) a layer has, found by one forward pass."""
    model = model.to(device)
    was_training = model.training
    model.eval()
    try:
        with _probe(model, layer, layer_path) as probe, torch.no_grad():
            value = probe.run(
                model, torch.zeros(1, image.channels, image.size, image.size, device=device)
            )
    finally:
        model.train(was_training)
    if value.ndim not in (2, 4):
        raise AMError(
            f"layer {layer!r} outputs shape {tuple(value.shape)}; AM handles "
            "(batch, units) and (batch, channels, H, W)"
        )
    return int(value.shape[1])


def _check_units(units: Sequence[int], n_units: int, layer: str) -> np.ndarray:
    array = np.asarray(list(units))
    if array.size == 0:
        raise AMError(f"no units of {layer!r} were asked for; give at least one unit index")
    if not np.issubdtype(array.dtype, np.integer):
        raise AMError(f"unit indices must be integers, got {array.tolist()[:5]}")
    bad = array[(array < 0) | (array >= n_units)]
    if bad.size:
        raise AMError(
            f"units {bad.tolist()[:5]} are outside layer {layer!r}, which has units "
            f"0..{n_units - 1}; pick indices in that range"
        )
    if len(set(array.tolist())) != array.size:
        raise AMError(f"units of {layer!r} are listed twice: give each unit once")
    return array.astype(np.int64)


# --------------------------------------------------------------------------------------
# Optimisation
# --------------------------------------------------------------------------------------


def _unit_seed(seed: int, layer: str, unit: int) -> int:
    return zlib.crc32(f"{seed}/{layer}/{unit}".encode())


def _initial(config: AMConfig, image: ImageSpec, generator: torch.Generator) -> torch.Tensor:
    k, c, s = config.images_per_unit, image.channels, image.size
    if config.parameterisation == "fourier":
        shape = (k, c, s, s // 2 + 1, 2)
        return torch.view_as_complex(torch.randn(shape, generator=generator) * config.init_std)
    return torch.randn((k, c, s, s), generator=generator) * config.init_std


def _parameterise(init: torch.Tensor, config: AMConfig, image: ImageSpec) -> nn.Module:
    if config.parameterisation == "fourier":
        return FourierImages(init, image.size, config.decay, start=image.mean)
    return PixelImages(init, start=image.mean)


def _diversity(pixels: torch.Tensor, n_units: int) -> torch.Tensor:
    """Mean pairwise cosine similarity of each unit's centred images: (n_units,)."""
    flat = pixels.reshape(n_units, -1, pixels[0].numel())
    flat = flat - flat.mean(dim=2, keepdim=True)
    flat = F.normalize(flat, dim=2)
    k = flat.shape[1]
    if k < 2:
        return torch.zeros(n_units, device=pixels.device)
    gram = flat @ flat.transpose(1, 2)
    return (gram.sum(dim=(1, 2)) - k) / (k * (k - 1))


def _normalise(pixels: torch.Tensor, image: ImageSpec) -> torch.Tensor:
    mean = torch.tensor(image.mean, device=pixels.device).view(1, -1, 1, 1)
    std = torch.tensor(image.std, device=pixels.device).view(1, -1, 1, 1)
    return (pixels - mean) / std


def _check_gradient(value: torch.Tensor, layer: str) -> None:
    if not value.requires_grad:
        raise AMError(
            f"layer {layer!r} carries no gradient back to the image (its output "
            "is detached, integer-valued, or computed under torch.no_grad); AM "
            "needs a layer whose value depends differentiably on the input: "
            "choose another layer"
        )


def _optimise_chunk(
    model: nn.Module,
    probe: _Probe,
    layer: str,
    units: np.ndarray,
    config: AMConfig,
    image: ImageSpec,
    device: str,
    bar: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimise the images of a few units together; uint8 images and final objective."""
    gens = [torch.Generator().manual_seed(_unit_seed(config.seed, layer, int(u))) for u in units]
    init = torch.cat([_initial(config, image, g) for g in gens])
    images = _parameterise(init, config, image).to(device)
    optimiser = torch.optim.Adam(images.parameters(), lr=config.lr)
    k = config.images_per_unit
    channel = torch.as_tensor(np.repeat(units, k), device=device)
    for step in range(config.steps):
        draws = torch.cat([torch.rand((k, 4), generator=g) for g in gens])
        pixels = images()
        strength = 1.0 - step / config.steps if config.anneal else 1.0
        low, high = (1 + (end - 1) * strength for end in config.scale)
        seen = random_affine(
            pixels,
            draws,
            jitter=config.jitter * strength,
            scale=(low, high),
            rotate=config.rotate * strength,
            padding=image.padding,
        )
        value = probe.run(model, _normalise(seen, image))
        _check_gradient(value, layer)
        objective = _select(value, channel, config.conv_position).view(len(units), k)
        loss = -objective.mean(dim=1).sum()
        if config.diversity > 0:
            weight = objective.detach().mean(dim=1).abs() * config.diversity
            loss = loss + (weight * _diversity(pixels, len(units))).sum()
        optimiser.zero_grad(set_to_none=True)
        (grad,) = torch.autograd.grad(loss, list(images.parameters()))
        next(images.parameters()).grad = grad
        optimiser.step()
        bar.update(len(units))
    with torch.no_grad():
        final = (images() * 255).round().clamp(0, 255).to(torch.uint8)
        value = probe.run(model, _normalise(final.float() / 255.0, image))
        objective = _select(value, channel, config.conv_position).view(len(units), k)
    shape = (len(units), k, image.channels, image.size, image.size)
    return final.cpu().numpy().reshape(shape), objective.float().cpu().numpy()


def maximise(
    model: nn.Module,
    layer: str,
    units: Sequence[int],
    config: AMConfig = AMConfig(),
    *,
    image: ImageSpec = ImageSpec(),
    device: str | None = None,
    layer_path: str | None = None,
    progress: bool = True,
) -> AMResult:
    """AM images for ``units`` of ``layer`` (a name from :func:`compendium.networks.models.layer_paths`,
    or any module named by ``layer_path``), ``config.images_per_unit`` per unit.

    The model is used in eval mode and left as it was found; its weights get no gradients.
    """
    device = device or default_device()
    model = model.to(device)
    n_units = layer_units(model, layer, image, layer_path=layer_path, device=device)
    units = _check_units(units, n_units, layer)
    per_chunk = max(1, config.max_batch // config.images_per_unit)
    images, objective, seconds = [], [], []
    was_training = model.training
    model.eval()
    try:
        with (
            _probe(model, layer, layer_path) as probe,
            tqdm(
                total=len(units) * config.steps,
                desc=f"AM {layer}",
                unit="unit-step",
                disable=not progress,
            ) as bar,
        ):
            for start in range(0, len(units), per_chunk):
                chunk = units[start : start + per_chunk]
                began = time.perf_counter()
                imgs, obj = _optimise_chunk(model, probe, layer, chunk, config, image, device, bar)
                _sync(device)
                spent = time.perf_counter() - began
                images.append(imgs)
                objective.append(obj)
                seconds.extend([spent / len(chunk)] * len(chunk))
    finally:
        model.train(was_training)
    log.info(
        "AM %s: %d units x %d images x %d steps in %.1f s on %s",
        layer,
        len(units),
        config.images_per_unit,
        config.steps,
        sum(seconds),
        device,
    )
    return AMResult(
        layer, units, np.concatenate(images), np.concatenate(objective), np.asarray(seconds), config
    )


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


# --------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------


def am_dir() -> Path:
    return cache_dir() / "am"


def _unit_file(model_id: str, layer: str, unit: int, config: AMConfig, image: ImageSpec) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{model_id}-{layer}")
    return am_dir() / f"{safe}-{config.key}-{cache_key(asdict(image))}" / f"unit{unit:05d}.npz"


def am_images(
    model: nn.Module,
    model_id: str,
    layer: str,
    units: Sequence[int],
    config: AMConfig = AMConfig(),
    *,
    image: ImageSpec = ImageSpec(),
    device: str | None = None,
    layer_path: str | None = None,
    progress: bool = True,
) -> AMResult:
    """:func:`maximise` with a disk cache: units already made for this model (``model_id``,
    e.g. its weights' sha256), layer, configuration and image format are read back; the
    others are computed together and stored, one ``.npz`` per unit."""
    device = device or default_device()
    n_units = layer_units(model, layer, image, layer_path=layer_path, device=device)
    units = _check_units(units, n_units, layer)
    files = {int(u): _unit_file(model_id, layer, int(u), config, image) for u in units}
    missing = [u for u, path in files.items() if not path.is_file()]
    if missing:
        fresh = maximise(
            model,
            layer,
            missing,
            config,
            image=image,
            device=device,
            layer_path=layer_path,
            progress=progress,
        )
        for i, unit in enumerate(fresh.units.tolist()):
            with atomic_path(files[unit]) as tmp:
                with open(tmp, "wb") as f:
                    np.savez_compressed(
                        f,
                        images=fresh.images[i],
                        objective=fresh.objective[i],
                        seconds=fresh.seconds[i],
                    )
        log.info("stored AM images of %d units under %s", len(missing), files[missing[0]].parent)
    stored = [np.load(files[int(u)]) for u in units]
    return AMResult(
        layer,
        units,
        np.stack([s["images"] for s in stored]),
        np.stack([s["objective"] for s in stored]),
        np.array([float(s["seconds"]) for s in stored]),
        config,
        from_cache=np.array([int(u) not in set(missing) for u in units]),
    )


# --------------------------------------------------------------------------------------
# Checking the images
# --------------------------------------------------------------------------------------


def unit_response(
    model: nn.Module,
    result: AMResult,
    *,
    image: ImageSpec = ImageSpec(),
    device: str | None = None,
    layer_path: str | None = None,
    batch_size: int = 500,
) -> np.ndarray:
    """Each AM image's activation of its own unit, measured as the data set was recorded
    (post-ReLU; conv layers by the spatial maximum): (n_units, K)."""
    from compendium.activations.recording import LayerRecorder

    device = device or default_device()
    path, _ = _resolve_layer(model, result.layer, layer_path)
    pixels = result.float_images()
    channel = np.repeat(result.units, result.images.shape[1])
    out = []
    model = model.to(device).eval()
    with LayerRecorder(model, {result.layer: path}) as rec, torch.inference_mode():
        for start in range(0, len(pixels), batch_size):
            batch = _normalise(pixels[start : start + batch_size].to(device), image)
            model(batch)
            acts = rec.take()[result.layer]["max"]
            out.append(acts[np.arange(len(batch)), channel[start : start + batch_size]])
    return np.concatenate(out).reshape(result.objective.shape)


def activation_ratios(
    model: nn.Module,
    results: Sequence[AMResult],
    dataset_max: Mapping[tuple[str, int], float],
    *,
    image: ImageSpec = ImageSpec(),
    device: str | None = None,
) -> pd.DataFrame:
    """One row per unit: its largest activation over the data set (``dataset_max`` maps
    (layer, unit) to it), the mean activation of its AM images measured the same way,
    their ratio and the share of AM images above the data set's maximum."""
    rows = []
    for result in results:
        response = unit_response(model, result, image=image, device=device)
        for unit, values in zip(result.units.tolist(), response, strict=False):
            top = float(dataset_max[(result.layer, unit)])
            mean = float(values.mean())
            rows.append(
                {
                    "layer": result.layer,
                    "unit": unit,
                    "dataset max": top,
                    "AM mean": mean,
                    "ratio": mean / top if top > 0 else np.nan,
                    "share above max": float((values > top).mean()),
                }
            )
    return pd.DataFrame(rows)


def own_class_share(
    model: nn.Module,
    result: AMResult,
    class_names: Sequence[str],
    *,
    image: ImageSpec = ImageSpec(),
    device: str | None = None,
) -> pd.DataFrame:
    """For output units: the share of each unit's AM images that ``model`` classifies as
    the unit's own class."""
    probabilities = classify_images(model, result.float_images(), image=image, device=device)
    predicted = probabilities.argmax(axis=1).reshape(len(result.units), -1)
    return pd.DataFrame(
        {
            "unit": result.units,
            "class": [class_names[u] for u in result.units],
            "share classified as the unit's class": (predicted == result.units[:, None]).mean(
                axis=1
            ),
        }
    )


@torch.inference_mode()
def classify_images(
    model: nn.Module,
    pixels: torch.Tensor,
    *,
    image: ImageSpec = ImageSpec(),
    device: str | None = None,
    batch_size: int = 500,
) -> np.ndarray:
    """Class probabilities (softmax of the outputs) for float pixels in [0, 1]: (n, classes)."""
    device = device or default_device()
    model = model.to(device).eval()
    out = []
    for start in range(0, len(pixels), batch_size):
        batch = _normalise(pixels[start : start + batch_size].to(device), image)
        out.append(torch.softmax(model(batch).float(), dim=1).cpu().numpy())
    return np.concatenate(out)


# --------------------------------------------------------------------------------------
# The network a profile's chapter 3 maximises
# --------------------------------------------------------------------------------------


@dataclass
class ProfileNetwork:
    """The network behind a profile's activation file, ready for AM: ``model`` (None when
    the profile has activations only), its image format and an id for the AM cache."""

    model: nn.Module | None
    image: ImageSpec
    model_id: str
    description: str
