"""Positive control: a small recurrent network that recalls lists of words.

Gale et al. (2020) contrast AlexNet with the recurrent networks of Bowers et al. (2014,
2016), in which some hidden units were "grandmother cells": every item of one letter or
word drove them harder than any other item. Those units appeared when the network had to
hold several words at once (the superposition constraint) and not when it saw one word at
a time. This module rebuilds that contrast at a size a laptop trains in minutes, so that
the compendium's measures can be run where selectivity may really exist.

The task
    A *word* is a string of `word_length` letters from an alphabet of `n_letters`; the
    vocabulary is every such string (10 letters and 3 positions give 1,000 words), so each
    letter occupies each position in exactly ``n_letters ** (word_length - 1)`` words. A
    word is shown as letters in slots: one block of `n_letters` input units per position,
    one unit on in each block. A trial shows a list of 1..`list_length` words, one per time
    step; then a recall cue (one extra input unit) is switched on for as many steps as there
    were words, and at each cued step the network must name the next word of the list, in
    order, letter by letter (one softmax over the alphabet per position). Lists are drawn
    at random, words with replacement. ``list_length = 1`` is the control condition: the
    same network trained on one word at a time, which faces no superposition.

The network
    An Elman network with logistic hidden units, ``h_t = sigmoid(W_in x_t + W_rec h_(t-1) + b)``
    from ``h_0 = 0``, and a linear read-out to the letter slots. Activations lie in (0, 1),
    so class-mean measures such as CCMAS are well defined, as they are for ReLU units.
    Trained with Adam on the mean cross-entropy of the recalled letters, for a fixed
    number of updates, on one CPU thread with fixed seeds; weights are an entry of the
    project's cache (:mod:`compendium.util.cache`): ``<cache>/recurrent/<config key>.pt``
    with a JSON record of the run beside them.

What is measured
    Every word of the vocabulary is shown alone and the hidden state right after it is
    recorded: one row per word, one column per hidden unit, the same items for both
    conditions. The classes are *letters in one position*: for position p, a word's class
    is its p-th letter, which splits the vocabulary into `n_letters` classes of equal size.
    `unit_measures` runs once per position; each unit is then reported for the position in
    which it is most selective (highest maximum informedness, then recall at 100%
    precision, then localist gap, then the earlier position). A unit is localist when every
    word with its letter in that position beats every other word.

Differences from Bowers et al. are listed in the chapter (notebooks/05_recurrent_control.py).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from compendium.measures import unit_measures
from compendium.util.cache import COMPUTED, cache_key, cached_network, entry_paths
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

ALPHABET = "abcdefghijklmnopqrstuvwxyz"
#: Largest vocabulary the module builds (every word is recorded in one batch).
MAX_WORDS = 100_000
#: Version of the training code: part of every cache key, bump it when training changes.
TRAINING_VERSION = 1
#: The cache kind (sub-folder) of trained recurrent networks.
RECURRENT = "recurrent"
#: Threads torch may use while training (one keeps runs bit-for-bit repeatable).
TRAIN_THREADS = 1
#: Fresh lists on which `recall_accuracy` is measured.
TEST_LISTS = 1000
#: Target value for time steps with nothing to recall.
NO_TARGET = -1
#: Streams of random numbers drawn from one seed.
TRAIN_STREAM, TEST_STREAM, PLANT_STREAM = 0, 1, 2
#: Names of the two conditions, in the order the chapter shows them.
LIST_CONDITION, SINGLE_CONDITION = "lists of words", "one word at a time"
#: The planted units, in column order of `planted_units`.
PLANTED = ("planted grandmother cell", "planted distributed unit")
#: Measures whose distributions the chapter compares.
DISTRIBUTION_MEASURES = (
    "precision_60",
    "ccmas",
    "recall_p95",
    "recall_p100",
    "max_informedness",
    "mi_false_alarm",
)


class RecurrentError(CompendiumError):
    """A parameter of the recurrent control is out of range; the message names the fix."""


@dataclass(frozen=True)
class RecallConfig:
    """Everything that decides a trained network: the task, the network and the training.

    `list_length` is the longest list shown (lists have 1..list_length words); 1 means the
    single-word condition.
    """

    n_letters: int = 10
    word_length: int = 3
    list_length: int = 4
    hidden_size: int = 128
    steps: int = 12000
    batch_size: int = 64
    learning_rate: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        _check_range("n_letters", self.n_letters, 2, len(ALPHABET))
        _check_range("word_length", self.word_length, 1, 8)
        if self.n_words > MAX_WORDS:
            raise RecurrentError(
                f"{self.n_letters} letters in {self.word_length} positions make "
                f"{self.n_words:,} words, more than {MAX_WORDS:,}: "
                f"lower n_letters or word_length"
            )
        for name in ("list_length", "hidden_size", "steps", "batch_size"):
            _check_range(name, getattr(self, name), 1, None)
        _check_range("seed", self.seed, 0, None)
        if not (isinstance(self.learning_rate, int | float) and 0 < self.learning_rate < 1):
            raise RecurrentError(
                f"learning_rate must be a number between 0 and 1 (e.g. 0.01), "
                f"not {self.learning_rate!r}"
            )

    @property
    def n_words(self) -> int:
        """Size of the vocabulary: every string of `word_length` letters."""
        return self.n_letters**self.word_length

    def key(self) -> str:
        """The cache key of the configuration and the training code's version."""
        return cache_key({**asdict(self), "version": TRAINING_VERSION})


