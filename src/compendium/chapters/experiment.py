"""Chapter 3 with people: which AM images the experiment shows, Table 1 from a response
file, and the sentence that says who answered.

The experiment page (``book/experiment.md``, files by `compendium.build.experiment_site`)
shows the panels of one AM method, chosen by the profile's ``am_method`` (default: the
generator of `compendium.methods.generator`); its answers come back as a CSV in the layout
`compendium.methods.behaviour.read_responses` reads. This module is what chapter 3 needs
from that path: :func:`experiment_images`, :func:`methods_side_by_side`,
:func:`table1_from_responses` and :func:`who_answered`. The sentences are written from the
tables they describe, so they change when the answers do.

:func:`example_responses` is a small response file shipped with the package. It was made
by the browser test (``tests/test_experiment.py``) clicking through the smoke profile's
experiment page with scripted answers; it exercises the path from the page to Table 1 and
says nothing about what people see.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from compendium.chapters.page import join_words
from compendium.methods import behaviour

if TYPE_CHECKING:
    from compendium.methods.am import AMResult

__all__ = [
    "EXAMPLE_RESPONSES",
    "FromPeople",
    "example_responses",
    "experiment_images",
    "is_example",
    "method_text",
    "methods_side_by_side",
    "table1_from_responses",
    "who_answered",
]

#: The shipped example responses (package data), made by a scripted browser run.
EXAMPLE_RESPONSES = "data/example_responses_smoke_scripted.csv"
#: What each AM method is called on the page.
METHOD_NAMES = {
    "generator": "the generator (latent-code) method",
    "pixel": "the pixel-space method",
}


def example_responses() -> Path:
    """The path of the shipped example response file (see the module's docstring)."""
    return Path(str(resources.files("compendium").joinpath(EXAMPLE_RESPONSES)))


def is_example(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` is the shipped example response file."""
    if not path:
        return False
    try:
        return os.path.samefile(path, example_responses())
    except OSError:
        return False


# --------------------------------------------------------------------------------------
# Which images
# --------------------------------------------------------------------------------------


def experiment_images(
    am_method: str, pixel: Mapping[str, AMResult], generator: Mapping[str, AMResult]
) -> dict[str, AMResult]:
    """The AM images the experiment shows (and the observers judge): the generator's or the
    pixel-space ones, as ``am_method`` says; pixel-space ones where no generator images
    were made (a network whose images the generator cannot draw)."""
    from compendium.methods.generator import check_method

    if check_method(am_method) == "generator" and generator:
        return dict(generator)
    return dict(pixel)


def method_text(am_method: str, generator_made: bool) -> str:
    """Which images the experiment shows, in a sentence."""
    if am_method == "generator" and not generator_made:
        return (
            "The profile asks for the generator's images, but the generator draws only "
            "28 x 28 greyscale pictures, which this network does not take: the experiment "
            f"shows {METHOD_NAMES['pixel']}'s images instead."
        )
    return (
        f"The experiment (and the judges below) see the panels of {METHOD_NAMES[am_method]} "
        f"(the profile's `am_method: {am_method}`)."
    )


def methods_side_by_side(
    pixel: Mapping[str, AMResult], generator: Mapping[str, AMResult], per_layer: int = 1
) -> HTML | None:
    """For the first ``per_layer`` units of each layer: the pixel-space panel and the
    generator panel of the same unit, side by side (None unless both methods made images)."""
    from compendium.chapters.activation_maximisation import panel_picture

    shown = []
    for layer, result in generator.items():
        if layer not in pixel:
            continue
        for unit in result.units[:per_layer].tolist():
            if unit not in pixel[layer].units:
                continue
            shown.append((panel_picture(pixel[layer], unit), f"{layer} unit {unit}: pixel space"))
            shown.append((panel_picture(result, unit), f"{layer} unit {unit}: generator"))
    return HTML(behaviour.panels_html(shown, width=260)) if shown else None


# --------------------------------------------------------------------------------------
# Table 1 from a response file
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FromPeople:
    """Table 1 from a response file: the checked answers, one row per panel
    (`behaviour.unit_judgements`) and the table (`behaviour.table1`)."""

    answers: pd.DataFrame
    units: pd.DataFrame
    table: pd.DataFrame


def table1_from_responses(
    path: str | os.PathLike,
    classes: pd.DataFrame,
    class_names: Sequence[str],
    *,
    synonyms: str | os.PathLike | None = None,
    threshold: float = 0.8,
    layers: Sequence[str] | None = None,
) -> FromPeople:
    """Read a response file (refusing panels that are not in ``classes``), match its labels
    through the synonym table (``synonyms``, else the shipped one for Fashion-MNIST's
    classes) and compute Table 1. ``layers``: the rows, in order (default: those answered)."""
    answers = behaviour.read_responses(path, classes)
    table = behaviour.default_synonyms(class_names, synonyms)
    if layers is not None:
        layers = [layer for layer in layers if layer in set(answers["layer"])]
    units, table1 = behaviour.analyse(answers, classes, table, threshold, layers)
    return FromPeople(answers, units, table1)


def who_answered(
    answers: pd.DataFrame | None, *, people: bool, example: bool = False, names: int = 6
) -> str:
    """Who gave the answers behind Table 1, and how many: people or model observers, their
    ids (up to ``names`` of them), responses, panels and lists. ``example`` adds that the
    file is the shipped example of a scripted run."""
    if answers is None or answers.empty:
        return "**No one answered**: there are no responses, so Table 1 below is empty."
    ids = list(dict.fromkeys(answers["participant"].astype(str)))
    kind = (
        ("person" if len(ids) == 1 else "people") if people else _plural(len(ids), "model observer")
    )
    count = f"{len(ids)} {kind}" if people else kind
    shown = (
        join_words(ids)
        if len(ids) <= names
        else f"{join_words(ids[:names])} and {len(ids) - names} more"
    )
    what = "participant" if people else "observer"
    panels = answers[["layer", "unit"]].drop_duplicates()
    lists = int(answers["list"].nunique())
    text = (
        f"**Who answered: {count}** ({_plural(len(ids), what, bare=True)} {shown})"
        f"{'' if people else ', not people'}: {_plural(len(answers), 'response')} to "
        f"{_plural(len(panels), 'panel')} in {_plural(lists, 'list')}, "
        f"{_per_panel(answers)}."
    )
    if example:
        text += (
            " **These are not real answers**: the file is the compendium's shipped example, "
            "made by a test that clicked through the experiment page with scripted choices. "
            "It shows that the page's file feeds this table, and nothing about what people "
            "see in the panels."
        )
    return text


def _per_panel(answers: pd.DataFrame) -> str:
    per = answers.groupby(["layer", "unit"]).size()
    low, high = int(per.min()), int(per.max())
    judges = "judge" if high == 1 else "judges"
    return f"{low} {judges} per panel" if low == high else f"{low} to {high} judges per panel"


def _plural(n: int, word: str, *, bare: bool = False) -> str:
    name = word if n == 1 else f"{word}s"
    return name if bare else f"{n} {name}"
