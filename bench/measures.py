"""Benchmark: `unit_measures` against the sort that any exact method needs, against a
per-unit, per-class loop, and on one core against every core.

Data: generated post-ReLU-like activations (default 100,000 images x 64 units, 100
classes, about 60% exact zeros). Timings, run side by side in one process, each repeated
and the fastest kept (the machine may be shared; the repeats are interleaved, so every
method sees the same load):

- ours:        `compendium.measures.unit_measures` on the whole block, one worker;
- ours-all:    the same with every core (`workers` = `available_cores()`);
- sort floor:  build the packed keys of the same block (value bits << 32 | image, as
               uint64, one row per unit; the values are >= 0, so their bits sort like
               them) and `numpy.sort` each row: a method that needs each unit's images in
               rank order cannot do less. Also reported: the sort alone (keys prebuilt);
- argsort:     one `numpy.argsort` per unit (the foundation issue's floor);
- loop:        the straightforward way (as the authors' code works): for each unit, for
               each class, the class's measures from scratch. Slow, so timed on
               `--loop-units` units and scaled per unit.

Prints seconds per unit and the ratios, with the load average before and after, and
appends them to bench/results/measures.csv (unless `--no-save`). Run: `.venv/bin/python bench/measures.py`
(or `make bench`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from baselines import argsort_floor, per_class_loop
from results_io import append

from compendium.measures import available_cores, unit_measures
from compendium.measures._numpy import transposed


def generate(n_images: int, n_units: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_images // n_classes)
    shift = rng.normal(0, 0.3, (n_classes, n_units)).astype(np.float32)
    x = rng.normal(-0.25, 1, (labels.size, n_units)).astype(np.float32) + shift[labels]
    return np.maximum(x, 0), labels


def packed_keys(x: np.ndarray) -> np.ndarray:
    """(units, images) uint64 keys value bits << 32 | image of a block of float32 >= 0."""
    keys = transposed(x).view(np.uint32).astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.arange(x.shape[0], dtype=np.uint64)
    return keys


def sort_floor(x: np.ndarray) -> None:
    """Build the packed keys of the block and sort each unit's row."""
    packed_keys(x).sort(axis=1)


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fastest(timings: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The fastest of `repeats` runs of each timing, the timings interleaved."""
    best = dict.fromkeys(timings, float("inf"))
    for _ in range(repeats):
        for name, fn in timings.items():
            best[name] = min(best[name], seconds(fn))
    return best


def load_average() -> str:
    """The 1-minute load average (processes running or waiting), or '?' where unknown."""
    path = Path("/proc/loadavg")
    return path.read_text().split()[0] if path.exists() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--loop-units", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5, help="runs of each timing")
    parser.add_argument("--workers", type=int, default=available_cores(), help="for ours-all")
    parser.add_argument(
        "--no-save", action="store_true", help="print only; do not append to bench/results"
    )
    args = parser.parse_args()

    x, labels = generate(args.images, args.units, args.classes)
    print(
        f"data: {x.shape[0]} images x {x.shape[1]} units, {args.classes} classes, "
        f"{np.mean(x == 0):.0%} exact zeros, {x.dtype}"
    )
    unit_measures(x[:, :8], labels)  # warm-up
    keys = packed_keys(x)
    load_before = load_average()
    best = fastest(
        {
            "ours": lambda: unit_measures(x, labels, workers=1, progress=False),
            "ours_all": lambda: unit_measures(x, labels, workers=args.workers, progress=False),
            "sort_floor": lambda: sort_floor(x),
            "sort_only": lambda: keys.copy().sort(axis=1),
            "argsort": lambda: argsort_floor(x),
        },
        args.repeats,
    )
    per_unit = {name: s / args.units for name, s in best.items()}
    loop = seconds(lambda: per_class_loop(x[:, : args.loop_units], labels)) / args.loop_units
    load_after = load_average()
    ours = per_unit["ours"]
    print(
        f"seconds per unit: ours {ours:.6f} (1 worker), {per_unit['ours_all']:.6f} "
        f"({args.workers} workers); sort floor {per_unit['sort_floor']:.6f} (sort alone "
        f"{per_unit['sort_only']:.6f}); argsort {per_unit['argsort']:.6f}; loop {loop:.5f}"
    )
    print(f"load average (1 min) before {load_before}, after {load_after}")
    print(f"ours / sort floor = {ours / per_unit['sort_floor']:.2f} (aim: <= 2)")
    print(f"ours / sort alone = {ours / per_unit['sort_only']:.2f}")
    print(f"1 worker / {args.workers} workers = {ours / per_unit['ours_all']:.2f}x faster")
    print(f"loop / ours = {loop / ours:.0f}x faster (aim: >= 100x)")
    print(f"ours / argsort floor = {ours / per_unit['argsort']:.2f}")
    if args.no_save:
        return
    append(
        [
            {
                "n_images": x.shape[0],
                "n_units": x.shape[1],
                "n_classes": args.classes,
                "ours_s_per_unit": ours,
                "loop_s_per_unit": loop,
                "floor_s_per_unit": per_unit["argsort"],
                "loop_over_ours": loop / ours,
                "ours_over_floor": ours / per_unit["argsort"],
                "sort_floor_s_per_unit": per_unit["sort_floor"],
                "sort_only_s_per_unit": per_unit["sort_only"],
                "ours_over_sort_floor": ours / per_unit["sort_floor"],
                "workers": args.workers,
                "ours_all_s_per_unit": per_unit["ours_all"],
                "speedup_all_workers": ours / per_unit["ours_all"],
                "load_before": load_before,
                "load_after": load_after,
            }
        ],
        "measures",
    )


if __name__ == "__main__":
    main()
