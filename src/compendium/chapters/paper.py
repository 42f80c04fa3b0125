"""The numbers the paper reports, for showing beside this run's.

They live in `compendium/data/paper_numbers.csv`, shipped with the package and found with
importlib.resources, one row per number with the table, figure or page it comes from.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd


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
