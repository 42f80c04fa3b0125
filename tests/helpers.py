"""Small files for tests, written in exactly the layouts the package reads."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def synset_lines(n_classes: int = 1000) -> list[str]:
    """A stand-in for synset_words.txt: sorted fake WordNet ids with names."""
    return [f"n{1440764 + 7 * i:08d} class {i}, thing {i}" for i in range(n_classes)]


def write_merged_layer(
    path: Path, per_class: dict[str, np.ndarray], lines: list[str], *, h5_suffix: bool = False
) -> Path:
    """An AlexNet_Merged file: one group per wnid holding (n, units, 1, 1) activations.

    ``per_class`` maps wnid -> (n_i, units) array; groups are created in the given order
    (the reader must sort them). ``h5_suffix`` names the groups ``<wnid>.h5`` as some of the
    authors' files do.
    """
    label_bytes = np.array([line.encode() for line in lines])
    with h5py.File(path, "w") as f:
        for wnid, acts in per_class.items():
            g = f.create_group(wnid + (".h5" if h5_suffix else ""))
            a = np.asarray(acts, np.float32)[:, :, None, None]
            ds = g.create_dataset("activations", data=a)
            ds.attrs["image_count"] = a.shape[0]
            ds.attrs["neuron_count"] = a.shape[1]
            g.create_dataset("labels", data=label_bytes)
            g.create_dataset("label_mappings", data=np.array([[wnid.encode()]] * a.shape[0]))
            g.create_dataset(
                "file_names",
                data=np.array([f"{wnid}_{k}.JPEG".encode() for k in range(a.shape[0])]),
            )
            g.create_dataset(
                f"activation_labels/{wnid}", data=np.arange(a.shape[0], dtype=np.int64)
            )
    return path


def merged_example(
    rng: np.random.Generator, n_units: int = 6, counts: tuple[int, ...] = (3, 5, 2)
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Synset lines (10 classes) and per-class activations for a few of them, unsorted."""
    lines = synset_lines(10)
    wnids = [lines[i].split()[0] for i in (7, 2, 4)][: len(counts)]
    per_class = {
        w: rng.random((n, n_units)).astype(np.float32) for w, n in zip(wnids, counts, strict=False)
    }
    return lines, per_class


def detector_oracle(x: np.ndarray, y: np.ndarray) -> dict:
    """The paper's 'detector' columns (spec/beyond.md) read off the definitions one class and
    one threshold at a time: for each class, every distinct value of `x` as a threshold with
    more hits than misses (``recall > .5``); the one with the largest ``TP - FP`` (ties: the
    higher threshold); then the class with the largest ``TP - FP`` (ties: the lower class)."""
    best = None  # (TP - FP, -class, recall, false alarm)
    for c in range(int(y.max()) + 1):
        members = y == c
        candidates = []
        for t in np.unique(x):
            tp, fp = int(np.sum(members & (x >= t))), int(np.sum(~members & (x >= t)))
            if 2 * tp > members.sum():
                candidates.append((tp - fp, t, tp / members.sum(), fp / (tp + fp)))
        margin, _, recall, false_alarm = max(candidates, key=lambda k: (k[0], k[1]))
        if best is None or margin > best[0]:
            best = (margin, c, recall, false_alarm)
    margin, c, recall, false_alarm = best
    return {
        "detector": margin > 0,
        "detector_class": c,
        "detector_recall": recall,
        "detector_false_alarm": false_alarm,
    }
