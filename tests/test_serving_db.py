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
