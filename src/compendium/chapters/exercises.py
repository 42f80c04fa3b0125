"""Exercises at the end of a chapter, with their solutions behind a toggle.

A chapter builds its exercises as `Exercise` objects, whose solution text the chapter's
module writes from the run's numbers (a solution's number is computed, never typed), and
shows them with one call::

    display(exercises.block([
        exercises.Exercise(
            label="ex-measures-silent",
            title="A silent class",
            question="What is the CCMAS of unit (b) when class 0 is removed?",
            solution=f"It is {value:.2f}: ...",
        ),
        ...
    ]))

In the book the block is MyST (`compendium.chapters.page.myst`): each exercise is a
sphinx-exercise ``{exercise}`` directive with its label, and each solution a ``{solution}``
directive of class ``dropdown``, folded until the reader opens it. Another page can point
to an exercise with ``{ref}`\\`label\\``. Outside a book build (Jupyter, Binder, Colab) the
same block is plain Markdown, with each solution in an HTML ``<details>`` element.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from IPython.display import Markdown

from compendium.chapters.downloads import PAGE_DATA_ENV
from compendium.chapters.page import myst
from compendium.util.errors import CompendiumError

#: What a label may look like: it becomes an HTML id and a Sphinx reference target.
_LABEL = re.compile(r"[a-z][a-z0-9-]*")


class ExerciseError(CompendiumError):
    """An exercise cannot be shown as given (the message says what to change)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: `label` (unique in the whole book, e.g. ``"ex-measures-silent"``), a
    short `title`, the `question` and its `solution` (MyST text: math, roles and lists
    work; the solution's numbers come from the run)."""

    label: str
    title: str
    question: str
    solution: str

    def __post_init__(self) -> None:
        if not _LABEL.fullmatch(self.label):
            raise ExerciseError(
                f"exercise label {self.label!r}: use lower-case letters, digits and '-', "
                f"starting with a letter (e.g. 'ex-measures-silent')"
            )
        for part in ("title", "question", "solution"):
            if not str(getattr(self, part)).strip():
                raise ExerciseError(f"exercise {self.label!r} has an empty {part}: write one")
        if "\n" in self.title:
            raise ExerciseError(f"exercise {self.label!r}: its title must fit on one line")


def as_myst(exercise: Exercise, *, numbered: bool = False) -> str:
    """One exercise and its folded solution as sphinx-exercise directives. sphinx-exercise
    numbers exercises across the whole book (chapter 6's first could be "Exercise 17"), so
    by default they are not numbered and go by their titles."""
    fence = _fence(exercise)
    return "\n".join(
        [
            f"{fence}{{exercise}} {exercise.title}",
            f":label: {exercise.label}",
            *([] if numbered else [":nonumber:"]),
            "",
            exercise.question.strip(),
            fence,
            "",
            f"{fence}{{solution}} {exercise.label}",
            ":class: dropdown",
            "",
            exercise.solution.strip(),
            fence,
        ]
    )


def as_markdown(exercise: Exercise) -> str:
    """One exercise for a notebook outside the book: plain Markdown, the solution in an
    HTML ``<details>`` element."""
    return "\n".join(
        [
            f"**Exercise: {exercise.title}**",
            "",
            exercise.question.strip(),
            "",
            "<details><summary>Solution</summary>",
            "",
            exercise.solution.strip(),
            "",
            "</details>",
        ]
    )


def block(
    items: Sequence[Exercise], *, in_book: bool | None = None, numbered: bool = False
) -> Markdown:
    """The exercises `items`, in order, as one output to display at the end of a chapter:
    MyST directives in a book build (`in_book` None: whenever the pipeline runs the
    notebook), plain Markdown elsewhere. Labels must differ. `numbered`: let
    sphinx-exercise number them (across the book)."""
    items = list(items)
    if not items:
        raise ExerciseError("no exercises given: pass at least one Exercise")
    labels = [item.label for item in items]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ExerciseError(f"exercise labels {repeated} are used twice: give each its own")
    if in_book is None:
        in_book = bool(os.environ.get(PAGE_DATA_ENV))
    if in_book:
        return myst("\n\n".join(as_myst(item, numbered=numbered) for item in items))
    return Markdown("\n\n".join(as_markdown(item) for item in items))


def _fence(exercise: Exercise) -> str:
    """A colon fence longer than any in the exercise's own text, so that a directive in a
    question or solution (a note, a figure) nests inside it."""
    runs = re.findall(r"^(:{3,})", f"{exercise.question}\n{exercise.solution}", flags=re.M)
    return ":" * max([3, *[len(run) + 1 for run in runs]])
