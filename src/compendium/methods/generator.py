"""Activation maximisation through a learned image prior: optimise a generator's latent code.

The paper made its AM images with Nguyen et al.'s deep generator network (DGN-AM / PPGN):
rather than changing pixels, it searched the input (the *code*) of a network trained to
draw natural images, so that every candidate is an image the generator can draw. This
module does the same for the compendium's 28 x 28 networks, beside the pixel-space method
of :mod:`compendium.methods.am`:

* **The generator** (:class:`VAE`) is the decoder of a small convolutional variational
  auto-encoder of Fashion-MNIST: a code of ``latent`` numbers goes through one linear layer
  and two transposed convolutions to a 28 x 28 picture, squashed by a sigmoid into [0, 1].
  It is trained from a seed on the CPU (:func:`train_generator`; the default, 5 epochs over
  the 60,000 training images, took about two minutes on one busy CPU thread) and cached by
  configuration (:func:`trained_generator`, cache kind ``generators``).
* **Latent AM** (:func:`maximise_codes`): each image starts from its own code drawn from
  the prior, N(0, I), seeded by (seed, layer, unit) as in pixel AM, and Adam changes the
  codes to raise the unit's pre-ReLU value (the class score for output units). After each
  step a code that has left the ball of radius ``max_norm * sqrt(latent)`` is pulled back
  onto it, which keeps the codes where the generator was trained (a code of N(0, I) has a
  norm near ``sqrt(latent)``). As in pixel AM the network may see each image through a
  small random shift, zoom and rotation, shrinking to nothing over the steps; an optional
  ``diversity`` penalty (off by default) pushes a unit's images apart. All units of a layer
  are optimised in one batch, on the CPU or a CUDA device. The defaults (64 steps, Adam's
  learning rate 0.3) were chosen by looking at the output units' panels of the default
  profile: nearly every image shows a garment of the unit's class.
* **The result** is an :class:`compendium.methods.am.AMResult`, so the checks of pixel AM
  apply unchanged: :func:`compendium.methods.am.activation_ratios` and
  :func:`compendium.methods.am.own_class_share`. :func:`generator_am_images` caches it one
  file per unit, under ``data/cache/am`` beside the pixel-space images.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from compendium.methods import am
from compendium.util.cache import cache_key, cached_network
from compendium.util.errors import CompendiumError
from compendium.util.files import atomic_path

log = logging.getLogger(__name__)

__all__ = [
    "GENERATORS",
    "GeneratorConfig",
    "GeneratorError",
    "LatentAMConfig",
    "TrainedGenerator",
    "VAE",
    "AM_METHODS",
    "check_method",
    "generator_am_images",
    "generator_images",
    "generator_settings",
    "maximise_codes",
    "sample_images",
    "supports",
    "train_generator",
    "trained_generator",
]

#: Cache kind (folder under ``data/cache``) of trained generators.
GENERATORS = "generators"
#: The AM methods a profile can choose between (``am_method``).
AM_METHODS = ("generator", "pixel")
# Bump when a change here changes the weights a configuration trains or the images it makes.
GENERATOR_CODE_VERSION = 1
LATENT_AM_CODE_VERSION = 1


class GeneratorError(CompendiumError):
    """A generator or its AM cannot run as asked (the message says what to change)."""


# --------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratorConfig:
    """How to train the generator: a VAE with a ``latent``-number code and convolutions of
    ``width`` and ``2 * width`` channels, ``epochs`` passes over the first ``n_train``
    Fashion-MNIST training images (None: all 60,000). ``beta`` weighs the KL term of the
    VAE's loss (1: the plain VAE)."""

    latent: int = 16
    width: int = 32
    epochs: int = 5
    n_train: int | None = None
    batch_size: int = 128
    lr: float = 2e-3
    beta: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        counts = {
            "latent": self.latent,
            "width": self.width,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
        }
        bad = [f"{k}={v}" for k, v in counts.items() if not (isinstance(v, int) and v >= 1)]
        if self.n_train is not None and not (isinstance(self.n_train, int) and self.n_train >= 1):
            bad.append(f"n_train={self.n_train}")
        if not self.lr > 0 or not self.beta > 0:
            bad.append(f"lr={self.lr}, beta={self.beta}")
        if bad:
            raise GeneratorError(
                f"generator settings out of range: {', '.join(bad)}; counts must be whole "
                "numbers of at least 1 (n_train may be null: every training image), lr and "
                "beta positive"
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> GeneratorConfig:
        """Build from a (profile) mapping; unknown keys are refused."""
        return cls(**_known(cls, values, "generator"))

    @property
    def key(self) -> str:
        """The cache key of the weights this configuration trains."""
        return cache_key({**asdict(self), "code": GENERATOR_CODE_VERSION})


class VAE(nn.Module):
    """A small convolutional variational auto-encoder of 1 x 28 x 28 images in [0, 1].

    ``encode`` gives the mean and log-variance of a code; ``decode`` (the generator) maps
    codes (n, latent) to pixels (n, 1, 28, 28) in [0, 1]."""

    def __init__(self, latent: int = 16, width: int = 32) -> None:
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1),  # 14 x 14
            nn.LeakyReLU(0.1),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),  # 7 x 7
            nn.LeakyReLU(0.1),
            nn.Flatten(),
            nn.Linear(2 * width * 49, 2 * latent),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, 2 * width * 49),
            nn.LeakyReLU(0.1),
            nn.Unflatten(1, (2 * width, 7, 7)),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),  # 14 x 14
            nn.LeakyReLU(0.1),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),  # 28 x 28
        )

    def encode(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encoder(pixels).chunk(2, dim=1)
        return mean, log_var

    def decode_logits(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decoder(codes)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(codes))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(pixels)[0])


