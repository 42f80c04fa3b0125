"""The detector bars counted per layer, the silent-unit policy, and the Discussion chapter's
verdicts (compendium.chapters.detectors and compendium.chapters.discussion): each sentence
must follow the numbers it is written from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_measures import relu_like

from compendium.build.pipeline import chapter_parameters
from compendium.build.profiles import load_profile
from compendium.chapters import detectors, discussion, paper
from compendium.chapters.detectors import DetectorTableError
from compendium.measures import unit_measures


def fake_table(rows: list[dict], layer: str = "fc6") -> pd.DataFrame:
    """A measures table with just the columns the bars read; every unit active unless
    `silent` is given."""
    table = pd.DataFrame(
        {
            "layer": layer,
            "unit": range(len(rows)),
            "localist": [r.get("localist", False) for r in rows],
            "detector": [r.get("detector", False) for r in rows],
            "precision_60": [r.get("precision_60", 0.2) for r in rows],
            "max_informedness": [r.get("mi", 0.3) for r in rows],
            "mi_recall": [1.0 if r.get("silent") else 0.6 for r in rows],
            "mi_specificity": [0.0 if r.get("silent") else 0.7 for r in rows],
        }
    )
    return table


def measured_network(
    x: np.ndarray, labels: np.ndarray, name: str = "net"
) -> discussion.MeasuredNetwork:
    table = unit_measures(x, labels, progress=False).reset_index().assign(layer="fc6")
    return discussion.MeasuredNetwork(
        name=name,
        chapter="02_alexnet_results",
        classes=f"{labels.max() + 1} classes",
        n_classes=int(labels.max() + 1),
        n_images=len(labels),
        images="test images",
        table=table,
        hidden=("fc6",),
    )


# --- silent units ----------------------------------------------------------------------------


def test_silent_units_are_exactly_the_constant_ones():
    rng = np.random.default_rng(0)
    x, labels = relu_like(rng, n_units=30, decimals=0)  # few values: some units near-constant
    x[:, 3] = 0.7  # constant but not zero
    x[:, 4] = 0
    x[5, 4] = 0.1  # one image above zero: not silent
    silent = detectors.silent_units(unit_measures(x, labels))
    np.testing.assert_array_equal(silent.to_numpy(), x.max(axis=0) == x.min(axis=0))
    assert silent[0] and silent[3] and not silent[4]


def test_silent_units_are_left_out_counted_and_named():
    table = pd.concat(
        [
            fake_table([{"silent": True}, {}, {}], layer="conv5"),
            fake_table([{"silent": True}, {"silent": True}, {}, {}], layer="fc6"),
        ],
        ignore_index=True,
    )
    split = detectors.leave_out_silent(table)
    assert len(split.kept) == 4 and split.n_silent == 3
    assert split.per_group().to_dict() == {"conv5": 1, "fc6": 2}
    note = split.note()
    assert note.startswith("3 silent units")
    assert "1 of conv5's 3, 2 of fc6's 4" in note and "include_silent = True" in note
    kept = detectors.leave_out_silent(table, include_silent=True)
    assert len(kept.kept) == 7 and "kept" in kept.note()
    assert detectors.leave_out_silent(fake_table([{}, {}])).note() == ""
    with pytest.raises(DetectorTableError, match="True or False"):
        detectors.leave_out_silent(table, include_silent="no")


def test_a_table_without_the_columns_is_refused_with_the_fix():
    with pytest.raises(DetectorTableError, match="measure the units again"):
        detectors.detector_counts(pd.DataFrame({"layer": ["fc6"], "precision_60": [0.5]}))


# --- the bars ----------------------------------------------------------------------------------


def test_zhou_test_is_exact_at_three_quarters():
    table = fake_table([{"precision_60": p} for p in (45 / 60, 44 / 60, 0.75000001, 1.0)])
    table.loc[2, "precision_60"] = 0.7499999999999  # 45 / 60 read back from a CSV file
    assert detectors.zhou_detector(table).tolist() == [True, False, True, True]


def test_counts_per_layer_at_each_bar():
    table = pd.concat(
        [
            fake_table(
                [
                    {"localist": True, "detector": True, "precision_60": 1.0},
                    {"detector": True, "precision_60": 0.8},
                    {"precision_60": 0.9},
                    {"silent": True, "precision_60": 1.0},  # ties decide its precision
                ],
                layer="conv5",
            ),
            fake_table([{}, {"detector": True}], layer="fc6"),
        ],
        ignore_index=True,
    )
    counts = detectors.detector_counts(table)
    assert list(counts.index) == ["conv5", "fc6"]
    assert counts.loc["conv5"].to_dict() == {
        "units": 4,
        "silent": 1,
        "counted": 3,
        "grandmother": 1,
        "detector": 2,
        "zhou": 3,
        "zhou_only": 1,
    }
    assert counts.loc["fc6", "detector"] == 1 and counts.loc["fc6", "zhou"] == 0
    with_silent = detectors.detector_counts(table, include_silent=True)
    assert with_silent.loc["conv5", "counted"] == 4 and with_silent.loc["conv5", "zhou"] == 4


def test_the_sentence_on_a_network_follows_its_counts():
    plain = fake_table([{}, {}, {}], layer="fc6")
    planted = fake_table([{"detector": True}, {}, {}], layer="fc6")
    before = detectors.describe_counts(detectors.detector_counts(plain), "net", ["fc6"])
    after = detectors.describe_counts(detectors.detector_counts(planted), "net", ["fc6"])
    assert "no unit clears the reasonable detector bar" in before
    assert "1 unit (33.3%) clears the reasonable detector bar;" in after
    two = pd.concat([planted, fake_table([{"detector": True}], layer="fc7")])
    text = detectors.describe_counts(detectors.detector_counts(two), "net", ["fc6", "fc7"])
    assert "2 units (50.0%) clear the reasonable detector bar (1 in fc6, 1 in fc7)" in text
    output = pd.concat([planted, fake_table([{"detector": True}], layer="fc8")])
    text = detectors.describe_counts(detectors.detector_counts(output), "net", ["fc6"])
    assert "Its output layer (fc8, 1 unit): 0 clear the grandmother bar, 1 the reasonable" in text


def test_a_unit_clears_a_bar_when_it_does_under_some_labeling():
    first = fake_table([{"detector": True, "mi": 0.2}, {"mi": 0.5}, {}])
    second = fake_table([{"mi": 0.9}, {"precision_60": 0.8, "mi": 0.1}, {}])
    pooled = detectors.any_labeling([first.set_index("unit"), second.set_index("unit")])
    assert pooled["detector"].tolist() == [True, False, False]
    assert pooled["zhou_detector"].tolist() == [False, True, False]
    assert pooled["labeling"].tolist() == [1, 0, 0]  # the labeling of highest informedness


# --- the Discussion's verdicts -------------------------------------------------------------


def planted_detector_data(planted: bool) -> tuple[np.ndarray, np.ndarray]:
    """A relu-like layer with every class-like unit blurred, and optionally one unit that
    clears the detector bar for class 0 without being a grandmother unit."""
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(10), 40)
    x = rng.random((400, 12)).astype(np.float32)  # unrelated to the classes
    if planted:
        x[:, 0] = np.where(labels == 0, 0.8 + 0.2 * rng.random(400), 0.0)
        x[np.flatnonzero(labels == 0)[:5], 0] = 0  # five of its class below: not localist
        x[np.flatnonzero(labels == 3)[:10], 0] = 0.9  # ten false alarms among the hits
    return x, labels


def test_the_verdict_changes_when_a_detector_is_planted():
    reported = paper.reported()
    sentences = {}
    for planted in (False, True):
        network = measured_network(*planted_detector_data(planted))
        counts = discussion.discussion_counts([network])
        assert counts.loc[("net", "fc6"), "grandmother"] == 0
        assert counts.loc[("net", "fc6"), "detector"] == int(planted)
        sentences[planted] = discussion.describe_verdict(counts, [network])
        verdicts = discussion.bar_verdicts(counts, [network], reported)
        assert len(verdicts) == 3
        assert verdicts.iloc[1, 2] == (
            "1 unit: 1 of 12 in net" if planted else "none of 12 hidden units in net"
        )
    assert sentences[False].startswith("As in the paper, no hidden unit")
    assert sentences[True].startswith("Unlike the paper's conclusion, 1 of the 12 hidden units")


def test_the_table_puts_the_papers_grandmother_counts_beside_chapter_2s_layers():
    reported = paper.reported()
    network = measured_network(*planted_detector_data(True))
    counts = discussion.discussion_counts([network])
    table = discussion.discussion_table(counts, [network], reported)
    paper_value = reported[(reported["measure"] == "n_localist") & (reported["layer"] == "fc6")]
    column = "paper: grandmother units"
    assert table.loc[("net", "fc6"), column] == paper_value["value"].iloc[0]
    assert table.loc[("net", "fc6"), "classes"] == "10 classes"


def test_the_pages_two_tables_hold_every_value_of_the_table_under_short_titles():
    reported = paper.reported()
    networks = [
        measured_network(*planted_detector_data(planted), name=name)
        for planted, name in ((True, "a network with a long name"), (False, "another one"))
    ]
    counts = discussion.discussion_counts(networks)
    table = discussion.discussion_table(counts, networks, reported)
    legend, by_layer = discussion.page_tables(table)
    assert legend.to_dict("index") == {
        "N1": {"network": "a network with a long name", "classes": "10 classes"},
        "N2": {"network": "another one", "classes": "10 classes"},
    }
    assert by_layer.index.tolist() == [("N1", "fc6"), ("N2", "fc6")]
    assert max(len(title) for title in by_layer.columns) <= 12
    long_titles = [c for c in table.columns if c != "classes"]
    assert by_layer.shape == (len(table), len(long_titles))
    rebuilt = by_layer.set_axis(long_titles, axis=1).set_axis(table.index, axis=0)
    pd.testing.assert_frame_equal(rebuilt, table[long_titles])
    assert by_layer.loc[("N1", "fc6"), "bar 2"] == 1 and by_layer.loc[("N2", "fc6"), "bar 2"] == 0


def test_the_papers_findings_come_from_its_numbers():
    reported = paper.reported()
    found = discussion.paper_findings(reported)
    lowest = reported.loc[reported["measure"] == "min_mi_false_alarm", "value"].iloc[0]
    assert f"{lowest:.0%}" in found["detector"]
    changed = reported.copy()
    changed.loc[changed["measure"] == "min_mi_false_alarm", "value"] = 0.5
    assert "50%" in discussion.paper_findings(changed)["detector"]


def test_the_reason_is_computed_from_the_class_counts():
    reported = paper.reported()
    network = measured_network(*planted_detector_data(False))
    text = discussion.describe_why([network], reported)
    assert "1/9 = 0.111 with 10 classes" in text
    paper_c = int(reported.loc[reported["measure"] == "n_classes", "value"].iloc[0])
    assert f"1/{paper_c - 1}" in text


def test_unknown_chapters_are_refused():
    with pytest.raises(discussion.DiscussionError, match="cannot use '03_activation"):
        discussion.check_chapters(["02_alexnet_results", "03_activation_maximisation"])
    with pytest.raises(discussion.DiscussionError, match="a list of chapter names"):
        discussion.check_chapters("02_alexnet_results")


def test_chapter_parameters_are_the_notebooks_defaults_with_the_profiles_values():
    params = chapter_parameters("smoke", "05_recurrent_control")
    section = load_profile("smoke").params["05_recurrent_control"]
    assert params == {**section, "profile": "smoke"}
    assert chapter_parameters("alexnet-merged", "05_recurrent_control")["n_letters"] == 10


def fake_network(rows: list[dict], name: str = "net") -> discussion.MeasuredNetwork:
    return discussion.MeasuredNetwork(
        name=name,
        chapter="02_alexnet_results",
        classes="10 classes",
        n_classes=10,
        n_images=100,
        images="test images",
        table=fake_table(rows),
        hidden=("fc6",),
    )


def test_the_verdict_says_whether_precision_calls_units_detectors_that_the_counts_reject():
    def verdict(rows: list[dict]) -> str:
        network = fake_network(rows)
        return discussion.describe_verdict(discussion.discussion_counts([network]), [network])

    both = verdict([{"detector": True, "precision_60": 0.9}, {}])
    only = verdict([{"detector": True, "precision_60": 0.9}, {"precision_60": 0.8}, {}])
    none = verdict([{}, {}])
    assert "The one unit that passes Zhou et al.'s precision test clears" in both
    assert "Of the 2 units that pass Zhou et al.'s precision test, 1 misses the reasonable" in only
    assert none.endswith("No unit passes Zhou et al.'s precision test either.")


def test_the_bars_are_stated_with_the_papers_number_for_zhou():
    reported = paper.reported()
    text = discussion.describe_bars(reported)
    assert text.startswith("1. **Grandmother unit**") and "3/4 of the unit's 60" in text
    changed = reported.copy()
    changed.loc[changed["measure"] == "detector_precision", "value"] = 0.8
    assert "quotes Zhou et al.'s bar as .80" in discussion.describe_bars(changed)


def tiny_store(path, n_images: int = 150):
    """A recording of 7 fc6 units and 3 classes; unit 3 fires for class 1 only."""
    from compendium.activations.writer import ActivationWriter, LayerSpec

    rng = np.random.default_rng(2)
    labels = np.arange(n_images) % 3
    fc6 = np.round(rng.random((n_images, 7)), 1)
    fc6[:, 3] = np.where(labels == 1, 1 + rng.random(n_images), 0)
    provenance = {
        "model": "tiny",
        "dataset": "toy:test",
        "weights_sha256": "00",
        "preprocessing": "none",
    }
    with ActivationWriter(path, [LayerSpec("fc6", 7)], ["a", "b", "c"], provenance) as writer:
        writer.append({"fc6": {"max": fc6}}, labels, np.arange(n_images), source_done=n_images)
        writer.finish()
    return fc6.astype(np.float32), labels


def test_chapter_2s_network_and_its_chance_baseline_measure_the_same_units(tmp_path):
    x, labels = tiny_store(tmp_path / "acts.h5")
    params = {
        "layers": ["fc6"],
        "units": "2:5",
        "output_layer": None,
        "output_softmax": False,
        "top_n": [60, 100],
        "memory_gb": 0.5,
    }
    network = discussion.alexnet_network(tmp_path / "acts.h5", params, tmp_path / "cache")
    assert network.table["unit"].tolist() == [2, 3, 4] and network.hidden == ("fc6",)
    assert network.table.set_index("unit").loc[3, "localist"]
    expected = unit_measures(x[:, 2:5], labels, unit_offset=2)
    pd.testing.assert_series_equal(
        network.table.set_index("unit")["detector"], expected["detector"], check_names=False
    )
    baselines, left_out = discussion.baseline_networks(network, tmp_path / "acts.h5", params, None)
    [chance] = baselines
    assert chance.chapter == discussion.BASELINE and chance.table["unit"].tolist() == [2, 3, 4]
    assert not chance.table["localist"].any()  # class 1's images are spread by the shuffle
    assert "untrained network" in left_out[0]


def test_chapter_9s_answers_join_chapter_2s_layers_only():
    networks = [
        measured_network(*planted_detector_data(planted), name=name)
        for planted, name in ((True, "the small AlexNet"), (False, "another"))
    ]
    counts = discussion.discussion_counts(networks)
    table = discussion.discussion_table(counts, networks, paper.reported())
    hurts = pd.DataFrame({"layer": ["fc6", "fc7"], "answer": ["slightly", "no"]})
    joined = discussion.with_ablation(table, hurts, "the small AlexNet")
    column = joined[discussion.ABLATION_COLUMN]
    assert column.loc[("the small AlexNet", "fc6")] == "slightly"
    assert column.loc[("another", "fc6")] == discussion.NOT_ABLATED
    assert discussion.with_ablation(table, None, "the small AlexNet") is table
    _, by_layer = discussion.page_tables(joined)
    assert by_layer.loc[("N1", "fc6"), "hurts class"] == "slightly"
    assert by_layer.loc[("N2", "fc6"), "hurts class"] == "–"


def test_the_ablation_sentence_follows_the_answers():
    hurts = pd.DataFrame({"layer": ["conv5", "fc6", "fc7"], "answer": ["yes", "slightly", "no"]})
    text = discussion.describe_ablation(hurts, "the small AlexNet")
    assert "in conv5, a silenced unit's own class" in text
    assert "loses more than the others (sign-flip p < .05) and more than chapter 9's" in text
    assert "in fc6 it loses more than the others, but no more than the material drop" in text
    assert "in fc7 it does not lose more than the others" in text
    assert "conv5, fc6 and fc7 of the small AlexNet" in text
    assert "not ablated" not in text  # no table given: nothing said of other rows
    none = discussion.describe_ablation(hurts.assign(answer="no"), "the small AlexNet")
    assert "in no layer does a silenced unit's own class (the class of its maximum" in none
    assert "informedness) lose both more than the others" in none
    assert discussion.describe_ablation(None, "the small AlexNet") == ""
    table = pd.DataFrame({discussion.ABLATION_COLUMN: ["yes", discussion.NOT_ABLATED]})
    assert "The other networks and layers were not ablated." in discussion.describe_ablation(
        hurts, "the small AlexNet", table
    )
    every = table.assign(**{discussion.ABLATION_COLUMN: "yes"})
    assert "not ablated" not in discussion.describe_ablation(hurts, "the small AlexNet", every)


def test_the_exercises_count_from_the_table():
    x, labels = planted_detector_data(True)
    trained = measured_network(x, labels, name="the small AlexNet")
    untrained = measured_network(*planted_detector_data(False), name="the small AlexNet, untrained")
    counts = discussion.discussion_counts([trained, untrained])
    bars, baseline = discussion.exercises(counts, [trained, untrained])
    row = counts.loc[("the small AlexNet", "fc6")]
    both = int(row["zhou"] - row["zhou_only"])
    assert f"{int(row['zhou_only']):,} units pass bar 3 only" in bars.solution
    assert f"{int(row['detector']) - both:,} pass bar 2 only" in bars.solution
    assert "Untrained: 0 of 12 counted units clear bar 2" in baseline.solution
    assert "Here no untrained unit clears either bar" in baseline.solution
    assert f"trained: {int(row['detector']):,} and" in baseline.solution
    assert discussion.exercises(counts.loc[["the small AlexNet"]], [trained])[1:] == []
