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
from collections.abc import Callable, Sequence
from pathlib import Path

from compendium.util.errors import CompendiumError

log = logging.getLogger("compendium")

#: Exceptions that mean "the input is wrong", reported as one line: the package's own
#: errors, and files that are missing or may not be read or written. Anything else is a
#: bug, shown with its traceback so that it can be reported.
USER_ERRORS = (
    CompendiumError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
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
        line = " ".join(str(message).split())
        print(f"compendium {args.command}: error: {line}", file=sys.stderr)
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


def whole_number(flag: str, example: int) -> Callable[[str], int]:
    """An argparse type for `flag`: a whole number >= 1, refused in one line otherwise."""

    def parse(text: str) -> int:
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count < 1:
            raise argparse.ArgumentTypeError(
                f"{flag} takes a whole number >= 1, e.g. {example}; got {text!r}"
            )
        return count

    return parse


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
        "--memory",
        type=memory_size,
        metavar="SIZE",
        help="memory budget of the measurement, e.g. 2GB, 512MiB, 1.5G or a number of "
        "bytes (default 512MiB; with --scheduler, of each task): the units read from the "
        "file at once and the arrays of "
        "the block of units being measured stay within it together; the process needs "
        "about 100 MB more for Python and its libraries (more with --backend torch) and "
        "about 50 bytes per image for the labels. More memory means fewer passes "
        "over the file. Too small for one unit is an error that names the smallest "
        "budget that works",
    )
    p.add_argument(
        "--workers",
        type=whole_number("--workers", 2),
        metavar="N",
        help="processes that measure blocks of units at once (default: every core this "
        "process may use, less one for the thread that reads the next part of a large "
        "file); the table is the same for any N. They share the memory budget. Not with "
        "--scheduler, whose workers measure the tasks",
    )
    p.add_argument(
        "--scheduler",
        help="Dask scheduler address: measure blocks of units as "
        "tasks on that cluster ('local' for a cluster on this machine)",
    )
    p.add_argument(
        "--permutations",
        type=whole_number("--permutations", 100),
        metavar="K",
        help="also shuffle the labels K times (the spec's default is 100) and add a "
        "<measure>_p column for each measure: the share of shuffles (counting the real "
        "labels once) on which the unit scores at least as well. Not with --scheduler",
    )
    p.add_argument(
        "--permutation-seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the shuffles with --permutations (default 0): shuffle k is drawn by "
        "numpy.random.default_rng([S, k])",
    )
    p.set_defaults(func=run_measures)


