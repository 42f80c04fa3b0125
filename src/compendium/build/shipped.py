"""The weights shipped with the compendium: which networks a profile's chapters use, and
how ``data/weights`` is filled from a cache.

Training is repeatable on one machine but not across machines (the same configuration
reaches other weights elsewhere), so the networks the default profile's chapters report
are committed under ``data/weights``, and every build starts from them
(:func:`compendium.util.cache.load_cached` reads them before the cache). A shipped file is
a cache entry copied as it is: ``<kind>/<key>.pt`` and the ``<key>.json`` record beside
it, which holds the configuration, the weights' sha256 and the test accuracy.

To regenerate them: build without shipped weights (``COMPENDIUM_WEIGHTS=none compendium
book``, which trains everything into the cache), then run ``python -m
compendium.build.shipped``, which copies the profile's entries from the cache and prints
the table of ``data/weights/README.md``.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from compendium.build.profiles import PipelineError, Profile, load_profile
from compendium.build.stages import profile_train_config
from compendium.util.cache import entry_paths, load_cached, shipped_dir
from compendium.util.files import atomic_path

__all__ = ["ShippedNetwork", "main", "profile_networks", "ship"]


@dataclass(frozen=True)
class ShippedNetwork:
    """One network a profile's chapters use: what the chapter calls it, and its cache entry
    (kind, key, the configuration the entry stores, and how to build an untrained copy)."""

    label: str
    kind: str
    key: str
    config: dict[str, Any]
    build: Callable[[], Any]


def _small_net(label: str, config: Any) -> ShippedNetwork:
    from compendium.networks.models import build_network
    from compendium.networks.training import MODELS

    return ShippedNetwork(
        label, MODELS, config.key, config.to_dict(), partial(build_network, config.model)
    )


def _observers(entries: Sequence[dict]) -> list[ShippedNetwork]:
    from compendium.methods import observers

    found = []
    for spec in map(observers.ObserverSpec.from_dict, entries):
        label = f"chapter 3 observer {spec.name}"
        if spec.arch == "small-alexnet":
            found.append(_small_net(label, spec.training()))
        elif spec.arch != "torchvision":
            build = partial(observers.build_observer, spec)
            found.append(
                ShippedNetwork(label, observers.OBSERVERS, spec.key, spec.settings(), build)
            )
    return found


def _chapter4(params: dict) -> list[ShippedNetwork]:
    from compendium.chapters.other_cnns import net_training
    from compendium.networks.zoo import net_specs

    options = {k: params.get(k) for k in ("epochs", "n_train", "seed")}
    return [
        _small_net(f"chapter 4 {spec.name}", net_training(spec, **options))
        for spec in net_specs(params["nets"])
    ]


def _recurrent(params: dict) -> list[ShippedNetwork]:
    from compendium.methods import recurrent

    config = recurrent.RecallConfig(**params)
    return [
        ShippedNetwork(
            f"chapter 5 {name}",
            recurrent.RECURRENT,
            c.key(),
            asdict(c),
            partial(recurrent.ListRecallNet, c.n_letters, c.word_length, c.hidden_size),
        )
        for name, c in recurrent.conditions(config).items()
    ]


def profile_networks(profile: Profile) -> list[ShippedNetwork]:
    """The trained networks of a ``fashion-mnist`` profile's chapters (its small AlexNet,
    the observers of chapter 3, the networks of chapter 4, the two conditions of chapter
    5), each once, in chapter order."""
    params = profile.params
    found = [_small_net("the small AlexNet (chapters 2-4)", profile_train_config(profile))]
    found += _observers(params.get("03_activation_maximisation", {}).get("observers", []))
    if params.get("04_other_cnns", {}).get("nets"):
        found += _chapter4(params["04_other_cnns"])
    if "05_recurrent_control" in params:
        found += _recurrent(params["05_recurrent_control"])
    unique: dict[tuple[str, str], ShippedNetwork] = {}
    for net in found:
        unique.setdefault((net.kind, net.key), net)
    return list(unique.values())


def _accuracy(record: dict[str, Any]) -> str:
    if "test_accuracy" in record:
        return f"{record['test_accuracy']:.4f} (test images)"
    return f"{record['accuracy']['lists']:.4f} (whole lists recalled)"


def ship(
    networks: Sequence[ShippedNetwork], source: Path | None = None, target: Path | None = None
) -> list[dict[str, Any]]:
    """Copy each network's current cache entry from `source` (the cache) into `target`
    (``data/weights``); one row per network for the README's table."""
    target = Path(target) if target is not None else shipped_dir()
    if target is None:
        raise PipelineError("COMPENDIUM_WEIGHTS is none: give the folder to ship into")
    rows = []
    for net in networks:
        entry = load_cached(net.kind, net.key, net.config, net.build, folder=source, shipped=False)
        if entry is None:
            raise PipelineError(
                f"no current cache entry for {net.label} ({net.kind}/{net.key}): build the "
                f"book with COMPENDIUM_WEIGHTS=none first, so that it is trained here"
            )
        for path in entry_paths(net.kind, net.key, source):
            with atomic_path(target / net.kind / path.name) as tmp:
                shutil.copyfile(path, tmp)
        rows.append(
            {
                "network": net.label,
                "file": f"{net.kind}/{net.key}.pt",
                "MB": round(entry.path.stat().st_size / 1e6, 2),
                "sha256": entry.weights_sha256,
                "accuracy": _accuracy(entry.record),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m compendium.build.shipped``: ship a profile's networks, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument(
        "--from", dest="source", type=Path, help="cache folder (default: the cache)"
    )
    parser.add_argument("--to", dest="target", type=Path, help="default: data/weights")
    args = parser.parse_args(argv)
    rows = ship(profile_networks(load_profile(args.profile)), args.source, args.target)
    print("| network | file | MB | sha256 | accuracy |\n|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['network']} | `{row['file']}` | {row['MB']} | `{row['sha256']}` | "
            f"{row['accuracy']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
