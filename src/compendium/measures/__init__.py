"""Every selectivity measure of Gale et al. (2020) for every unit of a layer, in one call.

`unit_measures(activations, labels)` returns one row per unit with the columns defined in
the project's spec (`COLUMNS` below; see the book's chapter 1 for the formulas). The design
follows one rule: **sort each unit once, then read every measure off the sorted order**.

* Units are processed in blocks. A block is read from the array or HDF5 dataset as
  (n_images, block) and transposed to (block, n_images), so every later step runs along
  contiguous rows; memory is bounded by the block size, never by the layer size.
* One stable descending `argsort` per unit gives the ranking (ties by image index, as the
  spec requires for `top_class` and the top-N precision).
* Thresholds live at the distinct activation values, so the sorted order is cut into runs
  of equal values; a threshold counts everything up to the end of its run.
* For signal-detection measures the only per-class quantity needed is, for each image,
  how many members of its own class rank at or above it (`occurrence`). That comes from a
  second, cheap sort of the sorted *labels* (a radix sort on 16-bit integers), so max
  informedness over all classes and thresholds is one pass over the sorted order, with no
  loop over classes.
* Class means, minima and maxima come from `reduceat` over images grouped by class.

Conventions that the spec leaves to the implementation: a class tie in `ccmas_class`,
`ccmas_2_class` or `localist_class` goes to the lower class number; a dead unit (all
activations equal to zero) has `ccmas`, `ccmas_2` and `ccmas_classmean` NaN, because their
denominator is zero.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from compendium.measures._numpy import block_measures as _block_measures
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

__all__ = [
    "BLOCK_MEMORY_BYTES",
    "CLASS_COLUMNS",
    "COLUMNS",
    "ClassIndex",
    "MeasureInputError",
    "default_block_size",
    "measure_columns",
    "present_class_measures",
    "read_width",
    "unit_measures",
]

log = logging.getLogger(__name__)

#: Bytes of working memory one block may use (about twelve (block, n_images) arrays).
BLOCK_MEMORY_BYTES = 512 * 2**20


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
        Working memory one block may use (default 512 MiB); an error if not even one unit
        fits.
    progress:
        Show a tqdm bar; default when there is more than one block.
    unit_offset:
        Number of the first unit, for the index (when `activations` is a slice of a layer).
    backend, device:
        ``"numpy"`` (default) or ``"torch"``; for torch, `device` is e.g. ``"cuda"`` or
        ``"cpu"`` (default: CUDA when present). Both give the same table.

    Returns
    -------
    pandas.DataFrame indexed by unit number (named ``unit``) with `measure_columns(top)`.
    """
    shape = _check_shape(activations)
    classes = ClassIndex.from_labels(labels, shape[0], n_classes)
    top = _check_top(top, shape[0])
    n_images, n_units = shape
    block = block_size or default_block_size(n_images, n_units, memory_bytes)
    width = read_width(activations, block, memory_bytes)
    compute = _backend(backend, device, classes, top)
    show = progress if progress is not None else n_units > block
    parts = []
    with tqdm(total=n_units, desc="units", unit="unit", disable=not show) as bar:
        for start in range(0, n_units, width):
            x = np.asarray(activations[:, start : min(start + width, n_units)])
            _check_finite(x, unit_offset + start)
            for first in range(0, x.shape[1], block):
                parts.append(compute(x[:, first : first + block]))
                bar.update(min(block, x.shape[1] - first))
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
        return lambda x: _block_measures(np.ascontiguousarray(x.T), classes, top)
    if backend == "torch":
        from compendium.measures import _torch as measures_torch

        chosen = measures_torch.resolve_device(device)
        on_device = measures_torch.TorchClasses(classes, chosen)
        log.info("measuring with torch on %s", chosen)
        return lambda x: measures_torch.block_measures(x, on_device, top, chosen)
    raise MeasureInputError(f"backend must be 'numpy' or 'torch', not {backend!r}")


def read_width(activations: Any, block: int, memory_bytes: int = BLOCK_MEMORY_BYTES) -> int:
    """Units read from storage at once: a whole number of compute blocks filling up to
    `memory_bytes` of float32, and of HDF5 chunks where the data set is chunked. Reading
    wide slabs matters on disk: a row-major file must be scanned whole for every read."""
    n_images = int(activations.shape[0])
    fits = max(block, memory_bytes // (4 * n_images) // block * block)
    chunks = getattr(activations, "chunks", None)
    if chunks and fits >= chunks[1]:
        fits -= fits % chunks[1]
    return min(fits, int(activations.shape[1]))


#: Bytes of working memory per unit and image (about twelve arrays of 8 bytes).
BYTES_PER_UNIT_IMAGE = 12 * 8


def default_block_size(n_images: int, n_units: int, memory_bytes: int = BLOCK_MEMORY_BYTES) -> int:
    """Units per block so that one block's working arrays fit `memory_bytes`."""
    per_unit = BYTES_PER_UNIT_IMAGE * n_images
    if memory_bytes < per_unit:
        raise MeasureInputError(
            f"one unit of {n_images} images needs about {per_unit / 2**20:.0f} MiB of working "
            f"memory, more than memory_bytes={memory_bytes / 2**20:.0f} MiB: raise the limit"
        )
    block = memory_bytes // per_unit
    if block >= 32:
        block -= block % 32  # whole HDF5 chunks of the project's store
    return min(block, n_units)
