"""The end of every chapter: how a reader reruns it.

`rerun_recipe` writes the exact ``compendium run`` command that reruns a chapter with
other parameters (`compendium.build.rerun`), where the results go, and what each profile
changes for the chapter, read from the profiles themselves (``notebooks/params/*.yml``)
and the notebook's own defaults, so that the recipe follows them when they change.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

import yaml
from IPython.display import Markdown

from compendium.build import pipeline
from compendium.build.profiles import available_profiles, load_profile, source

#: The profile a recipe's command uses and against which the other profiles are compared.
BASE_PROFILE = "default"


def rerun_command(chapter: str, example: Mapping[str, object], profile: str = BASE_PROFILE) -> str:
    """The ``compendium run`` command line that reruns `chapter` (its notebook name) of
    `profile` with the parameters `example` (each value written as the YAML ``-p`` reads)."""
    number = chapter.split("_", 1)[0]
    parts = ["compendium", "run", number, "--profile", profile]
    for name, value in example.items():
        parts += ["-p", name, shlex.quote(_yaml_value(value))]
    return " ".join(parts)


def _yaml_value(value: object) -> str:
    if isinstance(value, str):
        return value
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return text.removesuffix("...").strip()


def profile_changes(chapter: str) -> dict[str, str]:
    """For each profile, in words, what it changes for `chapter` against `BASE_PROFILE`: its
    data source (when `chapter` reads the profile's recording) and every parameter it
    sets otherwise."""
    profiles = available_profiles()
    base = pipeline.chapter_parameters(BASE_PROFILE, chapter)
    base_source = source(load_profile(BASE_PROFILE))
    changes = {}
    for name in profiles:
        if name == BASE_PROFILE:
            continue
        params = pipeline.chapter_parameters(name, chapter)
        changed = [
            f"`{key} = {_yaml_value(value)}`"
            for key, value in params.items()
            if key != "profile" and base.get(key) != value
        ]
        data = source(load_profile(name))
        words = []
        if data != base_source:
            words.append(f"data from `{data}`")
        words.append(
            ", ".join(changed) if changed else f"this chapter's parameters as `{BASE_PROFILE}`"
        )
        changes[name] = "; ".join(words)
    return changes


def rerun_recipe(
    chapter: str, example: Mapping[str, object], *, reads_recording: bool = True
) -> Markdown:
    """The end of a chapter: the command that reruns it with `example`'s parameters (the
    rest as the profile says), where the results go, and what each profile changes for it.
    `reads_recording`: whether the profile's data source matters to this chapter."""
    command = rerun_command(chapter, example)
    changes = profile_changes(chapter)
    if not reads_recording:
        changes = {name: text.split("; ", 1)[-1] for name, text in changes.items()}
    params = pipeline.chapter_parameters(BASE_PROFILE, chapter)
    shown = ", ".join(f"`{key} = {value!r}`" for key, value in params.items() if key != "profile")
    lines = [
        "To rerun this chapter with other parameters, and rebuild the book around it:",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Each `-p NAME VALUE` replaces one parameter (read as YAML); the others stay as profile "
        f"`{BASE_PROFILE}` gives them ({shown}). The command runs the profile's earlier steps "
        f"if their cached results are missing, writes the executed notebook to "
        f"`book/generated/{chapter}.ipynb` and the book to `book/_build/html/`, and says so "
        f"when it is done.",
        "",
        "What each profile changes for this chapter (`--profile NAME`):",
        "",
    ]
    lines += [f"- `{name}`: {text}." for name, text in changes.items()]
    return Markdown("\n".join(lines))
