"""The behavioural experiment for people: generator AM, the experiment folder, the browser
page (driven in Debian's Chromium, offline) and Table 1 from its answers."""

from __future__ import annotations

import os
import re
import tarfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from browsing import chromium, serving
from torch import nn

from compendium.build import experiment_site as site
from compendium.build.cli import main
from compendium.chapters import experiment as chapter_experiment
from compendium.methods import am, behaviour, generator
from compendium.util.files import write_table

ROOT = Path(__file__).resolve().parents[1]
#: A generator small enough to train inside a test (seconds), on real Fashion-MNIST images.
TINY = generator.GeneratorConfig(latent=8, width=16, epochs=3, n_train=6000, seed=0)


# --------------------------------------------------------------------------------------
# Generator AM
# --------------------------------------------------------------------------------------


def _blobs(n: int = 256, seed: int = 0) -> torch.Tensor:
    """Synthetic 28 x 28 training pictures in [0, 1]: bright rectangles on black."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 1, 28, 28), np.float32)
    for i in range(n):
        top, left = rng.integers(2, 12, 2)
        out[i, 0, top : top + rng.integers(8, 14), left : left + rng.integers(6, 14)] = 1.0
    return torch.from_numpy(out)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Torch on one thread: on a shared machine, two threads per test run slower, not faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def blob_generator() -> generator.TrainedGenerator:
    torch.manual_seed(0)
    config = generator.GeneratorConfig(latent=4, width=4, epochs=20, batch_size=32, lr=0.01)
    return generator.trained_generator(config, pixels=_blobs())


def _small_network(seed: int = 0) -> nn.Module:
    """A seeded random network with a conv layer ``conv5`` and an output layer ``fc8``."""
    torch.manual_seed(seed)
    return nn.Sequential(
        OrderedDict(
            conv5=nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 5, stride=2), relu=nn.ReLU())),
            flatten=nn.Flatten(),
            fc8=nn.Linear(4 * 12 * 12, 5),
        )
    ).eval()


def test_generator_settings_are_checked():
    with pytest.raises(generator.GeneratorError, match="latent=0"):
        generator.GeneratorConfig(latent=0)
    with pytest.raises(generator.GeneratorError, match="unknown generator settings"):
        generator.GeneratorConfig.from_dict({"layers": 3})
    with pytest.raises(generator.GeneratorError, match="max_norm"):
        generator.LatentAMConfig(max_norm=0)
    with pytest.raises(generator.GeneratorError, match="am_method"):
        generator.check_method("gan")
    train, latent = generator.generator_settings(
        25, 3, {"steps": 10, "scale": [1, 1], "train": {"epochs": 2}}
    )
    assert (train.epochs, latent.steps, latent.scale) == (2, 10, (1, 1))
    assert (latent.images_per_unit, latent.seed) == (25, 3)
    assert train.key != generator.GeneratorConfig().key


def test_generator_samples_are_in_range_and_seeded(blob_generator):
    first = generator.sample_images(blob_generator, 12, seed=1)
    assert first.dtype == np.uint8 and first.shape == (12, 1, 28, 28)
    assert np.array_equal(first, generator.sample_images(blob_generator, 12, seed=1))
    assert not np.array_equal(first, generator.sample_images(blob_generator, 12, seed=2))
    with torch.no_grad():  # far outside the prior, the pixels still stay in [0, 1]
        pixels = blob_generator.model.decode(torch.randn(64, 4) * 50)
    assert pixels.min() >= 0 and pixels.max() <= 1
    assert first.std() > 10  # not a blank picture


def test_generator_am_is_deterministic_and_batch_independent(blob_generator):
    network = _small_network()
    config = generator.LatentAMConfig(images_per_unit=3, steps=6, lr=0.3, seed=4)
    together = generator.maximise_codes(network, blob_generator, "fc8", [0, 2, 3], config)
    again = generator.maximise_codes(network, blob_generator, "fc8", [0, 2, 3], config)
    alone = generator.maximise_codes(network, blob_generator, "fc8", [2], config)
    other = generator.maximise_codes(
        network, blob_generator, "fc8", [0, 2, 3], generator.LatentAMConfig(3, 6, 0.3, seed=5)
    )
    assert together.images.shape == (3, 3, 1, 28, 28) and together.images.dtype == np.uint8
    assert np.array_equal(together.images, again.images)
    assert np.array_equal(together.unit(2), alone.unit(2))
    assert not np.array_equal(together.images, other.images)
    conv = generator.maximise_codes(network, blob_generator, "conv5", [1], config)
    assert conv.objective.shape == (1, 3)


def test_generator_am_raises_its_unit(blob_generator):
    network = _small_network(1)
    start = generator.LatentAMConfig(images_per_unit=8, steps=1, lr=1e-6, seed=0)
    after = generator.LatentAMConfig(images_per_unit=8, steps=40, lr=0.3, seed=0)
    before = generator.maximise_codes(network, blob_generator, "fc8", [1], start)
    made = generator.maximise_codes(network, blob_generator, "fc8", [1], after)
    assert made.objective.mean() > before.objective.mean()


def test_generator_am_images_are_cached(blob_generator, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path))
    network = _small_network()
    config = generator.LatentAMConfig(images_per_unit=2, steps=3, seed=0)
    made = generator.generator_am_images(network, "net", blob_generator, "fc8", [1, 4], config)
    back = generator.generator_am_images(network, "net", blob_generator, "fc8", [4, 1], config)
    assert not made.from_cache.any() and back.from_cache.all()
    assert np.array_equal(made.unit(4), back.unit(4))
    assert len(list((tmp_path / "am").rglob("*.npz"))) == 2
    with pytest.raises(generator.GeneratorError, match="pixel"):
        generator.maximise_codes(
            network, blob_generator, "fc8", [0], config, image=am.ImageSpec.imagenet(64)
        )


@pytest.mark.slow
def test_fc8_generator_images_are_classified_as_often_as_pixel_ones(tmp_path, monkeypatch):
    """An output unit's generator images: its class at least as often as pixel AM's."""
    from compendium.build.stages import profile_network
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES

    monkeypatch.setenv("COMPENDIUM_CACHE", str(ROOT / "data" / "cache"))
    behind = profile_network("default")  # the default profile's network (shipped or cached)
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path))  # AM images: not kept
    torch.manual_seed(0)
    trained = generator.trained_generator(TINY, pixels=_fashion_pixels(TINY.n_train))
    names = list(FASHION_MNIST_CLASSES)
    shares = {}
    # Bag and Ankle boot: classes of distinct shapes, which even this tiny generator draws
    # well. (With the profile's own generator all ten output units reach 95-100%.)
    for unit in (8, 9):
        made = generator.maximise_codes(
            behind.model, trained, "fc8", [unit], generator.LatentAMConfig(20), device="cpu"
        )
        pixel = am.maximise(
            behind.model,
            "fc8",
            [unit],
            am.AMConfig(images_per_unit=20, steps=48),
            image=behind.image,
            device="cpu",
            progress=False,
        )
        column = "share classified as the unit's class"
        mine = am.own_class_share(behind.model, made, names, image=behind.image, device="cpu")
        theirs = am.own_class_share(behind.model, pixel, names, image=behind.image, device="cpu")
        shares[unit] = (float(mine[column].iloc[0]), float(theirs[column].iloc[0]))
    assert all(mine >= theirs for mine, theirs in shares.values()), shares


def _fashion_pixels(n: int) -> torch.Tensor:
    from compendium.inputs.datasets import load_fashion_mnist

    images = load_fashion_mnist("train").images[:n]
    return torch.from_numpy(images[:, None].astype(np.float32) / 255.0)


# --------------------------------------------------------------------------------------
# The experiment folder
# --------------------------------------------------------------------------------------

UNITS = {"conv5": [3, 8], "fc6": [10, 20, 30], "fc8": [1, 7]}
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"] + [
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def _design(n_lists: int = 2) -> behaviour.Design:
    return behaviour.design_experiment(UNITS, n_lists, n_lists, seed=0)


def _pictures(design: behaviour.Design) -> dict[tuple[str, int], np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        (layer, int(unit)): behaviour.panel_grid(
            rng.integers(0, 256, (9, 1, 28, 28), dtype=np.uint8), columns=3, zoom=2
        )
        for layer, unit in design.lists[["layer", "unit"]].itertuples(index=False)
    }


def _classes() -> pd.DataFrame:
    """Each test unit's classes: fc8 units their own class, hidden units a made-up pair."""
    rows = []
    for layer, units in UNITS.items():
        for unit in units:
            own = CLASSES[unit] if layer == "fc8" else CLASSES[unit % 10]
            rows.append((layer, unit, own, "Sneaker" if layer == "fc6" else own, 1.0))
    return pd.DataFrame(rows, columns=["layer", "unit", "top_class", "ccmas_class", "dataset_max"])


