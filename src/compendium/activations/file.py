"""What every open activation file offers, whichever of the two formats it was read from.

:class:`ActivationFile` is the interface both readers implement (the compendium's own files,
:mod:`compendium.activations.reader`; the authors' AlexNet_Merged files,
:mod:`compendium.activations.merged`): a layer is presented as a 2-D array
(n_images, n_units) that is sliced lazily, ``acts[:, a:b]``, so that measures can stream a
block of units at a time and never hold a whole layer (the authors' fc6 is 11.8 GB) in
memory. Here too are the error every activation file raises and the per-image summaries a
layer may hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from compendium.util.errors import CompendiumError

SUMMARIES = ("max", "mean")


class ActivationFileError(CompendiumError):
    """An activation file is missing pieces, corrupt, incomplete or asked for the wrong thing."""


class ActivationFile:
    """An open activation file (either format). Use as a context manager.

    Attributes: ``layers`` (names, in recording order), ``labels`` (int64 class index per
    image), ``class_names``, ``class_ids`` (e.g. WordNet ids; equal to ``class_names`` when
    the source has none), ``image_index`` (each image's index in its source), ``attrs``
    (provenance), ``format`` (``"compendium"`` or ``"alexnet-merged"``).
    """

    format: str

    def __init__(self, path: Path, files: list[h5py.File]) -> None:
        self.path = path
        self._files = files
        self.layers: list[str] = []
        self.labels: np.ndarray = np.zeros(0, np.int64)
        self.class_names: list[str] = []
        self.class_ids: list[str] = []
        self.image_index: np.ndarray = np.zeros(0, np.int64)
        self.attrs: dict[str, Any] = {}

    @property
    def n_images(self) -> int:
        return len(self.labels)

    def activations(self, layer: str, summary: str = "max") -> Any:
        """The layer as a lazily read (n_images, n_units) array; slice it, ``[:, a:b]``."""
        raise NotImplementedError

    def summaries(self, layer: str) -> list[str]:
        """Which summaries (``"max"``, ``"mean"``) the file holds for ``layer``."""
        raise NotImplementedError

    def layer_info(self, layer: str) -> dict[str, Any]:
        """``kind`` (conv/fc), original ``shape``, ``n_units`` and ``summaries`` of a layer."""
        raise NotImplementedError

    def n_units(self, layer: str) -> int:
        return int(self.activations(layer).shape[1])

    def image_names(self) -> list[str] | None:
        """Source file names of the images, where the format stores them."""
        return None

    def _check_layer(self, layer: str) -> None:
        if layer not in self.layers:
            raise ActivationFileError(
                f"{self.path} has no layer {layer!r}; it has {', '.join(self.layers)}"
            )

    def _check_summary(self, layer: str, summary: str) -> None:
        self._check_layer(layer)
        have = self.summaries(layer)
        if summary not in have:
            raise ActivationFileError(
                f"{self.path}: layer {layer!r} has no {summary!r} summary; it has {', '.join(have)}"
            )

    def close(self) -> None:
        for f in self._files:
            if f.id.valid:
                f.close()

    def __enter__(self) -> ActivationFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<ActivationFile {self.format} {self.path}: {self.n_images} images, "
            f"{len(self.class_names)} classes, layers {self.layers}>"
        )


def checked_labels(source: Any, dataset: str, values: Any, n_classes: int) -> np.ndarray:
    """`values` (one per image) as int64 class numbers, refused unless every one is a whole
    number in 0..n_classes-1, the classes the file names; the error names the file
    (`source`), the `dataset`, the first bad value and its image."""
    y = np.asarray(values).reshape(-1)
    if y.dtype.kind not in "iuf":
        raise ActivationFileError(
            f"{source}: {dataset} holds {y.dtype} values, not class numbers; the file is "
            "damaged or was written by other software: record it again"
        )
    with np.errstate(invalid="ignore"):
        bad = (y < 0) | (y >= n_classes)
        if y.dtype.kind == "f":
            bad |= ~np.isfinite(y) | (np.floor(y) != y)
    if np.any(bad):
        image = int(np.argmax(bad))
        raise ActivationFileError(
            f"{source}: {dataset} holds {y[image].item()} at image {image}, which is not a class "
            f"number 0..{n_classes - 1} of the file's {n_classes} class names; the file is "
            "damaged or was written by other software: record it again"
        )
    return y.astype(np.int64)


def _open_h5(path: Path) -> h5py.File:
    if not h5py.is_hdf5(path):
        raise ActivationFileError(
            f"{path} is not an HDF5 file (no HDF5 signature); check the "
            "path, or download/record it again"
        )
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise ActivationFileError(
            f"{path} is an HDF5 file that cannot be read ({err}); it is "
            "probably truncated or corrupt: download or record it again"
        ) from err
