"""Small generated data sets with known answers: the spec's worked example and the
paper's Appendix C (Fig. A2) cases.

Each generator returns plain arrays (activations, labels) so that they go through the same
`unit_measures` as real layers. Images are put in a random (seeded) order: the measures
break activation ties by image index, so a random order makes ties among the many exact
zeros fall as they would in a real data set, not class by class.
"""

from __future__ import annotations

import numpy as np

from compendium.util.errors import CompendiumError

#: Class names of the worked example.
WORKED_EXAMPLE_CLASSES = ["A", "B", "C"]


def worked_example() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The spec's ten images of three classes: activations (10, 1), labels, class names."""
    x = np.array([9, 7, 6, 5, 4, 3, 2, 1, 0, 0], dtype=np.float32)
    labels = np.array([0, 0, 1, 0, 2, 1, 0, 1, 2, 1])
    return x[:, None], labels, list(WORKED_EXAMPLE_CLASSES)


def figure_a2_cases(
    n_classes: int = 10,
    n_items: int = 100,
    seed: int = 0,
    lift: float = 0.1,
    base: tuple[float, float] = (0.75, 0.80),
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three units of the paper's Fig. A2, for class 0 of `n_classes` x `n_items` images.

    - ``a_one_active_item``: one image of class 0 is active (1.0), every other image is 0.
    - ``b_grandmother``: every image of class 0 is active (uniform 0.5..1), all others 0.
    - ``c_one_class_above``: every image is active, uniform in `base`; class 0 sits `lift`
      above the rest (its images are base draws plus `lift`).

    Returns a dict of (activations (n_images,), labels (n_images,)), images shuffled.
    """
    if n_classes < 2 or n_items < 1:
        raise CompendiumError(
            f"need at least 2 classes of at least 1 item; got {n_classes} x {n_items}"
        )
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_items)
    is_a = labels == 0

    one_active = np.zeros(labels.size)
    one_active[0] = 1.0
    grandmother = np.where(is_a, rng.uniform(0.5, 1.0, labels.size), 0.0)
    one_above = rng.uniform(*base, labels.size) + lift * is_a

    order = rng.permutation(labels.size)
    cases = {
        "a_one_active_item": one_active,
        "b_grandmother": grandmother,
        "c_one_class_above": one_above,
    }
    return {name: (x[order].astype(np.float32), labels[order]) for name, x in cases.items()}
