"""Runs per second: start a run, log 5 params, end it; SQLite; ours beside MLflow's SQL store."""

from __future__ import annotations

import statistics
import time

from common import has_mlflow, mlflow_experiment, quiet_mlflow, result, workdir

PARAMS = {"lr": 0.01, "batch": 32, "model": "mlp", "layers": [64, 32], "dropout": 0.1}


def ours(n: int = 300) -> float:
    import jupyter_mlops as mlops

    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    with mlops.start_run("warmup", params=PARAMS):
        pass
    rates = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            with mlops.start_run("bench", params=PARAMS):
                pass
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates)


def mlflow_runs(n: int = 60) -> float:
    import mlflow

    quiet_mlflow()
    folder = workdir()
    mlflow_experiment(folder)
    with mlflow.start_run():
        mlflow.log_params(PARAMS)
    rates = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            with mlflow.start_run():
                mlflow.log_params(PARAMS)
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates)


if __name__ == "__main__":
    result(
        "run with 5 params", ours(), "runs/s", mlflow_runs() if has_mlflow() else None, target=">= 10x MLflow"
    )
