"""How the measuring drivers run (`unit_measures`, `permutation_null`): the default memory
budget, the cores this process may use, the workers that measure blocks at once, the
slabs of units read from storage, and the activations as the kernels take them.

The workers are forked processes on Linux. The numpy kernel makes many small numpy calls
per unit that hold the GIL, so on 2 cores two threads measured only 1.13-1.19 times as
fast as one, and two forked processes running the same blocks 2.1 times (in memory, with
nothing to read). Workers are forked once a slab is in memory: they inherit it, so only
where each block starts crosses to them, and each block's result (a few numbers per unit)
comes back. Elsewhere, and inside a process that may not have children, the workers are
threads."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import h5py
import numpy as np

from compendium.measures._numpy import transposed
from compendium.measures._spec import MeasureInputError

#: Default memory budget of a measurement: the units read at once and the arrays of the
#: block being measured stay within it together (see `compendium.measures.memory_plan`).
BLOCK_MEMORY_BYTES = 512 * 2**20

#: Bytes per unit and image that measuring a block takes at its peak, by backend: the block
#: transposed, its ranking and the kernel's working arrays. Measured on 200,000 images: the
#: numpy kernel's tracemalloc peak is 19 for float32 and 28 for integer activations (their
#: float64 copy included); torch on the CPU grows the resident memory by 93 (its arrays are
#: int64). The figures leave headroom for changes to the kernels.
KERNEL_BYTES_PER_UNIT_IMAGE = {"numpy": 48, "torch": 128}


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system has one)."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return counter() or 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(workers: Any, backend: str = "numpy", reading: bool = False) -> int:
    """Workers of a measurement: `workers`, default `available_cores` (less one core for
    the thread that reads ahead where `reading`: on 2 cores, 1 worker and the reader
    measure the paper's fc6 from a file in 35 s warm and 37 s cold, 2 workers and the
    reader in 33 s and 45 s); one for torch."""
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1
    ):
        raise MeasureInputError(
            f"workers must be a whole number of workers, at least 1; got {workers!r}: pass "
            "e.g. workers=2, or leave it out to use every core"
        )
    if backend == "torch":
        return 1
    if workers is None:
        return max(1, available_cores() - 1) if reading else available_cores()
    return int(workers)


@contextmanager
def parallel_map(n_workers: int, function: Callable) -> Iterator[Runner]:
    """A `Runner` that applies `function` to each tuple of arguments it is given and gives
    the results in order: in this process for one worker, else in `n_workers` forked
    processes that inherit `function` (threads where the system cannot fork). The
    processes are forked on entry, so a thread the caller starts inside the block (a read
    ahead) is never forked in the middle of its work. On exit the runner lets go of
    `function` and of what it holds (a slab)."""
    with ExitStack() as pools:
        if n_workers == 1:
            call = lambda calls: (function(*args) for args in calls)  # noqa: E731
        elif not can_fork():
            pool = pools.enter_context(ThreadPoolExecutor(n_workers, thread_name_prefix="measures"))
            call = lambda calls: pool.map(lambda args: function(*args), calls)  # noqa: E731
        else:
            forked = ProcessPoolExecutor(
                n_workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_inherit,
                initargs=(function,),
            )
            pool = pools.enter_context(forked)
            pool.submit(int).result()  # forks every worker now (a fork pool starts them all)
            call = lambda calls: pool.map(_apply, calls)  # noqa: E731
        runner = Runner(call)
        try:
            yield runner
        finally:
            runner.close()


class Runner:
    """What `parallel_map` gives: call it with the tuples of arguments."""

    def __init__(self, call: Callable[[Iterable[tuple]], Iterator[Any]]) -> None:
        self._call: Callable | None = call

    def __call__(self, calls: Iterable[tuple]) -> Iterator[Any]:
        if self._call is None:
            raise RuntimeError("this runner's workers have stopped: use it inside its block")
        return self._call(calls)

    def close(self) -> None:
        self._call = None


def can_fork() -> bool:
    """Whether workers can be forked processes here: on Linux (macOS can fork, but a fork
    of a process whose system libraries started threads may crash, which is why Python
    stopped forking there by default), and not inside a daemonic process, which may not
    have children."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