def unit_range(text: str) -> slice | None:
    """Parse START:STOP (either may be omitted) with `tables.parse_units`, as argparse wants."""
    from compendium.measures.tables import parse_units

    try:
        return parse_units(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def memory_size(text: str) -> int:
    """Parse a size such as 2GB or 512MiB with `tables.parse_memory`, as argparse wants."""
    from compendium.measures.tables import parse_memory

    try:
        return parse_memory(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def run_measures(args: argparse.Namespace) -> None:
    from compendium.measures import BLOCK_MEMORY_BYTES
    from compendium.measures.tables import measure_layers
    from compendium.util.files import refuse_overwriting_inputs, write_table

    refuse_overwriting_inputs([args.out], activation_inputs(args.input))
    memory = args.memory or BLOCK_MEMORY_BYTES
    layers = [args.layer] if args.layer else None
    if args.scheduler and args.workers:
        raise CompendiumError(
            "--workers sets the workers of a measurement on this machine; with --scheduler "
            "the cluster's workers measure the tasks: leave one of the two out"
        )
    if args.scheduler and args.permutations:
        raise CompendiumError(
            "--permutations runs on this machine; with --scheduler leave it out, or drop "
            "--scheduler to compute the p-values here"
        )
    if args.scheduler:
        table = _measure_on_cluster(args, layers)
    elif args.permutations:
        table = _measure_with_null(args, layers, memory)
    else:
        table = measure_layers(
            args.input,
            layers,
            args.units,
            args.summary,
            backend=args.backend,
            device=args.device,
            memory_bytes=memory,
            workers=args.workers,
        )
    write_table(table, args.out, index=False)
    log.info("wrote %s (%d units)", args.out, len(table))


def _measure_with_null(args: argparse.Namespace, layers: list[str] | None, memory: int):
    """The measures table with the p-value columns of `--permutations` shuffles."""
    from compendium.measures.tables import null_layers

    return null_layers(
        args.input,
        layers,
        args.units,
        args.summary,
        n_permutations=args.permutations,
        seed=args.permutation_seed,
        backend=args.backend,
        device=args.device,
        memory_bytes=memory,
        workers=args.workers,
    ).table


def _measure_on_cluster(args: argparse.Namespace, layers: list[str] | None):
    import pandas as pd

    from compendium.activations.reader import open_activations
    from compendium.measures.cluster import measure_layer_on_cluster

    if layers is None:
        with open_activations(args.input) as source:
            layers = source.layers
    scheduler = None if args.scheduler == "local" else args.scheduler
    tables = [
        measure_layer_on_cluster(
            args.input,
            layer,
            units=args.units,
            summary=args.summary,
            scheduler=scheduler,
            memory_bytes=args.memory,
        )
        for layer in layers
    ]
    return pd.concat(tables, ignore_index=True)


def activation_inputs(path: Path) -> list[Path]:
    """What reading the activation file (or folder of AN_merged files) `path` reads."""
    return [path, *sorted(path.glob("*.h5"))] if path.is_dir() else [path]


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


def add_run(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "run",
        help="rerun one chapter with other parameters and rebuild the book",
        description="Execute one chapter with the profile's parameters, replacing those "
        "given with -p (values read as YAML, as papermill's -p does), into book/generated, "
        "then rebuild the HTML book. Example: compendium run 02 -p units 0:50 -p layers '[fc6]'",
    )
    p.add_argument(
        "chapter", help="the chapter's number (02) or notebook name (02_alexnet_results)"
    )
    p.add_argument("--profile", default="default", help="profile (notebooks/params/NAME.yml)")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter of the chapter and its value (may be repeated)",
    )
    p.set_defaults(func=run_rerun)


def run_rerun(args: argparse.Namespace) -> None:
    from compendium.build.rerun import parse_overrides, rerun_chapter

    done = rerun_chapter(args.chapter, args.profile, parse_overrides(args.parameter))
    print(f"executed notebook: {done.notebook}")
    print(f"book written to {done.html / 'index.html'}")


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


def train_options(args: argparse.Namespace) -> dict:
    """The training settings of `add_train_options`, for
    :func:`compendium.networks.training.train_config` (None: the default)."""
    return {
        "epochs": args.epochs,
        "batch_size": args.train_batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "n_train": args.n_train,
    }


def add_train(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train",
        help="train the small AlexNet-style CNN on Fashion-MNIST (cached)",
        description="Train the small AlexNet-style CNN from scratch with a fixed seed, or "
        "load it: the weights shipped in data/weights/models/<key>.pt if these settings "
        "are the shipped ones, else data/cache/models/<key>.pt if they were trained here "
        "before. <key>.json beside it holds seconds per epoch and test accuracy.",
    )
    add_train_options(p)
    p.add_argument(
        "--retrain",
        action="store_true",
        help="train here even if shipped or cached weights exist (the result is cached; "
        "a profile's steps use it instead of the shipped weights only if its train "
        "section sets shipped: false)",
    )
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    add_profile_option(p, "train")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> None:
    from compendium.networks.training import train_config, trained_model

    if args.profile:
        from compendium.build.profiles import load_profile
        from compendium.build.stages import train_model

        train_model(load_profile(args.profile), retrain=args.retrain)
        return
    trained = trained_model(
        train_config(**train_options(args)),
        retrain=args.retrain,
        device=args.device,
        threads=args.threads,
    )
    report = trained.report
    print(
        f"{trained.weights_path} ({trained.provenance}, sha256 {trained.weights_sha256}): "
        f"test accuracy {report['test_accuracy']:.4f}, {report['seconds_per_epoch']} s per epoch"
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
    from compendium.util.cache import parse_weights
    from compendium.util.files import refuse_overwriting_inputs

    if run_profile_step(args, "record"):
        return
    weights_file = args.weights if Path(args.weights).is_file() else None
    refuse_overwriting_inputs(
        [args.out],
        [args.images, args.synsets, weights_file],
        folders=[args.images, *network_folders()],
    )
    if args.model == "small-alexnet":
        import torch

        from compendium.networks.training import train_config, trained_model

        torch.set_num_threads(args.threads)
        trained = trained_model(
            train_config(**train_options(args)), device=args.device, threads=args.threads
        )
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
            raise CompendiumError(
                f"--model {args.model} records an image folder: give --images FOLDER"
            )
        weights = parse_weights(args.weights)
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


def network_folders() -> list[Path]:
    """Folders read by the steps that train or load the small networks and read
    Fashion-MNIST: a command's output may not land in them."""
    from compendium.inputs.datasets import default_folders
    from compendium.networks.training import model_dir

    return [model_dir(), *default_folders()]


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

    from compendium.chapters.other_cnns import net_training
    from compendium.inputs.categories import SUPER_CATEGORIES
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES, load_fashion_mnist
    from compendium.methods.dissect import cached_dissection, class_concepts
    from compendium.networks.training import trained_model
    from compendium.networks.zoo import net_specs
    from compendium.util.cache import cache_dir
    from compendium.util.files import refuse_overwriting_inputs, write_table

    refuse_overwriting_inputs(
        [args.out, args.iou_table], [], folders=[*network_folders(), cache_dir() / "dissection"]
    )
    torch.set_num_threads(args.threads)
    [spec] = net_specs(
        [{"name": args.arch, "arch": args.arch, "task": args.task, "layer": args.layer}]
    )
    config = net_training(spec, epochs=args.epochs, n_train=args.n_train, seed=args.seed)
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


# --- experiment ------------------------------------------------------------------------------


def add_experiment(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "experiment",
        help="write the behavioural experiment (lists, panels, jsPsych) for a class",
        description="Deal the profile's chapter-3 panels into N counterbalanced lists and "
        "write a folder that runs the experiment in a browser, offline: index.html?list=K, "
        "the panels, lists.csv and jsPsych (fetched once with npm into data/cache/npm). "
        "Each participant's answers download as a CSV that chapter 3 reads (its "
        "`responses` parameter).",
    )
    p.add_argument("--profile", default="default", help="profile (notebooks/params/NAME.yml)")
    p.add_argument(
        "--lists",
        type=whole_number("--lists", 8),
        metavar="N",
        help="counterbalanced lists (default: the profile's n_lists for chapter 3)",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder to write (new, empty, or one this command wrote before, which it replaces)",
    )
    p.add_argument("--device", help="torch device for the AM images (default: cuda if present)")
    p.set_defaults(func=run_experiment)


def run_experiment(args: argparse.Namespace) -> None:
    from compendium.build.experiment_site import write_profile_experiment

    out = write_profile_experiment(args.profile, args.out, args.lists, device=args.device)
    print(
        f"experiment written to {out}: open {out / 'index.html'}?list=0 (lists in {out / 'lists.csv'})"
    )


# --- ablate ----------------------------------------------------------------------------------


def add_ablate(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "ablate",
        help="single-unit ablation of one layer of a profile's network, as a CSV table",
        description="Silence each unit of one layer of the profile's small AlexNet on its "
        "own (a conv unit: its whole channel) and classify the Fashion-MNIST test images: "
        "one CSV row per unit with the accuracy, its drop, and the drop of each class "
        "(drop_class_K). Only the layers above are run, from stored activations, where the "
        "network allows.",
    )
    p.add_argument("--profile", default="default", help="profile (notebooks/params/NAME.yml)")
    p.add_argument("--layer", required=True, help="layer name, e.g. fc6")
    p.add_argument("--units", type=unit_range, help="units START:STOP (default: every unit)")
    p.add_argument("--out", type=Path, required=True, help="CSV table to write")
    p.add_argument("--n-images", type=int, help="only the first N test images (default: all)")
    p.add_argument(
        "--full", action="store_true", help="full forward passes instead of stored activations"
    )
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.set_defaults(func=run_ablate)


def run_ablate(args: argparse.Namespace) -> None:
    import torch

    from compendium.build.profiles import load_profile, source
    from compendium.build.stages import profile_network
    from compendium.chapters.ablation import evaluation_images
    from compendium.methods.ablation import (
        ABLATION,
        AblationError,
        Ablator,
        single_unit_ablation,
        stored_input_path,
    )
    from compendium.networks.training import image_tensors
    from compendium.util.cache import cache_dir, shipped_dir
    from compendium.util.files import refuse_overwriting_inputs, write_table

    refuse_overwriting_inputs(
        [args.out], [], folders=[*network_folders(), shipped_dir(), cache_dir() / ABLATION]
    )
    if args.n_images is not None and args.n_images < 1:
        raise AblationError(f"--n-images must be at least 1; got {args.n_images}")
    profile = load_profile(args.profile)
    if source(profile) != "fashion-mnist":
        raise AblationError(
            f"compendium ablate silences units of a small AlexNet trained on Fashion-MNIST; "
            f"profile {args.profile!r} reads {source(profile)!r}: use the default or smoke "
            "profile"
        )
    torch.set_num_threads(args.threads)
    network = profile_network(args.profile)
    images = evaluation_images(args.n_images)
    x, y = image_tensors(images)
    stored = stored_input_path(network.model_id, images.name, args.layer, len(images))
    ablator = Ablator(
        network.model, x, y.numpy(), args.layer, fast=not args.full, stored_path=stored
    )
    units = None
    if args.units is not None:
        stop = ablator.n_units if args.units.stop is None else args.units.stop
        units = range(args.units.start or 0, stop)
    table = single_unit_ablation(ablator, units)
    write_table(table, args.out, index=False)
    worst = table.loc[table["drop"].idxmax()]
    print(
        f"{args.out}: {len(table)} units of {args.layer} ({ablator.method}); intact accuracy "
        f"{ablator.base_accuracy:.4f}; the largest drop is {worst['drop']:.4f} "
        f"(unit {int(worst['unit'])})"
    )


SUBCOMMANDS = [
    add_data,
    add_train,
    add_record,
    add_measures,
    add_book,
    add_notebooks,
    add_run,
    add_dissect,
    add_experiment,
    add_ablate,
]

if __name__ == "__main__":
    sys.exit(main())
