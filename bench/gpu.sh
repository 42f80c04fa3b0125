#!/usr/bin/env bash
# The one-shot GPU check (issue 19): on a machine with a CUDA GPU, within 8 minutes,
#   (a) the torch backend's equality tests, on CUDA (tests/test_measures_torch.py);
#   (b) the full-scale fc6 file generated there (bench/scale.py generate: 721,536 images x
#       4,096 units) and `unit_measures(..., backend="torch")` timed on it, then the numpy
#       kernel with every core on the same file, for comparison;
#   (c) batched activation maximisation of torchvision AlexNet at 224 x 224, 64 units
#       optimised together (bench/am.py --setup alexnet; random weights);
#   (d) every figure appended to bench/results/ with the machine and its GPU: scale.csv
#       and am.csv (the book's Performance page reads them) and a summary in gpu.csv.
# Without a CUDA GPU it prints one line and exits 0, so that CI (no GPU) can run it.
#
# Usage: bash bench/gpu.sh            (from anywhere; PYTHON=... picks the interpreter,
#        GPU_BENCH_FILE=... where the 12 GB activation file goes, default /tmp)
# A trial of the script itself on any machine: GPU_CHECK_DRY_RUN=1 runs every step on the
# CPU at a tiny size and writes to $BENCH_RESULTS_DIR (default: a new temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
if [[ -n "${GPU_CHECK_DRY_RUN:-}" ]]; then
  device="the CPU (a dry run at a tiny size)"
  export BENCH_RESULTS_DIR=${BENCH_RESULTS_DIR:-$(mktemp -d)}
  FILE=$LOGS/small.h5
  SIZE=(--images 20000 --units 32)
  AM=(--setup small --units 4 --images 4 --steps 2 --layers fc6 --device cpu)
else
  device=$("$PYTHON" -c 'import torch
print(torch.cuda.get_device_name() if torch.cuda.is_available() else "")' 2>/dev/null || true)
  if [[ -z "$device" ]]; then
    echo "bench/gpu.sh: no CUDA GPU visible to torch ($PYTHON) on this machine: nothing to check, skipped"
    exit 0
  fi
  FILE=${GPU_BENCH_FILE:-/tmp/alexnet-scale-fc6.h5}
  SIZE=()  # the paper's: 721,536 images x 4,096 units
  AM=(--setup alexnet --units 64 --layers conv5 fc6 fc8 --device cuda)
fi

BUDGET_S=480  # the whole check, seconds
RESULTS=${BENCH_RESULTS_DIR:-bench/results}
mkdir -p "$RESULTS"
rows_before() { [[ -f "$RESULTS/$1.csv" ]] && "$PYTHON" -c \
  "import pandas as pd, sys; print(len(pd.read_csv(sys.argv[1])))" "$RESULTS/$1.csv" || echo 0; }
SCALE_ROWS=$(rows_before scale)
AM_ROWS=$(rows_before am)
declare -A STATUS

# step NAME SECONDS COMMAND...: run with at most SECONDS (and never past the budget);
# its output goes to the terminal and to $LOGS/NAME.log, its exit status to STATUS.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((BUDGET_S - SECONDS))
  ((left < limit)) && limit=$left
  if ((limit < 10)); then
    echo "== $name: skipped, the ${BUDGET_S} s budget is spent"
    STATUS[$name]="skipped (out of time)"
    return 0
  fi
  echo "== $name (at most ${limit} s; ${SECONDS} s used so far)"
  local status=0
  timeout "$limit" "$@" 2>&1 | tee "$LOGS/$name.log" || status=$?
  STATUS[$name]=$([[ $status == 0 ]] && echo ok || echo "failed (exit $status)")
}

echo "bench/gpu.sh on $device"
step torch-tests 60 "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_measures_torch.py \
  --junitxml="$LOGS/torch-tests.xml"
step generate-fc6 150 "$PYTHON" bench/scale.py generate --file "$FILE" --layers fc6 "${SIZE[@]}"
step fc6-torch 80 "$PYTHON" bench/scale.py layer --file "$FILE" --layers fc6 --backend torch \
  --methods ours
step fc6-numpy 70 "$PYTHON" bench/scale.py layer --file "$FILE" --layers fc6 --backend numpy \
  --methods ours --workers "$(nproc)"
step am 90 "$PYTHON" bench/am.py "${AM[@]}"

for name in "${!STATUS[@]}"; do echo "$name=${STATUS[$name]}"; done >"$LOGS/status"
"$PYTHON" - "$LOGS" "$SCALE_ROWS" "$AM_ROWS" "$SECONDS" <<'PY'
"""Summarise the steps and their figures in bench/results/gpu.csv, one row per figure."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

sys.path.insert(0, "bench")
from results_io import RESULTS, append

logs = Path(sys.argv[1])
scale_seen, am_seen, elapsed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
status = dict(line.split("=", 1) for line in (logs / "status").read_text().splitlines())
rows = [dict(figure=f"step {name}", value=state, unit="") for name, state in sorted(status.items())]
junit = logs / "torch-tests.xml"
if junit.exists():
    suite = next(ET.parse(junit).getroot().iter("testsuite"))
    counts = [suite.get(k, "0") for k in ("tests", "failures", "errors", "skipped")]
    rows.append(dict(figure="torch tests, failures, errors, skipped", value=" ".join(counts), unit=""))


def new_rows(name: str, seen: int) -> pd.DataFrame:
    path = RESULTS / f"{name}.csv"
    return pd.read_csv(path).iloc[seen:] if path.exists() else pd.DataFrame()


for _, r in new_rows("scale", scale_seen).iterrows():
    what = f"{r['layer']} ({r['n_images']} x {r['n_units']}) {r['method']}"
    rows.append(dict(figure=what, value=round(r["seconds"], 2), unit="s"))
    rows.append(dict(figure=f"{what} peak RSS", value=r["peak_rss_gib"], unit="GiB"))
for _, r in new_rows("am", am_seen).iterrows():
    what = f"AM {r['setup']} {r['layer']}"
    batched = round(r["s_per_unit_batched"], 4)
    rows.append(dict(figure=f"{what}, {r['units']} units batched", value=batched, unit="s/unit"))
    single = round(r["s_per_unit_one_at_a_time"], 4)
    rows.append(dict(figure=f"{what}, one unit at a time", value=single, unit="s/unit"))
rows.append(dict(figure="the whole check", value=elapsed, unit="s"))
append(rows, "gpu")
for row in rows:
    print(f"{row['figure']}: {row['value']} {row['unit']}")
PY
