"""Writing the compendium's own activation files (``format="compendium-activations"``).

:class:`ActivationWriter` appends batches of per-image unit activations; :class:`LayerSpec`
describes one recorded layer; the schema's constants are defined here (documented in
``data/README.md``).

Writing is crash-safe in the sense the pipeline needs: rows go to ``<path>.partial``
(:func:`partial_path`); the count of committed rows is an attribute written *after* the
rows, so on resume anything past it is discarded; only :meth:`ActivationWriter.finish`
marks the file complete and renames it to ``<path>``. The reader refuses a file that is not
marked complete.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from compendium.activations.file import SUMMARIES, ActivationFileError

log = logging.getLogger(__name__)


FORMAT = "compendium-activations"
FORMAT_VERSION = 1
PARTIAL_SUFFIX = ".partial"
PROVENANCE_KEYS = ("model", "weights_sha256", "dataset", "preprocessing")
MAX_CHUNK_ROWS = 8192
CHUNK_UNITS = 32
# Enough chunk cache that a flush of a row block touches each chunk once.
CHUNK_CACHE_BYTES = 64 * 2**20


class ActivationFileExistsError(ActivationFileError, FileExistsError):
    """The destination of a recording is already a file; a recording never overwrites one."""


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
            raise ActivationFileError(
                f"layer name {self.name!r} is not usable as an HDF5 group name; "
                "use a non-empty name without '/'"
            )
        if self.kind not in ("conv", "fc"):
            raise ActivationFileError(
                f"layer {self.name!r}: kind must be 'conv' or 'fc', not {self.kind!r}"
            )
        if int(self.n_units) < 1:
            raise ActivationFileError(
                f"layer {self.name!r}: n_units must be >= 1, got {self.n_units}"
            )
        summaries = self.summaries
        if summaries is None:
            summaries = SUMMARIES if self.kind == "conv" else ("max",)
        summaries = tuple(summaries)
        bad = [s for s in summaries if s not in SUMMARIES]
        if bad or "max" not in summaries:
            raise ActivationFileError(
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
            raise ActivationFileError("ActivationWriter needs at least one LayerSpec")
        names = [spec.name for spec in self.layers]
        if len(set(names)) != len(names):
            raise ActivationFileError(f"layer names must be unique, got {names}")
        self.class_names = [str(c) for c in class_names]
        if not self.class_names:
            raise ActivationFileError("class_names is empty; pass the dataset's class names")
        self.provenance = _provenance(provenance)
        self.chunk_rows = rows = _chunk_rows(expected_images)
        self.commit_rows = int(commit_rows) if commit_rows else rows
        if self.path.exists():
            raise ActivationFileExistsError(
                f"{self.path} already exists, and a recording never overwrites a file: "
                "delete it to record again, or give another path"
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
            raise ActivationFileError(
                f"labels has {n} entries but image_index has {len(image_index)}"
            )
        if n and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise ActivationFileError(
                f"labels must lie in 0..{len(self.class_names) - 1} "
                f"(the class_names); got {labels.min()}..{labels.max()}"
            )
        batch = {}
        for spec in self.layers:
            if spec.name not in activations:
                raise ActivationFileError(
                    f"batch lacks layer {spec.name!r}; it has {sorted(activations)}"
                )
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
        raise ActivationFileError(
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
        raise ActivationFileError(
            f"batch for layer {spec.name!r} lacks summary {summary!r}; it has {sorted(layer)}"
        )
    block = np.asarray(layer[summary], dtype=np.float32)
    if block.ndim != 2 or block.shape != (n, spec.n_units):
        raise ActivationFileError(
            f"layer {spec.name!r} {summary}: expected shape ({n}, {spec.n_units}) "
            f"(batch, units), got {block.shape}"
        )
    if not np.isfinite(block).all():
        raise ActivationFileError(
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
