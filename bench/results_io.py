"""Where the benchmarks keep their figures: CSV files under bench/results/, one row per
timing, each with the machine it ran on and the date, appended atomically. The book's
Performance page reads them. $BENCH_RESULTS_DIR sends them to another folder instead."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import pandas as pd

#: bench/results/, or the folder named by $BENCH_RESULTS_DIR (e.g. for a trial run).
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or Path(__file__).resolve().parent / "results")


def machine() -> str:
    """This machine in words: processor, cores, memory, GPU."""
    import torch

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = _cpu_model() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {gpu}"


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def append(rows: list[dict], name: str) -> Path:
    """Append `rows` to bench/results/<name>.csv with the machine and date."""
    table = pd.DataFrame(rows).assign(machine=machine(), date=time.strftime("%Y-%m-%d"))
    path = RESULTS / f"{name}.csv"
    if path.exists():
        table = pd.concat([pd.read_csv(path), table], ignore_index=True)
    RESULTS.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(path)
    print(f"appended {len(rows)} rows to {path}")
    return path
