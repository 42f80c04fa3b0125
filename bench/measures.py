"""Benchmark: `unit_measures` against a per-unit, per-class loop and against the floor.

Data: generated post-ReLU-like activations (default 50,000 images x 256 units, 100
classes, about 60% exact zeros). Three timings, run side by side in one process:

- ours:     `compendium.measures.unit_measures` on the whole block;
- loop:     the straightforward way (as the authors' code works): for each unit, for each
            class, the class's measures from scratch (its own sort for the ROC/PR curve,
            boolean masks for means and extremes). Slow, so timed on `--loop-units` units
            and scaled per unit;
- floor:    one `numpy.argsort` per unit of the same block, the least any exact method
            must do.

Prints seconds per unit for each and the two ratios the foundation issue asks for.
Run: `.venv/bin/python bench/measures.py` (or `make bench`).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from baselines import argsort_floor, per_class_loop
from results_io import append

from compendium.measures import unit_measures


def generate(n_images: int, n_units: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_images // n_classes)
    shift = rng.normal(0, 0.3, (n_classes, n_units)).astype(np.float32)
    x = rng.normal(-0.25, 1, (labels.size, n_units)).astype(np.float32) + shift[labels]
    return np.maximum(x, 0), labels


def seconds(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--loop-units", type=int, default=8)
    args = parser.parse_args()

    x, labels = generate(args.images, args.units, args.classes)
    print(
        f"data: {x.shape[0]} images x {x.shape[1]} units, {args.classes} classes, "
        f"{np.mean(x == 0):.0%} exact zeros, {x.dtype}"
    )
    unit_measures(x[:, :8], labels)  # warm-up
    ours = seconds(unit_measures, x, labels) / args.units
    floor = seconds(argsort_floor, x) / args.units
    loop = seconds(per_class_loop, x[:, : args.loop_units], labels) / args.loop_units
    print(f"seconds per unit: ours {ours:.5f}, loop {loop:.5f}, argsort floor {floor:.5f}")
    print(f"loop / ours = {loop / ours:.1f}x faster (aim: >= 100x)")
    print(f"ours / floor = {ours / floor:.2f}x the floor (aim: <= 3x)")
    append(
        [
            {
                "n_images": x.shape[0],
                "n_units": x.shape[1],
                "n_classes": args.classes,
                "ours_s_per_unit": ours,
                "loop_s_per_unit": loop,
                "floor_s_per_unit": floor,
                "loop_over_ours": loop / ours,
                "ours_over_floor": ours / floor,
            }
        ],
        "measures",
    )


if __name__ == "__main__":
    main()
