"""What a results page of the book shows about the run that produced it: the set-up and
profile banner at the top of every page, and where the network's weights came from."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import Markdown, display

if TYPE_CHECKING:
    from compendium.networks.training import TrainedModel


def setup(
    profile: str,
    params: Mapping[str, object],
    *,
    precision: int = 3,
    max_columns: int | None = None,
) -> None:
    """The first cell of every results page: warnings are logged (to the cell's stderr), the
    warning tqdm gives when notebook progress widgets are missing is silenced (plain bars are
    fine), pandas shows `precision` decimals (and at most `max_columns` columns, if given),
    and the `profile_banner` is displayed."""
    warnings.filterwarnings("ignore", message="IProgress not found")
    logging.basicConfig(level=logging.WARNING)
    pd.set_option("display.precision", precision)
    if max_columns is not None:
        pd.set_option("display.max_columns", max_columns)
    display(profile_banner(profile, params))


def profile_banner(profile: str, params: Mapping[str, object]) -> Markdown:
    """A note for the top of a results page: which profile and parameters produced it."""
    given = ", ".join(f"`{name} = {value!r}`" for name, value in params.items())
    return Markdown(
        f"**Produced by profile `{profile}`**"
        + (f" with {given}" if given else "")
        + f". The numbers on this page come from that run; the profile's parameters live in "
        f"`notebooks/params/{profile}.yml`."
    )


def weights_note(trained: TrainedModel | None, profile: str) -> Markdown:
    """A note for the top of a results page: where the profile's network's weights come
    from (shipped with the compendium, or trained here) and their sha256."""
    if trained is None:
        return Markdown(
            f"**Weights:** profile `{profile}` has no trained network yet; run "
            f"`compendium train --profile {profile}` first."
        )
    where = (
        f"**shipped** with the compendium (`data/weights/{trained.weights_path.parent.name}/"
        f"{trained.weights_path.name}`), so every build of this page starts from the same "
        f"weights"
        if trained.shipped
        else "**trained here** (in this machine's cache), so this page's numbers may differ "
        "from those of a build with the shipped weights"
    )
    return Markdown(
        f"**Weights of `{trained.name}`:** {where}; sha256 `{trained.weights_sha256}`, test "
        f"accuracy {trained.report['test_accuracy']:.4f}."
    )
