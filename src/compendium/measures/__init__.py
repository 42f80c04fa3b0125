"""Every selectivity measure of Gale et al. (2020) for every unit of a layer, in one call.

`unit_measures(activations, labels)` returns one row per unit with the columns defined in
the project's spec (`COLUMNS` below; see the book's chapter 1 for the formulas). The design
follows one rule: **sort each unit once, then read every measure off the sorted order**.

* Units are processed in blocks. A block is read from the array or HDF5 dataset as
  (n_images, block) and transposed to (block, n_images), so every later step runs along
  contiguous rows; memory is bounded by the block size, never by the layer size. Blocks
  are measured by several workers at once (`workers`: forked processes), each block on
  its own.
* One sort per unit gives the ranking, descending, ties by image index (as the spec
  requires for `top_class` and the top-N precision): for float32, a sort of 64-bit keys
  that pack the value and the image. Only the images above the unit's lowest value are
  sorted; those at the lowest value (after a ReLU, the zeros: most of a layer) end the
  ranking in index order, and their part in each measure is known in closed form.
* Thresholds live at the distinct activation values, so the sorted order is cut into runs
  of equal values; a threshold counts everything up to the end of its run.
* For signal-detection measures the only per-class quantity needed is, for each image,
  how many members of its own class rank at or above it. That comes from a second, cheap
  sort of the ranked labels (32-bit keys of class and rank), so max informedness over all
  classes and thresholds is one pass over the sorted order, with no loop over classes.
* Top-N precision and recall at perfect and at .95 precision only depend on the first
  ranks of each unit (up to 20/19 of the largest class), which are all the kernel keeps.
* Class means, minima and maxima come from `reduceat` over images grouped by class.

Conventions that the spec leaves to the implementation: a class tie in `ccmas_class`,
`ccmas_2_class` or `localist_class` goes to the lower class number; a dead unit (all
activations equal to zero) has `ccmas`, `ccmas_2` and `ccmas_classmean` NaN, because their
denominator is zero.

`permutation_null` (`compendium.measures.null`) gives every measure its chance level: the
same table on K shuffles of the labels, each unit sorted once for all of them, with the
p-values of the spec.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from compendium.activations.store import CHUNK_UNITS
from compendium.measures._numpy import block_measures as _block_measures
from compendium.measures._numpy import transposed as _transposed
from compendium.measures._run import (
    BLOCK_MEMORY_BYTES,
    KERNEL_BYTES_PER_UNIT_IMAGE,
    SlabReader,
    available_cores,
    piece_rows,
)
from compendium.measures._run import parallel_map as _parallel_map
from compendium.measures._run import real_values as _real
from compendium.measures._run import worker_count as _worker_count
from compendium.measures._spec import (
    CLASS_COLUMNS,
    COLUMNS,
    ClassIndex,
    MeasureInputError,
    _check_finite,
    _check_shape,
    _check_top,
    measure_columns,
)
from compendium.measures.classes import class_measures
from compendium.measures.null import (
    NullInputError,
    PermutationNull,
    benjamini_hochberg,
    null_measures,
    permutation_null,
    shuffled_labels,
)

__all__ = [
    "BLOCK_MEMORY_BYTES",
    "CLASS_COLUMNS",
    "COLUMNS",
    "ClassIndex",
    "MeasureInputError",
    "NullInputError",
    "PermutationNull",
    "available_cores",
    "benjamini_hochberg",
    "class_measures",
    "default_block_size",
    "measure_columns",
    "memory_plan",
    "null_measures",
    "permutation_null",
    "present_class_measures",
    "read_bytes",
    "read_width",
    "shuffled_labels",
    "unit_measures",
]

log = logging.getLogger(__name__)


def unit_measures(
    activations: Any,
    labels: Any,
    n_classes: int | None = None,
    *,
    top: Sequence[int] = (60, 100),
    block_size: int | None = None,
    memory_bytes: int = BLOCK_MEMORY_BYTES,
    progress: bool | None = None,
    unit_offset: int = 0,
    backend: str = "numpy",
    device: str | None = None,
    workers: int | None = None,
) -> pd.DataFrame:
    """Compute every selectivity measure for every unit of one layer.

    Parameters
    ----------
    activations:
        (n_images, n_units): a numpy array, an h5py dataset, or anything with `.shape`
        that returns a numpy array for `activations[:, start:stop]`. Read a block of units
        at a time.
    labels:
        (n_images,) integer class of each image, 0..n_classes-1; every class needs images.
    n_classes:
        Number of classes; default ``labels.max() + 1``.
    top:
        The N of the top-N precision columns (``precision_60``, ``precision_100``); the
        largest also gives ``n_classes_top<N>``.
    block_size:
        Units per block; default: as many as fit `memory_bytes`.
    memory_bytes:
        Memory budget (default 512 MiB): the units read from `activations` at once and the
        working arrays of the block being measured fit it together (`memory_plan`); an
        error naming the smallest budget that works if not even one unit fits. Activations
        held in memory as a numpy array are not copied, so they do not count.
    progress:
        Show a tqdm bar; default when there is more than one block.
    unit_offset:
        Number of the first unit, for the index (when `activations` is a slice of a layer).
    backend, device:
        ``"numpy"`` (default) or ``"torch"``; for torch, `device` is e.g. ``"cuda"`` or
        ``"cpu"`` (default: CUDA when present). Both give the same table.
    workers:
        Workers that measure blocks of units at the same time: forked processes where the
        system can fork, else threads (`compendium.measures._run.parallel_map`); default:
        every core this process may use (`available_cores`), less one for the thread that
        reads the next slab when the layer is read from storage in several; a layer of
        fewer than `PARALLEL_MIN_ENTRIES` values is measured by one. The table does not
        depend on it.
        The workers share the
        compute part of `memory_bytes`: each measures blocks of ``1 / workers`` of the
        units one block would hold. The torch backend measures one block at a time.

    Returns
    -------
    pandas.DataFrame indexed by unit number (named ``unit``) with `measure_columns(top)`.
    Zero units (shape (n_images, 0)) give an empty table with every column and its dtype;
    zero images, or activations that are not real numbers, are a `MeasureInputError`.
    """
    shape = _check_shape(activations)
    classes = ClassIndex.from_labels(labels, shape[0], n_classes)
    top = _check_top(top, shape[0])
    n_images, n_units = shape
    if n_units == 0:
        return _empty_table(top, unit_offset)
    planned, width = memory_plan(activations, memory_bytes, block_size, backend)
    copied = read_bytes(activations) > 0  # read from storage, not a view of an array
    ahead = reads_ahead(activations, planned, width, memory_bytes, backend)
    n_workers = _worker_count(workers, backend, reading=ahead)
    block, n_workers = _share_block(planned, n_workers, block_size, min(width, n_units))
    compute = _backend(backend, device, classes, top)
    show = progress if progress is not None else n_units > planned
    parts = []
    many = n_workers > 1 and n_units > block and n_images * n_units >= PARALLEL_MIN_ENTRIES
    bar = tqdm(total=n_units, desc="units", unit="unit", disable=not show)
    with bar, SlabReader(activations, width, ahead, transpose=copied) as slabs:
        for start in range(0, n_units, width):
            x = slabs.take(start)
            # Workers start once the slab is read, so that forked ones inherit it (only
            # where each block starts crosses to them), and before the next read begins.
            measure = partial(_measure_part, compute, x, unit_offset + start, block)
            with _parallel_map(n_workers if many else 1, measure) as run:
                slabs.read_ahead(start + width)  # the workers are running by now
                # In order, so that the table is the same for any number of workers.
                for part in run([(f,) for f in range(0, x.shape[1], block)]):
                    parts.append(part)
                    bar.update(part["top_class"].size)
            del x, measure  # free this slab: at most this one and the next are held
    table = pd.DataFrame({c: _column(np.concatenate([p[c] for p in parts])) for c in parts[0]})
    table.index = pd.RangeIndex(unit_offset, unit_offset + n_units, name="unit")
    log.debug("measured %d units x %d images, %d classes", n_units, n_images, classes.n)
    return table[measure_columns(top)]


def present_class_measures(activations: Any, labels: Any, **options: Any) -> pd.DataFrame:
    """`unit_measures` over the classes that have images, for label sets where some
    classes are absent (e.g. a subset of ImageNet): classes are renumbered densely for the
    computation and the class columns are given back in the original numbering."""
    present, dense = np.unique(np.asarray(labels), return_inverse=True)
    table = unit_measures(activations, dense.astype(np.intp), len(present), **options)
    for column in table.columns:
        if column.endswith("_class"):
            table[column] = present[table[column].to_numpy()]
    return table


def _measure_part(compute: Callable, slab: np.ndarray, offset: int, block: int, f: int) -> dict:
    """The compute block of `slab` (units numbered from `offset`) that starts at its unit
    `f`: checked, then measured."""
    x = _real(slab[:, f : f + block])
    _check_finite(x, offset + f)
    return compute(x)


def _share_block(
    block: int, n_workers: int, block_size: int | None, units_at_once: int
) -> tuple[int, int]:
    """(units per block, workers): the `block` units that the budget's compute part holds,
    split between the workers (at least one unit each, so no more workers than units), and
    made smaller where that cuts the `units_at_once` read together into a whole number of
    blocks per worker, so that the workers finish together. A block size the caller chose
    is each worker's."""
    if block_size:
        return block, n_workers
    n_workers = max(1, min(n_workers, block, units_at_once))
    rounds = -(-units_at_once // (block // n_workers * n_workers))  # ceil
    return -(-units_at_once // (rounds * n_workers)), n_workers


def _empty_table(top: tuple[int, ...], unit_offset: int) -> pd.DataFrame:
    """The table of zero units: every column, each with the dtype it has for any layer."""
    columns = measure_columns(top)
    kinds = {c: np.int64 for c in columns if c.endswith("_class") or c.startswith("n_classes")}
    kinds["localist"] = kinds["detector"] = np.bool_
    table = pd.DataFrame({c: np.zeros(0, kinds.get(c, np.float64)) for c in columns})
    table.index = pd.RangeIndex(unit_offset, unit_offset, name="unit")
    return table


def _column(values: np.ndarray) -> np.ndarray:
    """One dtype per kind of column, whatever the input's: int64, float64 or bool."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    return values if values.dtype == bool else values.astype(np.float64)


def _backend(backend: str, device: str | None, classes: ClassIndex, top: tuple[int, ...]):
    """The function that measures one (images, units) block with the chosen backend."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise MeasureInputError(
                f"the numpy backend runs on the CPU; for {device!r} use backend='torch'"
            )
        return lambda x: _block_measures(_transposed(x), classes, top)
    if backend == "torch":
        from compendium.measures import _torch as measures_torch

        chosen = measures_torch.resolve_device(device)
        on_device = measures_torch.TorchClasses(classes, chosen)
        log.info("measuring with torch on %s", chosen)
        return lambda x: measures_torch.block_measures(x, on_device, top, chosen)
    raise MeasureInputError(f"backend must be 'numpy' or 'torch', not {backend!r}")


BYTES_PER_UNIT_IMAGE = KERNEL_BYTES_PER_UNIT_IMAGE["numpy"]

#: Activations (images x units) below which a layer is measured by one worker: starting and
#: stopping the workers costs 10-30 ms, about what the kernel takes for 2 million values.
PARALLEL_MIN_ENTRIES = 4_000_000

#: Share of the budget the compute block gets when units are read from storage; the rest
#: holds the units read at once (a wider read means fewer passes over a row-major file).
COMPUTE_SHARE = 0.25


def memory_plan(
    activations: Any,
    memory_bytes: int = BLOCK_MEMORY_BYTES,
    block_size: int | None = None,
    backend: str = "numpy",
) -> tuple[int, int]:
    """(units per compute block, units read at once) for `activations` within `memory_bytes`:
    the units read at once (`read_bytes` per value; none for a numpy array, whose slices are
    views) and the working arrays of one block (`KERNEL_BYTES_PER_UNIT_IMAGE` of the
    backend) fit it together."""
    n_images, n_units = int(activations.shape[0]), int(activations.shape[1])
    kernel = KERNEL_BYTES_PER_UNIT_IMAGE.get(backend, BYTES_PER_UNIT_IMAGE)
    block = block_size or default_block_size(
        n_images, n_units, memory_bytes, read_bytes(activations), kernel
    )
    return block, read_width(activations, block, memory_bytes, kernel)


def reads_ahead(
    activations: Any,
    block: int,
    width: int,
    memory_bytes: int = BLOCK_MEMORY_BYTES,
    backend: str = "numpy",
) -> bool:
    """Whether the next slab of `width` units is read while one is measured: the layer is
    read from storage in several slabs, and two of them, with the piece a slab is read
    through (`piece_rows`), fit in `memory_bytes` beside the compute `block`."""
    n_images, n_units = int(activations.shape[0]), int(activations.shape[1])
    itemsize = read_bytes(activations)
    if itemsize == 0 or width >= n_units:
        return False
    kernel = KERNEL_BYTES_PER_UNIT_IMAGE.get(backend, BYTES_PER_UNIT_IMAGE)
    spare = memory_bytes - block * kernel * n_images
    return itemsize * width * (2 * n_images + piece_rows(activations)) <= spare


def read_bytes(activations: Any) -> int:
    """Bytes of memory one value of `activations` takes when read: 0 for a numpy array (a
    slice is a view), else the size of its dtype (float32 when it has none)."""
    if isinstance(activations, np.ndarray):
        return 0
    dtype = getattr(activations, "dtype", None)
    return np.dtype(np.float32 if dtype is None else dtype).itemsize


def read_width(
    activations: Any,
    block: int,
    memory_bytes: int = BLOCK_MEMORY_BYTES,
    kernel_bytes: int = BYTES_PER_UNIT_IMAGE,
) -> int:
    """Units read from storage at once: what `memory_bytes` holds beside the working arrays
    of one compute block, as a whole number of blocks, and of HDF5 chunks where the data
    set is chunked. Each unit of a slab takes its values once, and once more in the piece
    read before it is copied into the slab's rows (`piece_rows`); when the layer takes
    several slabs, once more again, since the next slab is read while one is measured
    (`SlabReader`). Reading wide slabs matters on disk: a row-major file must be scanned
    whole for every read."""
    n_images, n_units = int(activations.shape[0]), int(activations.shape[1])
    itemsize = read_bytes(activations)
    if itemsize == 0:
        return n_units
    spare = memory_bytes - block * kernel_bytes * n_images
    piece = piece_rows(activations)  # read, then copied into the slab's rows
    per_unit = itemsize * (n_images + piece)
    if spare // per_unit < n_units:  # several slabs: the next is read while one is measured
        per_unit = itemsize * (2 * n_images + piece)
    fits = max(block, spare // per_unit // block * block)
    chunks = getattr(activations, "chunks", None)
    if chunks and fits >= chunks[1]:
        fits -= fits % chunks[1]
    return min(fits, n_units)


def default_block_size(
    n_images: int,
    n_units: int,
    memory_bytes: int = BLOCK_MEMORY_BYTES,
    bytes_per_value: int = 4,
    kernel_bytes: int = BYTES_PER_UNIT_IMAGE,
) -> int:
    """Units per compute block: the whole layer if it fits `memory_bytes` with its read,
    else `COMPUTE_SHARE` of the budget (all of it when reading costs nothing,
    ``bytes_per_value=0``) and at least one unit; an error naming the smallest budget if
    one unit does not fit."""
    per_unit = kernel_bytes * n_images
    smallest = per_unit + bytes_per_value * n_images
    if memory_bytes < smallest:
        raise MeasureInputError(
            f"a memory budget of {memory_bytes} bytes (memory_bytes, or --memory) is too small "
            f"for one unit of {n_images} images, which takes {smallest} bytes to read and "
            f"measure: raise the limit to at least {-(-smallest // 2**20)}MiB"
        )
    if n_units * smallest <= memory_bytes:
        return n_units
    share = memory_bytes if bytes_per_value == 0 else int(memory_bytes * COMPUTE_SHARE)
    block = max(1, share // per_unit)
    if block >= CHUNK_UNITS:
        block -= block % CHUNK_UNITS  # whole HDF5 chunks of the project's store
    return min(block, n_units)
