"""The authors' code re-implemented (compendium.measures.authors_code) and the appendix that
quantifies it (compendium.chapters.authors_code): each fact of the spec on hand-made data
whose answer the spec's description fixes, the spec's way against `unit_measures`, the
authors' way against a plain loop over units, and the summary table on small random data."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.chapters import authors_code as chapter
from compendium.chapters import paper
from compendium.measures import authors_code as ac
from compendium.measures import tables, unit_measures
from compendium.util.errors import CompendiumError

# The spec's worked example: ten images in descending activation, classes A=0, B=1, C=2.
EXAMPLE_X = np.array([9, 7, 6, 5, 4, 3, 2, 1, 0, 0], dtype=float)
EXAMPLE_Y = np.array([0, 0, 1, 0, 2, 1, 0, 1, 2, 1])


def tied_layer(rng, n_images=240, n_units=30, n_classes=4):
    """Small integer activations, half of them exact zeros: many ties, some dead units."""
    labels = rng.integers(0, n_classes, n_images)
    x = rng.integers(0, 6, (n_images, n_units)).astype(np.float32)
    x *= rng.random((n_images, n_units)) < 0.5
    x[:, :2] = 0  # two dead units
    x[:, 2] += 3 * (labels == 1)  # a unit that prefers class 1
    return x, labels


# --- the spec's way is the package's ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_the_spec_way_gives_the_numbers_of_unit_measures(seed):
    x, y = tied_layer(np.random.default_rng(seed))
    expected = unit_measures(x, y, 4, top=(10, 50), progress=False)
    got = ac.measure_ways(x, y, 4, {"spec": ac.SPEC}, top=(10, 50))["spec"]
    for column in got.columns.intersection(expected.columns):
        np.testing.assert_allclose(
            got[column].astype(float), expected[column].astype(float), atol=1e-12, err_msg=column
        )


def test_the_worked_example_the_spec_way_and_the_authors_way():
    spec = ac.measure_ways(EXAMPLE_X, EXAMPLE_Y, ways={"s": ac.SPEC}, top=(5,))["s"].iloc[0]
    assert spec.recall_p100 == 0.5 and spec.recall_p95 == 0.5
    assert spec.max_informedness == pytest.approx(7 / 12) and spec.mi_threshold == 5
    authors = ac.authors_measures(EXAMPLE_X, EXAMPLE_Y, top=(5,)).iloc[0]
    assert authors.recall_p100 == 0.25  # 1 / N_A
    assert authors.recall_p95 == 0.5  # two A's, then a B: precision 2/3 at rank 3
    # TP/N_A - FP/N: A at threshold 2 has TP 4, FP 3 -> 1 - 3/10
    assert authors.max_informedness == pytest.approx(0.7) and authors.mi_threshold == 2
    assert authors.mi_specificity == pytest.approx(0.7) and authors.mi_fpr == pytest.approx(0.3)


# --- fact 1 ------------------------------------------------------------------------------


def test_fact_1_recall_at_perfect_precision_is_one_over_the_class_size():
    y = np.array([0] * 4 + [1] * 6)
    localist = np.array([9, 8, 7, 6, 1, 1, 1, 0, 0, 0], dtype=float)
    b_first = np.array([1, 2, 3, 4, 9, 8, 0, 0, 0, 0], dtype=float)  # two B's above every A
    x = np.stack([localist, b_first], axis=1)
    spec = unit_measures(x, y, progress=False, top=(5,))
    assert spec.recall_p100.tolist() == [1.0, 2 / 6]
    got = ac.recall_p100_first_rank(x, y)
    assert got.tolist() == [1 / 4, 1 / 6]  # the first rank is all that counts


def test_fact_1_gives_zero_for_a_scanned_class_that_is_not_at_rank_1():
    # 12 classes; rank 1 is class 11; ranks 2-100 cycle through 0..10, so the ten classes met
    # walking up from rank 100 leave class 11 out.
    n = 130
    y = np.concatenate([[11], np.arange(99) % 11, np.full(n - 100, 11)])
    x = np.arange(n, 0, -1, dtype=float)
    way = ac.Way(recall_p100="first_rank", classes="scanned")
    got = ac.measure_ways(x, y, 12, {"w": way})["w"].iloc[0]
    assert not got.top_class_scanned and got.n_scanned_classes == 10
    assert got.recall_p100 == 0.0


# --- fact 2 ------------------------------------------------------------------------------


def test_fact_2_a_unit_that_never_drops_scores_zero_instead_of_one():
    y = np.array([0] * 5 + [1] * 5)
    x = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], dtype=float)
    assert unit_measures(x[:, None], y, top=(5,), progress=False).recall_p95.item() == 1.0
    assert ac.recall_p95_first_drop(x, y).item() == 0.0


def test_fact_2_the_first_drop_is_never_revised():
    # 40 A's: ten, then a B (precision 10/11 <= .95), then thirty more; the rest B.
    y = np.array([0] * 10 + [1] + [0] * 30 + [1] * 59)
    x = np.arange(y.size, 0, -1, dtype=float)
    assert unit_measures(x[:, None], y, progress=False).recall_p95.item() == 1.0  # 40 / 41
    assert ac.recall_p95_first_drop(x, y).item() == 0.25


# --- fact 3 ------------------------------------------------------------------------------


def test_fact_3_specificity_divides_false_positives_by_every_image():
    got = ac.informedness_fp_over_n(EXAMPLE_X, EXAMPLE_Y).iloc[0]
    assert got.mi_class == 0 and got.mi_threshold == 2
    assert got.mi_recall == 1.0 and got.mi_specificity == pytest.approx(1 - 3 / 10)
    assert got.mi_false_alarm == pytest.approx(3 / 7)
    spec = unit_measures(EXAMPLE_X[:, None], EXAMPLE_Y, top=(5,), progress=False).iloc[0]
    assert spec.mi_specificity == pytest.approx(5 / 6)  # 1 - 1/6 at threshold 5


# --- fact 4 ------------------------------------------------------------------------------


def _seed_with(before: bool) -> int:
    """A seed whose permutation puts image 0 before image 1 (or after it)."""
    for seed in range(100):
        perm = list(np.random.default_rng(seed).permutation(4))
        if (perm.index(0) < perm.index(1)) == before:
            return seed
    raise AssertionError("no such seed")


@pytest.mark.parametrize("a_first", [True, False])
def test_fact_4_ties_are_split_by_the_sort_order(a_first):
    # images 0 (class A) and 1 (class B) tie at the top
    x = np.array([1, 1, 0, 0], dtype=float)
    y = np.array([0, 1, 0, 1])
    spec = unit_measures(x[:, None], y, top=(2,), progress=False).iloc[0]
    assert spec.top_class == 0 and spec.recall_p100 == 0.0  # tied images fall together
    got = ac.rank_threshold_measures(x, y, seed=_seed_with(a_first), top=(2,)).iloc[0]
    assert got.top_class == (0 if a_first else 1)
    assert got.recall_p100 == 0.5  # whichever comes first is alone above the next rank
    assert got.n_tied == 4


def _brute_authors(x: np.ndarray, y: np.ndarray, seed: int, top: int) -> pd.DataFrame:
    """Facts 1-5 as a plain loop over units, ranks and classes, in exact fractions."""
    n = y.size
    place = np.argsort(np.random.default_rng(seed).permutation(n))  # place of each image
    size = np.bincount(y)
    rows = []
    for column in x.T:
        order = sorted(range(n), key=lambda i: (-column[i], place[i]))
        ranked = y[order]
        scanned: list[int] = []
        for label in ranked[: min(100, n)][::-1]:
            if label not in scanned and len(scanned) < 10:
                scanned.append(int(label))
        best = None
        for k in range(1, n + 1):
            for c in sorted(scanned):
                tp = int((ranked[:k] == c).sum())
                score = Fraction(tp, size[c]) - Fraction(k - tp, n)
                if best is None or score > best[0]:
                    best = (score, c, tp, k)
        p95 = []
        for c in scanned:
            last, tp, recall = max(np.flatnonzero(ranked == c)), 0, 0
            for k in range(last + 1):
                tp += ranked[k] == c
                if 20 * tp <= 19 * (k + 1):
                    recall = Fraction(int(tp), size[c])
                    break
            p95.append(recall)
        score, c, tp, k = best
        rows.append(
            {
                "precision": max((ranked[:top] == c).sum() for c in scanned) / top,
                "recall_p100": max(Fraction(int(ranked[0] == c), size[c]) for c in scanned),
                "recall_p95": max(p95),
                "max_informedness": score,
                "mi_class": c,
                "mi_specificity": 1 - Fraction(k - tp, n),
            }
        )
    return pd.DataFrame(rows).astype(float)


@pytest.mark.parametrize("seed", [0, 1])
def test_facts_1_to_5_together_match_a_plain_loop(seed):
    rng = np.random.default_rng(10 + seed)
    y = rng.integers(0, 14, 120)
    x = (rng.integers(0, 5, (120, 6)) * (rng.random((120, 6)) < 0.6)).astype(float)
    x[:, 0] += 4 * (y == 3)
    got = ac.authors_measures(x, y, 14, top=(20, 100), seed=seed)
    expected = _brute_authors(x, y, seed, top=20)
    np.testing.assert_allclose(got.precision_20, expected.precision)
    for column in ("recall_p100", "recall_p95", "max_informedness", "mi_specificity"):
        np.testing.assert_allclose(got[column], expected[column], err_msg=column)
    assert got.mi_class.tolist() == expected.mi_class.astype(int).tolist()


# --- fact 5 ------------------------------------------------------------------------------


def test_fact_5_scans_up_from_rank_100_and_keeps_the_first_ten_classes():
    ranked = np.array([[5, 1, 2, 1, 3, 9, 9], [4, 4, 4, 4, 4, 4, 4]])
    got = ac.scanned_classes(ranked, start=5, count=2)
    assert got.tolist() == [[3, 1], [4, -1]]  # ranks 5, 4, 3, ... = 3, 1, 2, 1, 5
    assert ac.scanned_classes(ranked, start=50, count=10)[0].tolist()[:5] == [9, 3, 1, 2, 5]


def test_fact_5_a_class_outside_the_top_100_cannot_be_the_best():
    # classes 0 and 1 alternate in the top 100 and at the bottom; class 2 (20 images) ranks
    # 101-120: it is the best-informed class (.5), but the scan meets only 0 and 1
    y = np.concatenate([np.arange(100) % 2, np.full(20, 2), np.arange(100) % 2])
    x = np.arange(y.size, 0, -1, dtype=float)
    spec = unit_measures(x[:, None], y, progress=False).iloc[0]
    got = ac.scanned_class_measures(x, y).iloc[0]
    assert spec.mi_class == 2 and spec.max_informedness == pytest.approx(0.5)
    assert got.n_scanned_classes == 2 and got.mi_class in (0, 1)
    assert got.max_informedness == pytest.approx(0.5 - 49 / 120)  # class 0 at rank 99


# --- facts 6, 7 and 8 ----------------------------------------------------------------------


def test_fact_6_pooled_and_class_mean_ccmas():
    got = ac.ccmas_ways(EXAMPLE_X, EXAMPLE_Y).iloc[0]
    assert got.ccmas == pytest.approx(0.4227, abs=1e-4)
    assert got.ccmas_classmean == pytest.approx(0.4375)
    balanced = ac.ccmas_ways(np.arange(12.0), np.repeat([0, 1, 2], 4)).iloc[0]
    assert balanced.ccmas == pytest.approx(balanced.ccmas_classmean)  # equal class sizes
    dead = ac.ccmas_ways(np.zeros(4), np.array([0, 0, 1, 1]))
    assert dead.ccmas.isna().all() and dead.ccmas_classmean.isna().all()


def test_fact_7_spatial_maximum_and_mean():
    maps = np.zeros((2, 1, 2, 2))
    maps[0, 0] = [[4, 0], [0, 0]]
    maps[1, 0] = [[1, 1], [1, 1]]
    assert ac.spatial_summary(maps, "max")[:, 0].tolist() == [4, 1]
    assert ac.spatial_summary(maps, "mean")[:, 0].tolist() == [1, 1]  # the order is lost
    with pytest.raises(CompendiumError, match="n_images, n_units, H, W"):
        ac.spatial_summary(maps[:, 0])
    with pytest.raises(CompendiumError, match="'max' or 'mean'"):
        ac.spatial_summary(maps, "median")


def test_fact_8_hard_coded_classes_and_the_last_that_passes():
    y = np.array([0, 0, 5, 5, 7, 7])
    localist = np.array([0, 1, 8, 9, 2, 3], dtype=float)  # class 5 above the rest
    mixed = np.array([0, 9, 8, 1, 2, 3], dtype=float)
    x = np.stack([localist, mixed], axis=1)
    skip = ac.localist_hardcoded(x, y, n_classes=10, empty="skip")
    assert skip.localist.tolist() == [True, False] and skip.localist_class.tolist() == [5, -1]
    vacuous = ac.localist_hardcoded(x, y, n_classes=10)
    assert vacuous.localist.all() and vacuous.localist_class.tolist() == [9, 9]
    full = ac.localist_hardcoded(x, y, n_classes=8)  # class 7 has images and fails
    assert full.localist_class.tolist() == [6, 6]  # 6 is the last empty class
    dense = ac.localist_hardcoded(x, np.array([0, 0, 1, 1, 2, 2]), n_classes=3)
    assert dense.localist_class.tolist() == [1, -1]  # every class present: the spec's
    spec = unit_measures(x, np.array([0, 0, 1, 1, 2, 2]), progress=False, top=(2,))
    assert dense.localist.tolist() == spec.localist.tolist()


# --- the machinery ---------------------------------------------------------------------------


def test_blocks_of_units_give_the_same_tables():
    x, y = tied_layer(np.random.default_rng(5))
    whole = ac.measure_ways(x, y, 4, top=(10, 50))
    blocks = ac.measure_ways(x, y, 4, top=(10, 50), block_entries=3 * y.size)
    for name in whole:
        pd.testing.assert_frame_equal(whole[name], blocks[name])


def test_a_way_that_does_not_exist_is_refused_with_the_choices():
    with pytest.raises(CompendiumError, match=r"one of \('best', 'first_drop'\)"):
        ac.Way(recall_p95="last_drop")
    with pytest.raises(CompendiumError, match="Way"):
        ac.measure_ways(EXAMPLE_X, EXAMPLE_Y, ways={"x": "authors"}, top=(5,))


# --- the appendix's table ----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    """A small activation file: conv5 with its spatial mean, fc6 with many zeros."""
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(5), [50, 40, 45, 30, 35])
    conv = np.maximum(rng.normal(size=(labels.size, 6)) + (labels == 2)[:, None], 0)
    fc = np.maximum(rng.normal(size=(labels.size, 12)) - 0.5, 0)
    fc[:, 0] = 0  # a dead unit
    fc[:, 1] = np.round(fc[:, 1] * 2) / 2 + 2 * (labels == 4)  # ties and a preferred class
    fc[:, 2] = 0  # class 4 on top but for one image of class 0 after its fifth: a first drop
    fc[labels == 4, 2] = np.arange(35, 0, -1) + 1.0
    fc[0, 2] = 30.5
    path = tmp_path / "acts.h5"
    layers = [LayerSpec("conv5", 6, kind="conv", shape=(6, 3, 3)), LayerSpec("fc6", 12)]
    with ActivationWriter(path, layers, list("ABCDE"), {"model": "t", "dataset": "g"}) as w:
        w.append(
            {
                "conv5": {"max": conv.astype(np.float32), "mean": (conv / 3).astype(np.float32)},
                "fc6": {"max": fc.astype(np.float32)},
            },
            labels,
            np.arange(labels.size),
        )
        w.finish()
    return path, labels


def test_unit_tables_hold_every_way_for_every_unit_and_are_cached(store, tmp_path):
    path, _ = store
    selection = tables.unit_selection(path, ["conv5", "fc6"])
    units = chapter.unit_tables(path, selection, cache_dir=tmp_path / "cache")
    sizes = units.groupby("way").size()
    assert sizes["spec"] == 18 and sizes["7"] == 6  # fact 7: conv5 only
    for way in ("1", "2", "3", "4", "5", "6", "8", "8 (empty skipped)", "1-5"):
        assert sizes[way] == 18, way
    assert list((tmp_path / "cache" / "authors_code").glob("*.csv"))
    again = chapter.unit_tables(path, selection, cache_dir=tmp_path / "cache")
    pd.testing.assert_frame_equal(units, again, check_dtype=False)


def test_the_difference_table_counts_changes_and_verdict_flips(store, tmp_path):
    path, labels = store
    selection = tables.unit_selection(path, ["conv5", "fc6"])
    units = chapter.unit_tables(path, selection)
    table = chapter.difference_table(units)
    assert set(table.fact) == set(chapter.DIFFERENCES)
    row = table.set_index(["fact", "measure"]).loc[("1", "recall_p100")]
    spec = units[units.way == "spec"]
    assert row.units == 18
    assert row.changed == int(
        (spec.recall_p100 != 1 / np.bincount(labels)[spec.top_class.to_numpy(int)]).sum()
    )
    vacuous = table.set_index(["fact", "measure"]).loc[("8", "localist")]
    assert vacuous.passes_authors == 18 and vacuous.flips == 18 - vacuous.passes_spec
    skipped = table.set_index(["fact", "measure"]).loc[("8 (empty skipped)", "localist")]
    assert skipped.flips == 0
    assert (table.loc[table.fact == "7", "units"] == 6).all()
    assert chapter.value_changes(table).shape[0] == len(table)
    assert set(chapter.verdict_changes(table)["verdict"]) <= {
        v.label for v in chapter.VERDICTS.values()
    }


def test_compare_on_hand_made_values():
    index = pd.MultiIndex.from_tuples([("fc6", u) for u in range(4)], names=["layer", "unit"])
    spec = pd.Series([0.5, 0.95, np.nan, 0.2], index=index)
    other = pd.Series([0.5, 0.85, np.nan, 0.92], index=index)
    row = chapter.compare(spec, other, "max_informedness")
    assert row["changed"] == 2 and row["max_change"] == pytest.approx(0.72)
    assert row["median_change"] == pytest.approx((0.1 + 0.72) / 2)
    assert row["passes_spec"] == 1 and row["passes_authors"] == 1 and row["flips"] == 2
    classes = chapter.compare(
        pd.Series([1, 2], index=index[:2]), pd.Series([1, 3], index=index[:2]), "mi_class"
    )
    assert classes["changed"] == 1 and "median_change" not in classes


def test_the_findings_follow_the_numbers(store, tmp_path):
    path, labels = store
    selection = tables.unit_selection(path, ["conv5", "fc6"])
    units = chapter.unit_tables(path, selection)
    table = chapter.difference_table(units)
    reported = paper.reported()
    first = chapter.describe_first_rank(table, units, labels, reported)
    assert "1/N_A for 18 of the 18 units" in first and ".08" in first
    assert f"at most {int(1 / 0.08)} images" in first
    eight = chapter.describe_hardcoded(table, labels, reported)
    assert "995 have no images" in eight and "18 of the 18 units come out localist" in eight
    assert "the paper's 1,000 classes" in eight
    drop = chapter.describe_first_drop(table, units)
    row = table.set_index(["fact", "measure"]).loc[("2", "recall_p95")]
    assert row.changed >= 1 and f"for {row.changed:,} of 18 units" in drop
    assert "each time downwards" in drop
    scan = chapter.describe_scan(table, units)
    assert scan.startswith("**Fact 5.** No unit holds more than 10 classes")
    many = units.copy()
    many.loc[many.way == "spec", "n_classes_top100"] = 11
    assert "18 units hold more than 10 classes" in chapter.describe_scan(table, many)
    ties = chapter.describe_ties(table, units, labels.size)
    assert "1 unit give" in ties or "1 unit gives" in ties
    assert "conv5" in chapter.describe_spatial_mean(table, [])
    assert "only the spatial maximum of conv4" in chapter.describe_spatial_mean(table, ["conv4"])
    three = chapter.describe_fp_over_n(table, labels, reported)
    assert "0.75 to 0.85 for this run's 5 classes" in three and "0.999" in three
    for text in (
        chapter.describe_first_drop(table, units),
        chapter.describe_class_means(table, labels),
        chapter.describe_together(table),
    ):
        assert text.startswith("**Fact")


def test_best_recall_beside_the_paper(store):
    path, _ = store
    units = chapter.unit_tables(path, tables.unit_selection(path, ["conv5", "fc6"]))
    table = chapter.recall_p100_beside_paper(units, paper.reported())
    assert list(table.index) == ["conv5", "fc6"]
    assert table[("best recall_p100", "authors' code")].max() <= 1 / 30


def test_the_exercises_solutions_come_from_the_table(store):
    path, labels = store
    units = chapter.unit_tables(path, tables.unit_selection(path, ["conv5", "fc6"]))
    table = chapter.difference_table(units)
    ceiling, flips = chapter.exercises(table, labels)
    assert f"at most 1/30 = {1 / 30:.4f}" in ceiling.solution  # the smallest class: 30 images
    first = table.set_index(["fact", "measure"]).loc[("1", "recall_p100")]
    assert f"its mean is {first.mean_authors:.4f}" in ceiling.solution
    most = table.dropna(subset=["flips"]).sort_values("flips", kind="stable").iloc[-1]
    assert flips.solution.startswith(f"Fact {most.fact} on {most.measure}")
    assert f"{int(most.flips):,} of {int(most.units):,} units flip" in flips.solution
    none = int((table.dropna(subset=["flips"])["flips"] == 0).sum())
    assert f"{none:,} of the" in flips.solution
