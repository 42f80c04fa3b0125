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

import pandas as pd

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
    from compendium.measures import present_class_measures
    from compendium.store import open_activations
    from compendium.files import write_table

    with open_activations(args.input) as source:
        layers = [args.layer] if args.layer else source.layers
        tables = []
        for layer in layers:
            acts = source.activations(layer, args.summary)
            units = _checked_units(args.units, int(acts.shape[1]), layer)
            log.info("reading %s layer %s units %d:%d (%d images)", args.input, layer,
                     units.start, units.stop, acts.shape[0])
            table = present_class_measures(
                _UnitSlice(acts, units), source.labels, unit_offset=units.start
            )
            tables.append(table.reset_index().assign(layer=layer))
    table = pd.concat(tables, ignore_index=True)
    table = table[["layer", "unit", *[c for c in table if c not in ("layer", "unit")]]]
    write_table(table, args.out, index=False)
    log.info("wrote %s (%d units)", args.out, len(table))


def _checked_units(units: slice | None, n_units: int, layer: str) -> slice:
    if units is None:
        return slice(0, n_units)
    start = 0 if units.start is None else units.start
    stop = n_units if units.stop is None else units.stop
    if not 0 <= start < stop <= n_units:
        raise ValueError(
            f"--units {start}:{stop} is outside layer {layer!r}, which has units "
            f"0:{n_units}: give START < STOP <= {n_units}"
        )
    return slice(start, stop)


class _UnitSlice:
    """A range of units of a lazily read layer, read in blocks like the layer itself."""

    def __init__(self, acts, units: slice) -> None:
        self._acts, self._start = acts, units.start
        self.shape = (acts.shape[0], units.stop - units.start)

    def __getitem__(self, key: tuple[slice, slice]):
        rows, cols = key
        return self._acts[rows, self._start + cols.start : self._start + cols.stop]


SUBCOMMANDS = [add_measures]

if __name__ == "__main__":
    sys.exit(main())
