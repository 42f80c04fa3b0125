"""How the measuring drivers run (`unit_measures`, `permutation_null`): the default memory
budget, the cores this process may use, the threads that measure blocks at once, and the
activations as the kernels take them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

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


def worker_count(workers: Any, backend: str = "numpy") -> int:
    """Threads for a measurement: `workers`, default `available_cores`; one for torch."""
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1
    ):
        raise MeasureInputError(
            f"workers must be a whole number of threads, at least 1; got {workers!r}: pass "
            "e.g. workers=2, or leave it out to use every core"
        )
    if backend == "torch":
        return 1
    return available_cores() if workers is None else int(workers)


@contextmanager
def parallel_map(n_workers: int) -> Iterator[Callable]:
    """A function that calls each task and gives the results in order: in this thread
    for one worker, else in a pool of `n_workers` threads."""
    if n_workers == 1:
        yield lambda tasks: map(_call, tasks)
        return
    with ThreadPoolExecutor(n_workers, thread_name_prefix="measures") as pool:
        yield lambda tasks: pool.map(_call, tasks)


def _call(task: Callable) -> Any:
    return task()


def real_values(x: np.ndarray) -> np.ndarray:
    """Integer and boolean activations as float64 (exact up to 2**53): the kernels negate
    values to rank them, which is wrong for unsigned integers and refused for booleans."""
    return x.astype(np.float64) if x.dtype.kind in "iub" else x
