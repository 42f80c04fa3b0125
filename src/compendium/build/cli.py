"""The `compendium` command: one subcommand per step of the flow.

Each subcommand is registered by an ``add_<name>(subparsers)`` function that sets
``func`` to the function that runs it. Errors the user can fix (bad input, missing
files) end the command with one line on stderr and exit status 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("compendium")

#: Exceptions that mean "the input is wrong", reported as one line.
USER_ERRORS = (
    ValueError,
    KeyError,
    FileNotFoundError,
    NotADirectoryError,
    PermissionError,
    ConnectionError,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        args.func(args)
    except USER_ERRORS as err:
        if args.debug:
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"compendium {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="compendium", description=__doc__.splitlines()[0])
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(commands)
    return parser


# --- measures ------------------------------------------------------------------------------


def add_measures(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "measures",
        help="selectivity measures of every unit of an activation file, as a CSV table",
        description="Compute every selectivity measure for every unit of one or all "
        "layers of an activation file (the compendium's own, or the authors' "
        "AN_merged_<layer>_max.h5 files) and write one CSV row per unit.",
    )
    p.add_argument("input", type=Path, help="activation file (or folder of AN_merged files)")
    p.add_argument("--out", type=Path, required=True, help="CSV table to write")
    p.add_argument("--layer", help="layer name (default: every layer in the file)")
    p.add_argument("--units", type=unit_range, help="units START:STOP (Python slice, e.g. 0:100)")
    p.add_argument("--summary", default="max", help="conv summary: max (default) or mean")
    p.add_argument(
        "--backend",
        default="numpy",
        choices=["numpy", "torch"],
        help="numpy on the CPU (default) or torch (CUDA when present)",
    )
    p.add_argument("--device", help="torch device, e.g. cuda or cpu (with --backend torch)")
    p.add_argument(
        "--scheduler",
        help="Dask scheduler address: measure blocks of units as "
        "tasks on that cluster ('local' for a cluster on this machine)",
    )
    p.set_defaults(func=run_measures)


def unit_range(text: str) -> slice | None:
    """Parse START:STOP (either may be omitted) with `tables.parse_units`, as argparse wants."""
    from compendium.measures.tables import parse_units

    try:
        return parse_units(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"--units takes START:STOP, e.g. 0:100; got {text!r}"
        ) from error


def run_measures(args: argparse.Namespace) -> None:
    from compendium.measures.tables import measure_layers
    from compendium.util.files import write_table

    layers = [args.layer] if args.layer else None
    if args.scheduler:
        table = _measure_on_cluster(args, layers)
    else:
        table = measure_layers(
            args.input, layers, args.units, args.summary, backend=args.backend, device=args.device
        )
    write_table(table, args.out, index=False)
    log.info("wrote %s (%d units)", args.out, len(table))


def _measure_on_cluster(args: argparse.Namespace, layers: list[str] | None):
    import pandas as pd

    from compendium.activations.store import open_activations
    from compendium.measures.cluster import measure_layer_on_cluster

    if layers is None:
        with open_activations(args.input) as source:
            layers = source.layers
    scheduler = None if args.scheduler == "local" else args.scheduler
    tables = [
        measure_layer_on_cluster(
            args.input, layer, units=args.units, summary=args.summary, scheduler=scheduler
        )
        for layer in layers
    ]
    return pd.concat(tables, ignore_index=True)


# --- book, notebooks -------------------------------------------------------------------------


def add_book(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "book",
        help="build the HTML book for a profile (into book/_build/html)",
        description="Run the pre-notebook steps, execute every notebook with the profile's "
        "parameters, and build the book with Jupyter Book, warnings as errors.",
    )
    p.add_argument("--profile", default="default", help="profile (notebooks/params/NAME.yml)")
    p.set_defaults(func=run_book)


def run_book(args: argparse.Namespace) -> None:
    from compendium.build.pipeline import build_book

    html = build_book(args.profile)
    print(f"book written to {html / 'index.html'}")


def add_notebooks(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "notebooks",
        help="execute the notebooks for a profile (into book/generated)",
        description="Execute the jupytext notebooks of notebooks/ with the profile's "
        "parameters into book/generated/NAME.ipynb, without building the book.",
    )
    p.add_argument("--profile", default="default", help="profile (notebooks/params/NAME.yml)")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="execute only this notebook (file stem; may be repeated)",
    )
    p.set_defaults(func=run_notebooks)


def run_notebooks(args: argparse.Namespace) -> None:
    from compendium.build.pipeline import execute_notebooks

    for path in execute_notebooks(args.profile, names=args.only):
        print(f"wrote {path}")


# --- data, train, record ---------------------------------------------------------------------


def add_data(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "data",
        help="find and verify Fashion-MNIST (downloading it only if no local copy exists)",
        description="Look for Fashion-MNIST in data/cache/fashion-mnist, then in "
        "/usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist), and "
        "download it from upstream only if neither has it; verify every file's sha256.",
    )
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    add_profile_option(p, "data")
    p.set_defaults(func=run_data)


def add_profile_option(p: argparse.ArgumentParser, step: str) -> None:
    """``--profile NAME``: run this step as `make book` does for that profile."""
    p.add_argument(
        "--profile",
        help=f"run the profile's {step} step as `compendium book` does "
        f"(its `{step}:` section of notebooks/params/NAME.yml); the other options "
        "are then ignored",
    )


def run_profile_step(args: argparse.Namespace, section: str) -> bool:
    """Run `section`'s step of ``args.profile`` if one is given; True if it ran."""
    if not args.profile:
        return False
    from compendium.build.profiles import load_profile
    from compendium.build.stages import PRE_NOTEBOOK_STEPS

    profile = load_profile(args.profile)
    [step] = [s for s in PRE_NOTEBOOK_STEPS if s.section == section]
    step.run(profile)
    if section == "record":
        from compendium.build.stages import store_path

        print(f"activations of profile {args.profile}: {store_path(profile)}")
    return True


