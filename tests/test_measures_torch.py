"""The torch backend gives the numpy backend's table (integers equal, floats within 1e-6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from test_measures import relu_like

from compendium.measures import MeasureInputError, unit_measures


def assert_same_table(mine: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(mine.columns) == list(theirs.columns)
    for column in mine:
        a, b = mine[column].to_numpy(), theirs[column].to_numpy()
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, equal_nan=True, err_msg=column)
        else:
            np.testing.assert_array_equal(a, b, err_msg=column)


@pytest.mark.parametrize("seed", [0, 1])
def test_torch_cpu_equals_numpy(seed):
    x, labels = relu_like(np.random.default_rng(seed), n_units=30)
    x[:, 5] = np.round(x[:, 5] - 0.8, 1)  # negative values and -0.0 ties
    assert_same_table(
        unit_measures(x, labels, backend="torch", device="cpu", block_size=7),
        unit_measures(x, labels),
    )


def test_torch_float64_input_equals_numpy():
    x, labels = relu_like(np.random.default_rng(3), n_units=10)
    x = x.astype(np.float64)
    assert_same_table(
        unit_measures(x, labels, backend="torch", device="cpu"), unit_measures(x, labels)
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_torch_cuda_equals_numpy():
    x, labels = relu_like(np.random.default_rng(4), n_units=64)
    assert_same_table(
        unit_measures(x, labels, backend="torch", device="cuda"), unit_measures(x, labels)
    )


def test_bad_backend_choices_are_refused():
    x, labels = relu_like(np.random.default_rng(5), n_units=3)
    with pytest.raises(MeasureInputError, match="'numpy' or 'torch'"):
        unit_measures(x, labels, backend="jax")
    with pytest.raises(MeasureInputError, match="backend='torch'"):
        unit_measures(x, labels, device="cuda")
    if not torch.cuda.is_available():
        with pytest.raises(MeasureInputError, match="no CUDA GPU"):
            unit_measures(x, labels, backend="torch", device="cuda")


def test_a_memory_limit_too_small_for_one_unit_is_refused():
    x, labels = relu_like(np.random.default_rng(6), n_units=3)
    with pytest.raises(MeasureInputError, match="raise the limit"):
        unit_measures(x, labels, memory_bytes=1000)
