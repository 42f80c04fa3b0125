"""The authors' published "AlexNet_Merged" activation files, read as an :class:`ActivationFile`.

One ``AN_merged_<layer>_max.h5`` per layer, one HDF5 group per ImageNet class (each with an
``activations`` dataset of shape (n_images, n_units, 1, 1)); a folder of such files is read
as one recording. :class:`MergedLayerView` presents the per-class datasets as one lazily
read (n_images, n_units) array.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from compendium.activations.file import SUMMARIES, ActivationFile, ActivationFileError, _open_h5

log = logging.getLogger(__name__)


_MERGED_NAME = re.compile(r"^(?:.*_)?merged_(?P<layer>.+?)(?:_(?P<summary>max|mean))?$")


def _merged_layer_name(path: Path) -> tuple[str, str]:
    """``AN_merged_fc6_max.h5`` -> ("fc6", "max"); any other ``name.h5`` -> ("name", "max")."""
    m = _MERGED_NAME.match(path.stem)
    if not m:
        return path.stem, "max"
    return m.group("layer"), m.group("summary") or "max"


def _open_merged_folder(folder: Path) -> ActivationFile:
    paths = sorted(p for p in folder.iterdir() if p.suffix == ".h5" and p.is_file())
    if not paths:
        raise FileNotFoundError(
            f"{folder} holds no .h5 files; point to the folder of "
            "AN_merged_<layer>_max.h5 files (or to one of them)"
        )
    files = []
    try:
        for p in paths:
            files.append((_open_h5(p), *_merged_layer_name(p)))
    except BaseException:
        for f, *_ in files:
            f.close()
        raise
    return _MergedFile(folder, files)


def _group_wnid(name: str) -> str:
    return name[:-3] if name.endswith(".h5") else name


class _MergedFile(ActivationFile):
    format = "alexnet-merged"

    def __init__(self, path: Path, files: list[tuple[h5py.File, str, str]]) -> None:
        super().__init__(path, [f for f, _, _ in files])
        try:
            self._load(files)
        except BaseException:
            self.close()
            raise

    def _load(self, files: list[tuple[h5py.File, str, str]]) -> None:
        self._views: dict[str, dict[str, MergedLayerView]] = {}
        reference: list[tuple[str, int]] | None = None
        for f, layer, summary in files:
            groups = _class_groups(f)
            counts = [(wnid, ds.shape[0]) for wnid, _, ds in groups]
            if reference is None:
                reference = counts
                self._set_classes(f, groups)
            elif counts != reference:
                raise ActivationFileError(
                    f"{f.filename} holds other classes or image counts than {files[0][0].filename}; "
                    "all AN_merged files in one folder must come from the same recording"
                )
            if summary in self._views.get(layer, {}):
                raise ActivationFileError(
                    f"{self.path}: two files hold layer {layer!r} ({summary}); keep one of them"
                )
            view = MergedLayerView([ds for _, _, ds in groups], f.filename)
            self._views.setdefault(layer, {})[summary] = view
        self.layers = _layer_order(self._views)
        self.attrs = {
            "format": "alexnet-merged",
            "source": str(self.path),
            "files": [f.filename for f, _, _ in files],
        }

    def _set_classes(
        self, f: h5py.File, groups: list[tuple[str, h5py.Group, h5py.Dataset]]
    ) -> None:
        """Class numbering follows the synset list in ``labels`` (ImageNet's 1000 classes)."""
        first = groups[0][1]
        if "labels" in first:
            lines = [_decode(x) for x in first["labels"][:].reshape(-1)]
            wnids = [line.split(" ", 1)[0] for line in lines]
            names = [line.split(" ", 1)[1] if " " in line else line for line in lines]
        else:
            log.warning(
                "%s: no 'labels' synset list; numbering classes by the groups present", f.filename
            )
            wnids = [w for w, _, _ in groups]
            names = list(wnids)
        index = {w: i for i, w in enumerate(wnids)}
        unknown = [w for w, _, _ in groups if w not in index]
        if unknown:
            raise ActivationFileError(
                f"{f.filename}: groups {unknown[:5]} are not in its "
                "'labels' synset list; the file is inconsistent"
            )
        _check_label_mappings(f, groups, index)
        self.class_ids, self.class_names = wnids, names
        rows = [np.full(ds.shape[0], index[w], np.int64) for w, _, ds in groups]
        self.labels = np.concatenate(rows)
        self.image_index = np.arange(len(self.labels), dtype=np.int64)
        self._class_groups = [g for _, g, _ in groups]

    def summaries(self, layer: str) -> list[str]:
        self._check_layer(layer)
        return [s for s in SUMMARIES if s in self._views[layer]]

    def activations(self, layer: str, summary: str = "max") -> MergedLayerView:
        self._check_summary(layer, summary)
        return self._views[layer][summary]

    def layer_info(self, layer: str) -> dict[str, Any]:
        self._check_layer(layer)
        n_units = self._views[layer][
            "max" if "max" in self._views[layer] else self.summaries(layer)[0]
        ].shape[1]
        kind = "conv" if layer.startswith("conv") else "fc"
        return {
            "kind": kind,
            "shape": (n_units,),
            "n_units": n_units,
            "summaries": self.summaries(layer),
        }

    def image_names(self) -> list[str] | None:
        if not all("file_names" in g for g in self._class_groups):
            return None
        return [_decode(x) for g in self._class_groups for x in g["file_names"][:].reshape(-1)]


def _check_label_mappings(
    f: h5py.File, groups: list[tuple[str, h5py.Group, h5py.Dataset]], index: Mapping[str, int]
) -> None:
    """Each image's own label (``label_mappings``, where a group has one) must name a class
    of the synset list, and the class of the group that holds the image; the error names
    the file, the dataset, the first bad value and its image (its row in the layer)."""
    offset = 0
    for wnid, group, ds in groups:
        if "label_mappings" in group:
            mapped = np.array([_decode(x) for x in group["label_mappings"][:].reshape(-1)])
            if mapped.size != ds.shape[0]:
                raise ActivationFileError(
                    f"{f.filename}: {group.name}/label_mappings has {mapped.size} labels for "
                    f"{ds.shape[0]} images; the file is damaged: download it again"
                )
            bad = np.flatnonzero(mapped != wnid)
            if bad.size:
                value, image = str(mapped[bad[0]]), offset + int(bad[0])
                what = "another class" if value in index else "no class of its 'labels' list"
                raise ActivationFileError(
                    f"{f.filename}: {group.name}/label_mappings holds {value!r} at image "
                    f"{image}, {what}, but the image lies in the group of class {wnid}; the "
                    "file is damaged: download it again"
                )
        offset += ds.shape[0]


def _class_groups(f: h5py.File) -> list[tuple[str, h5py.Group, h5py.Dataset]]:
    """(wnid, group, activations) for each class group, in sorted wnid order."""
    out = []
    for name in sorted(f.keys(), key=_group_wnid):
        group = f[name]
        if not isinstance(group, h5py.Group):
            continue
        ds = group.get("activations")
        if not isinstance(ds, h5py.Dataset):
            raise ActivationFileError(
                f"{f.filename}: group {group.name} has no 'activations' "
                "dataset; this is not an AlexNet_Merged file or it is damaged"
            )
        if ds.ndim < 2 or any(s != 1 for s in ds.shape[2:]):
            raise ActivationFileError(
                f"{f.filename}: {group.name}/activations has shape "
                f"{ds.shape}; expected (n_images, n_units, 1, 1)"
            )
        out.append((_group_wnid(name), group, ds))
    if not out:
        raise ActivationFileError(
            f"{f.filename} is neither a compendium activation file "
            "(no 'format' attribute) nor an AlexNet_Merged file "
            "(no per-class groups); check the path"
        )
    return out


def _layer_order(views: Mapping[str, Any]) -> list[str]:
    rank = {
        name: i
        for i, name in enumerate(
            ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8", "prob"]
        )
    }
    return sorted(views, key=lambda name: (rank.get(name, len(rank)), name))


def _decode(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class MergedLayerView:
    """(n_images, n_units) view over per-class datasets of shape (n_i, n_units, 1, 1).

    Supports ``view[rows, cols]`` with rows an int or slice, and cols an int, slice or list
    of unit indices; it reads only the requested units of the groups the rows touch.
    """

    def __init__(self, datasets: Sequence[h5py.Dataset], source: str = "") -> None:
        self._datasets = list(datasets)
        counts = [d.shape[0] for d in self._datasets]
        self._starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        units = {d.shape[1] for d in self._datasets}
        if len(units) > 1:
            raise ActivationFileError(
                f"{source}: class groups disagree on the number of units "
                f"({sorted(units)}); the file is damaged"
            )
        self.shape = (int(self._starts[-1]), units.pop() if units else 0)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:, :]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = _split_key(key)
        squeeze_row = isinstance(rows, (int, np.integer))
        if squeeze_row:
            rows = _int_index(rows, self.shape[0])
            rows = slice(rows, rows + 1)
        if not isinstance(rows, slice):
            raise TypeError("rows must be an int or a slice; read a slice and index it in numpy")
        wanted = range(*rows.indices(self.shape[0]))
        col_key, reorder, squeeze_col = _col_key(cols, self.shape[1])
        if len(wanted) == 0:
            out = self._read(0, 0, col_key)
        else:
            lo = min(wanted[0], wanted[-1])
            out = self._read(lo, max(wanted[0], wanted[-1]) + 1, col_key)
            if wanted.step != 1:
                out = out[np.asarray(wanted) - lo]
        if reorder is not None:
            out = out[:, reorder]
        if squeeze_col:
            out = out[:, 0]
        return out[0] if squeeze_row else out

    def _read(self, start: int, stop: int, col_key: Any) -> np.ndarray:
        """Rows `start:stop` of the units `col_key`, read class by class straight into one
        float32 array, so that a read takes no more memory than its result."""
        cols = range(*col_key.indices(self.shape[1])) if isinstance(col_key, slice) else col_key
        out = np.empty((max(stop - start, 0), len(cols)), np.float32)
        first = int(np.searchsorted(self._starts, start, side="right")) - 1
        for i in range(max(first, 0), len(self._datasets)):
            lo, hi = self._starts[i], self._starts[i + 1]
            if lo >= stop:
                break
            a, b = max(start, lo) - lo, min(stop, hi) - lo
            if b > a:
                at = lo + a - start
                out[at : at + b - a] = self._datasets[i][a:b, col_key, 0, 0].reshape(b - a, -1)
        return out


def _split_key(key: Any) -> tuple[Any, Any]:
    if key is Ellipsis:
        return slice(None), slice(None)
    if not isinstance(key, tuple):
        return key, slice(None)
    key = tuple(slice(None) if k is Ellipsis else k for k in key)
    if len(key) == 1:
        return key[0], slice(None)
    if len(key) != 2:
        raise IndexError(f"expected [rows, units], got {len(key)} indices")
    return key


def _int_index(i: int, n: int) -> int:
    i = int(i)
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of range for {n}")
    return i % n


def _col_key(cols: Any, n: int) -> tuple[Any, np.ndarray | None, bool]:
    """h5py accepts a step-1 slice or an increasing list; anything else is reordered after."""
    if isinstance(cols, (int, np.integer)):
        i = _int_index(cols, n)
        return slice(i, i + 1), None, True
    if isinstance(cols, slice):
        start, stop, step = cols.indices(n)
        if step == 1:
            return slice(start, max(start, stop)), None, False
        cols = np.arange(start, stop, step)
    idx = np.asarray(cols)
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    idx = np.array([_int_index(i, n) for i in idx.reshape(-1)], dtype=np.int64)
    uniq, inverse = np.unique(idx, return_inverse=True)
    if len(uniq) == 0:
        return slice(0, 0), None, False
    reorder = None if np.array_equal(uniq, idx) else inverse
    return list(uniq), reorder, False