def run_data(args: argparse.Namespace) -> None:
    from compendium.inputs.datasets import prepare_fashion_mnist

    if run_profile_step(args, "data"):
        return
    for (split, kind), path in sorted(prepare_fashion_mnist(download=not args.no_download).items()):
        print(f"{split} {kind}: {path}")


def add_train_options(p: argparse.ArgumentParser) -> None:
    """Options that identify the small AlexNet's training (defaults: TrainConfig's)."""
    g = p.add_argument_group("training of the small AlexNet (cached by these settings)")
    g.add_argument("--epochs", type=int, help="epochs (default 5)")
    g.add_argument("--train-batch-size", type=int, help="training batch size (default 128)")
    g.add_argument("--lr", type=float, help="Adam learning rate (default 0.001)")
    g.add_argument("--seed", type=int, help="random seed (default 0)")
    g.add_argument("--n-train", type=int, help="use only the first N training images")
    g.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")


def train_config(args: argparse.Namespace):
    from compendium.networks.training import TrainConfig

    names = {
        "epochs": "epochs",
        "train_batch_size": "batch_size",
        "lr": "lr",
        "seed": "seed",
        "n_train": "n_train",
    }
    return TrainConfig.from_dict(
        {
            field: getattr(args, option)
            for option, field in names.items()
            if getattr(args, option) is not None
        }
    )


def add_train(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train",
        help="train the small AlexNet-style CNN on Fashion-MNIST (cached)",
        description="Train the small AlexNet-style CNN from scratch with a fixed seed, or "
        "load it from data/cache/models/<key>.pt if these settings were trained before. "
        "<key>.json beside it holds seconds per epoch and test accuracy.",
    )
    add_train_options(p)
    p.add_argument("--retrain", action="store_true", help="train even if cached")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    add_profile_option(p, "train")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> None:
    from compendium.networks.training import trained_model

    if run_profile_step(args, "train"):
        return
    trained = trained_model(
        train_config(args), retrain=args.retrain, device=args.device, threads=args.threads
    )
    report = trained.report
    print(
        f"{trained.weights_path}: test accuracy {report['test_accuracy']:.4f}, "
        f"{report['seconds_per_epoch']} s per epoch"
    )


def add_record(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "record",
        help="record a network's hidden-unit activations into an HDF5 activation file",
        description="Record the post-ReLU activations (conv layers: spatial max and mean) "
        "of the small AlexNet on Fashion-MNIST, or of torchvision's alexnet/vgg16/googlenet "
        "on an ImageNet-style folder. An interrupted recording resumes when run again.",
    )
    p.add_argument(
        "--model",
        default="small-alexnet",
        choices=["small-alexnet", "alexnet", "vgg16", "googlenet"],
    )
    p.add_argument(
        "--out", type=Path, help="activation file (default: under data/cache/activations)"
    )
    p.add_argument(
        "--keep",
        default="correct",
        choices=["correct", "all"],
        help="record only correctly classified images (default) or all",
    )
    p.add_argument("--batch-size", type=int, help="images per batch")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    g = p.add_argument_group("small-alexnet on Fashion-MNIST")
    g.add_argument("--split", default="test", choices=["test", "train"])
    g.add_argument("--n-images", type=int, help="only the first N images of the split")
    add_train_options(p)
    g = p.add_argument_group("torchvision networks on an image folder")
    g.add_argument("--images", type=Path, help="folder with one sub-folder per WordNet id")
    g.add_argument(
        "--weights",
        default="DEFAULT",
        help="torchvision weights name, a state-dict file, or 'none' for random",
    )
    g.add_argument("--synsets", type=Path, help="'wnid name' lines (default: ImageNet-1k)")
    g.add_argument("--max-per-class", type=int, help="first N images of each class")
    g.add_argument("--layers", help="comma-separated layer names (default: all)")
    add_profile_option(p, "record")
    p.set_defaults(func=run_record)


