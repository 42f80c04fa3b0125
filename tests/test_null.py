"""The permutation null (compendium.measures.null): its p-values are those of explicit
`unit_measures` calls on the same shuffles; planted selectivity is found and pure noise is
not; it is deterministic, streams like `unit_measures`, and refuses what it cannot do."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from helpers import merged_example, write_merged_layer

from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.build.cli import main
from compendium.measures import (
    MeasureInputError,
    NullInputError,
    benjamini_hochberg,
    null_measures,
    permutation_null,
    unit_measures,
)
from compendium.measures.null import p_values
from compendium.measures.tables import null_layers


def awkward_layer(seed: int = 0, n_images: int = 240, n_classes: int = 4) -> tuple:
    """Activations with what the kernel treats specially: exact zeros (most of a unit),
    ties, a dead unit, a unit with two active images, negative values, integers."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n_images)
    x = np.maximum(rng.normal(-0.4, 1, (n_images, 9)), 0).astype(np.float32)
    x[:, 1] = np.round(x[:, 1], 1)  # runs of equal values
    x[:, 2] = 0  # dead
    x[:, 3] = 0
    x[[5, 9], 3] = [1.5, 2.5]  # two active images
    x[:, 4] = rng.normal(size=n_images)  # negative values, no zeros
    x[:, 5] = rng.integers(0, 4, n_images)  # few distinct values
    x[:, 6] += 2 * (labels == 1)  # selective for class 1
    return x, labels


def explicit_p_values(x, labels, k, seed, top=(60, 100)) -> pd.DataFrame:
    """The spec's p-values from K separate `unit_measures` calls, each on labels shuffled
    by ``numpy.random.default_rng([seed, k]).permutation``."""
    observed = unit_measures(x, labels, top=top)
    nulls = [
        unit_measures(x, np.random.default_rng([seed, j]).permutation(labels), top=top)
        for j in range(k)
    ]
    columns = {}
    for measure, direction in null_measures(top).items():
        obs = observed[measure].to_numpy(float)
        null = np.stack([t[measure].to_numpy(float) for t in nulls], axis=1)
        beyond = null >= obs[:, None] if direction > 0 else null <= obs[:, None]
        columns[measure] = np.where(np.isnan(obs), np.nan, (1 + beyond.sum(axis=1)) / (k + 1))
    return pd.DataFrame(columns, index=observed.index)


# --- exactness ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_p_values_equal_those_of_explicit_calls_on_the_same_shuffles(seed):
    x, labels = awkward_layer(seed)
    null = permutation_null(x, labels, n_permutations=15, seed=seed + 7)
    expected = explicit_p_values(x, labels, 15, seed + 7)
    pd.testing.assert_frame_equal(null.p_values, expected, check_exact=True)


def test_the_observed_table_and_every_null_value_are_those_of_unit_measures():
    x, labels = awkward_layer(2)
    null = permutation_null(x, labels, n_permutations=6, seed=3, top=(20, 50))
    pd.testing.assert_frame_equal(null.observed, unit_measures(x, labels, top=(20, 50)))
    for k in range(6):
        shuffled = np.random.default_rng([3, k]).permutation(labels)
        table = unit_measures(x, shuffled, top=(20, 50))
        for measure in null.measures:
            np.testing.assert_allclose(
                null.null[measure][:, k], table[measure], rtol=1e-12, atol=1e-12
            )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_column_read_off_one_ranking_equals_unit_measures_for_any_labels(seed):
    x, labels = awkward_layer(seed, n_images=200, n_classes=5)
    for k in range(3):
        shuffled = np.random.default_rng([seed, k]).permutation(labels)
        observed = permutation_null(x, shuffled, n_permutations=1).observed
        pd.testing.assert_frame_equal(observed, unit_measures(x, shuffled))


