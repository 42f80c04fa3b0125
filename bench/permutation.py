"""Benchmark: the permutation null (`compendium.measures.permutation_null`) against the
naive way, K separate `unit_measures` calls on shuffled labels.

Data: the default run's recording (conv5, fc6 and fc7 of the small AlexNet on the ~9,000
correctly classified Fashion-MNIST test images: 2,112 units), or a file given with --store.
Both sides use the same shuffles (shuffle k drawn by ``numpy.random.default_rng([0, k])``)
and the same number of worker threads:

- ours:  one `permutation_null` call with K shuffles (each unit sorted once, the K + 1
         label sets read off that one ranking);
- naive: K `unit_measures` calls, one per shuffle, each sorting every unit again. It is
         timed on the first --naive-k shuffles and scaled to K (every call does the same
         work, so the time per call is what matters); the output says so.

Prints both times, the ratio, and the load average before and after (the machine may be
shared), and appends a row to bench/results/permutation.csv (unless --no-save). Run:
``.venv/bin/python bench/permutation.py`` (about 3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from results_io import append

from compendium.activations.reader import open_activations
from compendium.measures import available_cores, permutation_null, shuffled_labels, unit_measures

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STORE = (
    ROOT / "data/cache/activations/small-alexnet-9c1fd466b193ae7c__fashion-mnist_test__correct.h5"
)


def load_average() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def read_layers(path: Path, layers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The layers' activations side by side (images, units), and the labels."""
    with open_activations(path) as store:
        x = np.concatenate([np.asarray(store.activations(name)[:]) for name in layers], axis=1)
        return x, store.labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--layers", nargs="+", default=["conv5", "fc6", "fc7"])
    parser.add_argument("--permutations", type=int, default=100, help="K")
    parser.add_argument(
        "--naive-k", type=int, default=10, help="shuffles the naive side is timed on"
    )
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args()

    x, labels = read_layers(args.store, args.layers)
    k, naive_k = args.permutations, min(args.naive_k, args.permutations)
    print(
        f"data: {x.shape[0]:,} images x {x.shape[1]:,} units ({', '.join(args.layers)}), "
        f"{np.unique(labels).size} classes; K = {k}; {args.workers} workers"
    )
    unit_measures(x[:, :8], labels, progress=False)  # warm-up
    before = load_average()
    start = time.perf_counter()
    permutation_null(x, labels, k, seed=0, workers=args.workers, progress=False)
    ours = time.perf_counter() - start
    shuffles = shuffled_labels(labels, naive_k, seed=0)
    start = time.perf_counter()
    for row in shuffles:
        unit_measures(x, row, workers=args.workers, progress=False)
    per_call = (time.perf_counter() - start) / naive_k
    after = load_average()
    naive = per_call * k
    print(f"ours:  {ours:.1f} s for K = {k} (the real labels and {k} shuffles)")
    print(
        f"naive: {per_call:.2f} s per unit_measures call, timed on {naive_k} shuffles and "
        f"scaled to K = {k}: {naive:.1f} s"
    )
    print(f"naive / ours = {naive / ours:.1f}x faster (aim: >= 10x)")
    print(f"load average (1, 5, 15 min) before {before}, after {after}")
    if args.no_save:
        return
    append(
        [
            {
                "n_images": x.shape[0],
                "n_units": x.shape[1],
                "layers": " ".join(args.layers),
                "permutations": k,
                "workers": args.workers,
                "ours_s": ours,
                "naive_s_per_call": per_call,
                "naive_timed_calls": naive_k,
                "naive_s": naive,
                "naive_over_ours": naive / ours,
                "load_before": before,
                "load_after": after,
            }
        ],
        "permutation",
    )


if __name__ == "__main__":
    main()
