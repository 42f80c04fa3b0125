"""The recurrent positive control: task encoding, planted units with a known answer,
training that learns, determinism, the weight cache and parameter errors."""

from __future__ import annotations

import json
import logging

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch

from compendium.build import pipeline
from compendium.chapters import recurrent_control as chapter5
from compendium.methods import recurrent as rc

#: A task small enough to train in a couple of seconds: 5 letters x 3 positions = 125
#: words (enough for the top-100 precision), lists of up to 2 words.
TINY = rc.RecallConfig(
    n_letters=5,
    word_length=3,
    list_length=2,
    hidden_size=24,
    steps=400,
    batch_size=32,
    learning_rate=0.02,
    seed=3,
)


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    return rc.run_control(TINY, cache=tmp_path_factory.mktemp("recurrent"), progress=False)


def test_vocabulary_is_every_word_with_balanced_letter_classes():
    vocab = rc.vocabulary(4, 3)
    assert vocab.shape == (64, 3)
    assert len({tuple(w) for w in vocab}) == 64
    for position in range(3):
        assert np.bincount(vocab[:, position]).tolist() == [16] * 4
    assert rc.spell(vocab[6]) == "abc"
    assert rc.letter_class_names(4, 3, 1) == ["_a_", "_b_", "_c_", "_d_"]


def test_encoding_shows_words_then_cues_their_recall_in_order():
    vocab = rc.vocabulary(3, 2)  # 9 words: aa ab ac ba ...
    words = np.array([[5, 1], [7, 0]])  # "bc ab" (2 words) and "cb" (1 word)
    inputs, targets = rc.encode_lists(vocab, 3, words, np.array([2, 1]))
    assert inputs.shape == (4, 2, 7) and targets.shape == (4, 2, 2)
    first = inputs[:, 0]
    assert first[0, :6].tolist() == [0, 1, 0, 0, 0, 1]  # b in slot 1, c in slot 2
    assert first[1, :6].tolist() == [1, 0, 0, 0, 1, 0]  # a, b
    assert first[:, 6].tolist() == [0, 0, 1, 1]  # cue at the two recall steps
    assert targets[:, 0].tolist() == [[-1, -1], [-1, -1], [1, 2], [0, 1]]
    second = inputs[:, 1]
    assert second[:, 6].tolist() == [0, 1, 0, 0]  # a one-word list: recalled at step 1
    assert targets[:, 1].tolist() == [[-1, -1], [2, 1], [-1, -1], [-1, -1]]
    assert second[2:].sum() == 0


def test_planted_grandmother_cell_gets_perfect_scores():
    vocab = rc.vocabulary(10, 3)
    acts = rc.planted_units(vocab, 10, position=1, letter=3, seed=0)
    gmc = rc.letter_measures(acts, vocab, 10).loc[0]
    assert bool(gmc["localist"]) and gmc["localist_gap"] > 0.3
    assert (gmc["position"], gmc["mi_class"], gmc["letter_class"]) == (1, 3, "_d_")
    assert gmc["recall_p100"] == 1.0 and gmc["recall_p95"] == 1.0
    assert gmc["max_informedness"] == 1.0 and gmc["mi_false_alarm"] == 0.0
    assert gmc["precision_60"] == 1.0 and gmc["precision_100"] == 1.0  # 100 words per class
    # CCMAS is not 1: the other words' resting level (0..0.3) is not zero.
    assert 0.6 < gmc["ccmas"] < 0.8


def test_planted_distributed_unit_is_not_selective():
    vocab = rc.vocabulary(10, 3)
    acts = rc.planted_units(vocab, 10, position=1, letter=3, seed=0)
    spread = rc.letter_measures(acts, vocab, 10).loc[1]
    assert not spread["localist"] and spread["localist_gap"] < 0
    assert spread["recall_p100"] < 0.2 and spread["max_informedness"] < 0.5
    assert spread["precision_60"] < 0.5 and spread["ccmas"] < 0.3


def test_training_learns_the_task_above_chance(tiny_results):
    for name, result in tiny_results.items():
        accuracy = result.trained.accuracy
        assert accuracy["letters"] > 2 / TINY.n_letters, (name, accuracy)
    single = tiny_results[rc.SINGLE_CONDITION]
    assert single.trained.config.list_length == 1
    assert single.trained.accuracy["words"] > 0.5


def test_measures_and_summaries_cover_both_conditions(tiny_results):
    for result in tiny_results.values():
        assert result.activations.shape == (125, TINY.hidden_size)
        assert ((result.activations > 0) & (result.activations < 1)).all()
        assert list(result.measures.index) == list(range(TINY.hidden_size))
        assert set(result.measures["position"]) <= {0, 1, 2}
    summary = chapter5.selectivity_summary(tiny_results)
    assert list(summary.columns) == [rc.LIST_CONDITION, rc.SINGLE_CONDITION]
    assert summary.loc["units"].tolist() == [TINY.hidden_size] * 2
    assert chapter5.training_table(tiny_results).loc["longest list"].tolist() == [2, 1]
    long = chapter5.measures_long(tiny_results)
    assert len(long) == 2 * TINY.hidden_size * len(rc.DISTRIBUTION_MEASURES)
    chapter5.distribution_chart(long).to_dict()
    result = tiny_results[rc.LIST_CONDITION]
    unit = chapter5.most_selective_unit(result.measures)
    assert result.measures.loc[unit, "recall_p100"] == result.measures["recall_p100"].max()
    vocab = rc.vocabulary(TINY.n_letters, TINY.word_length)
    chapter5.unit_jitterplot(
        result.activations[:, unit], result.measures.loc[unit], vocab, TINY.n_letters, "best unit"
    ).to_dict()


