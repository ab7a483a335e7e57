"""Search 10,000 runs (10 params, 10 metrics each) with a filter and an order, to a DataFrame.

Ours is filled through the Python API. MLflow's database is filled by cloning one run made through its
API in SQL (its API would take minutes for 10,000 runs); the search itself goes through its API.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid

from common import has_mlflow, median_seconds, quiet_mlflow, result, workdir

RUNS = 10_000
FILTER = "metrics.m0 > 0.5 and params.p1 != 'v3'"
ORDER = "metrics.m1 DESC"


def values(i: int) -> tuple[dict[str, str], dict[str, float]]:
    rng = random.Random(i)
    params = {f"p{k}": f"v{rng.randrange(5)}" for k in range(10)}
    metrics = {f"m{k}": rng.random() for k in range(10)}
    return params, metrics


def fill_ours(url: str, folder: str) -> float:
    import jupyter_mlops as mlops

    mlops.connect(url, artifacts=f"{folder}/art")
    started = time.perf_counter()
    for i in range(RUNS):
        params, metrics = values(i)
        with mlops.start_run("search", params=params) as run:
            run.log_metrics(metrics)
    mlops.flush()
    return RUNS / (time.perf_counter() - started)


def search_ours() -> tuple[float, int]:
    import jupyter_mlops as mlops

    count = len(mlops.runs("search", filter=FILTER, order_by=ORDER))
    return median_seconds(lambda: mlops.runs("search", filter=FILTER, order_by=ORDER)), count


def fill_mlflow(path: str) -> str:
    import mlflow

    quiet_mlflow()
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    experiment_id = mlflow.set_experiment("search").experiment_id
    params, metrics = values(0)
    with mlflow.start_run() as template:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
    template_id = template.info.run_id
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    tables = {
        t: [dict(r) for r in con.execute(f"SELECT * FROM {t} WHERE run_uuid = ?", (template_id,))]
        for t in ("runs", "params", "metrics", "latest_metrics", "tags")
    }
    for i in range(1, RUNS):
        run_id = uuid.uuid4().hex
        params, metrics = values(i)
        for table, rows in tables.items():
            for row in rows:
                row = {**row, "run_uuid": run_id}
                if table == "runs":
                    row["name"] = f"run-{i}"
                    row["artifact_uri"] = row["artifact_uri"].replace(template_id, run_id)
                elif table == "params":
                    row["value"] = params[row["key"]]
                elif table in ("metrics", "latest_metrics"):
                    row["value"] = metrics[row["key"]]
                columns = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                con.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
    con.commit()
    con.close()
    return experiment_id


def search_mlflow(experiment_id: str) -> tuple[float, int]:
    import mlflow

    def search():
        return mlflow.search_runs([experiment_id], filter_string=FILTER, order_by=[ORDER], max_results=50_000)

    return median_seconds(search, repeats=3), len(search())


if __name__ == "__main__":
    folder = workdir()
    fill_rate = fill_ours(f"sqlite:///{folder}/mlops.db", folder)
    result("fill 10,000 runs through the API (10 params, 10 metrics)", fill_rate, "runs/s")
    ours, found = search_ours()
    theirs = None
    if has_mlflow():
        theirs, their_found = search_mlflow(fill_mlflow(f"{folder}/mlflow.db"))
        assert their_found == found, (their_found, found)
    result(
        f"search 10,000 runs -> DataFrame ({found} match)",
        ours,
        "s",
        theirs,
        target="< 0.3 s, >= 10x MLflow",
        higher_is_better=False,
    )
