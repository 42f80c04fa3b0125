"""Shared fixtures: the book built once per test session on the `smoke` profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from compendium.build.pipeline import build_book


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HTML folder of the whole book built on the smoke profile, outside the repository."""
    return build_book("smoke", workdir=tmp_path_factory.mktemp("smoke-book"))
