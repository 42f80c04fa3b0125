"""Profiles: named sets of parameters for the steps and the notebooks.

A profile is ``notebooks/params/<name>.yml``: it maps each notebook (file stem) to the
parameters injected into its ``parameters`` cell, and holds the sections of the steps that
run before the notebooks (``data``, ``train``, ``record``; see `compendium.build.stages`).
This module is the bottom of the build layer: it reads and checks profiles, and knows where
the repository's folders are; everything else in the build layer imports from it.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

#: The repository root (the package is installed in editable mode from ``src/``).
ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = ROOT / "notebooks"
#: The profiles: ``notebooks/params`` of the source checkout; an installed wheel, which has
#: no checkout, reads the copy its build put into the package (``setup.py``).
PACKAGED_PARAMS = Path(__file__).resolve().parents[1] / "data" / "profiles"
PARAMS = NOTEBOOKS / "params" if (NOTEBOOKS / "params").is_dir() else PACKAGED_PARAMS
BOOK = ROOT / "book"
CONFIG = ROOT / "_config.yml"
#: Sub-folders of a book source folder.
GENERATED = "generated"
BUILD = "_build"
#: The Jupyter kernel the notebooks run in: this Python, registered under this name.
KERNEL_NAME = "compendium"
VEGA_BUNDLE = "vega-offline.js"


class PipelineError(CompendiumError):
    """A step of the pipeline cannot go on; the message says what to change (the command
    line reports it in one line)."""


@dataclass(frozen=True)
class Profile:
    """A named set of notebook parameters: ``params[notebook name][parameter] = value``."""

    name: str
    params: dict[str, dict]


SOURCES = ("fashion-mnist", "alexnet-merged", "image-folder")

#: What an environment variable used by the shipped profiles should hold.
ENV_HINTS = {
    "COMPENDIUM_ALEXNET_MERGED": (
        "the folder that holds the authors' AN_merged_<layer>_max.h5 files (at least "
        "conv5, fc6, fc7 and fc8; from https://bristol.codersoffortune.net/AlexNet_Merged/)"
    ),
    "COMPENDIUM_IMAGENET": (
        "an ImageNet folder with one sub-folder of images per WordNet id "
        "(n01440764/..., as ILSVRC-2012 unpacks)"
    ),
}

_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<fallback>[^}]*))?\}")


def available_profiles() -> list[str]:
    """Names of the profiles in ``notebooks/params``."""
    return sorted(path.stem for path in PARAMS.glob("*.yml"))


def load_profile(name: str) -> Profile:
    """Read ``notebooks/params/<name>.yml`` and check its shape."""
    path = PARAMS / f"{name}.yml"
    if not path.is_file():
        raise PipelineError(
            f"unknown profile {name!r}: choose one of {', '.join(available_profiles())} "
            f"(or add {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path})"
        )
    params = yaml.safe_load(path.read_text()) or {}
    if not isinstance(params, dict) or not all(
        isinstance(value, dict | None) for value in params.values()
    ):
        raise PipelineError(
            f"{path}: a profile maps each notebook name to a mapping of parameters "
            f"(e.g. `01_measures: {{seed: 0}}`); fix its layout"
        )
    log.info("profile %s read from %s", name, path)
    return Profile(name, {key: dict(value or {}) for key, value in params.items()})


def expand(value: Any, profile: str) -> Any:
    """`value` with each ``${NAME}`` / ``${NAME:-fallback}`` replaced from the environment
    (lists and mappings are expanded item by item)."""
    if isinstance(value, list):
        return [expand(item, profile) for item in value]
    if isinstance(value, dict):
        return {key: expand(item, profile) for key, item in value.items()}
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, fallback = match.group("name"), match.group("fallback")
        if os.environ.get(name):
            return os.environ[name]
        if fallback is not None:
            return fallback
        hint = ENV_HINTS.get(name, "the value the profile's comment describes")
        raise PipelineError(
            f"profile {profile!r} needs the environment variable {name}, which is not set: "
            f"set it to {hint}, e.g. `{name}=/path/to/it make book PROFILE={profile}`, or "
            f"write the value into notebooks/params/{profile}.yml"
        )

    return _ENV.sub(substitute, value)


def section(profile: Profile, name: str) -> dict[str, Any]:
    """The profile's `name` section with environment variables expanded ({} if absent)."""
    return expand(dict(profile.params.get(name, {})), profile.name)


def source(profile: Profile) -> str:
    """Where the profile's activations come from (``data: source:``)."""
    found = profile.params.get("data", {}).get("source", "fashion-mnist")
    if found not in SOURCES:
        raise PipelineError(
            f"profile {profile.name!r}: data source {found!r} is unknown; use one of "
            f"{', '.join(SOURCES)} (notebooks/params/{profile.name}.yml, `data: source:`)"
        )
    return found
