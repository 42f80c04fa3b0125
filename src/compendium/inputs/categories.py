"""Super-categories of Fashion-MNIST: the compendium's stand-in for the paper's 'bus'.

Gale et al. (2020, Section 3.3 and Appendix D) test units that Network Dissection calls
'bus' detectors, because 'bus' covers exactly three ImageNet classes (school bus,
trolleybus, minibus). On Fashion-MNIST the same part is played by **footwear** (Sandal,
Sneaker, Ankle boot); **upper body** (T-shirt/top, Pullover, Coat, Shirt) is a second,
larger group. The three classes that belong to neither stay on their own.

The same grouping gives the **coarse task**: five labels (footwear, upper body, trouser,
dress, bag) on which one network is trained instead of the ten classes, standing in for
the networks the paper takes from Places-365, which were trained on scenes, not objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from compendium.inputs.datasets import FASHION_MNIST_CLASSES, ImageSet
from compendium.util.errors import CompendiumError

__all__ = [
    "COARSE_GROUPS",
    "CategoryError",
    "SUPER_CATEGORIES",
    "class_indices",
    "coarse_labels",
    "coarse_task",
]

#: The super-categories of the project notes (``notes/data.md``), by class name.
SUPER_CATEGORIES: dict[str, tuple[str, ...]] = {
    "footwear": ("Sandal", "Sneaker", "Ankle boot"),
    "upper body": ("T-shirt/top", "Pullover", "Coat", "Shirt"),
}

#: The coarse task's five labels, in label order: the super-categories, then each class
#: that belongs to none of them.
COARSE_GROUPS: dict[str, tuple[str, ...]] = {
    **SUPER_CATEGORIES,
    "trouser": ("Trouser",),
    "dress": ("Dress",),
    "bag": ("Bag",),
}


class CategoryError(CompendiumError):
    """A super-category names classes that are not there (the message says which)."""


def class_indices(class_names: Sequence[str], members: Sequence[str]) -> tuple[int, ...]:
    """The class numbers of ``members`` in ``class_names``, in class order."""
    index = {name: i for i, name in enumerate(class_names)}
    unknown = [m for m in members if m not in index]
    if unknown:
        raise CategoryError(
            f"classes {unknown} are not among the class names "
            f"({', '.join(class_names)}); spell them as listed there"
        )
    if not members:
        raise CategoryError("a super-category needs at least one class")
    return tuple(sorted(index[m] for m in members))


def coarse_labels(
    labels: np.ndarray,
    class_names: Sequence[str] = FASHION_MNIST_CLASSES,
    groups: Mapping[str, Sequence[str]] = COARSE_GROUPS,
) -> np.ndarray:
    """Each image's coarse label: the position of its class's group in ``groups``."""
    table = np.full(len(class_names), -1, np.int64)
    for g, members in enumerate(groups.values()):
        table[list(class_indices(class_names, members))] = g
    if (table < 0).any():
        missing = [class_names[i] for i in np.flatnonzero(table < 0)]
        raise CategoryError(f"classes {missing} belong to no coarse group; add them to one")
    return table[np.asarray(labels, np.int64)]


def coarse_task(data: ImageSet) -> ImageSet:
    """``data`` with its labels replaced by the coarse labels and class names by the
    group names (for training and testing the coarse-task network)."""
    return replace(
        data,
        labels=coarse_labels(data.labels, data.class_names),
        class_names=list(COARSE_GROUPS),
        name=f"{data.name}:coarse",
    )
