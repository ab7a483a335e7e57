"""`import jupyter_mlops` time in a fresh interpreter (median of 7), beside `import mlflow`."""

from __future__ import annotations

import statistics
import subprocess
import sys

from common import has_mlflow, result


def import_seconds(module: str, repeats: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeats)
    ]
    return statistics.median(runs)


if __name__ == "__main__":
    ours = import_seconds("jupyter_mlops")
    theirs = import_seconds("mlflow") if has_mlflow() else None
    result("import", ours, "s", theirs, target="< 0.3 s", higher_is_better=False)
