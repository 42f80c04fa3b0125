"""Measures tables for whole activation files: every unit of the chosen layers, as one long
table (a row per layer and unit), cached on disk by its arguments.

The cache key is the activation file's resolved path, size and modification time, the
layers, unit range and summary asked for, and the package version; a changed file or a
new release computes afresh. Cached tables are CSV files under ``data/cache/measures``
(written atomically), so a notebook that is executed again reads its table back in a moment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from compendium import __version__
from compendium.files import write_table
from compendium.measures import present_class_measures
from compendium.store import open_activations

log = logging.getLogger(__name__)

def measure_layers(
    path: str | os.PathLike,
    layers: Sequence[str] | None = None,
    units: slice | None = None,
    summary: str = "max",
    cache_dir: str | os.PathLike | None = None,
    **options,
) -> pd.DataFrame:
    """Every measure for every unit of `layers` (default: all) of an activation file.

    `units` restricts each layer to a range of units (``slice(0, 100)``). With
    `cache_dir`, the table is read from there when the same arguments were computed
    before, and stored there otherwise.
    """
    cached = _cache_file(path, layers, units, summary, cache_dir) if cache_dir else None
    if cached is not None and cached.exists():
        log.info("read cached measures %s", cached)
        return pd.read_csv(cached)
    with open_activations(path) as source:
        tables = [
            _measure_layer(source, layer, units, summary, options)
            for layer in layers or source.layers
        ]
    table = pd.concat(tables, ignore_index=True)
    if cached is not None:
        write_table(table, cached, index=False)
        log.info("wrote cached measures %s", cached)
    return table


def _measure_layer(source, layer: str, units: slice | None, summary: str, options: dict) -> pd.DataFrame:
    acts = source.activations(layer, summary)
    units = checked_units(units, int(acts.shape[1]), layer)
    log.info("reading %s layer %s units %d:%d (%d images)", source.path, layer,
             units.start, units.stop, acts.shape[0])  # fmt: skip
    table = present_class_measures(
        UnitRange(acts, units), source.labels, unit_offset=units.start, **options
    )
    table = table.reset_index()
    table.insert(0, "layer", layer)
    return table


def checked_units(units: slice | None, n_units: int, layer: str) -> slice:
    """`units` with its open ends filled in; an error if it leaves the layer."""
    if units is None:
        return slice(0, n_units)
    start = 0 if units.start is None else units.start
    stop = n_units if units.stop is None else units.stop
    if not 0 <= start < stop <= n_units:
        raise ValueError(
            f"units {start}:{stop} are outside layer {layer!r}, which has units "
            f"0:{n_units}: give START < STOP <= {n_units}"
        )
    return slice(start, stop)


class UnitRange:
    """A range of units of a lazily read layer, itself read in blocks like the layer."""

    def __init__(self, acts, units: slice) -> None:
        self._acts, self._start = acts, units.start
        self.shape = (acts.shape[0], units.stop - units.start)

    def __getitem__(self, key: tuple[slice, slice]):
        rows, cols = key
        return self._acts[rows, self._start + cols.start : self._start + cols.stop]


def _cache_file(path, layers, units, summary, cache_dir) -> Path:
    stat = Path(path).resolve().stat()
    key = {
        "path": str(Path(path).resolve()), "size": stat.st_size, "mtime": stat.st_mtime_ns,
        "layers": list(layers) if layers else None, "summary": summary,
        "units": None if units is None else [units.start, units.stop], "version": __version__,
    }  # fmt: skip
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{Path(path).stem}-{digest}.csv"