def test_a_shortened_head_gives_the_same_recall_and_precision():
    # With 600 images a class, the head holds 633 ranks; shuffled labels need a few dozen.
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(5), 600)
    x = np.maximum(rng.normal(-0.3, 1, (labels.size, 6)), 0).astype(np.float32)
    x[:, 1] += 3 * (labels == 2)  # the identity row needs the whole head
    x[:, 2] = np.round(x[:, 2], 1)  # long runs of equal values
    x[:700, 3] += 5.0  # the first 700 images (classes 0 and 1) on top
    null = permutation_null(x, labels, n_permutations=6, seed=2)
    pd.testing.assert_frame_equal(null.observed, unit_measures(x, labels))
    for k in range(6):
        table = unit_measures(x, np.random.default_rng([2, k]).permutation(labels))
        for measure in ("recall_p95", "recall_p100", "precision_60", "precision_100"):
            np.testing.assert_array_equal(null.null[measure][:, k], table[measure], measure)


def test_torch_on_the_cpu_gives_the_same_p_values():
    pytest.importorskip("torch")
    x, labels = awkward_layer(3)
    numpy_null = permutation_null(x, labels, n_permutations=10, seed=1)
    torch_null = permutation_null(
        x, labels, n_permutations=10, seed=1, backend="torch", device="cpu"
    )
    pd.testing.assert_frame_equal(torch_null.p_values, numpy_null.p_values, check_exact=True)
    pd.testing.assert_frame_equal(torch_null.observed, numpy_null.observed, rtol=1e-10)


def test_workers_budgets_and_hdf5_do_not_change_the_result(tmp_path):
    x, labels = awkward_layer(4, n_images=300)
    reference = permutation_null(x, labels, n_permutations=12, workers=1)
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=x, chunks=(300, 2))
    tight = 2_000_000  # a slab of a few units, a few label sets at a time
    with h5py.File(path) as f:
        for source, options in (
            (x, {"workers": 3}),
            (x, {"memory_bytes": tight, "workers": 2}),
            (f["x"], {"memory_bytes": tight}),
        ):
            other = permutation_null(source, labels, n_permutations=12, **options)
            pd.testing.assert_frame_equal(other.p_values, reference.p_values, check_exact=True)
            for measure in reference.measures:
                np.testing.assert_array_equal(other.null[measure], reference.null[measure])


# --- what it finds ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noise_and_a_planted_unit():
    rng = np.random.default_rng(11)
    labels = np.repeat(np.arange(5), 60)
    x = rng.normal(size=(labels.size, 120))
    x[:, 0] = (labels == 2) * 3.0 + rng.normal(0, 0.3, labels.size)  # selective for class 2
    return labels, permutation_null(x, labels, n_permutations=19, seed=5)


def test_a_planted_selective_unit_gets_the_smallest_p_and_survives_bh():
    # BH passes one unit among m when p <= q / m: here 1/300 <= .05 / 10.
    rng = np.random.default_rng(12)
    labels = np.repeat(np.arange(5), 60)
    x = rng.normal(size=(labels.size, 10))
    x[:, 3] = (labels == 2) * 3.0 + rng.normal(0, 0.3, labels.size)  # selective for class 2
    p = permutation_null(x, labels, n_permutations=299, seed=5).p_values
    for measure in ("precision_60", "ccmas", "max_informedness", "recall_p95", "mi_false_alarm"):
        assert p.loc[3, measure] == pytest.approx(1 / 300), measure
        assert benjamini_hochberg(p[measure]).tolist() == [i == 3 for i in range(10)], measure


def test_noise_units_have_p_values_near_uniform(noise_and_a_planted_unit):
    _, null = noise_and_a_planted_unit
    noise = null.p_values.iloc[1:]
    # p is uniform on 1/20, 2/20, ..., 1 for a continuous measure: mean 21/40.
    for measure in ("ccmas", "ccmas_classmean", "max_informedness", "localist_gap"):
        assert abs(noise[measure].mean() - 21 / 40) < 0.06, measure
    assert noise.to_numpy().min() >= 1 / 20 and noise.to_numpy().max() <= 1


def test_noise_has_almost_no_bh_survivors(noise_and_a_planted_unit):
    _, null = noise_and_a_planted_unit
    noise = null.p_values.iloc[1:]
    counts = {m: int(benjamini_hochberg(noise[m]).sum()) for m in null.measures}
    assert max(counts.values()) <= 2, counts


