"""Benchmark: Network Dissection's time per layer and its peak memory.

For each convolutional layer of the default small AlexNet (the cached, trained weights;
trained first if missing), dissect the layer on the Fashion-MNIST test images with the
chapter's concepts (ten classes and two super-categories) and report:

- seconds of the threshold pass and of the IoU pass;
- the process's peak resident memory before and after the dissection (``ru_maxrss``),
  and the peak of memory allocated through Python and numpy during it (``tracemalloc``;
  torch's own tensors are not counted there, the resident peak includes them);
- the size of the threshold's buffer of kept values, and the size all of the layer's maps
  would take if held at once (what a non-streamed threshold needs);
- with ``--baseline``: the same thresholds computed by holding every map and calling
  ``np.quantile``, its seconds and peak memory (skipped where the maps exceed 1.5 GiB).

Each layer runs in a fresh process, so one layer's peak does not hide the next one's.
Run: ``.venv/bin/python bench/dissect.py [--layers conv1,conv5] [--n-images 10000]
[--threads 2] [--baseline] [--no-save]``. Rows are appended to bench/results/dissect.csv.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
BASELINE_LIMIT = 1.5 * 2**30


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def child(layer: str, n_images: int, threads: int, batch_size: int, baseline: bool) -> dict:
    """Dissect one layer in this process and return the figures."""
    import torch

    from compendium.inputs.categories import SUPER_CATEGORIES
    from compendium.inputs.datasets import load_fashion_mnist
    from compendium.methods.dissect import class_concepts, dissect_imageset
    from compendium.networks.training import TrainConfig, trained_model

    torch.set_num_threads(threads)
    model = trained_model(TrainConfig(), threads=threads).model
    data = load_fashion_mnist("test").subset(n_images)
    concepts = class_concepts(data.class_names, SUPER_CATEGORIES)
    before = peak_rss_mb()
    tracemalloc.start()
    start = time.perf_counter()
    result = dissect_imageset(model, data, layer, concepts, batch_size=batch_size, progress=False)
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    h, w = result.map_shape
    maps_bytes = n_images * result.n_units * h * w * 4
    row = {
        "layer": layer,
        "units": result.n_units,
        "map": f"{h}x{w}",
        "n_images": n_images,
        "threads": threads,
        "threshold_s": result.seconds["threshold pass"],
        "iou_s": result.seconds["IoU pass"],
        "total_s": round(seconds, 2),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak_rss_mb(), 1),
        "traced_peak_mb": round(traced, 1),
        "buffer_mb": round(result.buffer_bytes / 2**20, 1),
        "all_maps_mb": round(maps_bytes / 2**20, 1),
    }
    if baseline and maps_bytes <= BASELINE_LIMIT:
        row.update(held_baseline(model, data, layer, batch_size, result.thresholds))
    return row


def held_baseline(model, data, layer: str, batch_size: int, expected) -> dict:
    """Thresholds from every map held in memory at once, with np.quantile."""
    import numpy as np
    import torch

    from compendium.methods.dissect import QUANTILE

    rss_start = peak_rss_mb()
    start = time.perf_counter()
    maps = []
    captured = {}
    hook = getattr(model, layer).register_forward_hook(
        lambda m, i, o: captured.__setitem__("out", o)
    )
    with torch.inference_mode():
        for first in range(0, len(data), batch_size):
            x = torch.from_numpy(data.standardise(data.images[first : first + batch_size])[:, None])
            model(x)
            maps.append(
                captured["out"].transpose(0, 1).reshape(captured["out"].shape[1], -1).numpy().copy()
            )
    hook.remove()
    held = np.concatenate(maps, axis=1)
    thresholds = np.quantile(held.astype(np.float64), 1 - QUANTILE, axis=1)
    seconds = time.perf_counter() - start
    assert np.allclose(thresholds, expected, rtol=1e-9), "streamed and held thresholds differ"
    return {
        "held_threshold_s": round(seconds, 2),
        "held_rss_peak_mb": round(max(peak_rss_mb(), rss_start), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default=",".join(LAYERS))
    parser.add_argument("--n-images", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument(
        "--baseline", action="store_true", help="also time thresholds from every map held in memory"
    )
    parser.add_argument("--no-save", action="store_true", help="do not append to bench/results")
    args = parser.parse_args()
    rows = []
    for layer in args.layers.split(","):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "_child",
                layer,
                str(args.n_images),
                str(args.threads),
                str(args.batch_size),
                str(int(args.baseline)),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    import pandas as pd

    print(pd.DataFrame(rows).to_string(index=False))
    if not args.no_save:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from results_io import append

        append(rows, "dissect")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        layer, n, threads, batch, baseline = sys.argv[2:7]
        print(json.dumps(child(layer, int(n), int(threads), int(batch), baseline == "1")))
    else:
        main()
