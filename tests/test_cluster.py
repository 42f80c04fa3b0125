"""Measures as Dask tasks equal the single-process table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.build.cli import main
from compendium.measures.cluster import measure_layer_on_cluster
from compendium.measures.tables import measure_layers


@pytest.fixture(scope="module")
def activation_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    acts = np.round(np.maximum(rng.normal(size=(200, 23)), 0), 1).astype(np.float32)
    path = tmp_path_factory.mktemp("cluster") / "acts.h5"
    with ActivationWriter(
        path, [LayerSpec("fc6", 23)], list("abcd"), {"model": "m", "dataset": "d"}
    ) as w:
        w.append({"fc6": {"max": acts}}, labels, np.arange(200))
        w.finish()
    return path


def test_local_cluster_equals_one_process(activation_file):
    on_cluster = measure_layer_on_cluster(activation_file, "fc6", units_per_task=5, n_workers=2)
    pd.testing.assert_frame_equal(on_cluster, measure_layers(activation_file, ["fc6"]))


def test_a_scheduler_that_does_not_answer(activation_file, tmp_path, capsys):
    out = tmp_path / "t.csv"
    args = ["measures", str(activation_file), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"]
    assert main(args) == 2
    assert "no Dask scheduler answers at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not out.exists()


def test_bad_task_size(activation_file):
    with pytest.raises(ValueError, match="units_per_task"):
        measure_layer_on_cluster(activation_file, "fc6", units_per_task=0)
