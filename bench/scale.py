"""Benchmark at the paper's scale: every measure for every unit of AlexNet-sized layers
read from HDF5, side by side with the argsort floor and the authors' kind of loop.

Steps (each its own subcommand; `all` runs them in order):

- ``generate``: synthetic activations shaped like the authors' AlexNet files: 721,536
  images of 1,000 classes with unequal sizes, layers conv5 (256 units) and fc6 (4,096
  units), about 80% exact zeros like post-ReLU fc6, written as a compendium activation
  file (skipped when the file is already there with the same settings).
  ``--images`` and ``--units`` make a smaller file of the same kind (each layer keeps at
  most ``--units`` units); ``--layers`` writes only those layers.
- ``layer``: `unit_measures` over a whole layer with one worker and with every core
  (numpy backend; the torch backend runs once), then the floor (the same blocks read from
  the same file, one `numpy.argsort` per unit), then the per-class loop on a few units,
  extrapolated per unit. Each runs in a fresh process so that its peak memory is its own.
  The file is read once before, so that it is in the page cache; with ``--cold`` its pages
  are dropped from the cache before each timing instead (a read from disk).
- ``series``: time against the number of images and against the number of units (data
  generated in memory), with the floor at every size.

Results are appended to ``bench/results/scale.csv`` (unless ``--no-save``) with the
machine's description and the load average, and the book's Performance page draws them.
Example: ``.venv/bin/python bench/scale.py all --file /tmp/alexnet-scale.h5``; a small
check: ``bench/scale.py generate --file /tmp/small.h5 --images 100000 --units 256`` and
``bench/scale.py layer --file /tmp/small.h5 --layers fc6``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from results_io import append
from tqdm import tqdm

from compendium.activations.reader import open_activations
from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.measures import available_cores, memory_plan, unit_measures

LAYERS = {"conv5": 256, "fc6": 4096}
N_IMAGES, N_CLASSES, ZERO_SHARE = 721_536, 1000, 0.8


def class_sizes(n_images: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Unequal class sizes summing to n_images (between about 0.4x and 1.6x the mean)."""
    weights = rng.uniform(0.4, 1.6, n_classes)
    sizes = np.floor(weights / weights.sum() * n_images).astype(int)
    sizes[: n_images - sizes.sum()] += 1
    return sizes


def activations(labels: np.ndarray, n_units: int, rng: np.random.Generator) -> np.ndarray:
    """Post-ReLU-like activations, about ZERO_SHARE exact zeros, classes shifting the mean."""
    shift = rng.normal(0, 0.25, (int(labels.max()) + 1, n_units)).astype(np.float32)
    x = rng.standard_normal((labels.size, n_units), dtype=np.float32) - np.float32(0.84)
    x += shift[labels]
    return np.maximum(x, 0, out=x)


def layer_sizes(names: list[str] | None = None, max_units: int | None = None) -> dict[str, int]:
    """Units of each of the layers `names` (default: all): the paper's, or at most
    `max_units`."""
    return {
        name: min(n, max_units or n) for name, n in LAYERS.items() if names is None or name in names
    }


def generate(
    path: Path,
    n_images: int = N_IMAGES,
    seed: int = 0,
    max_units: int | None = None,
    names: list[str] | None = None,
) -> None:
    layers = layer_sizes(names, max_units)
    settings = {"n_images": n_images, "layers": layers, "seed": seed, "zero_share": ZERO_SHARE}
    if path.exists():
        with open_activations(path) as f:
            if f.attrs.get("preprocessing") == json.dumps(settings):
                print(f"{path} already holds these activations; not generated again")
                return
        path.unlink()
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(N_CLASSES), class_sizes(n_images, N_CLASSES, rng))
    specs = [LayerSpec(name, n, kind="fc") for name, n in layers.items()]
    provenance = {
        "model": "synthetic AlexNet-scale",
        "dataset": "generated",
        "preprocessing": json.dumps(settings),
    }
    batch = 8192
    with ActivationWriter(
        path,
        specs,
        [f"class {c}" for c in range(N_CLASSES)],
        provenance,
        expected_images=n_images,
        resume=False,
    ) as writer:
        for start in tqdm(range(0, n_images, batch), desc="generate", unit="batch"):
            y = labels[start : start + batch]
            block = {name: {"max": activations(y, n, rng)} for name, n in layers.items()}
            writer.append(block, y, np.arange(start, start + y.size))
        writer.finish()
    print(f"wrote {path} ({path.stat().st_size / 2**30:.1f} GiB)")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def time_ours(path: Path, layer: str, backend: str, workers: int) -> dict:
    with open_activations(path) as f:
        acts, labels = f.activations(layer), f.labels
        start, cpu = time.perf_counter(), time.process_time()
        unit_measures(acts, labels, backend=backend, progress=True, workers=workers)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "workers": workers}


