"""``%%experiment`` overhead: a small cell (3 params, 1 metric, one small DataFrame input) run with and
without the magic in a real IPython shell, SQLite; beside MLflow's bare start_run + 5 params + end_run."""

from __future__ import annotations

import statistics
import time

from common import has_mlflow, mlflow_experiment, quiet_mlflow, result, tracked_shell, workdir

CELL = "lr = 0.01\nbatch = 32\nmodel = 'mlp'\nscore = float(df.a.mean()) * lr\n"
PARAMS = {"lr": 0.01, "batch": 32, "model": "mlp", "layers": [64, 32], "dropout": 0.1}


def shell():
    ip = tracked_shell()
    ip.run_cell(
        "import pandas as pd\ndf = pd.DataFrame({'a': range(100), 'b': [0.5] * 100, 'c': ['x'] * 100})",
        store_history=True,
    )
    return ip


def overhead(repeats: int = 200) -> tuple[float, float]:
    """(median seconds of the plain cell, median seconds of the tracked cell), interleaved."""
    ip = shell()
    tracked = "%%experiment bench --quiet\n" + CELL
    for _ in range(10):  # warm up: SQLAlchemy, the environment capture, caches
        ip.run_cell(tracked, store_history=True).raise_error()
    plain_times, tracked_times = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        ip.run_cell(CELL, store_history=True).raise_error()
        plain_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        ip.run_cell(tracked, store_history=True).raise_error()
        tracked_times.append(time.perf_counter() - started)
    return statistics.median(plain_times), statistics.median(tracked_times)


def mlflow_bare(repeats: int = 60) -> float:
    import mlflow

    quiet_mlflow()
    folder = workdir()
    mlflow_experiment(folder)
    times = []
    for _ in range(repeats + 5):
        started = time.perf_counter()
        with mlflow.start_run():
            mlflow.log_params(PARAMS)
        times.append(time.perf_counter() - started)
    return statistics.median(times[5:])


if __name__ == "__main__":
    plain, tracked = overhead()
    extra_ms = (tracked - plain) * 1000
    mlflow_ms = mlflow_bare() * 1000 if has_mlflow() else None
    print(f"plain cell {plain * 1000:.2f} ms, tracked cell {tracked * 1000:.2f} ms")
    result(
        "%%experiment overhead, small cell",
        extra_ms,
        "ms",
        mlflow=mlflow_ms,
        target="< 20 ms",
        higher_is_better=False,
        note="MLflow: bare start_run + 5 params + end_run, no capture",
    )