@dataclass
class TrainedGenerator:
    """A trained generator: the VAE (eval mode), its configuration, where it came from
    (``shipped``, ``cached`` or ``computed``) and the record of its training."""

    model: VAE
    config: GeneratorConfig
    origin: str
    record: dict[str, Any]

    @property
    def key(self) -> str:
        return self.config.key

    @property
    def seconds(self) -> float:
        return float(self.record.get("seconds", float("nan")))


def _loss(model: VAE, pixels: torch.Tensor, noise: torch.Tensor, beta: float) -> torch.Tensor:
    """The VAE's negative evidence lower bound per image: Bernoulli reconstruction
    (binary cross-entropy on the pixels) plus ``beta`` times the KL divergence."""
    mean, log_var = model.encode(pixels)
    codes = mean + torch.exp(0.5 * log_var) * noise
    logits = model.decode_logits(codes)
    rebuilt = F.binary_cross_entropy_with_logits(logits, pixels, reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
    return (rebuilt + beta * kl) / len(pixels)


def train_generator(
    config: GeneratorConfig, pixels: torch.Tensor | None = None
) -> tuple[VAE, dict[str, Any]]:
    """Train a VAE from ``config.seed`` on the CPU; the network and its training record.

    ``pixels`` (n, 1, 28, 28) floats in [0, 1] replaces Fashion-MNIST's training images
    (for tests); otherwise the first ``config.n_train`` of them are read."""
    if pixels is None:
        from compendium.inputs.datasets import load_fashion_mnist

        data = load_fashion_mnist("train")
        images = data.images[: config.n_train] if config.n_train else data.images
        pixels = torch.from_numpy(images[:, None].astype(np.float32) / 255.0)
    torch.manual_seed(config.seed)
    draws = torch.Generator().manual_seed(config.seed)
    model = VAE(config.latent, config.width)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    began, losses = time.perf_counter(), []
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(pixels), generator=draws)
        total = 0.0
        for start in range(0, len(pixels), config.batch_size):
            batch = pixels[order[start : start + config.batch_size]]
            noise = torch.randn((len(batch), config.latent), generator=draws)
            loss = _loss(model, batch, noise, config.beta)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        losses.append(round(total / len(pixels), 3))
    seconds = time.perf_counter() - began
    log.info(
        "trained the generator (VAE, %d-number code) in %.1f s on %d images: loss %s",
        config.latent,
        seconds,
        len(pixels),
        losses,
    )
    record = {
        "seconds": round(seconds, 2),
        "images": len(pixels),
        "loss_per_epoch": losses,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    return model.eval(), record


def trained_generator(
    config: GeneratorConfig | Mapping[str, Any] | None = None,
    *,
    pixels: torch.Tensor | None = None,
    recompute: bool = False,
) -> TrainedGenerator:
    """The generator of ``config`` from the cache (kind :data:`GENERATORS`), trained first if
    no current entry exists. With ``pixels`` (tests) nothing is cached."""
    if not isinstance(config, GeneratorConfig):
        config = GeneratorConfig.from_dict(config or {})
    if pixels is not None:
        model, record = train_generator(config, pixels)
        return TrainedGenerator(model, config, "computed", record)
    entry = cached_network(
        GENERATORS,
        config.key,
        asdict(config),
        build=partial(VAE, config.latent, config.width),
        compute=partial(train_generator, config),
        recompute=recompute,
        shipped=False,
    )
    return TrainedGenerator(entry.network.eval(), config, entry.origin, entry.record)


@torch.inference_mode()
def sample_images(generator: TrainedGenerator, n: int, seed: int = 0) -> np.ndarray:
    """``n`` uint8 images (n, 1, 28, 28) decoded from codes drawn from N(0, I) (seeded)."""
    codes = torch.randn((n, generator.config.latent), generator=torch.Generator().manual_seed(seed))
    pixels = generator.model.eval().decode(codes)
    return (pixels * 255).round().clamp(0, 255).to(torch.uint8).numpy()


# --------------------------------------------------------------------------------------
# Latent-code AM
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatentAMConfig:
    """How to optimise the codes. ``max_norm`` bounds each code's length, as a multiple of
    ``sqrt(latent)``; ``init_std`` scales the starting codes; ``jitter``, ``scale`` and
    ``rotate`` are the robustness transforms of :class:`compendium.methods.am.AMConfig`
    (shrinking to nothing over the steps with ``anneal``). ``max_batch`` caps the images
    optimised at once (whole units are kept together)."""

    images_per_unit: int = 100
    steps: int = 64
    lr: float = 0.3
    init_std: float = 1.0
    max_norm: float = 1.5
    jitter: float = 0.04
    scale: tuple[float, float] = (0.95, 1.05)
    rotate: float = 5.0
    diversity: float = 0.0
    anneal: bool = True
    conv_position: str = "centre"
    seed: int = 0
    max_batch: int = 2000

    def __post_init__(self) -> None:
        positive = {
            "images_per_unit": self.images_per_unit,
            "steps": self.steps,
            "lr": self.lr,
            "max_norm": self.max_norm,
            "max_batch": self.max_batch,
        }
        bad = [f"{k}={v}" for k, v in positive.items() if not v > 0]
        bad += [
            f"{k}={v}"
            for k, v in {
                "init_std": self.init_std,
                "diversity": self.diversity,
                "jitter": self.jitter,
                "rotate": self.rotate,
            }.items()
            if v < 0
        ]
        if not 0 < self.scale[0] <= self.scale[1]:
            bad.append(f"scale={self.scale}")
        if self.conv_position not in am.CONV_POSITIONS:
            bad.append(f"conv_position={self.conv_position!r}")
        if bad:
            raise GeneratorError(
                f"latent AM settings out of range: {', '.join(bad)} (counts, lr, max_norm "
                "and max_batch must be positive, the others at least 0, scale (low, high) "
                f"with 0 < low <= high, conv_position one of {am.CONV_POSITIONS})"
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> LatentAMConfig:
        """Build from a (profile) mapping; unknown keys are refused."""
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**_known(cls, values, "latent AM"))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "scale": list(self.scale), "method": "generator"}

    @property
    def key(self) -> str:
        fields = {k: v for k, v in self.to_dict().items() if k != "max_batch"}
        return cache_key({**fields, "code": LATENT_AM_CODE_VERSION})