def run_record(args: argparse.Namespace) -> None:
    from compendium.activations.recording import record_small_alexnet, record_torchvision

    if run_profile_step(args, "record"):
        return
    if args.model == "small-alexnet":
        import torch

        from compendium.networks.training import trained_model

        torch.set_num_threads(args.threads)
        trained = trained_model(train_config(args), device=args.device, threads=args.threads)
        result = record_small_alexnet(
            trained,
            split=args.split,
            n_images=args.n_images,
            keep=args.keep,
            path=args.out,
            device=args.device,
            batch_size=args.batch_size or 500,
        )
    else:
        if args.images is None:
            raise ValueError(f"--model {args.model} records an image folder: give --images FOLDER")
        weights = None if args.weights.lower() == "none" else args.weights
        layers = args.layers.split(",") if args.layers else None
        result = record_torchvision(
            args.model,
            args.images,
            weights=weights,
            synsets=args.synsets,
            max_per_class=args.max_per_class,
            layers=layers,
            keep=args.keep,
            path=args.out,
            device=args.device,
            batch_size=args.batch_size or 64,
        )
    rate = f", {result.images_per_second:.0f} images/s" if result.n_seen else " (already recorded)"
    print(f"{result.path}: {result.n_images} images{rate}")


# --- dissect ---------------------------------------------------------------------------------


def add_dissect(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "dissect",
        help="Network Dissection of one conv layer of a small network on Fashion-MNIST",
        description="Train (or load) a small network, dissect one convolutional layer on the "
        "Fashion-MNIST test images (concepts: the ten classes and the super-categories "
        "footwear and upper body) and write Network Dissection's result CSV: one row per "
        "unit with unit (numbered from 1), category, label and score (the IoU).",
    )
    p.add_argument("--out", type=Path, required=True, help="result CSV to write")
    p.add_argument("--layer", required=True, help="a convolutional layer, e.g. conv5")
    p.add_argument(
        "--arch", default="small-alexnet", choices=["small-alexnet", "small-vgg", "small-googlenet"]
    )
    p.add_argument(
        "--task",
        default="classes",
        choices=["classes", "coarse"],
        help="train on the ten classes or the five coarse groups",
    )
    p.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    p.add_argument("--n-train", type=int, help="use only the first N training images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-images", type=int, help="dissect only the first N test images")
    p.add_argument("--quantile", type=float, default=0.005, help="default 0.005 (published)")
    p.add_argument("--iou-threshold", type=float, default=0.04, help="default 0.04 (published)")
    p.add_argument("--iou-table", type=Path, help="also write every unit's IoU with every concept")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.set_defaults(func=run_dissect)


def run_dissect(args: argparse.Namespace) -> None:
    import torch

    from compendium.chapters.other_cnns import cached_dissection, net_specs, train_config
    from compendium.inputs.categories import SUPER_CATEGORIES
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES, load_fashion_mnist
    from compendium.methods.dissect import class_concepts
    from compendium.networks.training import trained_model
    from compendium.util.files import write_table

    torch.set_num_threads(args.threads)
    [spec] = net_specs(
        [{"name": args.arch, "arch": args.arch, "task": args.task, "layer": args.layer}]
    )
    config = train_config(spec, epochs=args.epochs, n_train=args.n_train, seed=args.seed)
    trained = trained_model(config, threads=args.threads)
    data = load_fashion_mnist("test")
    data = data.subset(args.n_images) if args.n_images else data
    concepts = class_concepts(list(FASHION_MNIST_CLASSES), SUPER_CATEGORIES)
    result = cached_dissection(
        trained,
        data,
        args.layer,
        concepts,
        quantile=args.quantile,
        iou_threshold=args.iou_threshold,
    )
    write_table(result.result_frame(), args.out, index=False)
    if args.iou_table:
        write_table(result.iou_table(), args.iou_table)
    detectors = result.detectors()["label"].value_counts()
    print(
        f"{args.out}: {result.n_units} units of {trained.name} {args.layer}; detectors "
        f"(IoU > {args.iou_threshold}): "
        + (", ".join(f"{n} {label}" for label, n in detectors.items()) or "none")
    )


SUBCOMMANDS = [add_data, add_train, add_record, add_measures, add_book, add_notebooks, add_dissect]

if __name__ == "__main__":
    sys.exit(main())
