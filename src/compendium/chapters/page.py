"""What a results page of the book shows about the run that produced it: the set-up and
profile banner at the top of every page, and where the network's weights came from.

The banner says which profile and parameters produced the page and, during a book build,
what the run measured: the data, the network with its training settings and test accuracy,
and what was recorded. The build layer knows those (it reads the profile), so the pipeline
hands them to the notebook's kernel in the environment variable `RUN_ENV` (see
`describing`), together with what each parameter means, from the comment beside it in the
notebook's ``parameters`` cell; a banner then spells out what a ``None`` or empty value
stands for. A chapter whose numbers come from elsewhere (made-up units, its own networks,
benchmark files) passes its own description as ``run``.

`myst` marks a Markdown output that the book should read as MyST (roles, directives), as
the exercises of `compendium.chapters.exercises` need.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import Markdown, display

if TYPE_CHECKING:
    from compendium.networks.training import TrainedModel

#: Key in a Markdown output's metadata that has the book parse the output as MyST.
MYST = "compendium_myst"
#: Environment variable with what the build knows about a page's run (JSON): ``run``, a
#: mapping of headings (data, network, recorded) to text, and ``parameters``, each
#: parameter's comment from the notebook's ``parameters`` cell.
RUN_ENV = "COMPENDIUM_RUN"

#: "None: every unit" or '"" = bench/results' in a parameter's comment: what the value means.
_MEANING = re.compile(r"""(?:\bNone\b|\bnull\b|""|'')\s*(?:[:=]|means)?\s*(?P<meaning>[^;]+)""")


def compact(table: pd.DataFrame, drop: tuple[str, ...] = (), precision: int = 3):
    """A wide table as the page shows it: without the columns in `drop` (its CSV download
    keeps them), in a smaller font, so that it fits the text column on a projector."""
    shown = table.drop(columns=[column for column in drop if column in table.columns])
    return (
        shown.style.format(precision=precision)
        .hide(axis="index")
        .set_table_styles([{"selector": "", "props": [("font-size", "0.8em")]}])
    )


def myst(text: str) -> Markdown:
    """`text` as a Markdown output that the book renders as MyST (directives and roles
    work), where a plain Markdown output would be read as CommonMark."""
    return Markdown(text, metadata={MYST: True})


@contextlib.contextmanager
def describing(context: Mapping[str, object]) -> Iterator[None]:
    """While inside, notebooks started from this process see `context` (``run`` and
    ``parameters``, as `RUN_ENV` describes) in their banners."""
    before = os.environ.get(RUN_ENV)
    os.environ[RUN_ENV] = json.dumps(context)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RUN_ENV, None)
        else:
            os.environ[RUN_ENV] = before


def run_context() -> dict[str, dict[str, str]]:
    """What the build said about this page's run (`describing`); empty outside a build."""
    try:
        context = json.loads(os.environ.get(RUN_ENV) or "{}")
    except json.JSONDecodeError:
        return {}
    return context if isinstance(context, dict) else {}


def setup(
    profile: str,
    params: Mapping[str, object],
    *,
    run: Mapping[str, str] | None = None,
    precision: int = 3,
    max_columns: int | None = None,
) -> None:
    """The first cell of every results page: warnings are logged (to the cell's stderr), the
    warning tqdm gives when notebook progress widgets are missing is silenced (plain bars are
    fine), pandas shows `precision` decimals (and at most `max_columns` columns, if given),
    and the `profile_banner` is displayed (with `run`, when the page says itself what its
    numbers come from)."""
    warnings.filterwarnings("ignore", message="IProgress not found")
    logging.basicConfig(level=logging.WARNING)
    pd.set_option("display.precision", precision)
    if max_columns is not None:
        pd.set_option("display.max_columns", max_columns)
    display(profile_banner(profile, params, run=run))


def profile_banner(
    profile: str, params: Mapping[str, object], *, run: Mapping[str, str] | None = None
) -> Markdown:
    """A note for the top of a results page: which profile and parameters produced it
    (a ``None`` or empty value with what it stands for), and what the run measured: `run`
    (heading -> text), else what the build described (`run_context`)."""
    context = run_context()
    meanings = context.get("parameters") or {}
    given = ", ".join(
        parameter_text(name, value, meanings.get(name)) for name, value in params.items()
    )
    text = (
        f"**Produced by profile `{profile}`**"
        + (f" with {given}" if given else "")
        + f". The numbers on this page come from that run; the profile's parameters live in "
        f"`notebooks/params/{profile}.yml`."
    )
    described = run if run is not None else context.get("run")
    if described:
        text += "\n\n" + "\n".join(f"- **{head}:** {line}" for head, line in described.items())
    else:
        text += (
            " What the run measured (data, network, recording) is listed here when the page "
            "is built by `compendium book` or `compendium run`."
        )
    return Markdown(text)


def parameter_text(name: str, value: object, comment: str | None = None) -> str:
    """``name = value`` for a banner; a ``None`` or empty value is followed by what it
    means, from the parameter's `comment` (``None: every unit; ...`` gives "every unit"),
    or by "not set" when the comment does not say."""
    shown = f"`{name} = {value!r}`"
    if value is not None and value != "" and value != [] and value != {}:
        return shown
    return f"{shown} ({value_meaning(value, comment)})"


def value_meaning(value: object, comment: str | None) -> str:
    """What an empty `value` (None, "", [] or {}) stands for, read off the parameter's
    `comment`: the words after ``None:`` (or ``"" =``), else the whole comment."""
    if not comment:
        return "see the comment beside it in the notebook's parameters cell"
    found = _MEANING.search(comment)
    if found and (value is None or value == ""):
        return found.group("meaning").strip().rstrip(".")
    return comment.strip() if value is None or value == "" else f"{comment.strip()}: none given"


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


def join_words(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
