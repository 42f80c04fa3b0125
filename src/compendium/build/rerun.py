"""Rerun one chapter with other parameters, then rebuild the book around it.

`rerun_chapter("02", "default", {"units": "0:50"})` runs the profile's steps (skipping what
is cached), executes chapter 02 with the profile's parameters and the given overrides into
``book/generated/``, executes any other chapter whose page is missing with the profile's own
parameters, and builds the HTML. It is `compendium run 02 -p units 0:50` on the command line:
a thin layer over papermill that keeps everything the profile says except what is given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compendium.build import pipeline, publishing
from compendium.build.profiles import BOOK, GENERATED, PipelineError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rerun:
    """Where a rerun's executed notebook and book went."""

    notebook: Path
    html: Path


def chapter_name(chapter: str) -> str:
    """The notebook a chapter argument names: its number (``2``, ``02``) or its file stem."""
    sources = pipeline.notebook_sources()
    if chapter in sources:
        return chapter
    matches = [
        name for name in sources if chapter.isdigit() and name.startswith(f"{int(chapter):02d}_")
    ]
    if len(matches) != 1:
        raise PipelineError(
            f"no chapter {chapter!r}: give its number or one of {', '.join(sources)}"
        )
    return matches[0]


def parse_overrides(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs as parameters; each value is read as YAML, as papermill's
    ``-p`` does (``50`` is a number, ``[fc6]`` a list, ``0:50`` stays text)."""
    values = {}
    for name, text in pairs:
        try:
            values[name] = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise PipelineError(f"-p {name} {text!r} is not a YAML value: {error}") from error
    return values


def rerun_chapter(
    chapter: str, profile: str, overrides: dict[str, Any], source: Path = BOOK
) -> Rerun:
    """Rerun `chapter` of `profile` with `overrides` and rebuild the book whose sources are
    in `source` (default: ``book/``, in place)."""
    name = chapter_name(chapter)
    pipeline.run_steps(profile)
    generated = source / GENERATED
    [notebook] = pipeline.execute_notebooks(
        profile, [name], out_dir=generated, overrides={name: overrides}
    )
    missing = [
        other
        for other in pipeline.notebook_sources()
        if other != name and not (generated / f"{other}.ipynb").is_file()
    ]
    if missing:
        log.info("executing the chapters the book lacks: %s", ", ".join(missing))
        pipeline.execute_notebooks(profile, missing, out_dir=generated)
    html = pipeline.build_html(source, publishing.repository_from_env(), profile=profile)
    log.info("chapter %s rerun with %s: %s; book in %s", name, overrides, notebook, html)
    return Rerun(notebook, html)
