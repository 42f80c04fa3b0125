"""Measures tables for whole activation files: every unit of the chosen layers, as one long
table (a row per layer and unit), cached on disk by its arguments.

The cache key is the activation file's resolved path, size and modification time, the
layers, unit range and summary asked for, the package version and the measures' column
names; a changed file, a new release or a new measure computes afresh. Cached tables are CSV files under ``data/cache/measures``
(written atomically), so a notebook that is executed again reads its table back in a moment.
`null_layers` does the same for the permutation null (p-values and each layer's chance band).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from compendium import __version__
from compendium.activations.reader import open_activations
from compendium.measures import COLUMNS, MeasureInputError, present_class_measures
from compendium.measures.null import NULL_CODE_VERSION, permutation_null
from compendium.util.cache import cache_key
from compendium.util.files import write_table

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
    before, and stored there otherwise. ``softmax=True`` measures the softmax over each
    image's units instead of the stored values (for an output layer of logits); the other
    options go to `compendium.measures.unit_measures` (e.g. ``top=(60, 100)``).
    """
    cached = _cache_file(path, layers, units, summary, cache_dir, options) if cache_dir else None
    if cached is not None and cached.exists():
        log.info("read cached measures %s", cached)
        return pd.read_csv(cached)
    softmax = bool(options.pop("softmax", False))
    with open_activations(path) as source:
        tables = [
            _measure_layer(source, layer, units, summary, options, softmax)
            for layer in layers or source.layers
        ]
    table = pd.concat(tables, ignore_index=True)
    if cached is not None:
        write_table(table, cached, index=False)
        log.info("wrote cached measures %s", cached)
    return table


def _measure_layer(
    source, layer: str, units: slice | None, summary: str, options: dict, softmax: bool = False
) -> pd.DataFrame:
    acts = source.activations(layer, summary)
    if softmax:
        acts = softmax_rows(acts)
    units = checked_units(units, int(acts.shape[1]), layer)
    log.info(
        "reading %s layer %s units %d:%d (%d images)",
        source.path,
        layer,
        units.start,
        units.stop,
        acts.shape[0],
    )
    table = present_class_measures(
        UnitRange(acts, units), source.labels, unit_offset=units.start, **options
    )
    table = table.reset_index()
    table.insert(0, "layer", layer)
    return table


def softmax_rows(acts, rows: int = 8192) -> np.ndarray:
    """The softmax over units of each image (row) of a lazily read layer, read `rows` images
    at a time: the class probabilities of an output layer that stores logits. The result is
    held in memory (float32; the authors' fc8, 721,536 x 1,000, takes 2.9 GB)."""
    n_images, n_units = acts.shape
    out = np.empty((n_images, n_units), dtype=np.float32)
    for start in range(0, n_images, rows):
        block = np.asarray(acts[start : start + rows], dtype=np.float64)
        block = np.exp(block - block.max(axis=1, keepdims=True))
        out[start : start + rows] = block / block.sum(axis=1, keepdims=True)
    return out


def checked_units(units: slice | None, n_units: int, layer: str) -> slice:
    """`units` with its open ends filled in; an error if it leaves the layer."""
    if units is None:
        return slice(0, n_units)
    start = 0 if units.start is None else units.start
    stop = n_units if units.stop is None else units.stop
    if start > stop:
        raise MeasureInputError(_reversed_message(start, stop))
    if not 0 <= start < stop <= n_units:
        raise MeasureInputError(
            f"units {start}:{stop} are outside layer {layer!r}, which has units "
            f"0:{n_units}: give START < STOP <= {n_units}"
        )
    return slice(start, stop)


class UnitRange:
    """A range of units of a lazily read layer, itself read in blocks like the layer."""

    def __init__(self, acts, units: slice) -> None:
        self._acts, self._start = acts, units.start
        self.shape = (acts.shape[0], units.stop - units.start)
        self.dtype = getattr(acts, "dtype", None)

    def __getitem__(self, key: tuple[slice, slice]):
        rows, cols = key
        return self._acts[rows, self._start + cols.start : self._start + cols.stop]