def time_floor(path: Path, layer: str) -> dict:
    """Read the same slabs as `unit_measures` and argsort each unit."""
    with open_activations(path) as f:
        acts = f.activations(layer)
        n_units = acts.shape[1]
        _, width = memory_plan(acts)
        start = time.perf_counter()
        for first in tqdm(range(0, n_units, width), desc="floor", unit="slab"):
            x = np.asarray(acts[:, first : first + width])
            for u in range(x.shape[1]):
                np.argsort(x[:, u])
        seconds = time.perf_counter() - start
    return {"seconds": seconds}


def time_loop(path: Path, layer: str, n_units: int) -> dict:
    from baselines import per_class_loop

    with open_activations(path) as f:
        x, labels = np.asarray(f.activations(layer)[:, :n_units]), f.labels
    start = time.perf_counter()
    per_class_loop(x, labels)
    per_unit = (time.perf_counter() - start) / n_units
    with open_activations(path) as f:
        total_units = f.n_units(layer)
    return {"seconds": per_unit * total_units, "extrapolated_from_units": n_units}


def run_child(kind: str, path: Path, layer: str, extra: list[str]) -> dict:
    """Run one timing in a fresh process; it prints a JSON line with its figures."""
    cmd = [sys.executable, __file__, "_child", kind, str(path), layer, *extra]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def layer_timings(
    backend: str, loop_units: int, methods: list[str], workers: list[int] | None = None
) -> list[tuple]:
    """(method name, child kind, child arguments) of the layer step, in order: ours with
    each number of `workers` (default: every core, then one; torch: once), the floor, the
    loop. Ours with every core is named ``ours-<backend>``, with N workers
    ``ours-<backend>-N-worker(s)``."""
    cores = available_cores()
    if backend == "numpy":
        counts = list(dict.fromkeys(workers or [cores, 1]))
        timings = [(ours_name(backend, w, cores), "ours", [backend, str(w)]) for w in counts]
    else:  # one block at a time on the device
        timings = [(f"ours-{backend}", "ours", [backend, "1"])]
    timings += [("floor", "floor", []), ("loop", "loop", [str(loop_units)])]
    return [t for t in timings if t[1] in methods]


def ours_name(backend: str, workers: int, cores: int) -> str:
    """``ours-numpy`` with every core, else e.g. ``ours-numpy-1-worker``."""
    if workers == cores:
        return f"ours-{backend}"
    return f"ours-{backend}-{workers}-worker" + ("s" if workers > 1 else "")


def bench_layer(
    path: Path,
    layer: str,
    loop_units: int,
    backend: str,
    methods: list[str],
    cold: bool,
    workers: list[int] | None = None,
) -> list[dict]:
    with open_activations(path) as f:
        n_images, n_units = f.activations(layer).shape
    if not cold:
        read_through(path)
    rows = []
    for method, kind, extra in layer_timings(backend, loop_units, methods, workers):
        if cold:
            drop_from_cache(path)
        load = os.getloadavg()[0]
        figures = run_child(kind, path, layer, extra)
        rows.append(
            {
                "benchmark": "layer",
                "method": method + (" (cold read)" if cold else ""),
                "layer": layer,
                "n_images": n_images,
                "n_units": n_units,
                **figures,
                "load_before": load,
                "load_after": os.getloadavg()[0],
            }
        )
        print(rows[-1])
    return rows


