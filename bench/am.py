"""Benchmark: seconds per unit of activation maximisation, batched over units.

Two set-ups, each timed batched (many units in one optimisation) and, on a few units,
one unit at a time for comparison:

- ``small``: the default profile's SmallAlexNet (1 x 28 x 28; random weights, which cost
  the same as trained ones), on the CPU with ``--threads`` threads, or on CUDA if asked;
- ``alexnet``: torchvision's AlexNet (3 x 224 x 224, random weights) on CUDA. Without a
  GPU it is skipped with a message (``--device cpu`` forces a CPU run: slow).

Every run uses `compendium.methods.am.AMConfig` with the images per unit and steps given here
(default 100 and the config's default steps). Results are appended to
``bench/results/am.csv`` with the machine and the date.

Run: ``.venv/bin/python bench/am.py`` (CPU part here), on a GPU machine
``python bench/am.py --setup alexnet --units 32`` (or ``--setup all``).
"""

from __future__ import annotations

import argparse
import time

import torch
from results_io import append

from compendium.methods import am
from compendium.networks.models import SmallAlexNet, load_torchvision

SETUPS = {
    "small": ("SmallAlexNet 1x28x28", am.ImageSpec.fashion_mnist()),
    "alexnet": ("torchvision AlexNet 3x224x224", am.ImageSpec.imagenet()),
}


def network(setup: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return SmallAlexNet().eval() if setup == "small" else load_torchvision("alexnet", None)


def timed(
    model: torch.nn.Module,
    layer: str,
    units: list[int],
    config: am.AMConfig,
    image: am.ImageSpec,
    device: str,
) -> float:
    """Seconds per unit for one batched call (after the call has set up the device)."""
    start = time.perf_counter()
    am.maximise(model, layer, units, config, image=image, device=device, progress=False)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / len(units)


def run(setup: str, args: argparse.Namespace) -> list[dict]:
    device = args.device or ("cpu" if setup == "small" else "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        print(f"{setup}: no CUDA device here; skipped (run on a GPU machine, or --device cpu)")
        return []
    label, image = SETUPS[setup]
    model = network(setup).to(device)
    config = am.AMConfig(
        images_per_unit=args.images,
        steps=args.steps or am.AMConfig().steps,
        max_batch=args.max_batch,
    )
    warm = am.AMConfig(images_per_unit=args.images, steps=2, max_batch=args.max_batch)
    rows = []
    for layer in args.layers:
        units = list(range(args.units))
        timed(model, layer, units[:1], warm, image, device)  # warm-up (kernels, allocator)
        batched = timed(model, layer, units, config, image, device)
        single = [
            timed(model, layer, [u], config, image, device) for u in units[: args.unbatched_units]
        ]
        one_by_one = sum(single) / len(single) if single else float("nan")
        print(
            f"{label} {layer} on {device}: {batched:.3f} s per unit batched "
            f"({args.units} units x {args.images} images x {config.steps} steps); "
            f"one unit at a time {one_by_one:.3f} s per unit"
        )
        rows.append(
            {
                "setup": label,
                "layer": layer,
                "device": device,
                "threads": torch.get_num_threads(),
                "units": args.units,
                "images_per_unit": args.images,
                "steps": config.steps,
                "max_batch": args.max_batch,
                "s_per_unit_batched": batched,
                "s_per_unit_one_at_a_time": one_by_one,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=["small", "alexnet", "all"], default="all")
    parser.add_argument("--layers", nargs="+", default=["conv5", "fc6", "fc8"])
    parser.add_argument("--units", type=int, default=10, help="units optimised together")
    parser.add_argument("--images", type=int, default=100, help="AM images per unit")
    parser.add_argument("--steps", type=int, help="steps (default: AMConfig's)")
    parser.add_argument("--max-batch", type=int, default=1000, help="images per batch")
    parser.add_argument(
        "--unbatched-units", type=int, default=1, help="units also timed one at a time (0: none)"
    )
    parser.add_argument("--device", help="torch device (default: cpu for small, cuda for alexnet)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument(
        "--no-save", action="store_true", help="print only; do not append to bench/results/am.csv"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for setup in ["small", "alexnet"] if args.setup == "all" else [args.setup]:
        rows += run(setup, args)
    if rows and not args.no_save:
        append(rows, "am")


if __name__ == "__main__":
    main()