def _cache_file(path, layers, units, summary, cache_dir, options=None) -> Path:
    """The cache entry for these arguments. The key holds the size and modification time
    of the file (of every ``.h5`` file, for a folder of the authors' files) and the options
    that change the table (e.g. ``top``), so a changed input computes afresh."""
    resolved = Path(path).resolve()
    files = sorted(resolved.glob("*.h5")) if resolved.is_dir() else [resolved]
    key = {
        "path": str(resolved),
        "files": [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files],
        "layers": list(layers) if layers else None,
        "summary": summary,
        "units": None if units is None else [units.start, units.stop],
        "version": __version__,
        "columns": COLUMNS,  # a new or changed measure makes the old tables stale
        "options": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in sorted((options or {}).items())
            if k in TABLE_OPTIONS
        },
    }
    return Path(cache_dir) / f"{Path(path).stem}-{cache_key(key)}.csv"


#: Options of `measure_layers` that change the table (the others only change how it is
#: computed), and so belong in the cache key.
TABLE_OPTIONS = ("top", "softmax")


def parse_units(spec: str | None) -> slice | None:
    """``"START:STOP"`` (either end may be left out) as a slice; None or "" for all units."""
    if spec is None or str(spec).strip() in ("", ":"):
        return None
    start, sep, stop = str(spec).partition(":")
    try:
        if not sep:
            raise ValueError
        first = int(start) if start.strip() else None
        last = int(stop) if stop.strip() else None
    except ValueError:
        raise MeasureInputError(
            f'a unit range is written START:STOP, e.g. "0:100" (or null for all); got {spec!r}'
        ) from None
    if (first is not None and first < 0) or (last is not None and last < 0):
        raise MeasureInputError(
            f"units are numbered from 0; got {spec!r}: give START:STOP with 0 <= START < STOP"
        )
    if first is not None and last is not None and first >= last:
        raise MeasureInputError(_reversed_message(first, last))
    return slice(first, last)


def _reversed_message(start: int, stop: int) -> str:
    if start == stop:
        return (
            f"the unit range {start}:{stop} is empty: give START < STOP, e.g. {start}:{start + 1}"
        )
    return (
        f"the unit range {start}:{stop} is reversed (START must be less than STOP): "
        f"did you mean {stop}:{start}?"
    )


#: Multipliers of the units `parse_memory` reads: decimal (kB, MB, GB, TB), binary (KiB,
#: MiB, GiB, TiB) and the one-letter binary shorthands (K, M, G, T).
MEMORY_UNITS = {
    "": 1,
    "b": 1,
    **{f"{p}b": 1000**k for k, p in enumerate("kmgt", 1)},
    **{f"{p}ib": 1024**k for k, p in enumerate("kmgt", 1)},
    **{p: 1024**k for k, p in enumerate("kmgt", 1)},
}