def _check_range(name: str, value: object, low: int, high: int | None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    if not ok or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RecurrentError(f"{name} must be a whole number {bound}, not {value!r}")


def conditions(config: RecallConfig) -> dict[str, RecallConfig]:
    """The list condition (`config`) and the same network trained on single words."""
    if config.list_length < 2:
        raise RecurrentError(
            f"the list condition needs list_length of at least 2 (got {config.list_length}); "
            f"the single-word control is made from it by setting list_length to 1"
        )
    return {LIST_CONDITION: config, SINGLE_CONDITION: replace(config, list_length=1)}


# -- the task -----------------------------------------------------------------------------


def vocabulary(n_letters: int, word_length: int) -> np.ndarray:
    """Every word of `word_length` letters from `n_letters`: (n_words, word_length) letter
    numbers, in alphabetical order."""
    grids = np.meshgrid(*[np.arange(n_letters)] * word_length, indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=1)


def spell(word: np.ndarray) -> str:
    """A word's letters as text, e.g. [2, 0, 1] -> 'cab'."""
    return "".join(ALPHABET[letter] for letter in word)


def letter_class_names(n_letters: int, word_length: int, position: int) -> list[str]:
    """Names of the classes 'letter L in position p', e.g. '_c_' for c in the 2nd place."""
    blank = ["_"] * word_length
    return [
        "".join(blank[:position] + [ALPHABET[c]] + blank[position + 1 :]) for c in range(n_letters)
    ]


def sample_lists(
    rng: np.random.Generator, n_words: int, list_length: int, n_lists: int, *, full: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Random lists: word numbers (n_lists, list_length) and each list's length (1..list_length,
    or always `list_length` when `full`). Entries past a list's length are ignored."""
    words = rng.integers(0, n_words, size=(n_lists, list_length))
    lengths = (
        np.full(n_lists, list_length) if full else rng.integers(1, list_length + 1, size=n_lists)
    )
    return words, lengths


def encode_lists(
    vocab: np.ndarray, n_letters: int, words: np.ndarray, lengths: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (time, list, letter slots + cue) and targets (time, list, position).

    A list of n words takes 2n steps: n steps showing the words, then n steps with the
    recall cue on, at which the targets are the words in order (`NO_TARGET` elsewhere).
    """
    n_lists, list_length = words.shape
    word_length = vocab.shape[1]
    n_steps = 2 * list_length
    letters = np.zeros((n_steps, n_lists, word_length, n_letters), np.float32)
    cue = np.zeros((n_steps, n_lists, 1), np.float32)
    targets = np.full((n_steps, n_lists, word_length), NO_TARGET, np.int64)
    which, place = np.nonzero(np.arange(list_length) < lengths[:, None])
    spelled = vocab[words[which, place]]
    letters[place[:, None], which[:, None], np.arange(word_length), spelled] = 1.0
    recall_step = lengths[which] + place
    cue[recall_step, which, 0] = 1.0
    targets[recall_step, which] = spelled
    inputs = np.concatenate([letters.reshape(n_steps, n_lists, -1), cue], axis=2)
    return torch.from_numpy(inputs), torch.from_numpy(targets)


# -- the network --------------------------------------------------------------------------


class ListRecallNet(nn.Module):
    """Elman network with logistic hidden units and a letters-in-slots read-out."""

    def __init__(self, n_letters: int, word_length: int, hidden_size: int) -> None:
        super().__init__()
        self.n_letters, self.word_length = n_letters, word_length
        self.input = nn.Linear(n_letters * word_length + 1, hidden_size)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False)
        self.output = nn.Linear(hidden_size, n_letters * word_length)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (time, list, position, letter) and hidden states (time, list, unit)."""
        drive = self.input(inputs)
        state = torch.zeros(inputs.shape[1], self.recurrent.in_features)
        states = []
        for step in range(inputs.shape[0]):
            state = torch.sigmoid(drive[step] + self.recurrent(state))
            states.append(state)
        hidden = torch.stack(states)
        logits = self.output(hidden).unflatten(-1, (self.word_length, self.n_letters))
        return logits, hidden


def recall_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the letters the network had to recall."""
    return nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=NO_TARGET
    )


@dataclass
class TrainedRecall:
    """A trained network with the record of its run."""

    config: RecallConfig
    network: ListRecallNet
    seconds: float
    final_loss: float
    accuracy: dict[str, float]


@contextlib.contextmanager
def _torch_state(seed: int) -> Iterator[None]:
    """Fixed seed and `TRAIN_THREADS` threads inside; the caller's RNG and threads after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


def train(config: RecallConfig, *, progress: bool = True) -> TrainedRecall:
    """Train a network on `config`'s task from its seed; deterministic on one thread."""
    vocab = vocabulary(config.n_letters, config.word_length)
    rng = np.random.default_rng((config.seed, TRAIN_STREAM))
    with _torch_state(config.seed):
        network = ListRecallNet(config.n_letters, config.word_length, config.hidden_size)
        optimiser = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
        start = time.perf_counter()
        bar = tqdm(
            range(config.steps),
            desc=f"training (lists of <= {config.list_length})",
            unit="step",
            disable=not progress,
            mininterval=1.0,
        )
        for step in bar:
            words, lengths = sample_lists(rng, len(vocab), config.list_length, config.batch_size)
            inputs, targets = encode_lists(vocab, config.n_letters, words, lengths)
            loss = recall_loss(network(inputs)[0], targets)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if step % 200 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        seconds = time.perf_counter() - start
        accuracy = recall_accuracy(network, config)
    log.info("trained %s in %.1f s: %s", config, seconds, accuracy)
    return TrainedRecall(config, network, seconds, float(loss.item()), accuracy)


def recall_accuracy(network: ListRecallNet, config: RecallConfig) -> dict[str, float]:
    """Share of letters, words and whole lists recalled right, on `TEST_LISTS` fresh lists
    of the longest length the network was trained on (drawn from the seed's test stream)."""
    vocab = vocabulary(config.n_letters, config.word_length)
    rng = np.random.default_rng((config.seed, TEST_STREAM))
    words, lengths = sample_lists(rng, len(vocab), config.list_length, TEST_LISTS, full=True)
    inputs, targets = encode_lists(vocab, config.n_letters, words, lengths)
    with torch.no_grad():
        logits, _ = network(inputs)
    recalled = targets[config.list_length :]
    right = logits[config.list_length :].argmax(-1) == recalled
    return {
        "letters": float(right.float().mean()),
        "words": float(right.all(-1).float().mean()),
        "lists": float(right.all(-1).all(0).float().mean()),
    }


# -- cached training ----------------------------------------------------------------------


def cache_paths(config: RecallConfig, cache: Path | None = None) -> tuple[Path, Path]:
    """Where `config`'s weights and run record live: ``<cache>/recurrent/<key>.pt|.json``,
    with `cache` the project's cache folder unless given."""
    return entry_paths(RECURRENT, config.key(), cache)


def load_or_train(
    config: RecallConfig, *, cache: Path | None = None, progress: bool = True
) -> TrainedRecall:
    """The network of `config`: shipped or cached if its entry is current, else trained and
    then cached (:func:`compendium.util.cache.cached_network`: an entry written for another
    configuration, or whose weights do not match their sha256, is trained again)."""
    entry = cached_network(
        RECURRENT,
        config.key(),
        asdict(config),
        build=partial(ListRecallNet, config.n_letters, config.word_length, config.hidden_size),
        compute=partial(_fit, config, progress=progress),
        folder=cache,
    )
    record = entry.record
    if entry.origin != COMPUTED:
        log.info("read %s (%s, trained in %.1f s)", entry.path, entry.origin, record["seconds"])
    return TrainedRecall(
        config, entry.network, record["seconds"], record["final_loss"], record["accuracy"]
    )


def _fit(config: RecallConfig, *, progress: bool) -> tuple[ListRecallNet, dict[str, Any]]:
    trained = train(config, progress=progress)
    return trained.network, {
        "training_version": TRAINING_VERSION,
        "seconds": trained.seconds,
        "final_loss": trained.final_loss,
        "accuracy": trained.accuracy,
        "torch": torch.__version__,
    }


# -- recording and measuring --------------------------------------------------------------


def word_activations(network: ListRecallNet, vocab: np.ndarray) -> np.ndarray:
    """Hidden state right after each word is shown alone: (n_words, hidden_size) float32."""
    words = np.arange(len(vocab))[:, None]
    inputs, _ = encode_lists(vocab, network.n_letters, words, np.ones(len(vocab), np.int64))
    with torch.no_grad():
        _, hidden = network(inputs)
    return hidden[0].numpy().astype(np.float32)


def letter_measures(
    activations: np.ndarray, vocab: np.ndarray, n_letters: int, *, top: Sequence[int] = (60, 100)
) -> pd.DataFrame:
    """Every measure of every unit for the classes 'letter in position p', reported for
    the position where the unit is most selective (see the module docstring).

    Adds the columns ``position`` (0-based) and ``letter_class`` (the name of ``mi_class``,
    e.g. ``'_c_'``)."""
    tables = [
        unit_measures(activations, vocab[:, position], n_letters, top=top).assign(position=position)
        for position in range(vocab.shape[1])
    ]
    stacked = pd.concat(tables).sort_values(
        ["max_informedness", "recall_p100", "localist_gap"], ascending=False, kind="stable"
    )
    best = stacked[~stacked.index.duplicated(keep="first")].sort_index()
    names = {p: letter_class_names(n_letters, vocab.shape[1], p) for p in range(vocab.shape[1])}
    best["letter_class"] = [
        names[p][c] for p, c in zip(best["position"], best["mi_class"], strict=False)
    ]
    return best


@dataclass
class ConditionResult:
    """One trained condition: its network's record, the recorded activations, the measures."""

    trained: TrainedRecall
    activations: np.ndarray
    measures: pd.DataFrame


def run_condition(
    config: RecallConfig, *, cache: Path | None = None, progress: bool = True
) -> ConditionResult:
    """Train (or read) `config`'s network, record every word alone, measure every unit."""
    trained = load_or_train(config, cache=cache, progress=progress)
    vocab = vocabulary(config.n_letters, config.word_length)
    activations = word_activations(trained.network, vocab)
    measures = letter_measures(activations, vocab, config.n_letters)
    log.info(
        "measured %d units of the list-length-%d network: %d localist",
        len(measures),
        config.list_length,
        int(measures["localist"].sum()),
    )
    return ConditionResult(trained, activations, measures)


def run_control(
    config: RecallConfig, *, cache: Path | None = None, progress: bool = True
) -> dict[str, ConditionResult]:
    """Both conditions of `conditions(config)`, list condition first."""
    return {
        name: run_condition(c, cache=cache, progress=progress)
        for name, c in conditions(config).items()
    }


# -- summaries ----------------------------------------------------------------------------


def planted_units(
    vocab: np.ndarray, n_letters: int, position: int = 0, letter: int = 0, seed: int = 0
) -> np.ndarray:
    """Two made-up units over the vocabulary, (n_words, 2), with a known answer.

    Column 0, a perfect grandmother cell for `letter` in `position`: those words draw
    0.7..1, every other word 0..0.3 (uniform). Column 1, a distributed unit: in each
    position a random half of the letters adds the same share (0.95 / word_length) to its
    activation, so it answers to many letters in every position and to no single one (with
    one position, this needs at least 4 letters); a 0..0.05 jitter breaks ties.
    """
    if not (0 <= position < vocab.shape[1] and 0 <= letter < n_letters):
        raise RecurrentError(
            f"position must be 0..{vocab.shape[1] - 1} and letter 0..{n_letters - 1}; "
            f"got position {position}, letter {letter}"
        )
    rng = np.random.default_rng((seed, PLANT_STREAM))
    member = vocab[:, position] == letter
    grandmother = np.where(
        member, rng.uniform(0.7, 1.0, len(vocab)), rng.uniform(0.0, 0.3, len(vocab))
    )
    halves = np.stack([rng.permutation(n_letters) < n_letters // 2 for _ in range(vocab.shape[1])])
    share = halves[np.arange(vocab.shape[1]), vocab].mean(axis=1)
    distributed = 0.95 * share + rng.uniform(0.0, 0.05, len(vocab))
    return np.stack([grandmother, distributed], axis=1).astype(np.float32)
