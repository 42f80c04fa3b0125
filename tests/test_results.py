"""Chapter 2's summaries (compendium.chapters.alexnet) and the cached measures tables
(compendium.measures.tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.chapters import alexnet as results
from compendium.measures import unit_measures
from compendium.measures.tables import measure_layers


def long_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(5), 40)
    parts = []
    for layer, n_units in (("conv5", 6), ("fc6", 9)):
        x = np.maximum(
            rng.normal(size=(labels.size, n_units)) + rng.normal(size=(5, n_units))[labels], 0
        )
        parts.append(unit_measures(x, labels).reset_index().assign(layer=layer))
    return pd.concat(parts, ignore_index=True)


def test_layer_distributions_match_pandas():
    table = long_table()
    stats = results.layer_distributions(table).set_index(["layer", "measure"])
    fc6 = table[table.layer == "fc6"]["ccmas"]
    row = stats.loc[("fc6", "ccmas")]
    assert row["n"] == 9 and row["mean"] == pytest.approx(fc6.mean())
    assert row["sem"] == pytest.approx(fc6.std() / 3) and row["q75"] == pytest.approx(
        fc6.quantile(0.75)
    )
    assert set(stats.index.get_level_values("measure")) == set(results.FIG3_PANELS)


def test_quoted_counts_count_what_they_say():
    table = long_table()
    counts = results.quoted_counts(table, threshold=0.5)
    for layer, rows in table.groupby("layer"):
        assert counts.loc[layer, "n_ccmas_above_0.5"] == (rows.ccmas > 0.5).sum()
        assert counts.loc[layer, "best_max_informedness"] == rows.max_informedness.max()
        assert counts.loc[layer, "min_mi_false_alarm"] == rows.mi_false_alarm.min()


def test_top_units_are_each_layers_best():
    table = long_table()
    top = results.top_units(table)
    for _, row in top.iterrows():
        rows = table[table.layer == row["layer"]]
        assert row["unit"] == rows.loc[rows[row["ranked by"]].idxmax(), "unit"]
    with pytest.raises(KeyError, match="layers"):
        results.top_unit(table, "ccmas", "fc9")


def test_correlations_are_pearsons_and_pairs_cover_the_triangle():
    table = long_table()
    corr = results.measure_correlations(table)
    a, b = table["precision_100"], table["recall_p95"]
    assert corr.loc["precision_100", "recall_p95"] == pytest.approx(np.corrcoef(a, b)[0, 1])
    pairs = results.correlation_pairs(corr)
    assert len(pairs) == 10 and pairs.pair.iloc[0] == "precision_100|ccmas"


def test_ccmas_vs_ccmas2_means():
    table = long_table()
    out = results.ccmas_vs_ccmas2(table)
    assert out.loc["conv5", "mean_ccmas"] == pytest.approx(
        table[table.layer == "conv5"].ccmas.mean()
    )
    assert (out["mean_ccmas"] >= out["mean_ccmas_2"]).all()


def test_measure_layers_is_cached_by_its_arguments(tmp_path):
    labels = np.repeat(np.arange(3), 40)
    acts = np.random.default_rng(0).random((120, 4)).astype(np.float32)
    path = tmp_path / "a.h5"
    with ActivationWriter(
        path, [LayerSpec("fc6", 4)], list("abc"), {"model": "m", "dataset": "d"}
    ) as w:
        w.append({"fc6": {"max": acts}}, labels, np.arange(120))
        w.finish()
    cache = tmp_path / "cache"
    first = measure_layers(path, units=slice(1, 3), cache_dir=cache)
    assert list(first.unit) == [1, 2] and len(list(cache.glob("*.csv"))) == 1
    pd.testing.assert_frame_equal(first, measure_layers(path, units=slice(1, 3), cache_dir=cache))
    measure_layers(path, cache_dir=cache)  # other arguments: another entry
    assert len(list(cache.glob("*.csv"))) == 2
