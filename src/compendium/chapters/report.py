"""Presenting a run's numbers on a book page: the profile banner, and this run's values
beside the values the paper reports."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from IPython.display import Markdown


def profile_banner(profile: str, params: Mapping[str, object]) -> Markdown:
    """A note for the top of a results page: which profile and parameters produced it."""
    given = ", ".join(f"`{name} = {value!r}`" for name, value in params.items())
    return Markdown(
        f"**Produced by profile `{profile}`**"
        + (f" with {given}" if given else "")
        + f". The numbers on this page come from that run; the profile's parameters live in "
        f"`notebooks/params/{profile}.yml`."
    )


def compare_with_paper(
    this_run: pd.DataFrame, reported: pd.DataFrame, key: str = "case", tolerance: float = 0.005
) -> pd.DataFrame:
    """One row per reported number: this run's value beside the paper's.

    `this_run` is indexed by `key` values with measure names as columns; `reported` has
    the columns `key`, ``measure``, ``value`` (as `compendium.chapters.paper.reported` gives).
    ``agrees`` is True where the two differ by at most `tolerance` (the paper rounds to
    two decimals).
    """
    missing = [
        (row[key], row["measure"])
        for _, row in reported.iterrows()
        if row[key] not in this_run.index or row["measure"] not in this_run.columns
    ]
    if missing:
        raise KeyError(f"this run has no value for {missing}: compute those measures first")
    values = [float(this_run.loc[row[key], row["measure"]]) for _, row in reported.iterrows()]
    table = pd.DataFrame(
        {
            key: reported[key].to_numpy(),
            "measure": reported["measure"].to_numpy(),
            "this run": values,
            "paper": reported["value"].astype(float).to_numpy(),
        }
    )
    table["agrees"] = (table["this run"] - table["paper"]).abs() <= tolerance
    return table
