"""Benchmark: which HDF5 layout serves the measures' access pattern best.

Recording writes rows (a batch of images, every unit); measuring reads columns (every
image, a block of units). The layouts compared, for one conv5-sized layer (721,536 images x
256 units of float32 by default):

- ``contiguous``: row-major, no chunks (the authors' files are stored like this);
- ``rows``: chunks of (1024 images, all units), good for writing, bad for reading columns;
- ``columns``: chunks of (all images, 1 unit), good for reading, bad for appending rows;
- ``store``: the compendium's chunks, (8192 images, 32 units).

For each: seconds to write the layer in batches of 8192 images, and seconds to read all
units in slabs of 32 units with the page cache dropped first where the machine allows it.
Run: ``.venv/bin/python bench/chunks.py [--images N] [--units U] [--dir /tmp]``.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
from results_io import append

BATCH, SLAB = 8192, 32


def layouts(n_images: int, n_units: int) -> dict[str, tuple[int, int] | None]:
    return {
        "contiguous": None,
        "rows": (1024, n_units),
        "columns": (n_images, 1),
        "store": (min(n_images, 8192), min(n_units, 32)),
    }


def drop_page_cache() -> bool:
    """Ask the kernel to forget cached file pages (root only); False where not allowed."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def write(path: Path, chunks, data: np.ndarray) -> float:
    start = time.perf_counter()
    with h5py.File(path, "w", rdcc_nbytes=64 * 2**20) as f:
        ds = f.create_dataset("x", shape=data.shape, dtype=np.float32, chunks=chunks)
        for first in range(0, data.shape[0], BATCH):
            ds[first : first + BATCH] = data[first : first + BATCH]
    return time.perf_counter() - start


def read_columns(path: Path) -> float:
    start = time.perf_counter()
    with h5py.File(path, "r") as f:
        ds = f["x"]
        for first in range(0, ds.shape[1], SLAB):
            np.asarray(ds[:, first : first + SLAB])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=721_536)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = np.maximum(rng.standard_normal((args.images, args.units), dtype=np.float32) - 0.84, 0)
    print(f"{args.images} images x {args.units} units ({data.nbytes / 2**30:.2f} GiB)")
    cold = drop_page_cache()
    print(f"page cache dropped before each read: {cold}")
    rows = []
    for name, chunks in layouts(args.images, args.units).items():
        path = args.dir / f"chunks-{name}.h5"
        seconds_write = write(path, chunks, data)
        drop_page_cache()
        seconds_read = read_columns(path)
        print(
            f"{name:10s} chunks {str(chunks):16s} write {seconds_write:6.1f} s   "
            f"read all units in slabs of {SLAB}: {seconds_read:6.1f} s"
        )
        path.unlink()
        rows.append(
            {
                "layout": name,
                "chunks": str(chunks),
                "n_images": args.images,
                "n_units": args.units,
                "write_s": seconds_write,
                "read_s": seconds_read,
                "cold_cache": cold,
            }
        )
    append(rows, "chunks")


if __name__ == "__main__":
    main()
