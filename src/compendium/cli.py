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
from pathlib import Path
from typing import Sequence

log = logging.getLogger("compendium")

#: Exceptions that mean "the input is wrong", reported as one line.
USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, PermissionError)


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
    p.set_defaults(func=run_measures)


def unit_range(text: str) -> slice:
    """Parse START:STOP (either may be omitted) into a slice."""
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return slice(int(start) if start else None, int(stop) if stop else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--units takes START:STOP, e.g. 0:100; got {text!r}")


def run_measures(args: argparse.Namespace) -> None:
    from compendium.files import write_table
    from compendium.tables import measure_layers

    layers = [args.layer] if args.layer else None
    table = measure_layers(args.input, layers, args.units, args.summary)
    write_table(table, args.out, index=False)
    log.info("wrote %s (%d units)", args.out, len(table))


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
    from compendium.pipeline import build_book

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
    p.add_argument("--only", action="append", metavar="NAME",
                   help="execute only this notebook (file stem; may be repeated)")
    p.set_defaults(func=run_notebooks)


def run_notebooks(args: argparse.Namespace) -> None:
    from compendium.pipeline import execute_notebooks

    for path in execute_notebooks(args.profile, names=args.only):
        print(f"wrote {path}")


SUBCOMMANDS = [add_measures, add_book, add_notebooks]

if __name__ == "__main__":
    sys.exit(main())