def read_through(path: Path, chunk: int = 64 * 2**20) -> None:
    """Read the whole file once, so that the timings find it in the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(chunk):
            pass


def drop_from_cache(path: Path) -> None:
    """Ask the kernel to drop the file's pages from the page cache (this file only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def series(
    sizes_images: list[int], sizes_units: list[int], fixed_units: int, fixed_images: int
) -> list[dict]:
    """Time against images (fixed units) and against units (fixed images), with the floor."""
    rng = np.random.default_rng(1)
    rows = []
    grid = [(n, fixed_units) for n in sizes_images] + [(fixed_images, u) for u in sizes_units]
    for n_images, n_units in tqdm(grid, desc="series"):
        labels = np.repeat(np.arange(N_CLASSES), class_sizes(n_images, N_CLASSES, rng))
        x = activations(labels, n_units, rng)
        for method, fn in (
            ("ours-numpy", lambda x=x, labels=labels: unit_measures(x, labels)),
            ("floor", lambda x=x, n=n_units: [np.argsort(x[:, u]) for u in range(n)]),
        ):
            start = time.perf_counter()
            fn()
            rows.append(
                {
                    "benchmark": "series",
                    "method": method,
                    "layer": "",
                    "n_images": n_images,
                    "n_units": n_units,
                    "seconds": time.perf_counter() - start,
                }
            )
    return rows


def save(rows: list[dict], no_save: bool = False) -> None:
    table = pd.DataFrame(rows)
    table["unit_images_per_s"] = table.n_images * table.n_units / table.seconds
    if not no_save:
        append(table.to_dict("records"), "scale")


def ratios(rows: list[dict]) -> None:
    table = pd.DataFrame(rows)
    for (bench, layer, n, u), group in table.groupby(["benchmark", "layer", "n_images", "n_units"]):
        times = dict(zip(group.method, group.seconds, strict=False))
        ours = {k: v for k, v in times.items() if k.startswith("ours")}
        if not ours:
            continue
        first, seconds = next(iter(ours.items()))
        text = f"{bench} {layer or ''} {n} x {u}: {first} {seconds:.1f} s"
        for name, other in list(ours.items())[1:]:
            text += f", {name} {other:.1f} s ({other / seconds:.2f}x the time of {first})"
        floor = next((v for k, v in times.items() if k.startswith("floor")), None)
        if floor:
            text += f", {first}/floor {seconds / floor:.2f}"
        loop = next((v for k, v in times.items() if k.startswith("loop")), None)
        if loop:
            text += f", loop/{first} {loop / seconds:.0f}x"
        print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["generate", "layer", "series", "all", "_child"])
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, default=Path("/tmp/alexnet-scale.h5"))
    parser.add_argument("--images", type=int, default=N_IMAGES)
    parser.add_argument(
        "--units", type=int, help="generate: at most this many units per layer (default: all)"
    )
    parser.add_argument("--layers", nargs="+", default=list(LAYERS))
    parser.add_argument("--loop-units", type=int, default=2)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["ours", "floor", "loop"],
        help="which timings of the layer step to run",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        help="layer: numbers of workers to time ours with (default: every core, then 1)",
    )
    parser.add_argument(
        "--cold", action="store_true", help="layer: drop the file from the page cache first"
    )
    parser.add_argument(
        "--no-save", action="store_true", help="print only; do not append to bench/results"
    )
    args = parser.parse_args()
    if args.step == "_child":
        kind, path, layer, *extra = args.rest
        timer = {
            "ours": lambda: time_ours(Path(path), layer, extra[0], int(extra[1])),
            "floor": lambda: time_floor(Path(path), layer),
            "loop": lambda: time_loop(Path(path), layer, int(extra[0])),
        }[kind]
        figures = timer()
        print(json.dumps({**figures, "peak_rss_gib": round(peak_rss_gib(), 3)}))
        return
    rows = []
    if args.step in ("generate", "all"):
        generate(args.file, args.images, max_units=args.units, names=args.layers)
    if args.step in ("layer", "all"):
        for layer in args.layers:
            rows += bench_layer(
                args.file,
                layer,
                args.loop_units,
                args.backend,
                args.methods,
                args.cold,
                args.workers,
            )
    if args.step in ("series", "all"):
        rows += series([10_000, 50_000, 200_000, N_IMAGES], [64, 256, 1024], 128, 100_000)
    if rows:
        save(rows, args.no_save)
        ratios(rows)


if __name__ == "__main__":
    main()
