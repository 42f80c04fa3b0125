"""The paper's three detector bars, counted per layer, and the book's one policy for silent
units.

Gale et al. (2020, Discussion) name three bars a unit may clear for a class A
(`../shared/spec/beyond.md`, "The paper's own detector criteria"):

1. **grandmother unit**: perfect recall and specificity for some class: the `localist`
   column of `compendium.measures.unit_measures`;
2. **detector**: some threshold has more hits than misses and more hits than false alarms:
   the `detector` column;
3. **Zhou et al.'s detector**: ``precision_60 >= .75`` (`zhou_detector`, derived here from
   `precision_60`, because the engine's top-N sizes are a parameter).

`detector_counts` counts the units of each layer (or network and layer) at each bar, and
the `describe_*` functions write what the counts say, so that every sentence about them
changes when the numbers do.

**Silent units.** A unit that gives every image the same activation (after a ReLU: zero
throughout) has no threshold that separates any images, so its measures say nothing about
selectivity; ties decide its precision, and its CCMAS is undefined. The book's policy, one
function for every chapter (`leave_out_silent`): such units are left out of distributions
and counts by default, counted and named on the page ("N silent units left out"), and kept
on request (``include_silent=True``). They are found from the measures table alone
(`silent_units`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from compendium.util.errors import CompendiumError

__all__ = [
    "BARS",
    "COUNT_TITLES",
    "DetectorTableError",
    "SilentUnits",
    "ZHOU_TOP",
    "describe_counts",
    "describe_silent",
    "detector_counts",
    "leave_out_silent",
    "silent_units",
    "with_bars",
    "zhou_detector",
]

#: The N of Zhou et al.'s precision test, and the share of the top N that one class must
#: reach, as a fraction (numerator, denominator) so that the test is exact.
ZHOU_TOP, ZHOU_SHARE = 60, (3, 4)

#: The three bars: name in a counts table -> the boolean column of a measures table.
BARS = {"grandmother": "localist", "detector": "detector", "zhou": "zhou_detector"}

#: Column titles of a counts table on a page.
COUNT_TITLES = {
    "units": "units",
    "silent": "silent",
    "counted": "counted",
    "grandmother": "grandmother units",
    "detector": "detectors",
    "zhou": "Zhou detectors",
    "zhou_only": "Zhou detectors that are not detectors",
}

#: Short names of the bars for sentences.
BAR_PHRASES = {
    "grandmother": "the grandmother bar",
    "detector": "the reasonable detector bar",
    "zhou": "Zhou's precision bar",
}


class DetectorTableError(CompendiumError):
    """A measures table lacks the columns the detector bars are read from."""


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DetectorTableError(
            f"{what}: the table lacks the columns {', '.join(missing)} of a measures table "
            "(compendium.measures.unit_measures); measure the units again with the current "
            "package (old cached tables lack the detector columns)"
        )


# --- silent units --------------------------------------------------------------------------


def silent_units(table: pd.DataFrame) -> pd.Series:
    """True for each unit that gives every image the same activation.

    Read off the best threshold of max informedness: a constant unit's only threshold takes
    in every image (``mi_recall == 1`` and ``mi_specificity == 0``). A unit with two values
    or more never ends there: at its highest value some class scores at least 0, which
    ties or beats the best, and ties go to the higher threshold, which leaves images out.
    """
    _require(table, ["mi_recall", "mi_specificity"], "finding silent units")
    return (table["mi_recall"] == 1) & (table["mi_specificity"] == 0)


@dataclass(frozen=True)
class SilentUnits:
    """A measures table split by the silent-unit policy: `kept` (what distributions and
    counts use) and `silent` (the silent units), with whether they were kept too."""

    kept: pd.DataFrame
    silent: pd.DataFrame
    included: bool
    by: str | None = "layer"

    @property
    def n_silent(self) -> int:
        return len(self.silent)

    def per_group(self) -> pd.Series:
        """Silent units per `by` group (e.g. per layer), in the table's order of groups."""
        if self.by is None or self.by not in self.silent.columns:
            return pd.Series({"all": self.n_silent}, dtype=int)
        return self.silent.groupby(self.by, sort=False).size()

    def note(self, parameter: str = "include_silent") -> str:
        """The sentence a page shows: how many silent units, where, and whether they are left
        out (and how to keep them) or kept; empty when there are none."""
        return describe_silent(self, parameter)


def leave_out_silent(
    table: pd.DataFrame, include_silent: bool = False, *, by: str | None = "layer"
) -> SilentUnits:
    """The book's policy for units that never fire: left out unless `include_silent`.

    Returns both parts; ``.kept`` is the table to draw and count (every unit when
    `include_silent`), ``.note()`` the sentence that says how many were left out and where
    (per `by` group, e.g. layer).
    """
    if not isinstance(include_silent, bool | np.bool_):
        raise DetectorTableError(
            f"include_silent must be True or False; got {include_silent!r}: True keeps the "
            "silent units in the distributions, False (the default) leaves them out"
        )
    silent = silent_units(table)
    kept = table if include_silent else table[~silent]
    return SilentUnits(kept, table[silent], bool(include_silent), by)


def describe_silent(split: SilentUnits, parameter: str = "include_silent") -> str:
    """'N silent units ... left out' (or kept), with the count of each group that has any."""
    n = split.n_silent
    if n == 0:
        return ""
    where = ""
    if split.by is not None and split.by in split.silent.columns:
        every = split.kept if split.included else pd.concat([split.kept, split.silent])
        totals = every.groupby(split.by, sort=False).size()
        named = [
            f"{count:,} of {group}'s {totals[group]:,}"
            for group, count in split.per_group().items()
        ]
        where = f" ({', '.join(named)})"
    units = "unit gives" if n == 1 else "units give"
    head = f"{n:,} silent {units} the same activation to every image{where}"
    if split.included:
        return f"{head}; they are kept in the counts and distributions (`{parameter} = True`)."
    return (
        f"{head}: {'it is' if n == 1 else 'they are'} left out of the counts and distributions "
        f"(set `{parameter} = True` to keep {'it' if n == 1 else 'them'})."
    )