def test_the_band_and_summary_describe_the_null(noise_and_a_planted_unit):
    labels, null = noise_and_a_planted_unit
    band = null.band()
    assert list(band.columns) == ["low", "median", "high"]
    assert (band["low"] <= band["median"]).all() and (band["median"] <= band["high"]).all()
    chance = band.loc["precision_60"]
    assert 1 / 5 <= chance["median"] < chance["high"] < 0.5  # above 1/C: the top picks a class
    summary = null.summary()
    assert len(summary) == 120 * len(null.measures)
    row = summary[(summary.unit == 0) & (summary.measure == "ccmas")].iloc[0]
    assert row.observed > row.null_high and row.p == pytest.approx(1 / 20)


def test_p_values_turn_round_for_measures_where_lower_is_more_selective():
    observed = np.array([0.5, 0.5, np.nan])
    null = np.array([[0.1, 0.6, 0.5], [0.7, 0.8, 0.9], [0.1, 0.2, 0.3]])
    np.testing.assert_array_equal(p_values(observed, null, 1), [3 / 4, 4 / 4, np.nan])
    np.testing.assert_array_equal(p_values(observed, null, -1), [3 / 4, 1 / 4, np.nan])
    assert null_measures()["mi_false_alarm"] == -1 and null_measures()["ccmas"] == 1


def test_benjamini_hochberg_steps_up():
    p = np.array([0.03, 0.01, 0.036, 0.2, np.nan])
    # sorted .01, .03, .036, .2 against .05 * (1, 2, 3, 4) / 4 = .0125, .025, .0375, .05:
    # .03 alone fails, but the step-up rejects every p up to the largest that passes (.036)
    np.testing.assert_array_equal(benjamini_hochberg(p), [True, True, True, False, False])
    assert not benjamini_hochberg(np.array([0.02, 0.9]), q=0.01).any()
    with pytest.raises(NullInputError, match="between 0 and 1"):
        benjamini_hochberg(p, q=5)


# --- determinism and bad input ------------------------------------------------------------


def test_the_same_seed_gives_the_same_table_and_another_seed_another():
    x, labels = awkward_layer(5)
    first = permutation_null(x, labels, n_permutations=8, seed=4).table()
    pd.testing.assert_frame_equal(
        permutation_null(x, labels, n_permutations=8, seed=4).table(), first, check_exact=True
    )
    other = permutation_null(x, labels, n_permutations=8, seed=5).table()
    assert not other["ccmas_p"].equals(first["ccmas_p"])
    assert [c for c in first.columns if c.endswith("_p")] == [f"{m}_p" for m in null_measures()]


@pytest.mark.parametrize("k", [0, -3, 2.5, True, "100"])
def test_a_number_of_permutations_below_one_is_refused(k):
    x, labels = awkward_layer()
    with pytest.raises(NullInputError, match="n_permutations must be a whole number"):
        permutation_null(x, labels, n_permutations=k)


def test_more_permutations_than_the_budget_holds_are_refused_naming_the_budget():
    x, labels = awkward_layer()
    with pytest.raises(NullInputError, match=r"memory budget of 1,000,000 bytes") as error:
        permutation_null(x, labels, n_permutations=5000, memory_bytes=1_000_000)
    assert "--memory" in str(error.value) and "n_permutations=" in str(error.value)


def test_more_images_than_the_integer_keys_hold_are_refused(monkeypatch):
    from compendium.measures import null as null_module

    x, labels = awkward_layer()
    monkeypatch.setattr(null_module, "MAX_NULL_IMAGES", 100)
    with pytest.raises(NullInputError, match="at most 100 images; got 240"):
        permutation_null(x, labels, n_permutations=5)


def test_labels_of_one_class_and_bad_seeds_are_refused():
    x, _ = awkward_layer()
    with pytest.raises(MeasureInputError, match="at least 2 classes"):
        permutation_null(x, np.zeros(len(x), int), n_permutations=5)
    with pytest.raises(NullInputError, match="seed must be a whole number"):
        permutation_null(x, np.arange(len(x)) % 3, n_permutations=5, seed=-1)


