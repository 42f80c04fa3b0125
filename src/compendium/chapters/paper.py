"""The numbers the paper reports, for showing beside this run's.

They live in `compendium/data/paper_numbers.csv`, shipped with the package and found with
importlib.resources, one row per number with the table, figure or page it comes from.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from compendium.util.errors import CompendiumError


def reported(source: str | None = None) -> pd.DataFrame:
    """The paper's reported numbers; `source` keeps the rows whose source starts with it
    (e.g. ``"Fig. A2"``)."""
    with resources.files("compendium").joinpath("data/paper_numbers.csv").open() as f:
        table = pd.read_csv(f, comment="#")
    if source is not None:
        table = table[table["source"].str.startswith(source)]
        if table.empty:
            raise KeyError(f"no reported numbers for source {source!r}")
    return table.reset_index(drop=True)


def as_printed(value: float, digits: int = 2) -> str:
    """A number the way the paper prints a value below 1: `digits` decimals and no zero
    before the point (``.08``, ``-.52``)."""
    text = f"{value:.{digits}f}"
    for zero, bare in (("0.", "."), ("-0.", "-.")):
        if text.startswith(zero):
            return bare + text[len(zero) :]
    return text


def beside_paper(
    this_run: pd.DataFrame,
    reported: pd.DataFrame,
    key: str = "case",
    *,
    only_reported: bool = False,
    tolerance: float | None = None,
    wide: bool = False,
) -> pd.DataFrame:
    """This run's numbers with the paper's beside them: the one way the book pairs them.

    `this_run` is indexed by `key` values (cases, layers, units) with one column per
    measure; `reported` has the columns `key`, ``measure`` and ``value``, as `reported`
    gives them. The long result has one row per (`key`, ``measure``) with ``this run`` and
    ``paper`` (empty where the paper reports no such number):

    - ``only_reported``: one row per number the paper reports, in its order, and an error
      if this run lacks one of them;
    - ``tolerance``: adds ``agrees``, True where the two differ by at most `tolerance`;
    - ``wide``: instead, `this_run`'s rows with the columns (measure, ``"this run"``) and
      (measure, ``"paper"``) for each of its measures (this run's values keep their type).
    """
    paper = (
        reported.dropna(subset=[key])
        .drop_duplicates([key, "measure"])
        .set_index([key, "measure"])["value"]
        .astype(float)
    )
    if wide:
        return _wide(this_run, paper)
    if only_reported:
        pairs = list(paper.index)
        missing = [p for p in pairs if p[0] not in this_run.index or p[1] not in this_run.columns]
        if missing:
            raise PaperNumbersError(
                f"this run has no value for {missing}: compute those measures first"
            )
    else:
        pairs = [(case, measure) for case in this_run.index for measure in this_run.columns]
    table = pd.DataFrame(
        {
            key: [case for case, _ in pairs],
            "measure": [measure for _, measure in pairs],
            "this run": [float(this_run.loc[case, measure]) for case, measure in pairs],
            "paper": [paper.get(pair, float("nan")) for pair in pairs],
        }
    )
    if tolerance is not None:
        table["agrees"] = (table["this run"] - table["paper"]).abs() <= tolerance
    return table


def _wide(this_run: pd.DataFrame, paper: pd.Series) -> pd.DataFrame:
    columns = {}
    for measure in this_run.columns:
        columns[(measure, "this run")] = this_run[measure]
        values = {case: paper.get((case, measure), float("nan")) for case in this_run.index}
        columns[(measure, "paper")] = pd.Series(values, dtype=float).reindex(this_run.index)
    out = pd.DataFrame(columns, index=this_run.index)
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


class PaperNumbersError(CompendiumError):
    """A number the paper reports has no counterpart in this run."""
