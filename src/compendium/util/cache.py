"""The project's cache: one folder, one key function, one staleness rule.

Everything that is computed once and reused (downloaded data, trained weights, activation
files, dissections, AM images) lives under `cache_dir()`, in a sub-folder named after what
it holds, in a file named after `cache_key` of the arguments that produced it. A cached file
is current when its key matches the arguments asked for now; anything else is recomputed
(never silently reused).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: Hex characters of a sha256 kept in cache file names.
KEY_LENGTH = 16


def cache_dir() -> Path:
    """The project's cache folder: ``$COMPENDIUM_CACHE``, else ``<repo>/data/cache``.

    Outside a source checkout (no ``pyproject.toml`` above ``src/``) it is ``./data/cache``.
    """
    env = os.environ.get("COMPENDIUM_CACHE")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    if (repo / "pyproject.toml").is_file():
        return repo / "data" / "cache"
    return Path.cwd() / "data" / "cache"


def cache_key(*parts: Any, length: int = KEY_LENGTH) -> str:
    """A stable hex key for JSON-serialisable `parts` (dict keys sorted)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def parse_weights(weights: str | os.PathLike | None) -> str | None:
    """A weights argument as the loaders take it: None for seeded random weights (given as
    None, ``"none"`` or ``""`` in any case), else the name or path as a string."""
    if weights is None:
        return None
    text = str(weights)
    return None if text.strip().lower() in ("", "none") else text