def _project(codes: torch.Tensor, radius: float) -> None:
    """Pull every code longer than ``radius`` back onto the ball, in place."""
    norms = codes.norm(dim=1, keepdim=True)
    codes.mul_(torch.clamp(radius / norms.clamp(min=1e-12), max=1.0))


def _optimise_codes(
    model: nn.Module,
    decoder: VAE,
    probe: Any,
    layer: str,
    units: np.ndarray,
    config: LatentAMConfig,
    image: am.ImageSpec,
    device: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimise the codes of a few units together; uint8 images and final objective."""
    k, latent = config.images_per_unit, decoder.latent
    gens = [torch.Generator().manual_seed(am._unit_seed(config.seed, layer, int(u))) for u in units]
    init = torch.cat([torch.randn((k, latent), generator=g) * config.init_std for g in gens])
    radius = config.max_norm * math.sqrt(latent)
    _project(init, radius)
    codes = init.to(device).requires_grad_(True)
    optimiser = torch.optim.Adam([codes], lr=config.lr)
    channel = torch.as_tensor(np.repeat(units, k), device=device)
    for step in range(config.steps):
        draws = torch.cat([torch.rand((k, 4), generator=g) for g in gens])
        strength = 1.0 - step / config.steps if config.anneal else 1.0
        low, high = (1 + (end - 1) * strength for end in config.scale)
        pixels = decoder.decode(codes)
        seen = am.random_affine(
            pixels,
            draws,
            jitter=config.jitter * strength,
            scale=(low, high),
            rotate=config.rotate * strength,
            padding=image.padding,
        )
        value = probe.run(model, am._normalise(seen, image))
        am._check_gradient(value, layer)
        objective = am._select(value, channel, config.conv_position).view(len(units), k)
        loss = -objective.sum()
        if config.diversity > 0:
            weight = objective.detach().mean(dim=1).abs() * config.diversity * k
            loss = loss + (weight * am._diversity(pixels, len(units))).sum()
        (grad,) = torch.autograd.grad(loss, [codes])
        codes.grad = grad
        optimiser.step()
        with torch.no_grad():
            _project(codes, radius)
    with torch.no_grad():
        final = (decoder.decode(codes) * 255).round().clamp(0, 255).to(torch.uint8)
        value = probe.run(model, am._normalise(final.float() / 255.0, image))
        objective = am._select(value, channel, config.conv_position).view(len(units), k)
    shape = (len(units), k, image.channels, image.size, image.size)
    return final.cpu().numpy().reshape(shape), objective.float().cpu().numpy()


def maximise_codes(
    model: nn.Module,
    generator: TrainedGenerator,
    layer: str,
    units: Sequence[int],
    config: LatentAMConfig = LatentAMConfig(),
    *,
    image: am.ImageSpec | None = None,
    device: str | None = None,
    layer_path: str | None = None,
) -> am.AMResult:
    """Generator AM images for ``units`` of ``layer``: ``config.images_per_unit`` per unit,
    each the decoded code that drives the unit hardest. The model and the generator are
    used in eval mode and left as they were found; neither gets gradients."""
    image = image or am.ImageSpec.fashion_mnist()
    if not supports(image):
        raise GeneratorError(
            f"the generator draws 1 x 28 x 28 images; this network takes {image.channels} x "
            f"{image.size} x {image.size}: use pixel-space AM (am_method: pixel) for it"
        )
    device = device or am.default_device()
    model, decoder = model.to(device), generator.model.to(device)
    n_units = am.layer_units(model, layer, image, layer_path=layer_path, device=device)
    units = am._check_units(units, n_units, layer)
    per_chunk = max(1, config.max_batch // config.images_per_unit)
    images, objective, seconds = [], [], []
    states = model.training, decoder.training
    model.eval(), decoder.eval()
    try:
        with am._probe(model, layer, layer_path) as probe:
            for start in range(0, len(units), per_chunk):
                chunk = units[start : start + per_chunk]
                began = time.perf_counter()
                imgs, obj = _optimise_codes(
                    model, decoder, probe, layer, chunk, config, image, device
                )
                am._sync(device)
                spent = time.perf_counter() - began
                images.append(imgs)
                objective.append(obj)
                seconds.extend([spent / len(chunk)] * len(chunk))
    finally:
        model.train(states[0])
        decoder.train(states[1])
    log.info(
        "generator AM %s: %d units x %d images x %d steps in %.1f s on %s",
        layer,
        len(units),
        config.images_per_unit,
        config.steps,
        sum(seconds),
        device,
    )
    return am.AMResult(
        layer,
        units,
        np.concatenate(images),
        np.concatenate(objective),
        np.asarray(seconds),
        config,  # type: ignore[arg-type]  # the result's settings, for its tables
    )


def _unit_file(
    model_id: str, generator: TrainedGenerator, layer: str, unit: int, config: LatentAMConfig
) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{model_id}-{layer}")
    return am.am_dir() / f"{safe}-gen{generator.key}-{config.key}" / f"unit{unit:05d}.npz"


def generator_am_images(
    model: nn.Module,
    model_id: str,
    generator: TrainedGenerator,
    layer: str,
    units: Sequence[int],
    config: LatentAMConfig = LatentAMConfig(),
    *,
    image: am.ImageSpec | None = None,
    device: str | None = None,
) -> am.AMResult:
    """:func:`maximise_codes` with a disk cache: units already made for this model
    (``model_id``), generator, layer and configuration are read back; the others are made
    together and stored, one ``.npz`` per unit."""
    image = image or am.ImageSpec.fashion_mnist()
    device = device or am.default_device()
    n_units = am.layer_units(model.to(device), layer, image, device=device)
    units = am._check_units(units, n_units, layer)
    files = {int(u): _unit_file(model_id, generator, layer, int(u), config) for u in units}
    missing = [u for u, path in files.items() if not path.is_file()]
    if missing:
        fresh = maximise_codes(model, generator, layer, missing, config, image=image, device=device)
        for i, unit in enumerate(fresh.units.tolist()):
            with atomic_path(files[unit]) as tmp:
                with open(tmp, "wb") as f:
                    np.savez_compressed(
                        f,
                        images=fresh.images[i],
                        objective=fresh.objective[i],
                        seconds=fresh.seconds[i],
                    )
    stored = [np.load(files[int(u)]) for u in units]
    return am.AMResult(
        layer,
        units,
        np.stack([s["images"] for s in stored]),
        np.stack([s["objective"] for s in stored]),
        np.array([float(s["seconds"]) for s in stored]),
        config,  # type: ignore[arg-type]
        from_cache=np.array([int(u) not in set(missing) for u in units]),
    )


# --------------------------------------------------------------------------------------
# A profile's choice
# --------------------------------------------------------------------------------------


def check_method(method: str) -> str:
    """``method`` if it names an AM method (:data:`AM_METHODS`), else an error naming them."""
    if method not in AM_METHODS:
        raise GeneratorError(f"am_method must be one of {', '.join(AM_METHODS)}, not {method!r}")
    return method


def supports(image: am.ImageSpec) -> bool:
    """Whether the generator draws images of this format (1 x 28 x 28, Fashion-MNIST's)."""
    return (image.channels, image.size) == (1, 28)


def generator_settings(
    images_per_unit: int, seed: int, settings: Mapping[str, Any] | None = None
) -> tuple[GeneratorConfig, LatentAMConfig]:
    """The generator's and the latent AM's settings from a profile's ``generator`` mapping:
    its ``train`` entry holds :class:`GeneratorConfig` fields, its other entries
    :class:`LatentAMConfig` fields; ``images_per_unit`` and ``seed`` come from the page, as
    for pixel AM."""
    settings = dict(settings or {})
    train = settings.pop("train", None) or {}
    latent = LatentAMConfig.from_dict(
        {"images_per_unit": images_per_unit, "seed": seed, **settings}
    )
    return GeneratorConfig.from_dict(train), latent


def generator_images(
    network: nn.Module | None,
    model_id: str,
    chosen: Mapping[str, Sequence[int]],
    generator: TrainedGenerator,
    config: LatentAMConfig,
    *,
    image: am.ImageSpec,
    device: str | None = None,
) -> dict[str, am.AMResult]:
    """Generator AM images of the chosen units, per layer (cached by
    :func:`generator_am_images`); none without a network."""
    if network is None:
        return {}
    return {
        layer: generator_am_images(
            network, model_id, generator, layer, units, config, image=image, device=device
        )
        for layer, units in chosen.items()
    }


def _known(cls: type, values: Mapping[str, Any], what: str) -> dict[str, Any]:
    unknown = sorted(set(values) - set(cls.__dataclass_fields__))
    if unknown:
        raise GeneratorError(
            f"unknown {what} settings {unknown}; known: {sorted(cls.__dataclass_fields__)}"
        )
    return dict(values)
