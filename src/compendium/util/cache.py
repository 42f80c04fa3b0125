"""The project's cache: one folder, one key function, one staleness rule.

Everything that is computed once and reused (downloaded data, trained weights, activation
files, dissections, AM images) lives under `cache_dir()`, in a sub-folder named after what
it holds (its *kind*: ``models``, ``observers``, ``recurrent``, ...), in a file named after
`cache_key` of the arguments that produced it.

The staleness rule: a different configuration is a different key, hence a different file.
An entry is used only if the configuration it stored matches the one asked for now (and,
for weights, if the file's sha256 matches the one recorded beside it); anything else is
computed again and overwritten, with a log line saying why. A cache entry is never
silently reused and never an error.

Trained networks (`cached_network`) may also be *shipped*: `shipped_dir()` (the committed
folder ``data/weights``) holds entries in the same layout, ``<kind>/<key>.pt`` with
``<key>.json`` beside them. A shipped entry that passes the same checks is used before the
cache; one that fails them is left alone (it is never written to) and the network comes
from the cache or is computed. ``COMPENDIUM_WEIGHTS=none`` turns shipped weights off.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compendium.util.files import atomic_path, file_sha256

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger(__name__)

#: Hex characters of a sha256 kept in cache file names.
KEY_LENGTH = 16

#: Where a network returned by `cached_network` came from.
SHIPPED, CACHED, COMPUTED = "shipped", "cached", "computed"


def _checkout_folder(*parts: str) -> Path:
    repo = Path(__file__).resolve().parents[3]
    if (repo / "pyproject.toml").is_file():
        return repo.joinpath(*parts)
    return Path.cwd().joinpath(*parts)


def cache_dir() -> Path:
    """The project's cache folder: ``$COMPENDIUM_CACHE``, else ``<repo>/data/cache``.

    Outside a source checkout (no ``pyproject.toml`` above ``src/``) it is ``./data/cache``.
    """
    env = os.environ.get("COMPENDIUM_CACHE")
    return Path(env) if env else _checkout_folder("data", "cache")


def shipped_dir() -> Path | None:
    """The committed, read-only weights folder: ``$COMPENDIUM_WEIGHTS``, else
    ``<repo>/data/weights`` (``./data/weights`` outside a source checkout); None when
    ``COMPENDIUM_WEIGHTS`` is ``none`` (no shipped weights are used)."""
    env = os.environ.get("COMPENDIUM_WEIGHTS")
    if env is None:
        return _checkout_folder("data", "weights")
    folder = parse_weights(env)
    return None if folder is None else Path(folder)


def cache_key(*parts: Any, length: int = KEY_LENGTH) -> str:
    """A stable hex key for JSON-serialisable `parts` (dict keys sorted).

    One part is hashed as itself (``cache_key(d)`` is the sha256 of ``json.dumps(d,
    sort_keys=True)``), several as the list of them."""
    value = parts[0] if len(parts) == 1 else list(parts)
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def parse_weights(weights: str | os.PathLike | None) -> str | None:
    """A weights argument as the loaders take it: None for seeded random weights (given as
    None, ``"none"`` or ``""`` in any case), else the name or path as a string."""
    if weights is None:
        return None
    text = str(weights)
    return None if text.strip().lower() in ("", "none") else text


# --- cached torch networks --------------------------------------------------------------


@dataclass
class CachedNetwork:
    """A network read from (or just written to) a cache entry.

    ``record``: the JSON beside the weights (``key``, ``config``, ``weights_sha256`` and
    whatever the computation added); ``origin``: `SHIPPED`, `CACHED` or `COMPUTED`."""

    network: nn.Module
    record: dict[str, Any]
    path: Path
    origin: str

    @property
    def weights_sha256(self) -> str:
        return self.record["weights_sha256"]


def entry_paths(kind: str, key: str, folder: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """The weights and the record of one entry: ``<folder>/<kind>/<key>.pt|.json``, with
    `folder` the cache folder unless given."""
    base = (Path(folder) if folder is not None else cache_dir()) / kind / key
    return base.with_suffix(".pt"), base.with_suffix(".json")


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _read_entry(
    weights: Path, record_path: Path, config: Mapping[str, Any], build: Callable[[], nn.Module]
) -> tuple[nn.Module, dict[str, Any]] | str:
    """The network and record of an entry, or why the entry cannot be used."""
    import torch

    if not record_path.is_file():
        return "no record"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError) as err:
        return f"its record {record_path} is unreadable ({err})"
    if record.get("config") != _as_json(config):
        return f"{record_path} was written for another configuration"
    if not weights.is_file() or record.get("weights_sha256") != file_sha256(weights):
        return f"{weights} does not match the sha256 in {record_path}"
    network = build()
    try:
        network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except (RuntimeError, ValueError, KeyError) as err:
        return f"{weights} does not fit the network ({err})"
    return network.eval(), record


def load_cached(
    kind: str,
    key: str,
    config: Mapping[str, Any],
    build: Callable[[], nn.Module],
    *,
    folder: str | os.PathLike | None = None,
    shipped: bool = True,
) -> CachedNetwork | None:
    """The network of a current entry, shipped (if `shipped`) or cached, else None.

    `config` is what the entry must have stored; `build` makes an untrained network for
    the stored state. An entry that fails a check is logged and passed over."""
    shipped_folder = shipped_dir() if shipped else None
    places = [(shipped_folder, SHIPPED)] if shipped_folder is not None else []
    places.append((folder, CACHED))
    for place, origin in places:
        weights, record_path = entry_paths(kind, key, place)
        found = _read_entry(weights, record_path, config, build)
        if isinstance(found, tuple):
            return CachedNetwork(found[0], found[1], weights, origin)
        if found != "no record":
            log.warning("%s entry %s/%s not used: %s", origin, kind, key, found)
    return None


def save_network(
    kind: str,
    key: str,
    config: Mapping[str, Any],
    network: nn.Module,
    fields: Mapping[str, Any],
    *,
    folder: str | os.PathLike | None = None,
) -> CachedNetwork:
    """Write `network`'s state and its record (`config`, `fields`, the weights' sha256) as
    the cache entry `key`: weights first, record last, each atomically, so a record on disk
    always means a complete entry. The bytes depend only on the state."""
    import torch

    weights, record_path = entry_paths(kind, key, folder)
    buffer = io.BytesIO()  # torch.save names the archive after its file: keep bytes stable
    torch.save(network.state_dict(), buffer)
    with atomic_path(weights) as tmp:
        tmp.write_bytes(buffer.getvalue())
    record = {"key": key, "config": _as_json(config), **fields}
    record["weights_sha256"] = file_sha256(weights)
    with atomic_path(record_path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    log.info("wrote %s and %s", weights, record_path)
    return CachedNetwork(network, record, weights, COMPUTED)


def cached_network(
    kind: str,
    key: str,
    config: Mapping[str, Any],
    *,
    build: Callable[[], nn.Module],
    compute: Callable[[], tuple[nn.Module, Mapping[str, Any]]],
    folder: str | os.PathLike | None = None,
    recompute: bool = False,
    shipped: bool = True,
) -> CachedNetwork:
    """The network of entry `key`: shipped or cached if current (see `load_cached`), else
    ``compute()`` (the network and the record's other fields), saved to the cache.

    `recompute` skips both the shipped and the cached entry."""
    if not recompute:
        found = load_cached(kind, key, config, build, folder=folder, shipped=shipped)
        if found is not None:
            return found
    network, fields = compute()
    return save_network(kind, key, config, network, fields, folder=folder)
