"""bench/gpu.sh, the one-shot GPU check: a clean one-line skip on a machine without CUDA
(as in CI), and a dry run on the CPU that goes through every step and writes every figure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu.sh"


def run_script(env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def results_state() -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (ROOT / "bench" / "results").glob("*")}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is here: the check would run")
def test_without_cuda_it_prints_one_line_and_exits_0():
    before = results_state()
    done = run_script({"GPU_CHECK_DRY_RUN": ""}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [done.stdout.strip()]
    assert "no CUDA GPU" in done.stdout and "skipped" in done.stdout
    assert done.stderr == ""
    assert results_state() == before  # nothing written


@pytest.mark.slow
def test_a_dry_run_goes_through_every_step_and_writes_every_figure(tmp_path):
    done = run_script({"GPU_CHECK_DRY_RUN": "1", "BENCH_RESULTS_DIR": str(tmp_path)}, 300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = pd.read_csv(tmp_path / "gpu.csv")
    steps = summary[summary.figure.str.startswith("step ")]
    assert set(steps.figure) == {
        f"step {s}" for s in ("torch-tests", "generate-fc6", "fc6-torch", "fc6-numpy", "am")
    }
    assert set(steps.value) == {"ok"}
    tests = summary.loc[summary.figure.str.startswith("torch tests"), "value"].item()
    assert tests.split()[1:3] == ["0", "0"]  # no failures, no errors
    scale = pd.read_csv(tmp_path / "scale.csv")
    assert set(scale.method) == {"ours-torch", "ours-numpy"} and (scale.seconds > 0).all()
    assert len(pd.read_csv(tmp_path / "am.csv")) == 1
    assert summary.machine.nunique() == 1 and "the whole check" in set(summary.figure)