#: The function a forked worker applies, set once when the worker starts (a fork passes
#: it in memory: nothing is pickled but each call's arguments and result).
_INHERITED: Callable | None = None


def _inherit(function: Callable) -> None:
    global _INHERITED
    _INHERITED = function


def _apply(args: Iterable[Any]) -> Any:
    assert _INHERITED is not None, "a worker runs only after it inherited its function"
    return _INHERITED(*args)


def real_values(x: np.ndarray) -> np.ndarray:
    """Integer and boolean activations as float64 (exact up to 2**53): the kernels negate
    values to rank them, which is wrong for unsigned integers and refused for booleans."""
    return x.astype(np.float64) if x.dtype.kind in "iub" else x


class SlabReader:
    """Slabs of units ``activations[:, start:start + width]`` as (images, units) numpy
    arrays, each read in a thread while the one before is measured where `ahead` (h5py lets
    go of the GIL while it reads, so the read and the measuring overlap)::

        with SlabReader(dataset, width, ahead=True) as slabs:
            for start in range(0, n_units, width):
                x = slabs.take(start)       # waits for its read, or reads it now
                slabs.read_ahead(start + width)
                ...                         # measure x

    With `transpose`, each slab is stored as its units' rows (a C-contiguous (units,
    images) array, given as its ``.T``), copied piece by piece as it is read: the kernels
    then read each unit's values from one run of memory, where a block cut from a
    row-major slab touches a whole cache line for every value of a unit."""

    def __init__(
        self, activations: Any, width: int, ahead: bool = True, transpose: bool = False
    ) -> None:
        self._source = activations
        self._width = int(width)
        self._n_images, self._n_units = int(activations.shape[0]), int(activations.shape[1])
        self._transpose = transpose
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="read") if ahead else None
        self._pending: dict[int, Future] = {}

    def __enter__(self) -> SlabReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def take(self, start: int) -> np.ndarray:
        """The slab that starts at unit `start`."""
        pending = self._pending.pop(start, None)
        return pending.result() if pending is not None else self._read(start)

    def read_ahead(self, start: int) -> None:
        """Start reading the slab at unit `start` (nothing past the last unit, or without
        `ahead`)."""
        if self._reader is not None and start < self._n_units and start not in self._pending:
            self._pending[start] = self._reader.submit(self._read, start)

    def _read(self, start: int) -> np.ndarray:
        stop = min(start + self._width, self._n_units)
        if not self._transpose:
            return np.asarray(self._source[:, start:stop])
        rows = piece_rows(self._source)
        out: np.ndarray | None = None
        for first in range(0, self._n_images, rows):
            piece = np.asarray(self._source[first : first + rows, start:stop])
            if out is None:
                out = np.empty((stop - start, self._n_images), piece.dtype)
            transposed(piece, out[:, first : first + piece.shape[0]])
        assert out is not None
        return out.T


def piece_rows(activations: Any) -> int:
    """Images per piece of a transposed slab read (`SlabReader`): whole HDF5 chunks of
    about `TRANSPOSED_PIECE_IMAGES` images where the data set is chunked so, else every
    image at once."""
    n_images = int(activations.shape[0])
    chunks = getattr(activations, "chunks", None)
    if not isinstance(activations, h5py.Dataset) or not chunks:
        return n_images
    return min(n_images, max(1, TRANSPOSED_PIECE_IMAGES // chunks[0]) * chunks[0])


#: Images per piece when a slab is read from HDF5 and transposed: the piece read, and its
#: copy, stay small beside the slab.
TRANSPOSED_PIECE_IMAGES = 65_536
