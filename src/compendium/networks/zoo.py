"""The small networks of chapter 4 as a profile lists them: the training tasks, and the check
that turns a profile's ``nets`` entries into :class:`NetSpec` objects.

An entry names a display name, an architecture of
:data:`compendium.networks.models.SMALL_NETWORKS`, a training task of :data:`TASKS` and the
layer to dissect, for example ``{"name": "GoogLeNet (coarse)", "arch": "small-googlenet",
"task": "coarse", "layer": "inception4b"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compendium.networks.models import SMALL_NETWORKS, ModelError

__all__ = ["TASKS", "NetSpec", "net_specs"]

#: Training tasks: the ten classes, or the five coarse groups of compendium.inputs.categories.
TASKS = {"classes": "fashion-mnist", "coarse": "fashion-mnist-coarse"}


_SPEC_KEYS = {"name", "arch", "task", "layer", "epochs", "model"}


@dataclass(frozen=True)
class NetSpec:
    """One network of the chapter: a display name, an architecture, a training task, the
    layer to dissect, and optional overrides (epochs, network settings)."""

    name: str
    arch: str
    task: str
    layer: str
    epochs: int | None = None
    model: Mapping[str, Any] | None = None


def net_specs(entries: Sequence[Mapping[str, Any]]) -> list[NetSpec]:
    """Check profile entries and turn them into `NetSpec` objects."""
    if not entries:
        raise ModelError("`nets` is empty: list at least one network to dissect")
    specs = []
    for k, entry in enumerate(entries):
        unknown = set(entry) - _SPEC_KEYS
        missing = {"name", "arch", "task", "layer"} - set(entry)
        if unknown or missing:
            raise ModelError(
                f"nets[{k}] has unknown keys {sorted(unknown)} or lacks "
                f"{sorted(missing)}; each network needs name, arch, task and "
                f"layer (optional: epochs, model)"
            )
        if entry["arch"] not in SMALL_NETWORKS:
            raise ModelError(
                f"nets[{k}]: unknown arch {entry['arch']!r}; choose one of "
                f"{', '.join(SMALL_NETWORKS)}"
            )
        if entry["task"] not in TASKS:
            raise ModelError(
                f"nets[{k}]: unknown task {entry['task']!r}; choose one of {', '.join(TASKS)}"
            )
        specs.append(NetSpec(**entry))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ModelError(f"network names must differ; got {names}")
    return specs
