"""Benchmark: single-unit ablation from stored activations against full forward passes.

On the default profile's small AlexNet (shipped or cached weights) and the Fashion-MNIST
test images, for one layer (default fc6, 1,024 units):

- **fast**: every unit ablated on its own by :class:`compendium.methods.ablation.Ablator`
  from the stored input of the layer above (only the layers above are run, and only for
  the images where the unit is active); the set-up (recording the stored input once) is
  timed apart;
- **full**: the same ablation by a forward hook and a whole forward pass over every image,
  timed on `--full-units` units (a full pass of the layer would take hours on two cores)
  and scaled to the layer;
- the ratio of the two per unit, a check that both give the same accuracies on the
  units timed both ways, and the load average before and after (``/proc/loadavg``), since a
  busy machine slows both.

Run: ``.venv/bin/python bench/ablation.py [--layer fc6] [--full-units 4] [--n-images
10000] [--threads 2] [--no-save]``. A row is appended to bench/results/ablation.csv.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run(layer: str, full_units: int, n_images: int, threads: int) -> dict:
    import numpy as np
    import torch

    from compendium.build import stages
    from compendium.inputs.datasets import load_fashion_mnist
    from compendium.methods.ablation import Ablator, single_unit_ablation
    from compendium.networks.training import image_tensors

    torch.set_num_threads(threads)
    load_before = load_average()
    model = stages.profile_network("default").model
    x, y = image_tensors(load_fashion_mnist("test").subset(n_images))
    start = time.perf_counter()
    fast = Ablator(model, x, y.numpy(), layer)  # records the stored input (not cached here)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    table = single_unit_ablation(fast, progress=False)
    fast_s = time.perf_counter() - start
    full = Ablator(model, x, y.numpy(), layer, fast=False)
    units = np.linspace(0, fast.n_units - 1, full_units).round().astype(int).tolist()
    start = time.perf_counter()
    slow = single_unit_ablation(full, units, progress=False)
    full_s = time.perf_counter() - start
    same = np.allclose(
        slow["accuracy"].to_numpy(), table.set_index("unit").loc[units, "accuracy"].to_numpy()
    )
    per_fast, per_full = fast_s / fast.n_units, full_s / len(units)
    return {
        "layer": layer,
        "units": fast.n_units,
        "n_images": n_images,
        "threads": threads,
        "method": fast.method,
        "setup_s": round(setup, 2),
        "fast_layer_s": round(fast_s, 2),
        "fast_per_unit_s": round(per_fast, 5),
        "full_units_timed": len(units),
        "full_per_unit_s": round(per_full, 3),
        "full_layer_estimate_s": round(per_full * fast.n_units, 1),
        "ratio": round(per_full / per_fast, 1),
        "same_accuracies": bool(same),
        "loadavg_before": load_before,
        "loadavg_after": load_average(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="fc6")
    parser.add_argument("--full-units", type=int, default=4, help="units timed by full passes")
    parser.add_argument("--n-images", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-save", action="store_true", help="do not append to bench/results")
    args = parser.parse_args()
    row = run(args.layer, args.full_units, args.n_images, args.threads)
    print(json.dumps(row, indent=1))
    print(
        f"{row['layer']}: {row['units']} units, fast {row['fast_layer_s']} s "
        f"({row['fast_per_unit_s'] * 1000:.1f} ms a unit) against full passes "
        f"{row['full_per_unit_s']} s a unit (~{row['full_layer_estimate_s']} s for the layer): "
        f"{row['ratio']}x; load average {row['loadavg_before']} -> {row['loadavg_after']}"
    )
    if not args.no_save:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from results_io import append

        append([row], "ablation")


if __name__ == "__main__":
    main()
