"""The pins of requirements.txt (what `make` installs) and environment.yml (conda, Binder)
must be the same list."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def requirement_pins() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def environment_pins() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return [p for p in pip if p != "-e ."]


def test_environment_yml_pins_equal_requirements():
    assert environment_pins() == requirement_pins()


def test_every_pin_is_exact():
    assert all("==" in pin for pin in requirement_pins())
