"""`log_metric` in a loop: sustained points/s into SQLite, beside raw sqlite3.executemany and MLflow.

Ours is timed from the first call until the last point is in the database (flush included). The raw
baseline inserts the same rows into the same table of a database made by the same migrations.
"""

from __future__ import annotations

import sqlite3
import statistics
import time

from common import has_mlflow, mlflow_experiment, quiet_mlflow, result, workdir

N = 1_000_000


def ours(n: int = N) -> float:
    import jupyter_mlops as mlops

    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    rates = []
    for _ in range(5):
        with mlops.start_run("bench") as run:
            started = time.perf_counter()
            for i in range(n):
                run.log_metric("loss", i * 0.001)
            mlops.flush()
            rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates)


def raw_executemany(n: int = N) -> float:
    import jupyter_mlops as mlops
    from jupyter_mlops.entities import series_id

    folder = workdir()
    path = f"{folder}/raw.db"
    mlops.connect(f"sqlite:///{path}", artifacts=f"{folder}/art")  # same schema, same migrations
    rates = []
    for _ in range(5):
        now = time.time()
        with mlops.start_run("raw") as run:
            run.log_metric("loss", 0.0)  # creates the series row the points belong to
        sid = series_id(run.id, "loss")
        rows = [(sid, i, i * 0.001, now) for i in range(n)]
        con = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            con.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        con.execute("BEGIN")
        con.executemany("INSERT INTO metrics (series_id, step, value, time) VALUES (?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        rates.append(n / (time.perf_counter() - started))
        con.close()
    return statistics.median(rates)


def mlflow_rates() -> tuple[float, float]:
    import mlflow

    quiet_mlflow()
    folder = workdir()
    mlflow_experiment(folder)
    sync, async_ = [], []
    for _ in range(3):
        with mlflow.start_run():
            started = time.perf_counter()
            for i in range(200):
                mlflow.log_metric("loss", i * 0.001, step=i)
            sync.append(200 / (time.perf_counter() - started))
        with mlflow.start_run():
            started = time.perf_counter()
            for i in range(5000):
                mlflow.log_metric("loss", i * 0.001, step=i, synchronous=False)
            mlflow.flush_async_logging()
            async_.append(5000 / (time.perf_counter() - started))
    return statistics.median(sync), statistics.median(async_)


if __name__ == "__main__":
    ours_rate = ours()
    raw = raw_executemany()
    result("log_metric raw sqlite3.executemany, same rows", raw, "points/s")
    if has_mlflow():
        sync, async_ = mlflow_rates()
        result("log_metric vs MLflow synchronous", ours_rate, "points/s", sync, target=">= 300,000 points/s")
        result("log_metric vs MLflow async", ours_rate, "points/s", async_)
    else:
        result("log_metric", ours_rate, "points/s", target=">= 300,000 points/s")
    result("log_metric share of raw executemany", 100 * ours_rate / raw, "%", target=">= 60%")