@pytest.fixture(scope="module")
def experiment_folder(tmp_path_factory) -> Path:
    """An experiment folder of the test design (two lists), with the real jsPsych."""
    design = _design()
    out = tmp_path_factory.mktemp("experiment") / "site"
    about = {"profile": "test", "method": "generator", "n_lists": 2}
    return site.write_site(out, design.lists, _pictures(design), about)


def test_site_holds_everything_the_page_loads(experiment_folder):
    names = {str(p.relative_to(experiment_folder)) for p in experiment_folder.rglob("*")}
    needed = {"index.html", "experiment.js", "lists.js", "lists.csv", "README.txt"}
    needed |= {"jspsych/LICENSE.md", "jspsych/jspsych.css", *site.SCRIPTS}
    needed |= {site.panel_path(layer, u) for layer, units in UNITS.items() for u in units}
    assert needed <= names
    page = (experiment_folder / "index.html").read_text()
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded == ["jspsych/jspsych.css", *site.SCRIPTS, "lists.js", "experiment.js"]
    assert all((experiment_folder / name).is_file() for name in loaded)
    lists = pd.read_csv(experiment_folder / "lists.csv")
    assert len(lists) == 7 and set(lists["list"]) == {0, 1}
    licence = (experiment_folder / "jspsych" / "LICENSE.md").read_text()
    assert "MIT License" in licence and "jspsych@8.3.0" in licence
    for package in site.JSPSYCH_PACKAGES:
        assert package.integrity in licence


