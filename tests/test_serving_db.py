"""A deployment on each database: the server process reads its routes from, and logs to, SQLite and
PostgreSQL alike."""

from __future__ import annotations

import time

import pandas as pd
from sklearn.linear_model import LogisticRegression

from jupyter_mlops.serving.api import predictions


def test_deploy_predict_and_log_on_each_database(mlops):
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    mlops.register_model(model, "db-churn", input_example=X.head(2))
    deployment = mlops.deploy("db-churn", log_sample=1.0)
    try:
        assert deployment.predict(X) == model.predict(X).tolist()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and predictions("db-churn").empty:
            time.sleep(0.1)
        logged = predictions("db-churn")
        assert list(logged.model) == ["db-churn:1"] and logged.outputs[0] == model.predict(X).tolist()
        frame = mlops.deployments()
        assert frame.loc[0, "name"] == "db-churn" and frame.loc[0, "status"] == "healthy"
    finally:
        deployment.stop()
    assert mlops.deployments().loc[0, "status"] == "stopped"


def test_a_full_prediction_log_drops_and_counts_rows_and_never_blocks(tmp_path):
    """The database is locked by another writer: logging a request still returns at once, rows beyond
    the queue's room are dropped and counted, and the queued ones are written once the lock goes."""
    import sqlite3

    from jupyter_mlops.serving.predlog import PredictionLog
    from jupyter_mlops.store.db import Database
    from jupyter_mlops.store.deploy_store import DeployStore
    from jupyter_mlops.store.schema import ensure_schema

    path = tmp_path / "locked.db"
    db = Database(f"sqlite:///{path}")
    ensure_schema(db)
    store = DeployStore(db)
    record = store.create("d", "local", "127.0.0.1", 1, None, {"routes": []})
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    log = PredictionLog(store, max_queued=5)
    frame = pd.DataFrame({"a": [1.0]})
    row = {
        "deployment_id": record.id,
        "model": "m:1",
        "shadow": False,
        "latency_ms": 1.0,
        "status": 200,
        "inputs": (list(frame.columns), frame.to_numpy()),
        "outputs": [0],
        "error": None,
    }
    started = time.monotonic()
    for i in range(50):
        log.log({**row, "request_id": f"r{i}", "time": time.time()})
    assert time.monotonic() - started < 0.1
    assert log.dropped >= 40
    blocker.execute("ROLLBACK")
    blocker.close()
    log.close(timeout=30)
    written = store.predictions("d")
    assert len(written) == 50 - log.dropped and log.failed == 0
    assert written.inputs.iloc[0] == {"columns": ["a"], "data": [[1.0]]}
