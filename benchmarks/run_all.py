"""Run every benchmark, one at a time in its own interpreter, and print a table of the figures.

    python benchmarks/run_all.py          # or: make bench (installs MLflow for the side-by-side ratios)

Figures are medians of repeats; ratios compare with MLflow measured in the same run on the same work.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = [
    "bench_import.py",
    "bench_runs.py",
    "bench_log_metric.py",
    "bench_loop.py",
    "bench_search.py",
    "bench_cell.py",
    "bench_fingerprint.py",
    "bench_compare.py",
    "bench_registry.py",
    "bench_serving.py",
    "bench_drift.py",
    "bench_sweeps.py",
]


def main() -> int:
    rows = []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for script in sys.argv[1:] or SCRIPTS:
        print(f"== {script}", flush=True)
        proc = subprocess.run(
            [sys.executable, str(HERE / script)], cwd=HERE, env=env, capture_output=True, text=True
        )
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                rows.append(json.loads(line[len("RESULT ") :]))
            else:
                print("  " + line)
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            return proc.returncode
    print(f"\n{platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores\n")
    print("| figure | jupyter_mlops | MLflow | ratio | target |")
    print("|---|---|---|---|---|")
    for r in rows:
        mlflow = f"{r['mlflow']:,.4g} {r['unit']}" if r["mlflow"] is not None else ""
        ratio = f"{r['ratio']:,.1f}x" if r["ratio"] is not None else ""
        name = r["name"] + (f" ({r['note']})" if r["note"] else "")
        print(f"| {name} | {r['ours']:,.4g} {r['unit']} | {mlflow} | {ratio} | {r['target']} |")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