def test_book_page_loads_the_experiment_folder():
    """book/experiment.md loads the same files as index.html, from experiment/; Sphinx copies
    book/_extra as it is (not _static, whose scripts Jupyter Book puts on every page)."""
    text = (ROOT / "book" / "experiment.md").read_text()
    loaded = re.findall(r'(?:src|href)="(experiment/[^"]+)"', text)
    expected = ["jspsych/jspsych.css", *site.SCRIPTS, "lists.js", "experiment.js"]
    assert loaded == [f"{site.FOLDER}/{name}" for name in expected]
    assert 'id="compendium-experiment"' in text
    config = (ROOT / "_config.yml").read_text()
    assert f'html_extra_path: ["{site.BOOK_EXTRA}"]' in config
    assert "- file: experiment" in (ROOT / "book" / "_toc.yml").read_text()


def _fake_packages(folder: Path, licence: str = "MIT") -> tuple[site.NpmPackage, ...]:
    """Tarballs shaped like npm's for every pinned package, and packages pinning them."""
    import io
    import json

    folder.mkdir(parents=True, exist_ok=True)
    packages = []
    for real in site.JSPSYCH_PACKAGES:
        path = folder / real.tarball
        with tarfile.open(path, "w:gz") as archive:
            members = {"package.json": json.dumps({"license": licence, "author": "A. Author"})}
            members |= {name: f"/* {real.name} {name} */" for name in real.files}
            for name, text in members.items():
                data = text.encode()
                info = tarfile.TarInfo(f"package/{name}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        packages.append(site.NpmPackage(real.name, real.version, site.integrity(path), real.files))
    return tuple(packages)


def test_jspsych_is_unpacked_from_checked_tarballs(tmp_path, monkeypatch):
    packages = _fake_packages(tmp_path / "npm")
    monkeypatch.setattr(site, "JSPSYCH_PACKAGES", packages)
    written = site.write_jspsych(tmp_path / "out", tmp_path / "npm")
    assert (
        tmp_path / "out" / "jspsych.js"
    ).read_text() == "/* jspsych dist/index.browser.min.js */"
    assert "A. Author" in (tmp_path / "out" / "LICENSE.md").read_text()
    assert len(written) == 6
    wrong = site.NpmPackage("jspsych", "8.3.0", "sha512-AAAA", packages[0].files)
    monkeypatch.setattr(site.shutil, "which", lambda name: None)
    with pytest.raises(site.ExperimentError, match="npm is not installed"):
        site.npm_tarball(wrong, tmp_path / "npm")


def test_jspsych_licence_is_checked(tmp_path, monkeypatch):
    monkeypatch.setattr(site, "JSPSYCH_PACKAGES", _fake_packages(tmp_path / "npm", "GPL-3.0"))
    with pytest.raises(site.ExperimentError, match="not MIT"):
        site.write_jspsych(tmp_path / "out", tmp_path / "npm")


def test_cached_tarballs_match_their_pins():
    """Whatever tarball the npm cache holds is the pinned one (a rebuild reads only these)."""
    checked = 0
    for package in site.JSPSYCH_PACKAGES:
        path = site.npm_dir() / package.tarball
        if path.is_file():
            assert site.integrity(path) == package.integrity, path
            checked += 1
    if not checked:
        pytest.skip("no npm tarballs cached yet")


def test_experiment_command_refuses_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["experiment", "--profile", "smoke", "--out", str(tmp_path)]) == 2
    assert "not an experiment folder" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with pytest.raises(SystemExit):
        main(["experiment", "--lists", "0", "--out", str(tmp_path / "new")])
    assert "--lists takes a whole number" in capsys.readouterr().err


