"""Reading activation files: :func:`open_activations`, the one door for both formats.

It opens the compendium's own files (written by
:class:`compendium.activations.writer.ActivationWriter`, read here) or the authors'
AlexNet_Merged files, given as one file or a folder of them (read by
:mod:`compendium.activations.merged`). :func:`is_complete` says whether a path holds
a finished recording of the compendium's own format. :func:`unit_activations` reads some
units of a recorded layer with the images' labels and the class names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from compendium.activations.file import (
    SUMMARIES,
    ActivationFile,
    ActivationFileError,
    _open_h5,
    checked_labels,
)
from compendium.activations.merged import _merged_layer_name, _MergedFile, _open_merged_folder
from compendium.activations.writer import FORMAT, FORMAT_VERSION, partial_path


def is_complete(path: str | os.PathLike) -> bool:
    """True if ``path`` is a finished compendium activation file."""
    path = Path(path)
    if not path.is_file() or not h5py.is_hdf5(path):
        return False
    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("format") == FORMAT and bool(f.attrs.get("complete", False))
    except OSError:
        return False


def open_activations(path: str | os.PathLike) -> ActivationFile:
    """Open a compendium activation file, an AlexNet_Merged file, or a folder of the latter."""
    path = Path(path)
    if not path.exists():
        hint = ""
        if partial_path(path).exists():
            hint = (
                f" ({partial_path(path).name} exists: the recording was interrupted; "
                "run it again to resume)"
            )
        raise FileNotFoundError(
            f"no activation file at {path}{hint}; record one "
            "(`compendium record`) or give the path to the authors' "
            "AN_merged_<layer>_max.h5 files"
        )
    if path.is_dir():
        return _open_merged_folder(path)
    f = _open_h5(path)
    if "format" in f.attrs:
        return _CompendiumFile(path, f)
    return _MergedFile(path, [(f, *_merged_layer_name(path))])


def _attr_str(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class _CompendiumFile(ActivationFile):
    format = "compendium"

    def __init__(self, path: Path, f: h5py.File) -> None:
        super().__init__(path, [f])
        try:
            self._load(f)
        except BaseException:
            f.close()
            raise

    def _load(self, f: h5py.File) -> None:
        path = self.path
        if _attr_str(f.attrs["format"]) != FORMAT:
            raise ActivationFileError(
                f"{path}: unknown format {f.attrs['format']!r}; expected {FORMAT!r}"
            )
        version = int(f.attrs.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise ActivationFileError(
                f"{path} has format_version {version}, newer than this "
                f"package reads ({FORMAT_VERSION}); upgrade compendium"
            )
        if not bool(f.attrs.get("complete", False)):
            raise ActivationFileError(
                f"{path} is an unfinished recording "
                f"({int(f.attrs.get('n_complete', 0))} images committed); "
                "run the recording again to resume and finish it"
            )
        for name in ("labels", "class_names", "image_index", "layers"):
            if name not in f:
                raise ActivationFileError(
                    f"{path} lacks /{name}; the file is damaged: record it again"
                )
        self.attrs = {k: _attr_str(v) for k, v in f.attrs.items()}
        self.class_names = list(f["class_names"].asstr()[:])
        self.labels = checked_labels(path, "/labels", f["labels"][:], len(self.class_names))
        self.image_index = f["image_index"][:].astype(np.int64)
        self.class_ids = list(self.class_names)
        specs = json.loads(self.attrs.get("layer_specs", "[]"))
        order = [s["name"] for s in specs] or sorted(f["layers"])
        self.layers = [name for name in order if name in f["layers"]]
        for layer in self.layers:
            if "max" not in f["layers"][layer]:
                raise ActivationFileError(f"{path} lacks /layers/{layer}/max; record it again")
            if f["layers"][layer]["max"].shape[0] != len(self.labels):
                raise ActivationFileError(
                    f"{path}: /layers/{layer}/max has "
                    f"{f['layers'][layer]['max'].shape[0]} rows but there "
                    f"are {len(self.labels)} labels; record it again"
                )

    def summaries(self, layer: str) -> list[str]:
        self._check_layer(layer)
        g = self._files[0]["layers"][layer]
        return [s for s in SUMMARIES if s in g]

    def activations(self, layer: str, summary: str = "max") -> h5py.Dataset:
        self._check_summary(layer, summary)
        return self._files[0]["layers"][layer][summary]

    def layer_info(self, layer: str) -> dict[str, Any]:
        self._check_layer(layer)
        g = self._files[0]["layers"][layer]
        return {
            "kind": _attr_str(g.attrs["kind"]),
            "shape": tuple(_attr_str(g.attrs["shape"])),
            "n_units": int(g["max"].shape[1]),
            "summaries": self.summaries(layer),
        }


def unit_activations(
    path: Any, layer: str, units: Sequence[int], summary: str = "max"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Activations (n_images, len(units)) of some units of a recorded layer, with the
    images' labels and the class names. Units are numbered from 0."""
    units = [int(u) for u in units]
    with open_activations(path) as source:
        acts = source.activations(layer, summary)
        bad = [u for u in units if not 0 <= u < acts.shape[1]]
        if bad:
            raise ActivationFileError(
                f"units {bad} are outside layer {layer!r}, which has units "
                f"0..{acts.shape[1] - 1} (numbered from 0)"
            )
        wanted = sorted(set(units))
        block = acts[:, wanted] if wanted else np.zeros((source.n_images, 0), np.float32)
        columns = [wanted.index(u) for u in units]
        return np.asarray(block)[:, columns], source.labels, list(source.class_names)
