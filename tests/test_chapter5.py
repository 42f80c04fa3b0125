"""Chapter 5's page functions (compendium.chapters.recurrent_control): sentences, tables
and exercises written from the run's numbers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from compendium.chapters import recurrent_control as chapter
from compendium.methods import recurrent as rc

CONFIG = rc.RecallConfig(n_letters=5, word_length=3, list_length=3, hidden_size=4, steps=10)


@pytest.fixture(scope="module")
def planted():
    vocab = rc.vocabulary(CONFIG.n_letters, CONFIG.word_length)
    units = rc.planted_units(vocab, CONFIG.n_letters, seed=0)
    return vocab, units, rc.letter_measures(units, vocab, CONFIG.n_letters)


def fake_results(recall_list, recall_single):
    """Two conditions with made-up measures and training records."""

    def condition(recall, list_length):
        n = len(recall)
        measures = pd.DataFrame(
            {
                **{m: np.full(n, 0.5) for m in rc.DISTRIBUTION_MEASURES},
                "recall_p100": recall,
                "max_informedness": np.linspace(0.5, 0.95, n),
                "localist_gap": np.zeros(n),
                "precision_60": np.full(n, 0.3),
                "localist": [r == 1 for r in recall],
                "mi_recall": np.full(n, 0.8),
                "mi_false_alarm": np.full(n, 0.25),
                "letter_class": ["a__"] * n,
            }
        )
        trained = SimpleNamespace(
            accuracy={"letters": 0.9, "words": 0.75, "lists": 0.5},
            config=SimpleNamespace(list_length=list_length),
        )
        return rc.ConditionResult(trained, None, measures)

    return {
        rc.LIST_CONDITION: condition(recall_list, CONFIG.list_length),
        rc.SINGLE_CONDITION: condition(recall_single, 1),
    }


def test_the_planted_units_are_described_from_their_measures(planted):
    _, _, measures = planted
    text = chapter.describe_planted(measures)
    cell = measures.iloc[0]
    assert text.startswith("The planted grandmother cell is localist")
    assert f"Its CCMAS is {cell['ccmas']:.2f}" in text
    changed = measures.copy()
    changed.loc[0, "ccmas"] = 0.95
    assert "well below 1" not in chapter.describe_planted(changed)
    assert list(chapter.planted_table(measures).columns) == list(rc.PLANTED)


def test_the_summary_rows_fit_a_page_and_count_as_before():
    results = fake_results([1.0, 0.6, 0.1], [0.2, 0.1, 0.1])
    summary = chapter.selectivity_summary(results)
    assert max(len(row) for row in summary.index) <= 40
    assert summary.loc[chapter.LOCALIST].tolist() == [1, 0]
    assert summary.loc[chapter.HALF].tolist() == [2, 0]


def test_the_detector_sentence_says_when_no_unit_can_pass():
    summary = chapter.selectivity_summary(fake_results([1.0, 0.6], [0.2, 0.1]))
    assert "no unit can pass it in this run: at most 25" in chapter.describe_detectors(summary, 25)
    assert "no unit can pass" not in chapter.describe_detectors(summary, 100)


def test_the_banner_gives_both_networks_and_their_accuracy():
    run = chapter.run_description(CONFIG, fake_results([1.0], [0.5]))
    assert "125 words" in run["Data"]
    assert "75.0% of the words of" in run["Network"] and "lists of 1 to 3 words" in run["Network"]


def test_the_exercises_compute_their_answers(planted):
    vocab, units, measures = planted
    results = fake_results([1.0, 0.6, 0.1], [0.2, 0.1, 0.1])
    found = {e.label: e for e in chapter.exercises(CONFIG, units, measures, results, vocab)}
    member = vocab[:, 0] == 0
    mean_a = units[member, 0].mean()
    assert f"= {mean_a * 0.1 / 1.9:.3f}" in found["ex-recurrent-resting-level"].solution
    assert "= 25 words" in found["ex-recurrent-class-size"].solution
    assert "cannot exceed 0.25" in found["ex-recurrent-class-size"].solution
    best = found["ex-recurrent-best-informedness"].solution
    assert best.startswith("It is unit 2,") and "It is not localist" in best
    assert "25% of the words above that threshold" in best