def test_profile_settings_choose_the_method():
    settings = site.chapter_settings("smoke")
    assert settings["am_method"] == "generator"
    assert site.experiment_method(settings, am.ImageSpec.fashion_mnist()) == "generator"
    assert site.experiment_method({}, am.ImageSpec.imagenet()) == "pixel"
    assert site.experiment_method({"am_method": "pixel"}, am.ImageSpec()) == "pixel"
    with pytest.raises(generator.GeneratorError):
        site.experiment_method({"am_method": "ppgn"}, am.ImageSpec())


# --------------------------------------------------------------------------------------
# Chapter 3's side: Table 1 from a file, who answered
# --------------------------------------------------------------------------------------


def _answers(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(behaviour.RESPONSE_COLUMNS))


def test_who_answered_says_who_and_how_many():
    people = _answers(
        [("P1", 0, "fc8", 1, "yes", "trousers"), ("P2", 1, "fc8", 1, "no", "")]
        + [("P1", 0, "fc6", 10, "no", "")]
    )
    text = chapter_experiment.who_answered(people, people=True)
    assert text.startswith("**Who answered: 2 people** (participants P1 and P2)")
    assert "3 responses to 2 panels in 2 lists, 1 to 2 judges per panel" in text
    assert "not real" not in text
    assert "not real answers" in chapter_experiment.who_answered(people, people=True, example=True)
    machines = chapter_experiment.who_answered(people.assign(participant="mlp"), people=False)
    assert machines.startswith("**Who answered: 1 model observer** (observer mlp), not people")
    assert chapter_experiment.who_answered(None, people=True).startswith("**No one answered**")


def test_table1_from_a_response_file(tmp_path):
    rows = [
        ("P1", 0, "fc8", 1, "yes", "trousers"),
        ("P2", 0, "fc8", 1, "yes", "pants"),
        ("P1", 0, "fc8", 7, "yes", "trainers"),
        ("P2", 0, "fc8", 7, "no", ""),
        ("P1", 0, "conv5", 3, "no", ""),
        ("P2", 0, "conv5", 3, "no", ""),
    ]
    path = tmp_path / "answers.csv"
    _answers(rows).to_csv(path, index=False)
    found = chapter_experiment.table1_from_responses(
        path, _classes(), CLASSES, layers=["conv5", "fc6", "fc8"]
    )
    assert list(found.table.index) == ["conv5", "fc8"]
    assert found.table.loc["fc8", "yes"] == pytest.approx(75.0)
    assert found.table.loc["fc8", "units_80"] == pytest.approx(50.0)
    assert found.table.loc["fc8", "overlap_top_class"] == pytest.approx(100.0)
    assert found.table.loc["conv5", "yes"] == 0
    _answers([("P1", 0, "fc8", 9, "yes", "boot")]).to_csv(path, index=False)
    with pytest.raises(behaviour.BehaviourError, match="no known unit"):
        chapter_experiment.table1_from_responses(path, _classes(), CLASSES)


def test_experiment_images_follow_the_method():
    pixel, made = {"fc8": "pixel images"}, {"fc8": "generator images"}
    assert chapter_experiment.experiment_images("generator", pixel, made) == made
    assert chapter_experiment.experiment_images("pixel", pixel, made) == pixel
    assert chapter_experiment.experiment_images("generator", pixel, {}) == pixel
    assert "instead" in chapter_experiment.method_text("generator", generator_made=False)


def _result(units: list[int], level: int) -> am.AMResult:
    images = np.full((len(units), 4, 1, 28, 28), level, np.uint8)
    zeros = np.zeros((len(units), 4), np.float32)
    return am.AMResult("fc8", np.array(units), images, zeros, np.zeros(len(units)))