# --- the three bars ------------------------------------------------------------------------


def zhou_detector(table: pd.DataFrame, n: int = ZHOU_TOP) -> pd.Series:
    """Zhou et al.'s test, ``precision_<n> >= .75``, exactly: the top class's count among
    the top `n` images is a whole number, compared as such."""
    column = f"precision_{n}"
    _require(table, [column], "Zhou et al.'s detector test")
    count = np.rint(table[column].to_numpy(float) * n)
    numerator, denominator = ZHOU_SHARE
    return pd.Series(count * denominator >= numerator * n, index=table.index, name="zhou_detector")


def with_bars(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with the `zhou_detector` column added (when absent), checked for the other
    bars' columns."""
    _require(table, ["localist", "detector"], "the detector bars")
    if "zhou_detector" in table.columns:
        return table
    return table.assign(zhou_detector=zhou_detector(table))


def detector_counts(
    table: pd.DataFrame,
    by: Sequence[str] = ("layer",),
    *,
    include_silent: bool = False,
) -> pd.DataFrame:
    """Per group of `by` (in the table's order): units measured, silent units, units
    counted (all of them when `include_silent`, else the units that are not silent) and,
    among those counted, how many clear each of the three bars (`BARS`), and how many pass
    Zhou et al.'s precision test but not the reasonable bar (``zhou_only``: units that
    precision calls detectors and the counts of hits and false alarms do not)."""
    by = list(by)
    _require(table, by, "counting units per group")
    marked = with_bars(table).assign(_silent=silent_units(table))
    counted = marked if include_silent else marked[~marked["_silent"]]
    groups = marked.groupby(by, sort=False)
    out = pd.DataFrame({"units": groups.size(), "silent": groups["_silent"].sum()})
    bars = counted.groupby(by, sort=False)
    out["counted"] = bars.size()
    for name, column in BARS.items():
        out[name] = bars[column].sum()
    out["zhou_only"] = (
        (counted["zhou_detector"] & ~counted["detector"])
        .groupby([counted[c] for c in by], sort=False)
        .sum()
    )
    return out.fillna(0).astype(int)


def describe_counts(counts: pd.DataFrame, network: str, hidden: Sequence[str]) -> str:
    """One or two sentences on one network's counts (rows: its layers; `hidden`: the layers
    that are hidden, the paper's question; any other layer is an output layer)."""
    rows = counts.loc[[layer for layer in counts.index if layer in set(hidden)]]
    outputs = counts.loc[[layer for layer in counts.index if layer not in set(hidden)]]
    parts = [_bar_phrase(rows, name) for name in BARS]
    text = f"In the hidden layers of {network} ({_units(rows['counted'].sum())} counted), " + (
        "; ".join(parts)
    )
    if len(outputs):
        clear = {name: int(outputs[name].sum()) for name in BARS}
        n_out = int(outputs["counted"].sum())
        text += (
            f". Its output layer ({', '.join(outputs.index)}, {_units(n_out)}): "
            f"{clear['grandmother']:,} clear {BAR_PHRASES['grandmother']}, {clear['detector']:,} "
            f"{BAR_PHRASES['detector']}, {clear['zhou']:,} {BAR_PHRASES['zhou']}"
        )
    return text + "."


def _bar_phrase(rows: pd.DataFrame, name: str) -> str:
    total = int(rows[name].sum())
    if total == 0:
        return f"no unit clears {BAR_PHRASES[name]}"
    layers = [
        f"{int(rows.loc[layer, name]):,} in {layer}"
        for layer in rows.index
        if rows.loc[layer, name]
    ]
    share = total / max(1, int(rows["counted"].sum()))
    verb = "clears" if total == 1 else "clear"
    where = f" ({', '.join(layers)})" if len(rows) > 1 else ""
    return f"{_units(total)} ({share:.1%}) {verb} {BAR_PHRASES[name]}{where}"


def _units(n: int) -> str:
    return f"{n:,} unit" if n == 1 else f"{n:,} units"


def bar_totals(counts: pd.DataFrame, hidden: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Per network (first level of `counts`' index): the hidden units counted and how many
    clear each bar, from a counts table indexed by (network, layer); `hidden` maps each
    network to its hidden layers."""
    rows = {}
    for network, layers in hidden.items():
        part = counts.loc[network]
        part = part.loc[[layer for layer in part.index if layer in set(layers)]]
        rows[network] = {"counted": int(part["counted"].sum())} | {
            name: int(part[name].sum()) for name in BARS
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def any_labeling(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The measures of the same units under several labelings of the same images (e.g. the
    letter in each position of a word), as one table: each unit's row from the labeling
    where its max informedness is highest (ties: the earlier labeling), with a ``labeling``
    column (0-based), and each bar True when the unit clears it under some labeling."""
    if not tables:
        raise DetectorTableError("any_labeling needs at least one measures table")
    marked = [with_bars(t).assign(labeling=k) for k, t in enumerate(tables)]
    stacked = pd.concat(marked)
    best = stacked.sort_values(["max_informedness"], ascending=False, kind="stable")
    best = best[~best.index.duplicated(keep="first")].sort_index()
    for column in BARS.values():
        best[column] = stacked.groupby(level=0)[column].any().reindex(best.index)
    return best
