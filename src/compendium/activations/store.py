"""Activation files: the HDF5 hand-over between recording a network and measuring it.

Two formats are read through one door, :func:`open_activations`:

* the compendium's own files (``format="compendium-activations"``), written here by
  :class:`ActivationWriter`; the schema is documented in ``data/README.md``;
* the authors' published "AlexNet_Merged" files (one ``AN_merged_<layer>_max.h5`` per layer,
  one HDF5 group per ImageNet class), given as a single file or a folder of them.

Either way the reader presents a layer as a 2-D array (n_images, n_units) that is sliced
lazily, ``acts[:, a:b]``, so that measures can stream a block of units at a time and never
hold a whole layer (the authors' fc6 is 11.8 GB) in memory.

Writing is crash-safe in the sense the pipeline needs: rows go to ``<path>.partial``; the
count of committed rows is an attribute written *after* the rows, so on resume anything past
it is discarded; only :meth:`ActivationWriter.finish` marks the file complete and renames it
to ``<path>``. The reader refuses a file that is not marked complete.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

log = logging.getLogger(__name__)

FORMAT = "compendium-activations"
FORMAT_VERSION = 1
PARTIAL_SUFFIX = ".partial"
SUMMARIES = ("max", "mean")
PROVENANCE_KEYS = ("model", "weights_sha256", "dataset", "preprocessing")
MAX_CHUNK_ROWS = 8192
CHUNK_UNITS = 32
# Enough chunk cache that a flush of a row block touches each chunk once.
CHUNK_CACHE_BYTES = 64 * 2**20

__all__ = [
    "ActivationFile",
    "ActivationFileError",
    "ActivationWriter",
    "LayerSpec",
    "MergedLayerView",
    "is_complete",
    "open_activations",
    "partial_path",
]


class ActivationFileError(ValueError):
    """An activation file is missing pieces, corrupt, incomplete or asked for the wrong thing."""


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerSpec:
    """One recorded layer.

    ``shape`` is the layer's original per-image output shape, e.g. ``(64, 13, 13)`` for a
    conv layer, ``(1024,)`` for a fully connected one. ``summaries`` defaults to
    ``("max", "mean")`` for conv layers (spatial max and mean) and ``("max",)`` for fc
    layers, where "max" is simply the unit's value.
    """

    name: str
    n_units: int
    kind: str = "fc"
    shape: tuple[int, ...] = ()
    summaries: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(
                f"layer name {self.name!r} is not usable as an HDF5 group name; "
                "use a non-empty name without '/'"
            )
        if self.kind not in ("conv", "fc"):
            raise ValueError(f"layer {self.name!r}: kind must be 'conv' or 'fc', not {self.kind!r}")
        if int(self.n_units) < 1:
            raise ValueError(f"layer {self.name!r}: n_units must be >= 1, got {self.n_units}")
        summaries = self.summaries
        if summaries is None:
            summaries = SUMMARIES if self.kind == "conv" else ("max",)
        summaries = tuple(summaries)
        bad = [s for s in summaries if s not in SUMMARIES]
        if bad or "max" not in summaries:
            raise ValueError(
                f"layer {self.name!r}: summaries must include 'max' and be among "
                f"{SUMMARIES}, got {summaries}"
            )
        object.__setattr__(self, "summaries", summaries)
        object.__setattr__(self, "shape", tuple(int(s) for s in (self.shape or (self.n_units,))))
        object.__setattr__(self, "n_units", int(self.n_units))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_units": self.n_units,
            "kind": self.kind,
            "shape": list(self.shape),
            "summaries": list(self.summaries),
        }


def partial_path(path: str | os.PathLike) -> Path:
    """Where an unfinished recording of ``path`` lives."""
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


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


class ActivationWriter:
    """Append batches of per-image unit activations to a compendium activation file.

    >>> with ActivationWriter(path, layers, class_names, provenance) as w:   # doctest: +SKIP
    ...     for batch in ...:
    ...         w.append({"conv1": {"max": m, "mean": a}, ...}, labels, image_index,
    ...                  source_done=k)
    ...     w.finish()

    Rows are buffered in memory and committed ``commit_rows`` at a time (a committed block is
    durable; an interruption loses at most the uncommitted rows). ``source_done`` is the
    caller's own progress marker (e.g. how many source images have been processed, kept or
    not); after a resume, :attr:`source_done` says where to continue.

    With ``resume=True`` (the default) an existing ``<path>.partial`` made with the same
    layers, classes and provenance is continued; one made with other settings is an error.
    ``resume=False`` deletes it and starts over.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        layers: Sequence[LayerSpec],
        class_names: Sequence[str],
        provenance: Mapping[str, Any],
        *,
        expected_images: int | None = None,
        commit_rows: int | None = None,
        resume: bool = True,
    ) -> None:
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("ActivationWriter needs at least one LayerSpec")
        names = [spec.name for spec in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        self.class_names = [str(c) for c in class_names]
        if not self.class_names:
            raise ValueError("class_names is empty; pass the dataset's class names")
        self.provenance = _provenance(provenance)
        self.chunk_rows = rows = _chunk_rows(expected_images)
        self.commit_rows = int(commit_rows) if commit_rows else rows
        if self.path.exists():
            raise FileExistsError(
                f"{self.path} already exists (a finished activation file); "
                "delete it to record again"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._buffer: list[tuple[dict, np.ndarray, np.ndarray, int | None]] = []
        self._buffered = 0
        self._file = self._open(resume)
        self._finished = False

    # -- opening ---------------------------------------------------------------------

    def _open(self, resume: bool) -> h5py.File:
        if self.partial.exists() and resume:
            f = self._reopen()
            if f is not None:
                return f
        if self.partial.exists():
            log.info("removing old partial file %s", self.partial)
            self.partial.unlink()
        return self._create()

    def _reopen(self) -> h5py.File | None:
        try:
            f = h5py.File(self.partial, "r+", rdcc_nbytes=CHUNK_CACHE_BYTES)
        except OSError as err:
            log.warning("partial file %s is unreadable (%s); starting over", self.partial, err)
            return None
        if f.attrs.get("format") != FORMAT or "n_complete" not in f.attrs or "layers" not in f:
            f.close()
            log.warning(
                "partial file %s was cut off while being created; starting over", self.partial
            )
            return None
        expected = self._settings()
        found = {k: f.attrs.get(k) for k in expected}
        if found != expected:
            f.close()
            diff = sorted(k for k in expected if found[k] != expected[k])
            raise ActivationFileError(
                f"{self.partial} is an unfinished recording made with other settings "
                f"(differs in: {', '.join(diff)}); delete it, or pass resume=False to start over"
            )
        n = int(f.attrs["n_complete"])
        for ds in _row_datasets(f):
            ds.resize(n, axis=0)  # drop rows written after the last commit
        log.info("resuming %s: %d images already committed", self.partial, n)
        return f

    def _settings(self) -> dict[str, Any]:
        settings = {
            k: str(v) for k, v in self.provenance.items() if k not in ("created", "package_version")
        }
        settings["layer_specs"] = json.dumps([s.to_json() for s in self.layers])
        settings["class_names_json"] = json.dumps(self.class_names)
        return settings

    def _create(self) -> h5py.File:
        f = h5py.File(self.partial, "w", rdcc_nbytes=CHUNK_CACHE_BYTES)
        try:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            for key, value in self.provenance.items():
                f.attrs[key] = value
            for key, value in self._settings().items():
                f.attrs[key] = value
            f.attrs["complete"] = False
            f.attrs["n_complete"] = 0
            f.attrs["source_done"] = 0
            f.create_dataset(
                "class_names",
                data=np.array(self.class_names, dtype=object),
                dtype=h5py.string_dtype("utf-8"),
            )
            rows = self.chunk_rows
            for name in ("labels", "image_index"):
                f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(rows,))
            group = f.create_group("layers")
            for spec in self.layers:
                g = group.create_group(spec.name)
                g.attrs["kind"] = spec.kind
                g.attrs["shape"] = np.array(spec.shape, dtype=np.int64)
                g.attrs["n_units"] = spec.n_units
                for summary in spec.summaries:
                    g.create_dataset(
                        summary,
                        shape=(0, spec.n_units),
                        maxshape=(None, spec.n_units),
                        dtype=np.float32,
                        chunks=(rows, min(spec.n_units, CHUNK_UNITS)),
                    )
            f.flush()
        except BaseException:
            f.close()
            self.partial.unlink(missing_ok=True)
            raise
        log.info("writing activations to %s", self.partial)
        return f

    # -- progress --------------------------------------------------------------------

    @property
    def n_committed(self) -> int:
        """Images durably written (survive an interruption)."""
        if self._finished:
            return self._n_final
        return int(self._file.attrs["n_complete"])

    @property
    def n_images(self) -> int:
        """Images appended so far, committed or buffered."""
        return self.n_committed + self._buffered

    @property
    def source_done(self) -> int:
        """The ``source_done`` marker of the last appended batch (0 if none)."""
        if self._buffer and self._buffer[-1][3] is not None:
            return int(self._buffer[-1][3])
        return int(self._file.attrs["source_done"])

    # -- writing ---------------------------------------------------------------------

    def append(
        self,
        activations: Mapping[str, Mapping[str, np.ndarray]],
        labels: Iterable[int],
        image_index: Iterable[int],
        source_done: int | None = None,
    ) -> None:
        """Add one batch: ``activations[layer][summary]`` is (batch, n_units) per layer."""
        if self._finished:
            raise ActivationFileError(f"{self.path} is already finished; open a new writer")
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        image_index = np.asarray(image_index, dtype=np.int64).reshape(-1)
        n = len(labels)
        if len(image_index) != n:
            raise ValueError(f"labels has {n} entries but image_index has {len(image_index)}")
        if n and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise ValueError(
                f"labels must lie in 0..{len(self.class_names) - 1} "
                f"(the class_names); got {labels.min()}..{labels.max()}"
            )
        batch = {}
        for spec in self.layers:
            if spec.name not in activations:
                raise ValueError(f"batch lacks layer {spec.name!r}; it has {sorted(activations)}")
            batch[spec.name] = {
                s: _checked_block(activations[spec.name], spec, s, n) for s in spec.summaries
            }
        self._buffer.append((batch, labels, image_index, source_done))
        self._buffered += n
        if self._buffered >= self.commit_rows:
            self.flush()

    def flush(self) -> None:
        """Commit buffered rows to disk (idempotent if interrupted and called again)."""
        if not self._buffer:
            return
        f = self._file
        start = int(f.attrs["n_complete"])
        stop = start + self._buffered
        for name in ("labels", "image_index"):
            col = 1 if name == "labels" else 2
            _write_rows(f[name], start, np.concatenate([b[col] for b in self._buffer]))
        for spec in self.layers:
            for s in spec.summaries:
                block = np.concatenate([b[0][spec.name][s] for b in self._buffer])
                _write_rows(f["layers"][spec.name][s], start, block)
        f.flush()
        # The row count is written last: it is what makes these rows count.
        f.attrs["source_done"] = self.source_done
        f.attrs["n_complete"] = stop
        f.flush()
        self._buffer.clear()
        self._buffered = 0
        log.debug("committed %d images to %s", stop, self.partial)

    def finish(self) -> Path:
        """Commit everything, mark the file complete and move it to its final path."""
        self.flush()
        self._file.attrs["complete"] = True
        self._file.attrs["n_images"] = self.n_committed
        self._n_final = n = self.n_committed
        self._file.close()
        self._finished = True
        os.replace(self.partial, self.path)
        log.info("wrote %s (%d images, %d layers)", self.path, n, len(self.layers))
        return self.path

    def close(self) -> None:
        """Commit what is buffered and close, leaving ``<path>.partial`` for a resume."""
        if self._finished or not self._file.id.valid:
            return
        try:
            self.flush()
        finally:
            self._file.close()

    def __enter__(self) -> ActivationWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _chunk_rows(expected: int | None) -> int:
    """At most MAX_CHUNK_ROWS rows per chunk, split evenly so the last chunk is not mostly
    padding (HDF5 allocates whole chunks): 10,000 images -> 2 chunks of 5,000 rows."""
    if not expected or expected < 1:
        return MAX_CHUNK_ROWS
    n_chunks = -(-int(expected) // MAX_CHUNK_ROWS)
    return -(-int(expected) // n_chunks)


def _provenance(provenance: Mapping[str, Any]) -> dict[str, str]:
    missing = [k for k in ("model", "dataset") if not provenance.get(k)]
    if missing:
        raise ValueError(
            f"provenance lacks {missing}; pass e.g. "
            "{'model': 'alexnet-small', 'dataset': 'fashion-mnist:test', ...}"
        )
    from compendium import __version__

    out = {k: "" for k in PROVENANCE_KEYS}
    out.update({k: str(v) for k, v in provenance.items()})
    out.setdefault("package_version", __version__)
    out.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    return out


def _checked_block(
    layer: Mapping[str, np.ndarray], spec: LayerSpec, summary: str, n: int
) -> np.ndarray:
    if summary not in layer:
        raise ValueError(
            f"batch for layer {spec.name!r} lacks summary {summary!r}; it has {sorted(layer)}"
        )
    block = np.asarray(layer[summary], dtype=np.float32)
    if block.ndim != 2 or block.shape != (n, spec.n_units):
        raise ValueError(
            f"layer {spec.name!r} {summary}: expected shape ({n}, {spec.n_units}) "
            f"(batch, units), got {block.shape}"
        )
    if not np.isfinite(block).all():
        raise ValueError(
            f"layer {spec.name!r} {summary}: activations contain NaN or inf; "
            "check the model and its input preprocessing"
        )
    return block


def _write_rows(ds: h5py.Dataset, start: int, rows: np.ndarray) -> None:
    ds.resize(start + len(rows), axis=0)
    ds[start : start + len(rows)] = rows


def _row_datasets(f: h5py.File) -> list[h5py.Dataset]:
    out = [f["labels"], f["image_index"]]
    for g in f["layers"].values():
        out.extend(g[s] for s in SUMMARIES if s in g)
    return out


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


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
        self.labels = f["labels"][:].astype(np.int64)
        self.image_index = f["image_index"][:].astype(np.int64)
        self.class_names = list(f["class_names"].asstr()[:])
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


# -- the authors' AlexNet_Merged files ---------------------------------------------------

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
        parts = []
        first = int(np.searchsorted(self._starts, start, side="right")) - 1
        for i in range(max(first, 0), len(self._datasets)):
            lo, hi = self._starts[i], self._starts[i + 1]
            if lo >= stop:
                break
            a, b = max(start, lo) - lo, min(stop, hi) - lo
            if b > a:
                parts.append(self._datasets[i][a:b, col_key, 0, 0].reshape(b - a, -1))
        if not parts:
            cols = range(*col_key.indices(self.shape[1])) if isinstance(col_key, slice) else col_key
            return np.zeros((0, len(cols)), np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)


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