def test_both_methods_panels_side_by_side():
    shown = chapter_experiment.methods_side_by_side(
        {"fc8": _result([1, 7], 10)}, {"fc8": _result([1, 7], 200)}, per_layer=2
    )
    captions = re.findall(r"<figcaption[^>]*>([^<]+)<", shown.data)
    assert captions == [
        "fc8 unit 1: pixel space",
        "fc8 unit 1: generator",
        "fc8 unit 7: pixel space",
        "fc8 unit 7: generator",
    ]
    assert chapter_experiment.methods_side_by_side({}, {"fc8": _result([1], 0)}) is None


def test_a_build_without_a_profile_keeps_or_writes_an_empty_experiment(tmp_path):
    from compendium.build.pipeline import write_experiment

    folder = write_experiment(tmp_path, None)
    assert folder == tmp_path / site.BOOK_EXTRA / site.FOLDER
    assert '"lists": {}' in (folder / "lists.js").read_text()
    (folder / "lists.js").write_text(site.LISTS_HEADER + " kept */")
    assert write_experiment(tmp_path, None) == folder
    assert (folder / "lists.js").read_text().endswith("kept */")


def test_shipped_example_responses_are_labelled_and_readable():
    path = chapter_experiment.example_responses()
    answers = behaviour.read_responses(path)
    assert chapter_experiment.is_example(path) and not chapter_experiment.is_example(None)
    assert answers["participant"].str.startswith("scripted-").all()
    assert "scripted" in path.name and len(answers) > 0


# --------------------------------------------------------------------------------------
# The page in a browser
# --------------------------------------------------------------------------------------


@pytest.fixture
def served(experiment_folder) -> Iterator[str]:
    """The experiment folder on an ephemeral localhost port (a static host)."""
    with serving(experiment_folder) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


Script = Callable[[str, int], tuple[bool, str]]