def test_training_is_deterministic_and_cached(tmp_path):
    config = rc.RecallConfig(
        n_letters=3, word_length=2, list_length=2, hidden_size=8, steps=20, batch_size=8, seed=1
    )
    first = rc.load_or_train(config, cache=tmp_path, progress=False)
    weights, record = rc.cache_paths(config, tmp_path)
    assert weights.is_file() and json.loads(record.read_text())["config"]["seed"] == 1
    again = rc.train(config, progress=False)
    cached = rc.load_or_train(config, cache=tmp_path, progress=False)
    for a, b, c in zip(
        first.network.parameters(),
        again.network.parameters(),
        cached.network.parameters(),
        strict=False,
    ):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert cached.accuracy == first.accuracy
    assert weights.parent == tmp_path / "recurrent"
    assert not list(weights.parent.glob(".*.tmp"))


def test_cache_for_another_configuration_is_trained_again(tmp_path, caplog, monkeypatch):
    config = rc.RecallConfig(
        n_letters=3, word_length=2, list_length=2, hidden_size=8, steps=5, batch_size=4
    )
    first = rc.load_or_train(config, cache=tmp_path, progress=False)
    _, record = rc.cache_paths(config, tmp_path)
    entry = json.loads(record.read_text())
    entry["config"]["seed"] = 99
    record.write_text(json.dumps(entry))
    caplog.set_level(logging.WARNING)
    again = rc.load_or_train(config, cache=tmp_path, progress=False)  # no error: trained again
    assert "written for another configuration" in caplog.text
    assert json.loads(record.read_text())["config"]["seed"] == config.seed
    for a, b in zip(first.network.parameters(), again.network.parameters(), strict=True):
        assert torch.equal(a, b)
    monkeypatch.setattr(rc, "train", lambda *a, **k: pytest.fail("trained a current entry"))
    rc.load_or_train(config, cache=tmp_path, progress=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_letters": 1}, "n_letters must be a whole number between 2 and 26"),
        ({"n_letters": 26, "word_length": 4}, "lower n_letters or word_length"),
        ({"hidden_size": 0}, "hidden_size must be a whole number at least 1"),
        ({"steps": 10.5}, "steps must be a whole number"),
        ({"learning_rate": 0}, "learning_rate must be a number between 0 and 1"),
        ({"seed": -1}, "seed must be a whole number at least 0"),
    ],
)
def test_bad_parameters_name_the_fix(changes, message):
    with pytest.raises(rc.RecurrentError, match=message):
        rc.RecallConfig(**changes)


def test_list_condition_needs_lists():
    with pytest.raises(rc.RecurrentError, match="list_length of at least 2"):
        rc.conditions(rc.RecallConfig(list_length=1))


def test_planted_units_check_their_class():
    with pytest.raises(rc.RecurrentError, match="letter 0..4"):
        rc.planted_units(rc.vocabulary(5, 2), 5, position=0, letter=7)


def _results_with_recall(lists: list[float], single: list[float]) -> dict:
    def result(recall):
        return rc.ConditionResult(None, None, pd.DataFrame({"recall_p100": recall}))

    return {rc.LIST_CONDITION: result(lists), rc.SINGLE_CONDITION: result(single)}


@pytest.mark.parametrize(
    ("lists", "single", "expected"),
    [
        (
            [1.0, 0.6, 0.1],
            [0.2, 0.1, 0.1],
            "the list network has 1 localist and the single-word network 0",
        ),
        ([1.0, 0.6, 0.1], [0.2, 0.1, 0.1], "the direction Bowers et al. reported"),
        ([0.9, 0.6, 0.1], [0.2, 0.1, 0.1], "the list network's units do come closer"),
        ([0.2, 0.1, 0.1], [0.2, 0.1, 0.1], "come no closer to it"),
        ([1.0, 0.1, 0.1], [1.0, 1.0, 0.1], "does not show the contrast"),
    ],
)
def test_contrast_is_described_as_it_came_out(lists, single, expected):
    assert expected in chapter5.describe_contrast(_results_with_recall(lists, single))


@pytest.mark.slow
def test_chapter_runs_with_the_smoke_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))  # the kernel inherits it
    [path] = pipeline.execute_notebooks("smoke", ["05_recurrent_control"], out_dir=tmp_path)
    notebook = nbformat.read(path, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type in ("error", "stream")]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert sum("vega-embed" in h for h in html) >= 5, "planted, distribution and Fig. 2 charts"
    text = "\n".join(
        o.data.get("text/markdown", "") + o.data.get("text/html", "")
        for o in outputs
        if "data" in o
    )
    assert "profile `smoke`" in text
    assert rc.LIST_CONDITION in text and rc.SINGLE_CONDITION in text
    assert list((tmp_path / "cache" / "recurrent").glob("*.pt")), "weights are cached"
