"""The steps before the notebooks (compendium.build.stages): caching, and early, fixable errors."""

from __future__ import annotations

import logging

import h5py
import numpy as np
import pytest
import torch
from helpers import synset_lines, write_merged_layer

from compendium.activations.reader import open_activations
from compendium.activations.writer import ActivationWriter, LayerSpec, partial_path
from compendium.build import pipeline, profiles, stages
from compendium.build import stages as steps
from compendium.build.cli import main
from compendium.build.profiles import PipelineError, Profile

#: A network small enough to train on a few hundred images in seconds.
TINY = {"widths": [4, 6, 8, 8, 5], "fc_width": 12}


def fashion_profile(**record) -> Profile:
    return Profile(
        "tiny",
        {
            "data": {"source": "fashion-mnist", "download": False},
            "train": {"model": TINY, "epochs": 1, "n_train": 256, "batch_size": 64},
            "record": {"split": "test", "keep": "all", "n_images": 120, **record},
        },
    )


def run_all(profile: Profile) -> None:
    for step in stages.PRE_NOTEBOOK_STEPS:
        step.run(profile)


def test_the_book_runs_data_train_record_in_that_order():
    assert [s.section for s in stages.PRE_NOTEBOOK_STEPS] == ["data", "train", "record"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_steps_skip_what_is_cached_and_redo_what_is_stale(cache, caplog):
    profile = fashion_profile()
    caplog.set_level(logging.INFO)
    run_all(profile)
    path = steps.store_path(profile)
    assert path.parent == cache / "activations" and path.is_file()
    with open_activations(path) as f:
        assert f.n_images == 120 and f.attrs["dataset"] == "fashion-mnist:test[:120]"
    weights = sorted((cache / "models").glob("*.pt"))
    stamps = (path.stat().st_mtime_ns, weights[0].stat().st_mtime_ns)
    caplog.clear()
    run_all(profile)  # everything is current: nothing is trained or recorded again
    assert (path.stat().st_mtime_ns, weights[0].stat().st_mtime_ns) == stamps
    assert "complete and current; skipped" in caplog.text
    assert "loaded trained model" in caplog.text
    with h5py.File(path, "r+") as f:  # as if recorded with other weights
        f.attrs["weights_sha256"] = "something else"
    caplog.clear()
    steps.record_store(profile)
    assert "recording it again" in caplog.text
    with open_activations(path) as f:
        assert f.attrs["weights_sha256"] != "something else" and f.n_images == 120


def test_store_path_depends_on_the_profile_alone(cache):
    a, b = fashion_profile(), fashion_profile(n_images=60)
    assert steps.store_path(a) == steps.store_path(fashion_profile())
    assert steps.store_path(a) != steps.store_path(b)
    assert steps.store_path(a).name.endswith("__all.h5")


def test_record_before_training_names_the_fix(cache):
    with pytest.raises(PipelineError, match="compendium train --profile tiny"):
        steps.record_store(fashion_profile())


def test_an_interrupted_recording_is_never_taken_for_finished(cache):
    profile = fashion_profile()
    path = steps.store_path(profile)
    writer = ActivationWriter(
        path, [LayerSpec("fc6", 3)], ["a", "b"], {"model": "m", "dataset": "d"}
    )
    writer.append({"fc6": {"max": np.ones((2, 3), np.float32)}}, [0, 1], [0, 1])
    writer.close()  # what an interruption leaves: only the .partial file
    assert partial_path(path).exists() and not path.exists()
    assert not steps._is_current(path, "anything")
    with pytest.raises(
        FileNotFoundError, match="interrupted recording.*compendium record --profile"
    ):
        steps.chapter_store("tiny", path)


def test_bad_sections_are_refused_with_what_they_take():
    profile = Profile("p", {"data": {"source": "fashion-mnist"}, "record": {"splitt": "test"}})
    with pytest.raises(PipelineError, match=r"unknown keys \['splitt'\].*'split'"):
        steps.store_path(profile)
    with pytest.raises(PipelineError, match="data source 'mnist' is unknown"):
        steps.source(Profile("p", {"data": {"source": "mnist"}}))
    with pytest.raises(PipelineError, match="section train: unknown training parameters"):
        steps.profile_train_config(Profile("p", {"train": {"epoch": 3}}))


def test_environment_variables_fill_in_paths(monkeypatch):
    monkeypatch.setenv("SOME_FOLDER", "/data/x")
    monkeypatch.delenv("UNSET_ONE", raising=False)
    assert profiles.expand("${SOME_FOLDER}/y", "p") == "/data/x/y"
    assert profiles.expand(["${UNSET_ONE:-DEFAULT}", 3], "p") == ["DEFAULT", 3]
    with pytest.raises(PipelineError, match="needs the environment variable UNSET_ONE"):
        profiles.expand({"a": "${UNSET_ONE}"}, "p")


# --- the profiles that need the user's data -------------------------------------------------


@pytest.mark.parametrize(
    "name, variable",
    [("alexnet-merged", "COMPENDIUM_ALEXNET_MERGED"), ("imagenet", "COMPENDIUM_IMAGENET")],
)
def test_profiles_without_their_data_stop_at_the_first_step(name, variable, monkeypatch, tmp_path):
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(
        PipelineError, match=f"needs the environment variable {variable}.*make book PROFILE={name}"
    ):
        pipeline.build_book(name, workdir=tmp_path)
    assert not (tmp_path / "book" / "generated").exists()  # no notebook ran


def test_cli_names_the_missing_variable(monkeypatch, capsys):
    monkeypatch.delenv("COMPENDIUM_ALEXNET_MERGED", raising=False)
    assert main(["record", "--profile", "alexnet-merged"]) == 2
    assert "COMPENDIUM_ALEXNET_MERGED" in capsys.readouterr().err
    assert main(["data", "--profile", "nope"]) == 2
    assert "unknown profile 'nope': choose one of" in capsys.readouterr().err


def merged_folder(tmp_path, n_units=5):
    lines = synset_lines(20)
    rng = np.random.default_rng(0)
    per_class = {lines[i].split()[0]: rng.random((4, n_units)).astype(np.float32) for i in (3, 9)}
    folder = tmp_path / "merged"
    folder.mkdir()
    for layer in ("conv5", "fc6"):
        write_merged_layer(folder / f"AN_merged_{layer}_max.h5", per_class, lines)
    return folder


def test_alexnet_merged_data_step_reads_the_folder(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("COMPENDIUM_ALEXNET_MERGED", str(merged_folder(tmp_path)))
    profile = profiles.load_profile("alexnet-merged")
    caplog.set_level(logging.INFO)
    run_all(profile)
    assert "8 images, 20 classes, layers conv5, fc6" in caplog.text
    assert "nothing to record" in caplog.text
    assert steps.store_path(profile) == tmp_path / "merged"


def test_a_truncated_authors_file_is_reported(tmp_path, monkeypatch):
    folder = merged_folder(tmp_path, n_units=2000)
    damaged = folder / "AN_merged_fc6_max.h5"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    monkeypatch.setenv("COMPENDIUM_ALEXNET_MERGED", str(folder))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        steps.prepare_data(profiles.load_profile("alexnet-merged"))


def test_alexnet_merged_without_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_ALEXNET_MERGED", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="AN_merged_<layer>_max.h5"):
        steps.prepare_data(profiles.load_profile("alexnet-merged"))


def image_folder(root, classes=("n01440764", "n04146614"), per_class=2):
    from PIL import Image

    rng = np.random.default_rng(0)
    for wnid in classes:
        (root / wnid).mkdir(parents=True)
        for k in range(per_class):
            Image.fromarray(rng.integers(0, 256, (36, 40, 3), dtype=np.uint8)).save(
                root / wnid / f"{k}.png"
            )
    return root


def test_imagenet_folder_without_images(tmp_path, monkeypatch):
    (tmp_path / "imagenet" / "n01440764").mkdir(parents=True)
    monkeypatch.setenv("COMPENDIUM_IMAGENET", str(tmp_path / "imagenet"))
    with pytest.raises(ValueError, match="holds no images"):
        steps.prepare_data(profiles.load_profile("imagenet"))


def test_imagenet_weights_that_do_not_fit(tmp_path, monkeypatch):
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "other.pt")
    monkeypatch.setenv("COMPENDIUM_IMAGENET", str(image_folder(tmp_path / "imagenet")))
    monkeypatch.setenv("COMPENDIUM_IMAGENET_WEIGHTS", str(tmp_path / "other.pt"))
    with pytest.raises(ValueError, match="does not fit torchvision's alexnet"):
        steps.train_model(profiles.load_profile("imagenet"))


def test_imagenet_record_step_records_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    params = profiles.load_profile("imagenet").params
    profile = Profile(
        "imagenet",
        {
            **params,
            "data": {**params["data"], "path": str(image_folder(tmp_path / "imagenet"))},
            "record": {
                **params["record"],
                "weights": "none",
                "keep": "all",
                "layers": ["conv5", "fc6"],
            },
        },
    )
    caplog.set_level(logging.INFO)
    run_all(profile)
    path = steps.store_path(profile)
    with open_activations(path) as f:
        assert f.layers == ["conv5", "fc6"] and f.n_images == 4
    assert "alexnet-random" in path.name
    caplog.clear()
    steps.record_store(profile)
    assert "complete and current; skipped" in caplog.text