def take_part(browser, url: str, base: str, code: str, script: Script, out: Path, list_id=None):
    """Do the experiment at ``url`` as participant ``code``, answering each panel as
    ``script(layer, unit)`` says; returns the downloaded CSV's path, the CSV shown on the
    page, the panels in the order shown and the requests that left ``base``."""
    outside: list[str] = []
    page = browser.new_page(accept_downloads=True, viewport={"width": 1100, "height": 900})

    def only_local(route) -> None:
        if route.request.url.startswith((base, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.set_default_timeout(60_000)
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    page.goto(url)
    if list_id is not None:  # no list in the address: the menu
        page.get_by_role("button", name=re.compile(rf"^List {list_id} ")).click()
    page.get_by_role("button", name="Start").click()
    page.locator("input[type=text]").fill(code)
    page.get_by_role("button", name="Continue").click()
    panel = page.locator("#jspsych-image-button-response-stimulus")
    done = page.locator("#compendium-experiment-csv")
    shown = []
    while True:
        panel.or_(done).first.wait_for()
        if done.count():
            break
        layer, unit = re.search(r"panels/(\w+)-(\d+)\.png$", panel.get_attribute("src")).groups()
        page.wait_for_function(
            "() => { const i = document.querySelector('#jspsych-image-button-response-stimulus');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        shown.append((layer, int(unit)))
        yes, label = script(layer, int(unit))
        page.get_by_role("button", name="Yes" if yes else "No").click()
        if yes:
            page.locator("input[type=text]").fill(label)
            page.get_by_role("button", name="Next").click()
    on_screen = done.input_value()
    page.wait_for_timeout(200)
    assert len(downloads) == 1, f"{len(downloads)} downloads"
    path = out / downloads[0].suggested_filename
    downloads[0].save_as(path)
    page.close()
    return path, on_screen, shown, outside


def scripted(layer: str, unit: int) -> tuple[bool, str]:
    """Yes to output units, named by their class (with a comma and quotes, to test the
    CSV); yes to one fc6 unit ('shoes'); no to the rest."""
    if layer == "fc8":
        return True, f'{CLASSES[unit].lower()}, "surely"'
    if (layer, unit) == ("fc6", 20):
        return True, "shoes"
    return False, ""


def cautious(layer: str, unit: int) -> tuple[bool, str]:
    """Yes to output units only, with the class's plain name."""
    return (True, CLASSES[unit]) if layer == "fc8" else (False, "")


@pytest.mark.slow
@pytest.mark.browser
def test_browser_experiment_gives_table1_of_the_scripted_answers(
    browser, experiment_folder, served, tmp_path
):
    design = _design()
    files = []
    for code, url, base, list_id, script in (
        ("P01", f"{served}/index.html?list=0", served, None, scripted),
        ("P02", f"{served}/index.html?list=1", served, None, cautious),
        ("P03", (experiment_folder / "index.html").as_uri(), "file://", 1, scripted),
        ("P04", (experiment_folder / "index.html").as_uri() + "?list=0", "file://", None, cautious),
    ):
        path, on_screen, shown, outside = take_part(
            browser, url, base, code, script, tmp_path, list_id
        )
        assert outside == [], f"requests left the machine: {outside}"
        assert path.read_text() == on_screen
        chosen = 1 if list_id is not None else int(url.rsplit("=", 1)[1])
        expected = design.lists[design.lists["list"] == chosen]
        assert sorted(shown) == sorted(map(tuple, expected[["layer", "unit"]].values.tolist()))
        files.append((code, chosen, shown, path))
    # Different codes see the same list in different orders (P01 and P04 saw list 0).
    assert files[0][2] != files[3][2] or len(files[0][2]) < 3
    answers = pd.concat(
        [behaviour.read_responses(path, _classes()) for *_, path in files], ignore_index=True
    )
    truth = []
    for code, chosen, shown, _ in files:
        script = scripted if code in ("P01", "P03") else cautious
        for layer, unit in shown:
            yes, label = script(layer, unit)
            truth.append((code, chosen, layer, unit, "yes" if yes else "no", label))
    expected = behaviour.check_responses(_answers(truth), _classes())
    key = ["participant", "layer", "unit"]
    pd.testing.assert_frame_equal(
        answers.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
    )
    synonyms = behaviour.default_synonyms(CLASSES)
    table = behaviour.table1(answers, _classes(), synonyms)
    assert table.loc["fc8", "yes"] == 100 and table.loc["conv5", "yes"] == 0
    assert table.loc["fc8", "overlap_top_class"] == 100
    assert table.loc["fc6", "yes"] == pytest.approx(100 * 2 / 12)  # fc6 20: 2 of 4 judges
    assert table.loc["fc6", "participants"] == 4 and table["responses"].sum() == 14
    pd.testing.assert_frame_equal(table, behaviour.table1(expected, _classes(), synonyms))


def example_script(class_names: list[str]) -> Callable[[str], Script]:
    """The answers behind the shipped example file, per participant."""

    def for_participant(code: str) -> Script:
        def answer(layer: str, unit: int) -> tuple[bool, str]:
            if layer == "fc8":
                return True, class_names[unit].lower()
            if layer == "fc6" and code == "scripted-1":
                return True, "shoe"
            return False, ""

        return answer

    return for_participant


@pytest.mark.slow
@pytest.mark.browser
def test_example_responses_come_from_the_smoke_experiment(browser, tmp_path):
    """The shipped example is what two scripted participants give on the smoke profile's
    page. ``COMPENDIUM_WRITE_EXAMPLE=1`` writes it anew (after the lists change)."""
    from compendium.activations.reader import open_activations
    from compendium.build import stages
    from compendium.chapters import activation_maximisation as chapter
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES

    folder = site.write_profile_experiment("smoke", tmp_path / "smoke", n_lists=1)
    script = example_script(list(FASHION_MNIST_CLASSES))
    parts = []
    for code in ("scripted-1", "scripted-2"):
        path, _, _, outside = take_part(
            browser,
            (folder / "index.html").as_uri() + "?list=0",
            "file://",
            code,
            script(code),
            tmp_path,
        )
        assert outside == []
        parts.append(pd.read_csv(path, dtype=str, keep_default_na=False))
    made = pd.concat(parts, ignore_index=True).sort_values(["participant", "layer", "unit"])
    settings = site.chapter_settings("smoke")
    with open_activations(stages.chapter_store("smoke")) as store:
        chosen = chapter.choose_units(store, settings["layers"], settings["units"], seed=0)
        classes = chapter.unit_classes(store, chosen)
    target = chapter_experiment.example_responses()
    if os.environ.get("COMPENDIUM_WRITE_EXAMPLE") == "1":
        write_table(made, target, index=False)
    shipped = pd.read_csv(target, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(shipped, made.reset_index(drop=True))
    found = chapter_experiment.table1_from_responses(
        target, classes, list(FASHION_MNIST_CLASSES), layers=settings["layers"]
    )
    assert found.table.loc["fc8", "yes"] == 100 and found.table.loc["conv5", "yes"] == 0
    assert found.table.loc["fc6", "yes"] == 50  # scripted-1 says yes to fc6, scripted-2 no
