"""Baselines the benchmarks time the package against.

- `argsort_floor`: one `numpy.argsort` per unit, the least any exact method must do.
- `per_class_loop`: the straightforward way, as the authors' code works: for each unit,
  for each class, that class's measures from scratch (its own sort for the ROC curve,
  boolean masks for means and extremes).
"""

from __future__ import annotations

import numpy as np


def argsort_floor(x: np.ndarray) -> None:
    """One argsort per unit (column) of `x`."""
    for u in range(x.shape[1]):
        np.argsort(x[:, u])


def per_class_loop(x: np.ndarray, labels: np.ndarray) -> list[dict]:
    """Per unit, per class, everything from scratch."""
    classes = np.unique(labels)
    rows = []
    for u in range(x.shape[1]):
        xu = x[:, u]
        order = np.argsort(-xu, kind="stable")
        top100 = labels[order[:100]]
        row = {
            "precision_100": np.bincount(top100).max() / 100,
            "max_informedness": -1.0,
            "gaps": [],
            "ccmas": [],
        }
        for c in classes:
            is_c = labels == c
            members, others = xu[is_c], xu[~is_c]
            row["gaps"].append(members.min() - others.max())
            mu_c, mu_rest = members.mean(), others.mean()
            row["ccmas"].append((mu_c - mu_rest) / (mu_c + mu_rest))
            by_value = np.argsort(-xu, kind="stable")  # this class's own ROC sort
            values, hits = xu[by_value], is_c[by_value]
            ends = np.r_[values[1:] != values[:-1], True]
            tp = np.cumsum(hits)[ends]
            fp = np.cumsum(~hits)[ends]
            j = tp / is_c.sum() - fp / (~is_c).sum()
            row["max_informedness"] = max(row["max_informedness"], j.max())
        rows.append(row)
    return rows
