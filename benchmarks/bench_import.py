"""`import jupyter_mlops` time in a fresh interpreter (median of 7), beside `import mlflow`; and
`%load_ext jupyter_mlops` (import included) in a fresh IPython shell, as a kernel has one."""

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


LOAD_EXT = """
import os, tempfile, time
os.chdir(tempfile.mkdtemp())
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.HistoryManager.hist_file = ":memory:"
shell = InteractiveShell.instance(config=config)
t = time.perf_counter()
shell.run_cell("%load_ext jupyter_mlops", store_history=True).raise_error()
print(time.perf_counter() - t)
"""


def load_ext_seconds(repeats: int = 7) -> float:
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", LOAD_EXT], capture_output=True, text=True, check=True)
        runs.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


if __name__ == "__main__":
    ours = import_seconds("jupyter_mlops")
    theirs = import_seconds("mlflow") if has_mlflow() else None
    result("import", ours, "s", theirs, target="< 0.3 s", higher_is_better=False)
    result(
        "%load_ext jupyter_mlops (import included)",
        load_ext_seconds(),
        "s",
        target="< 0.3 s",
        higher_is_better=False,
    )
