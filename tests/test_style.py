"""The code's shape: ruff's lint and format, and the package's layers with no import cycles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing_to_lint():
    result = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_every_file_as_it_is():
    result = _run(str(BIN / "ruff"), "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_contract_holds_with_no_exceptions():
    config = (ROOT / "pyproject.toml").read_text()
    assert "ignore_imports" not in config and "unmatched_ignore" not in config
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_no_module_of_the_package_imports_itself_through_others():
    graph = grimp.build_graph("compendium", cache_dir=None)
    cycles = [
        (importer, imported)
        for importer in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        if imported != "compendium"
        and importer != "compendium"
        and not imported.startswith(importer + ".")
        and graph.chain_exists(imported=importer, importer=imported)
    ]
    assert cycles == [], f"import cycles through these direct imports: {cycles}"
