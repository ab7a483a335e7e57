"""Drift over a window of 100,000 logged predictions of 20 features against a 5,000-row reference:
the tests alone on DataFrames, and ``mlops.drift`` end to end (reading the logged requests from SQLite)."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
from common import median_seconds, result, workdir

ROWS = 100_000
FEATURES = 20


def frames():
    rng = np.random.default_rng(0)
    columns = {f"num{i}": rng.normal(0, 1, ROWS) for i in range(FEATURES - 5)}
    columns.update({f"cat{i}": rng.choice(["a", "b", "c", "d"], ROWS) for i in range(5)})
    current = pd.DataFrame(columns)
    reference = current.sample(5_000, random_state=1).reset_index(drop=True)
    return reference, current.assign(num0=current.num0 + 0.5)


def tests_only(reference, current) -> float:
    from jupyter_mlops.monitoring.drift import drift_table

    return median_seconds(lambda: drift_table(reference, current), repeats=5)


class Echo:
    """A stand-in model: the drift measured here is of the inputs."""

    def predict(self, X):
        return np.zeros(len(X))


def end_to_end(reference, current) -> float:
    import jupyter_mlops as mlops
    from jupyter_mlops.store.deploy_store import DeployStore
    from jupyter_mlops.tracking import api

    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    mlops.register_model(Echo(), "wide", input_example=reference.head(), reference=reference)
    store = DeployStore(api._current().store.db)
    record = store.create("wide", "local", "127.0.0.1", 1, None, {"routes": []})
    columns = list(current.columns)
    now = time.time()
    rows = [
        {
            "deployment_id": record.id,
            "request_id": f"r{i}",
            "model": "wide:1",
            "shadow": False,
            "time": now,
            "latency_ms": 1.0,
            "status": 200,
            "inputs": json.dumps({"columns": columns, "data": [values]}),
            "outputs": "[0.0]",
            "error": None,
        }
        for i, values in enumerate(current.itertuples(index=False, name=None))
    ]
    for start in range(0, len(rows), 5_000):
        store.write_predictions(rows[start : start + 5_000])
    return median_seconds(lambda: mlops.drift("wide"), repeats=3)


if __name__ == "__main__":
    reference, current = frames()
    result(
        "drift tests, 100,000 rows x 20 features vs a 5,000-row reference",
        tests_only(reference, current),
        "s",
        target="< 1 s",
        higher_is_better=False,
    )
    result(
        "mlops.drift end to end, 100,000 logged one-row requests x 20 features",
        end_to_end(reference, current),
        "s",
        target="< 1 s",
        higher_is_better=False,
        note="read from SQLite, parsed, tested",
    )
