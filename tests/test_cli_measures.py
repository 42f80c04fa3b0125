"""`compendium measures`: the table it writes, and the one-line errors it gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import synset_lines, write_merged_layer

from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.build.cli import main
from compendium.measures import COLUMNS, unit_measures


@pytest.fixture
def activation_file(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 30)
    fc = np.maximum(rng.normal(size=(labels.size, 10)), 0).astype(np.float32)
    conv = np.maximum(rng.normal(size=(labels.size, 6)), 0).astype(np.float32)
    path = tmp_path / "acts.h5"
    layers = [LayerSpec("conv5", 6, kind="conv", shape=(6, 3, 3)), LayerSpec("fc6", 10)]
    with ActivationWriter(
        path, layers, list("ABCD"), {"model": "test", "dataset": "generated"}
    ) as writer:
        writer.append(
            {"conv5": {"max": conv, "mean": conv / 2}, "fc6": {"max": fc}},
            labels,
            np.arange(labels.size),
        )
        writer.finish()
    return path, labels, {"conv5": conv, "fc6": fc}


def test_writes_one_row_per_unit_with_layer_and_unit(activation_file, tmp_path):
    path, labels, acts = activation_file
    out = tmp_path / "table.csv"
    assert main(["measures", str(path), "--out", str(out), "--layer", "fc6", "--units", "2:7"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["layer", "unit", *COLUMNS]
    assert list(table.unit) == [2, 3, 4, 5, 6] and set(table.layer) == {"fc6"}
    expected = unit_measures(acts["fc6"][:, 2:7], labels, top=(60, 100))
    np.testing.assert_allclose(table.max_informedness, expected.max_informedness)
    np.testing.assert_array_equal(table.mi_class, expected.mi_class)


def test_every_layer_when_no_layer_is_named(activation_file, tmp_path):
    path, _, _ = activation_file
    out = tmp_path / "all.csv"
    assert main(["measures", str(path), "--out", str(out)]) == 0
    assert pd.read_csv(out).groupby("layer").size().to_dict() == {"conv5": 6, "fc6": 10}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--layer", "fc9"], "has no layer 'fc9'; it has conv5, fc6"),
        (["--layer", "fc6", "--units", "5:50"], "outside layer 'fc6', which has units 0:10"),
        (["--layer", "fc6", "--summary", "mean"], "no 'mean' summary"),
    ],
)
def test_bad_requests_fail_with_one_line_and_no_table(
    activation_file, tmp_path, capsys, extra, message
):
    path, _, _ = activation_file
    out = tmp_path / "table.csv"
    assert main(["measures", str(path), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".table.csv*"))


def test_missing_and_corrupt_files(tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main(["measures", str(tmp_path / "nope.h5"), "--out", str(out)]) == 2
    assert "no activation file" in capsys.readouterr().err
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    assert main(["measures", str(junk), "--out", str(out)]) == 2
    assert "not an HDF5 file" in capsys.readouterr().err
    assert not out.exists()


def test_bad_unit_syntax_is_an_argparse_error(activation_file, tmp_path):
    path, _, _ = activation_file
    with pytest.raises(SystemExit):
        main(["measures", str(path), "--out", str(tmp_path / "t.csv"), "--units", "abc"])


def test_authors_merged_file_with_absent_classes(tmp_path):
    lines = synset_lines(10)
    rng = np.random.default_rng(1)
    per_class = {lines[i].split()[0]: rng.random((40, 5)) for i in (7, 2, 4)}
    path = write_merged_layer(tmp_path / "AN_merged_fc6_max.h5", per_class, lines)
    out = tmp_path / "t.csv"
    assert main(["measures", str(path), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert set(table.layer) == {"fc6"} and len(table) == 5
    assert set(table.top_class) <= {2, 4, 7}  # ImageNet-style class numbers kept


def test_a_layer_with_nan_leaves_no_table(tmp_path, capsys):
    lines = synset_lines(3)
    acts = {line.split()[0]: np.ones((60, 3)) for line in lines}
    acts[lines[1].split()[0]][5, 1] = np.nan
    path = write_merged_layer(tmp_path / "AN_merged_fc7_max.h5", acts, lines)
    out = tmp_path / "t.csv"
    assert main(["measures", str(path), "--out", str(out)]) == 2
    assert "NaN or infinite values in 1 unit(s), first unit 1" in capsys.readouterr().err
    assert not out.exists()