# --- files and the command line -----------------------------------------------------------


@pytest.fixture
def compendium_file(tmp_path):
    x, labels = awkward_layer(6, n_images=200)
    path = tmp_path / "acts.h5"
    specs = [LayerSpec("fc6", x.shape[1])]
    with ActivationWriter(
        path, specs, list("ABCD"), {"model": "test", "dataset": "generated"}
    ) as writer:
        writer.append({"fc6": {"max": x}}, labels, np.arange(labels.size))
        writer.finish()
    return path, x, labels


def test_null_layers_is_cached_and_gives_the_layer_band(compendium_file, tmp_path):
    path, x, labels = compendium_file
    first = null_layers(path, n_permutations=9, seed=2, cache_dir=tmp_path / "cache")
    again = null_layers(path, n_permutations=9, seed=2, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.csv"))) == 2
    pd.testing.assert_frame_equal(again.table, first.table, rtol=1e-12)
    expected = permutation_null(x, labels, n_permutations=9, seed=2).p_values
    np.testing.assert_array_equal(first.table["ccmas_p"], expected["ccmas"])
    assert set(first.band["layer"]) == {"fc6"} and "mean" in first.band.columns


def test_the_cli_adds_p_value_columns_for_our_files(compendium_file, tmp_path):
    path, x, labels = compendium_file
    out = tmp_path / "table.csv"
    assert main(["measures", str(path), "--out", str(out), "--permutations", "9"]) == 0
    table = pd.read_csv(out)
    expected = permutation_null(x, labels, n_permutations=9).table()
    assert list(table.columns) == ["layer", "unit", *expected.columns]
    np.testing.assert_array_equal(table["max_informedness_p"], expected["max_informedness_p"])


def test_the_cli_adds_p_value_columns_for_the_authors_files(tmp_path):
    lines, per_class = merged_example(np.random.default_rng(1), n_units=5, counts=(40, 50, 30))
    path = write_merged_layer(tmp_path / "AN_merged_fc7_max.h5", per_class, lines)
    out = tmp_path / "fc7.csv"
    argv = ["measures", str(path), "--out", str(out), "--permutations", "5"]
    assert main([*argv, "--permutation-seed", "3"]) == 0
    table = pd.read_csv(out)
    assert len(table) == 5 and table["ccmas_p"].between(1 / 6, 1).all()
    assert set(table["ccmas_class"]) <= {2, 4, 7}  # the classes keep their numbers


def test_the_cli_refuses_bad_permutation_counts(compendium_file, tmp_path, capsys):
    path, _, _ = compendium_file
    with pytest.raises(SystemExit):
        main(["measures", str(path), "--out", str(tmp_path / "t.csv"), "--permutations", "0"])
    assert "--permutations takes a whole number >= 1" in capsys.readouterr().err


def test_the_working_memory_stays_within_the_budget():
    import tracemalloc

    rng = np.random.default_rng(8)
    labels = np.repeat(np.arange(4), 500)
    x = np.maximum(rng.normal(-0.2, 1, (labels.size, 40)), 0).astype(np.float32)
    budget = 8_000_000
    tracemalloc.start()
    try:
        permutation_null(x, labels, n_permutations=50, memory_bytes=budget, workers=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= budget


def test_units_that_never_change_are_left_out_of_the_band():
    x, labels = awkward_layer(9)  # unit 2 is dead: the same value for every image
    null = permutation_null(x, labels, n_permutations=10)
    assert null.constant.tolist() == [i == 2 for i in range(x.shape[1])]
    without = permutation_null(np.delete(x, 2, axis=1), labels, n_permutations=10)
    pd.testing.assert_frame_equal(null.band(), without.band())
    torch_null = permutation_null(x, labels, n_permutations=10, backend="torch", device="cpu")
    assert torch_null.constant.tolist() == null.constant.tolist()