def parse_memory(text: str | int) -> int:
    """A memory size in bytes from ``"2GB"`` (2 x 10^9), ``"512MiB"`` (512 x 2^20),
    ``"1.5G"`` (1.5 x 2^30) or a plain number of bytes; case and spaces do not matter."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*", str(text).lower())
    if found is None or found.group(2) not in MEMORY_UNITS:
        raise MeasureInputError(
            f"a memory size is a number with an optional unit, e.g. 2GB, 512MiB, 1.5G or "
            f"536870912 (bytes); got {text!r}"
        )
    size = int(float(found.group(1)) * MEMORY_UNITS[found.group(2)])
    if size < 1:
        raise MeasureInputError(f"a memory size must be at least one byte; got {text!r}")
    return size


def unit_selection(
    path: str | os.PathLike,
    layers: Sequence[str],
    units: str | Mapping[str, str | None] | None = None,
) -> dict[str, slice]:
    """Check `layers` and `units` against the activation file before any work is done;
    returns each layer's unit range with both ends filled in.

    `units` is None (every unit), one ``"START:STOP"`` for every layer, or a mapping from
    layer to such a range (layers it does not name get every unit). A layer the file lacks
    or a range outside its layer is an error that lists what the file has.
    """
    if not layers:
        raise MeasureInputError("no layers chosen: give at least one layer name")
    if isinstance(units, Mapping):
        stray = sorted(set(units) - set(layers))
        if stray:
            raise MeasureInputError(
                f"units names layers {stray} that are not among the chosen "
                f"layers {list(layers)}; add them to the layers or drop them"
            )
        ranges = {layer: parse_units(units.get(layer)) for layer in layers}
    else:
        ranges = {layer: parse_units(units) for layer in layers}
    with open_activations(path) as source:
        missing = [layer for layer in layers if layer not in source.layers]
        if missing:
            raise MeasureInputError(
                f"{path} has no layer {', '.join(map(repr, missing))}; its layers "
                f"are {', '.join(source.layers)}: choose among those"
            )
        return {
            layer: checked_units(ranges[layer], source.n_units(layer), layer) for layer in layers
        }


def measure_selection(
    path: str | os.PathLike,
    selection: Mapping[str, slice],
    cache_dir: str | os.PathLike | None = None,
    **options,
) -> pd.DataFrame:
    """`measure_layers` for each layer's own unit range (see `unit_selection`), as one
    long table; each layer is cached on its own."""
    tables = [
        measure_layers(path, [layer], units, cache_dir=cache_dir, **options)
        for layer, units in selection.items()
    ]
    return pd.concat(tables, ignore_index=True)


# --- the permutation null of whole files ---------------------------------------------------


@dataclass(frozen=True, eq=False)
class NullTables:
    """The permutation null of some layers of a file (`null_layers`): ``table``, one row per
    (layer, unit) with the measures table's columns and a ``<measure>_p`` column for each
    measure of `compendium.measures.null_measures`; ``band``, per (layer, measure), the
    pooled null's ``low`` and ``high`` percentiles, ``median`` and ``mean``."""

    table: pd.DataFrame
    band: pd.DataFrame


def null_layers(
    path: str | os.PathLike,
    layers: Sequence[str] | None = None,
    units: slice | None = None,
    summary: str = "max",
    n_permutations: int = 100,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    band: tuple[float, float] = (2.5, 97.5),
    **options,
) -> NullTables:
    """`compendium.measures.permutation_null` for every unit of `layers` (default: all) of an
    activation file, as one long table and the layers' chance bands, cached like
    `measure_layers` (the key adds the permutations, the seed and the band). Classes without
    images are left out of the shuffles, as `present_class_measures` leaves them out."""
    settings = {
        "permutations": n_permutations,
        "seed": seed,
        "band": list(band),
        "code": NULL_CODE_VERSION,
    }
    cached = None
    if cache_dir:
        cached = _cache_file(path, layers, units, summary, cache_dir, options)
        cached = cached.with_name(f"{cached.stem}-null-{cache_key(settings)}.csv")
    band_file = cached.with_name(cached.stem + "-band.csv") if cached else None
    if cached is not None and cached.exists() and band_file.exists():
        log.info("read cached permutation null %s", cached)
        return NullTables(pd.read_csv(cached), pd.read_csv(band_file))
    tables, bands = [], []
    with open_activations(path) as source:
        for layer in layers or source.layers:
            table, layer_band = _null_layer(
                source, layer, units, summary, n_permutations, seed, band, options
            )
            tables.append(table)
            bands.append(layer_band)
    result = NullTables(pd.concat(tables, ignore_index=True), pd.concat(bands, ignore_index=True))
    if cached is not None:
        write_table(result.table, cached, index=False)
        write_table(result.band, band_file, index=False)
        log.info("wrote cached permutation null %s", cached)
    return result


def _null_layer(source, layer, units, summary, n_permutations, seed, band, options):
    acts = source.activations(layer, summary)
    units = checked_units(units, int(acts.shape[1]), layer)
    present, dense = np.unique(np.asarray(source.labels), return_inverse=True)
    null = permutation_null(
        UnitRange(acts, units),
        dense.astype(np.intp),
        n_permutations,
        seed,
        n_classes=len(present),
        unit_offset=units.start,
        **options,
    )
    table = null.table()
    for column in table.columns:
        if column.endswith("_class"):
            table[column] = present[table[column].to_numpy()]
    table = table.reset_index()
    table.insert(0, "layer", layer)
    pooled = null.band(*band)
    pooled["mean"] = [float(np.nanmean(null.null[m])) for m in pooled.index]
    pooled = pooled.rename_axis("measure").reset_index()
    pooled.insert(0, "layer", layer)
    return table, pooled
