"""The weights shipped in data/weights: they load, match their sha256, reproduce their
recorded accuracy, are used before training, are ignored when asked, and give the same
activations every time."""

from __future__ import annotations

import json
import logging
import shutil
import time

import h5py
import pytest
import torch

from compendium.build import cli, stages
from compendium.build.profiles import ROOT, Profile, load_profile
from compendium.build.shipped import profile_networks
from compendium.inputs import datasets
from compendium.networks import training
from compendium.networks.models import build_network
from compendium.networks.training import TrainConfig, evaluate, trained_model, training_split
from compendium.util.cache import SHIPPED, load_cached, shipped_dir
from compendium.util.files import file_sha256

WEIGHTS = ROOT / "data" / "weights"
README = (WEIGHTS / "README.md").read_text()
needs_fashion_mnist = pytest.mark.skipif(
    not (datasets.DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").exists()
    and not (ROOT / "data" / "cache" / "fashion-mnist").is_dir(),
    reason="Fashion-MNIST is neither in the cache nor installed (dataset-fashion-mnist)",
)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """A fresh clone: an empty cache, the repository's shipped weights."""
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("COMPENDIUM_WEIGHTS", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def fit_calls(monkeypatch):
    """Replace training by a stub that records its calls and returns untrained weights."""
    calls = []

    def stub(config, *, device="cpu", threads=None):
        calls.append(config.key)
        torch.manual_seed(0)
        fields = {"test_accuracy": 0.0, "seconds_total": 0.0, "seconds_per_epoch": 0.0}
        return build_network(config.model).eval(), fields

    monkeypatch.setattr(training, "fit", stub)
    return calls


def test_the_default_network_is_shipped_and_nothing_is_trained(empty_cache, fit_calls):
    trained = trained_model(TrainConfig())
    assert trained.shipped and trained.provenance == "shipped" and fit_calls == []
    assert trained.weights_path == shipped_dir() / "models" / f"{TrainConfig().key}.pt"
    assert file_sha256(trained.weights_path) == trained.weights_sha256
    assert trained.report["config"] == json.loads(json.dumps(TrainConfig().to_dict()))
    assert f"`{trained.weights_sha256}`" in README and trained.config.key in README
    assert not empty_cache.exists()  # nothing was written to the cache


@needs_fashion_mnist
def test_the_default_network_reproduces_its_recorded_test_accuracy(empty_cache):
    trained = trained_model(TrainConfig())
    accuracy = evaluate(trained.model, training_split("fashion-mnist", "test"))
    assert accuracy == trained.report["test_accuracy"]
    assert f"{accuracy:.4f}" in README


def _accuracy(net, network):
    from compendium.methods import recurrent

    if net.kind == "recurrent":
        return recurrent.recall_accuracy(network, recurrent.RecallConfig(**net.config))
    dataset = net.config.get("dataset", "fashion-mnist")
    return evaluate(network, training_split(dataset, "test"))


@needs_fashion_mnist
@pytest.mark.slow
def test_every_network_of_the_default_profile_is_shipped_and_reproduces_its_accuracy(
    empty_cache,
):
    nets = profile_networks(load_profile("default"))
    assert len(nets) >= 3
    began = time.perf_counter()
    for net in nets:
        entry = load_cached(net.kind, net.key, net.config, net.build)
        assert entry is not None and entry.origin == SHIPPED, net.label
        assert f"`{entry.weights_sha256}`" in README and f"{net.kind}/{net.key}.pt" in README
        recorded = entry.record.get("test_accuracy", entry.record.get("accuracy"))
        assert _accuracy(net, entry.network) == recorded, net.label
    logging.getLogger(__name__).info("checked in %.1f s", time.perf_counter() - began)


def test_what_is_shipped_stays_under_25_mb_and_is_documented():
    files = sorted(p for p in WEIGHTS.rglob("*") if p.is_file())
    assert sum(p.stat().st_size for p in files) < 25e6
    shipped = {p.relative_to(WEIGHTS).as_posix() for p in files if p.suffix == ".pt"}
    listed = {n.kind + "/" + n.key + ".pt" for n in profile_networks(load_profile("default"))}
    assert shipped == listed  # every network of the default profile, and nothing else
    for path in files:
        if path.suffix == ".pt":
            record = json.loads(path.with_suffix(".json").read_text())
            assert record["weights_sha256"] == file_sha256(path), path


def test_retrain_ignores_the_shipped_weights(empty_cache, fit_calls, capsys):
    assert cli.main(["train", "--threads", "1"]) == 0
    assert fit_calls == [] and "(shipped, sha256" in capsys.readouterr().out
    assert cli.main(["train", "--retrain", "--threads", "1"]) == 0
    assert fit_calls == [TrainConfig().key] and "(trained here" in capsys.readouterr().out
    assert (empty_cache / "models" / f"{TrainConfig().key}.pt").is_file()
    assert cli.main(["train", "--profile", "default", "--retrain"]) == 0
    assert fit_calls == [TrainConfig().key] * 2


def test_the_profile_switch_turns_shipped_weights_off(empty_cache, fit_calls, monkeypatch):
    params = load_profile("default").params
    profile = Profile("own", {**params, "train": {**params["train"], "shipped": False}})
    assert stages.profile_train_config(profile).key == TrainConfig().key
    trained = stages.profile_model(profile)
    assert fit_calls == [TrainConfig().key] and trained.provenance == "trained here"
    assert stages.profile_model(profile).origin == "cached" and len(fit_calls) == 1
    assert stages.profile_model(load_profile("default")).shipped
    with stages.shipped_switch(profile):  # what the notebooks' kernels inherit
        assert shipped_dir() is None
        assert training.load_trained(TrainConfig()).origin == "cached"
    assert shipped_dir() == WEIGHTS
    bad = Profile("bad", {**params, "train": {**params["train"], "shipped": "yes"}})
    with pytest.raises(stages.PipelineError, match="shipped must be true or false"):
        stages.uses_shipped(bad)


def test_a_damaged_shipped_file_is_passed_over_with_a_warning(
    empty_cache, tmp_path, monkeypatch, caplog
):
    from compendium.methods import observers

    spec = observers.ObserverSpec(name="x", arch="lenet", width=8, seed=3, n_train=30000)
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS / "observers", copy / "observers")
    weights = copy / "observers" / f"{spec.key}.pt"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    monkeypatch.setenv("COMPENDIUM_WEIGHTS", str(copy))
    caplog.set_level(logging.WARNING)
    build = lambda: observers.build_observer(spec)  # noqa: E731
    assert load_cached(observers.OBSERVERS, spec.key, spec.settings(), build) is None
    assert "does not match the sha256" in caplog.text
    assert weights.read_bytes() == bytes(data)  # a shipped file is never rewritten
    monkeypatch.delenv("COMPENDIUM_WEIGHTS")
    assert load_cached(observers.OBSERVERS, spec.key, spec.settings(), build).origin == SHIPPED


def test_the_banner_says_where_the_weights_come_from(empty_cache, fit_calls):
    text = stages.weights_banner("default").data
    sha = json.loads((WEIGHTS / "models" / f"{TrainConfig().key}.json").read_text())
    assert "**shipped**" in text and sha["weights_sha256"] in text
    trained_model(TrainConfig(), retrain=True)
    with stages.shipped_switch(Profile("own", {"train": {"shipped": False}})):
        assert "**trained here**" in stages.weights_banner("default").data


def _datasets(path, weights_sha256):
    """Every dataset of an HDF5 file, by name; checks the file's weights provenance."""
    found = {}

    def keep(name, item):
        if isinstance(item, h5py.Dataset):
            found[name] = item[()]

    with h5py.File(path, "r") as f:
        f.visititems(keep)
        assert f.attrs["weights_sha256"] == weights_sha256
    return found


@needs_fashion_mnist
def test_recording_the_shipped_network_twice_gives_identical_datasets(empty_cache, tmp_path):
    from compendium.activations.recording import record_small_alexnet

    trained = trained_model(TrainConfig())
    paths = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for path in paths:
        record_small_alexnet(trained, n_images=300, path=path, batch_size=128)
    first, second = (_datasets(path, trained.weights_sha256) for path in paths)
    assert sorted(first) == sorted(second) and any(n.endswith("/max") for n in first)
    for name, values in first.items():
        other = second[name]
        assert values.dtype == other.dtype and values.shape == other.shape, name
        if values.dtype.kind == "O":  # variable-length strings: compare the strings
            assert values.tolist() == other.tolist(), name
        else:
            assert values.tobytes() == other.tobytes(), name
