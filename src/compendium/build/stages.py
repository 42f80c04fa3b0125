"""The steps that run before the notebooks: data -> train -> record, per profile.

A profile's ``data:`` section says where the activations come from (``source``), and the
other two sections say how to make them:

``source: fashion-mnist`` (profiles ``default`` and ``smoke``)
    ``data``: ``download`` (default true: only when neither the cache nor the Debian
    package has the files). ``train``: the fields of :class:`compendium.networks.training.TrainConfig`
    (``epochs``, ``batch_size``, ``lr``, ``seed``, ``n_train``, ``model``), and
    ``shipped`` (default true: use the weights committed in ``data/weights`` when they
    were trained with exactly these settings; false: train here, or use the weights
    trained here before).
    ``record``: ``split`` (test), ``keep`` (correct), ``n_images`` (all), ``batch_size``,
    ``device``.
``source: alexnet-merged``
    ``data``: ``path``, the folder of the authors' ``AN_merged_<layer>_max.h5`` files (or
    one of them). Nothing is trained or recorded: the chapters read those files directly.
``source: image-folder`` (profile ``imagenet``)
    ``data``: ``path`` (one sub-folder per WordNet id), ``synsets`` (a ``wnid name`` file;
    default ImageNet-1k), ``max_per_class``. ``record``: ``model`` (alexnet, vgg16,
    googlenet), ``weights`` (a torchvision weights name, a state-dict file, or ``none``
    for seeded random weights), ``layers``, ``keep``, ``batch_size``, ``device``.

Any string value may name an environment variable, ``${NAME}`` or ``${NAME:-fallback}``;
that is how the profiles that need the user's data get their paths. An unset variable
stops the step with a message saying what to set.

Each step logs what it read and wrote and skips work whose cached output is current:
training is shipped or cached by its configuration (:mod:`compendium.networks.training`;
``compendium train --retrain`` trains anyway); a recording is current
when it is complete (only finished files get their final name) and was made with the
weights the profile now gives. `store_path` is the activation file a profile's chapters
read; it depends on the profile alone, so a notebook finds it without being told.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compendium.build.profiles import (
    PipelineError,
    Profile,
    load_profile,
    section,
    source,
)
from compendium.util.cache import cache_key, parse_weights

if TYPE_CHECKING:
    from IPython.display import Markdown

    from compendium.methods import am
    from compendium.networks.training import TrainConfig, TrainedModel

log = logging.getLogger(__name__)

#: The keys each section accepts, per source (``train`` for Fashion-MNIST is checked by
#: TrainConfig itself).
KEYS = {
    ("data", "fashion-mnist"): {"source", "download"},
    ("data", "alexnet-merged"): {"source", "path"},
    ("data", "image-folder"): {"source", "path", "synsets", "max_per_class"},
    ("record", "fashion-mnist"): {"split", "keep", "n_images", "batch_size", "device"},
    ("record", "image-folder"): {"model", "weights", "layers", "keep", "batch_size", "device"},
}

# --- reading a profile's sections ----------------------------------------------------------


def _checked(profile: Profile, name: str) -> dict[str, Any]:
    """A section, refused if it holds keys its step does not read."""
    values = section(profile, name)
    known = KEYS.get((name, source(profile)))
    if known is not None:
        unknown = sorted(set(values) - known)
        if unknown:
            raise PipelineError(
                f"profile {profile.name!r}, section {name}: unknown keys {unknown}; with "
                f"source {source(profile)!r} it takes {sorted(known)}"
            )
    return values


def _path(profile: Profile, values: dict[str, Any]) -> Path:
    if not values.get("path"):
        raise PipelineError(
            f"profile {profile.name!r} gives no `data: path:`; add one to "
            f"notebooks/params/{profile.name}.yml"
        )
    return Path(values["path"]).expanduser()


# --- the steps -------------------------------------------------------------------------------


def prepare_data(profile: Profile) -> None:
    """The ``data`` step: make sure the images (or the authors' files) are there and sound."""
    kind, values = source(profile), _checked(profile, "data")
    if kind == "fashion-mnist":
        from compendium.inputs.datasets import prepare_fashion_mnist

        paths = prepare_fashion_mnist(download=bool(values.get("download", True)))
        log.info("data: Fashion-MNIST verified (%s)", ", ".join(str(p) for p in paths.values()))
    elif kind == "alexnet-merged":
        from compendium.activations.reader import open_activations

        path = _path(profile, values)
        with open_activations(path) as store:
            log.info(
                "data: read %s: %d images, %d classes, layers %s",
                path,
                store.n_images,
                len(store.class_names),
                ", ".join(store.layers),
            )
    else:
        data = _image_folder(profile, values)
        log.info(
            "data: %d images of %d classes under %s",
            len(data),
            len(set(data.labels.tolist())),
            data.root,
        )


def train_model(profile: Profile, *, retrain: bool = False) -> None:
    """The ``train`` step: load (or train) the small AlexNet, or check pretrained weights.
    ``retrain``: train the small AlexNet here even if shipped or cached weights exist."""
    kind = source(profile)
    if kind == "fashion-mnist":
        trained = profile_model(profile, retrain=retrain)
        log.info(
            "train: %s (%s, sha256 %s, test accuracy %.4f)",
            trained.weights_path,
            trained.provenance,
            trained.weights_sha256,
            trained.report["test_accuracy"],
        )
        if retrain and uses_shipped(profile):
            log.info(
                "train: the profile's steps use the shipped weights when they match; set "
                "`train: {shipped: false}` in notebooks/params/%s.yml to use these",
                profile.name,
            )
    elif kind == "image-folder":
        from compendium.networks.models import load_torchvision

        values = _checked(profile, "record")
        model, weights = _torchvision_choice(values)
        load_torchvision(model, weights)
        log.info("train: nothing to train; %s weights %s load and fit", model, weights)
    else:
        log.info("train: nothing to train for source %s", kind)


def record_store(profile: Profile) -> None:
    """The ``record`` step: record the activation file `store_path` names, unless current."""
    kind = source(profile)
    if kind == "alexnet-merged":
        log.info("record: nothing to record; the chapters read %s", store_path(profile))
        return
    path = store_path(profile)
    expected = _expected_weights(profile)
    if _is_current(path, expected):
        log.info("record: %s is complete and current; skipped", path)
        return
    values = _checked(profile, "record")
    if kind == "fashion-mnist":
        result = _record_fashion_mnist(profile, values, path)
    else:
        result = _record_image_folder(profile, values, path)
    log.info(
        "record: wrote %s (%d images, %.0f images/s)",
        result.path,
        result.n_images,
        result.images_per_second,
    )


def profile_train_config(profile: Profile) -> TrainConfig:
    """The profile's :class:`compendium.networks.training.TrainConfig`: its ``train:``
    section without the ``shipped`` switch."""
    from compendium.networks.training import train_config

    values = {k: v for k, v in section(profile, "train").items() if k != "shipped"}
    try:
        return train_config(values)
    except (TypeError, ValueError) as err:
        raise PipelineError(
            f"profile {profile.name!r}, section train: {err}; fix "
            f"notebooks/params/{profile.name}.yml"
        ) from err


def uses_shipped(profile: Profile) -> bool:
    """The profile's ``train: shipped`` switch (default true): may its steps use the
    weights shipped in ``data/weights``?"""
    shipped = section(profile, "train").get("shipped", True)
    if not isinstance(shipped, bool):
        raise PipelineError(
            f"profile {profile.name!r}, section train: shipped must be true or false, not "
            f"{shipped!r}; fix notebooks/params/{profile.name}.yml"
        )
    return shipped


@contextlib.contextmanager
def shipped_switch(profile: Profile) -> Iterator[None]:
    """Inside, everything (the notebooks' kernels too: they inherit the environment) obeys
    the profile's ``train: shipped`` switch: with ``shipped: false``, ``COMPENDIUM_WEIGHTS``
    is ``none``, so no network of any chapter is read from ``data/weights``."""
    if uses_shipped(profile):
        yield
        return
    before = os.environ.get("COMPENDIUM_WEIGHTS")
    os.environ["COMPENDIUM_WEIGHTS"] = "none"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COMPENDIUM_WEIGHTS", None)
        else:
            os.environ["COMPENDIUM_WEIGHTS"] = before


def profile_model(profile: Profile, *, retrain: bool = False) -> TrainedModel:
    """The small AlexNet of a ``fashion-mnist`` profile: shipped (unless the profile says
    ``shipped: false``), else cached, else trained now."""
    from compendium.networks.training import trained_model

    return trained_model(
        profile_train_config(profile), retrain=retrain, shipped=uses_shipped(profile)
    )


def weights_banner(profile_name: str) -> Markdown:
    """For a notebook: where the weights of the profile's network come from (shipped with
    the compendium or trained here) and their sha256. Never trains."""
    from IPython.display import Markdown

    from compendium.chapters.page import weights_note

    profile = load_profile(profile_name)
    kind = source(profile)
    if kind == "fashion-mnist":
        from compendium.networks.training import load_trained

        config = profile_train_config(profile)
        return weights_note(load_trained(config, shipped=uses_shipped(profile)), profile.name)
    if kind == "image-folder":
        model, weights = _torchvision_choice(_checked(profile, "record"))
        return Markdown(
            f"**Weights:** torchvision's {model} with weights `{weights or 'random (seed 0)'}` "
            f"(`{_expected_weights(profile)}`); nothing is trained or shipped here."
        )
    return Markdown("**Weights:** none; the authors' activation files are read directly.")


def store_path(profile: Profile) -> Path:
    """The activation file (or folder of files) the profile's results chapters read."""
    from compendium.activations.recording import activation_path

    kind = source(profile)
    if kind == "alexnet-merged":
        return _path(profile, _checked(profile, "data"))
    values = _checked(profile, "record")
    keep = values.get("keep", "correct")
    if kind == "fashion-mnist":
        from compendium.networks.models import SMALL_ALEXNET

        # named as compendium.networks.training.TrainedModel.name does
        config = profile_train_config(profile)
        model = f"{getattr(config.model, 'network_name', SMALL_ALEXNET)}-{config.key}"
        return activation_path(model, _fashion_mnist_name(values), keep)
    data = _checked(profile, "data")
    model, weights = _torchvision_choice(values)
    folder = _path(profile, data).resolve()
    per_class = data.get("max_per_class")
    name = f"{folder.name}-{_short_hash(str(folder))}" + (f"-first{per_class}" if per_class else "")
    layers = values.get("layers")
    if layers:
        name += "-" + _short_hash(",".join(layers))
    return activation_path(f"{model}-{_weights_label(weights)}", name, keep)


def chapter_store(profile_name: str, store: str | os.PathLike | None = None) -> Path:
    """For a notebook: `store` if given, else the profile's `store_path`; it must exist."""
    from compendium.activations.writer import partial_path

    path = Path(store).expanduser() if store else store_path(load_profile(profile_name))
    if path.exists():
        return path
    if partial_path(path).exists():
        raise FileNotFoundError(
            f"{path} is an interrupted recording ({partial_path(path).name} exists): run "
            f"`compendium record --profile {profile_name}` to finish it"
        )
    raise FileNotFoundError(
        f"no activation file at {path}: run `compendium book --profile {profile_name}` (or "
        f"`compendium record --profile {profile_name}`) first, or pass `-p store PATH`"
    )


# --- helpers -----------------------------------------------------------------------------------


def _fashion_mnist_name(values: dict[str, Any]) -> str:
    """The name `record_small_alexnet` gives the recorded images (it names the file)."""
    split, n_images = values.get("split", "test"), values.get("n_images")
    if split not in ("test", "train"):
        raise PipelineError(f"record: split must be 'test' or 'train', not {split!r}")
    if n_images is not None and (not isinstance(n_images, int) or n_images < 1):
        raise PipelineError(f"record: n_images must be a positive number or null, not {n_images!r}")
    return f"fashion-mnist:{split}" + (f"[:{n_images}]" if n_images else "")


def _torchvision_choice(values: dict[str, Any]) -> tuple[str, str | None]:
    from compendium.networks.models import TORCHVISION_MODELS

    model = values.get("model", "alexnet")
    if model not in TORCHVISION_MODELS:
        raise PipelineError(
            f"record: model {model!r} is not one of {', '.join(TORCHVISION_MODELS)}"
        )
    return model, parse_weights(values.get("weights", "DEFAULT"))


def _weights_label(weights: str | None) -> str:
    if weights is None:
        return "random"
    if os.path.isfile(weights):
        return f"{Path(weights).stem}-{_short_hash(str(Path(weights).resolve()))}"
    return weights


def _short_hash(text: str) -> str:
    return cache_key(text)


def _expected_weights(profile: Profile) -> str:
    """The ``weights_sha256`` provenance a current recording of the profile carries."""
    if source(profile) == "fashion-mnist":
        from compendium.networks.training import load_trained

        trained = load_trained(profile_train_config(profile), shipped=uses_shipped(profile))
        if trained is None:
            raise PipelineError(
                f"profile {profile.name!r} has no trained model yet: run "
                f"`compendium train --profile {profile.name}` first"
            )
        return trained.weights_sha256
    _, weights = _torchvision_choice(_checked(profile, "record"))
    if weights is None:
        return "random(seed=0)"
    if os.path.isfile(weights):
        from compendium.networks.models import file_sha256

        return file_sha256(weights)
    return f"torchvision:{weights}"


def _is_current(path: Path, weights_sha256: str) -> bool:
    """True if `path` is a finished recording made with these weights; a finished one made
    with other weights is stale and is deleted (it is a cache entry)."""
    from compendium.activations.reader import is_complete, open_activations

    if not is_complete(path):
        return False
    with open_activations(path) as store:
        found = store.attrs.get("weights_sha256")
    if found == weights_sha256:
        return True
    log.warning(
        "record: %s was made with weights %s, not %s; recording it again",
        path,
        found,
        weights_sha256,
    )
    path.unlink()
    return False


def _record_fashion_mnist(profile: Profile, values: dict[str, Any], path: Path):
    from compendium.activations.recording import record_small_alexnet

    trained = profile_model(profile)
    return record_small_alexnet(
        trained,
        split=values.get("split", "test"),
        n_images=values.get("n_images"),
        keep=values.get("keep", "correct"),
        path=path,
        batch_size=int(values.get("batch_size", 500)),
        device=values.get("device", "cpu"),
    )


def _record_image_folder(profile: Profile, values: dict[str, Any], path: Path):
    from compendium.activations.recording import record_torchvision

    data = _checked(profile, "data")
    model, weights = _torchvision_choice(values)
    return record_torchvision(
        model,
        _path(profile, data),
        weights=weights,
        synsets=data.get("synsets"),
        max_per_class=data.get("max_per_class"),
        layers=values.get("layers"),
        keep=values.get("keep", "correct"),
        path=path,
        batch_size=int(values.get("batch_size", 64)),
        device=values.get("device", "cpu"),
    )


def _image_folder(profile: Profile, values: dict[str, Any]):
    from compendium.inputs.datasets import ImageFolderDataset

    return ImageFolderDataset(
        _path(profile, values),
        synsets=values.get("synsets"),
        max_per_class=values.get("max_per_class"),
    )


@dataclass(frozen=True)
class Step:
    """A step that prepares what the notebooks read (data, training, recording).

    `section` is the key of the profile file that holds the step's parameters (next to
    the notebooks' keys); `run` gets the whole `Profile` and should skip work whose
    output is already cached.
    """

    section: str
    run: Callable[[Profile], None]


#: The steps `build_book` runs, in order, before any notebook; each reads its section of
#: the profile (``data:``, ``train:``, ``record:``; see `compendium.build.stages`) and skips work
#: whose cached output is current. To add one, append ``Step(section, function)``.
PRE_NOTEBOOK_STEPS: list[Step] = [
    Step("data", prepare_data),
    Step("train", train_model),
    Step("record", record_store),
]


# --- the network behind a profile, for the chapters that need it ---------------------


def profile_network(profile: str) -> am.ProfileNetwork:
    """For profile ``profile``: the small AlexNet it trains (source ``fashion-mnist``), the
    torchvision network it records (``image-folder``), or no network (``alexnet-merged``:
    the authors' files hold activations but no weights)."""
    from compendium.methods import am
    from compendium.networks.models import load_torchvision

    prof = load_profile(profile)
    kind = source(prof)
    if kind == "fashion-mnist":
        trained = profile_model(prof)
        return am.ProfileNetwork(
            trained.model.eval(),
            am.ImageSpec.fashion_mnist(),
            trained.weights_sha256[:16],
            f"the profile's small AlexNet ({trained.name})",
        )
    if kind == "image-folder":
        record = section(prof, "record")
        name = record.get("model", "alexnet")
        weights = str(record.get("weights", "DEFAULT"))
        model = load_torchvision(name, parse_weights(weights))
        label = cache_key(weights)
        return am.ProfileNetwork(
            model,
            am.ImageSpec.imagenet(),
            f"{name}-{label}",
            f"torchvision's {name} with weights {weights}",
        )
    return am.ProfileNetwork(
        None, am.ImageSpec(), "", "no network: the authors' activation files hold no weights"
    )
