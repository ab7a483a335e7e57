"""Drift of a real deployment's logged requests against the reference kept at registration."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from jupyter_mlops.errors import InvalidValue, NotFound


def customers(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "tenure": rng.normal(24 + shift * 12, 12, n),
            "spend": rng.normal(70, 20, n),
            "plan": rng.choice(
                ["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2] if not shift else [0.2, 0.3, 0.5]
            ),
        }
    )


def wait_for_rows(mlops, name, count):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(mlops.predictions(name)) < count:
        time.sleep(0.1)


def test_drift_of_a_deployment_window_against_the_reference(mlops):
    train = customers(2_000, seed=1)
    y = (train.tenure < 20).astype(int)
    # the served pipeline takes the raw columns and uses the numeric ones
    model = make_pipeline(
        ColumnTransformer([("numbers", "passthrough", ["tenure", "spend"])]), LogisticRegression(max_iter=500)
    ).fit(train, y)

    version = mlops.register_model(model, "churn", input_example=train.head(), reference=train)
    assert version.meta["reference"]["rows"] == 2_000
    from jupyter_mlops.registry.api import load_reference

    reference = load_reference("churn:1")
    assert list(reference.columns) == ["tenure", "spend", "plan", "prediction"]
    assert reference.tenure.dtype == "float64" and len(reference) == 2_000

    deployment = mlops.deploy("churn")
    try:
        deployment.predict(customers(60, seed=2))
        wait_for_rows(mlops, "churn", 1)
        early = mlops.drift("churn")
        assert set(early.verdict) == {"insufficient data"} and early.attrs["dataset_drift"] == {
            "churn:1": False
        }

        deployment.predict(customers(400, seed=3))
        wait_for_rows(mlops, "churn", 2)
        calm = mlops.drift("churn").set_index("column")
        assert list(calm.index) == ["tenure", "spend", "plan", "prediction"]
        assert (
            calm.loc["tenure", "test"] == "wasserstein (normed)"
            and calm.loc["plan", "test"] == "jensen-shannon"
        )
        assert not calm.drift.any() and calm.loc["tenure", "current_rows"] == 460

        since = time.time()
        time.sleep(0.01)
        shifted = customers(400, seed=4, shift=1.0)
        shifted.loc[:9, "plan"] = "enterprise"
        deployment.predict(shifted)
        wait_for_rows(mlops, "churn", 3)
        moved = mlops.drift("churn", since=since)
        table = moved.set_index("column")
        assert table.loc["tenure", "drift"] and table.loc["plan", "drift"] and not table.loc["spend", "drift"]
        assert table.loc["prediction", "drift"]  # fewer churners among longer-tenured customers
        assert (
            table.loc["plan", "unseen_categories"] == ["enterprise"]
            and table.loc["tenure", "current_rows"] == 400
        )
        assert moved.attrs["dataset_drift"] == {"churn:1": True}
        psi = mlops.drift("churn", since=since, method="psi")
        assert set(psi.test) == {"psi"}
        with pytest.raises(InvalidValue, match="since is a time"):
            mlops.drift("churn", since="last tuesday-ish")
    finally:
        deployment.stop()


def test_drift_needs_a_reference_and_a_known_deployment(mlops):
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    mlops.register_model(LogisticRegression().fit(X, [0, 0, 1, 1]), "bare")
    from jupyter_mlops.registry.api import load_reference

    with pytest.raises(NotFound, match=r"bare:1 has no reference sample: mlops.set_reference\('bare:1'"):
        load_reference("bare")
    version = mlops.set_reference("bare:1", pd.DataFrame({"a": np.linspace(0, 3, 50)}))
    assert version.meta["reference"]["rows"] == 50
    reference = load_reference("bare")
    assert list(reference.columns) == ["a", "prediction"] and reference.prediction.tolist()[-1] == 1
    with pytest.raises(NotFound, match="no version 4"):
        mlops.set_reference("bare:4", X)
    with pytest.raises(NotFound, match="no deployment named 'nowhere'"):
        mlops.drift("nowhere")


def test_service_metrics_live_accuracy_from_feedback_and_an_ab_report(mlops):
    import json

    train = customers(1_000, seed=1)
    y = (train.tenure < 20).astype(int)
    good = make_pipeline(
        ColumnTransformer([("numbers", "passthrough", ["tenure", "spend"])]), LogisticRegression(max_iter=500)
    ).fit(train, y)
    weak = make_pipeline(
        ColumnTransformer([("numbers", "passthrough", ["spend"])]), LogisticRegression(max_iter=500)
    ).fit(train, y)
    mlops.register_model(good, "churn", input_example=train.head())
    mlops.register_model(weak, "churn", input_example=train.head())
    deployment = mlops.deploy("churn:1", traffic={"churn:1": 50, "churn:2": 50})
    try:
        test = customers(400, seed=5)
        truth = (test.tenure < 20).astype(int).tolist()
        labels = []
        for i in range(len(test)):
            body = json.dumps({"dataframe_records": test.iloc[[i]].to_dict(orient="records")}).encode()
            status, _, headers = deployment.request("POST", "/invocations", body)
            assert status == 200
            labels.append({"request_id": headers["x-request-id"], "value": truth[i]})
        assert deployment.request("POST", "/feedback", json.dumps(labels[:300]).encode())[:2] == (
            200,
            {"stored": 300},
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(mlops.predictions("churn")) < 400:
            time.sleep(0.1)
        table = mlops.service_metrics("churn").set_index("model")
        assert table.requests.sum() == 400 and (table.errors == 0).all() and (table.error_rate == 0).all()
        assert table.labelled.sum() == 300
        assert (
            (table.p50_ms > 0).all()
            and (table.p50_ms <= table.p95_ms).all()
            and (table.p95_ms <= table.p99_ms).all()
        )
        assert table.loc["churn:1", "accuracy"] > 0.9 and table.loc["churn:2", "accuracy"] < 0.85
        report = mlops.ab_report("churn", "churn:1", "churn:2")
        assert report["p_value"] < 0.05 and report["verdict"].startswith("churn:1 is more accurate")
        with pytest.raises(InvalidValue, match="churn:9 answered no request"):
            mlops.ab_report("churn", "churn:1", "churn:9")
    finally:
        deployment.stop()


def test_the_server_evaluates_its_alert_rules_on_its_own(mlops, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_ALERT_SECONDS", "0.5")  # read by the server process at start
    train = customers(500, seed=1)
    model = make_pipeline(
        ColumnTransformer([("numbers", "passthrough", ["tenure", "spend"])]), LogisticRegression(max_iter=500)
    ).fit(train, (train.tenure < 20).astype(int))
    mlops.register_model(model, "churn", input_example=train.head())
    deployment = mlops.deploy("churn")
    try:
        mlops.add_alert("churn", "p95_ms", 0.001, rule="any latency")
        deployment.predict(customers(5, seed=2))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and mlops.alerts("churn").empty:
            time.sleep(0.2)
        fired = mlops.alerts("churn")
        assert list(fired.rule) == ["any latency"] and fired.message[0].startswith("churn: p95_ms = ")
        time.sleep(1.5)  # several more evaluations: the cooldown keeps it to one alert
        assert len(mlops.alerts("churn")) == 1
    finally:
        deployment.stop()


@pytest.mark.parametrize(
    "rows",
    [
        [[1.5, "007", True, None, 3], [-2e-3, "a, b", False, float("nan"), 4]],  # the CSV path
        [[1.0, 'say "hi"', True, 1.0, 1], [2.0, "naïve", False, 2.0, 2]],  # escapes: the JSON path
        [[1.0, "x]", True, 1.0, 1], [2.0, "{y", False, 2.0, 2]],  # brackets in text: the JSON path
        [[[1, 2], "x", True, 1.0, 1], [[3], "y", False, 2.0, 2]],  # nested values: the JSON path
    ],
    ids=["flat", "escapes", "brackets", "nested"],
)
def test_logged_requests_read_back_as_they_were_logged(rows):
    """The fast reader of logged requests gives what json.loads gives, types included."""
    import json

    import pandas as pd

    from jupyter_mlops.monitoring.api import current_frame

    columns = ["num", "text", "flag", "maybe", "count"]
    logged = [
        (json.dumps({"columns": columns, "data": [row]}), json.dumps([i * 0.5])) for i, row in enumerate(rows)
    ]
    logged.append((json.dumps({"columns": columns, "data": [rows[0]]})[:40] + "...[cut]", "[9.0]"))  # capped
    frame = current_frame(logged)
    expected = pd.DataFrame(rows, columns=columns).infer_objects()
    assert len(frame) == 2 and list(frame.columns) == [*columns, "prediction"]

    def plain(values):  # NaN and None alike, lists as they are
        return [None if not isinstance(v, list) and pd.isna(v) else v for v in values]

    for column in columns:
        assert plain(frame[column].tolist()) == plain(expected[column].tolist()), column
    assert frame["text"].tolist() == [r[1] for r in rows]  # "007" stays text
    assert frame.prediction.tolist() == [0.0, 0.5]
    from jupyter_mlops.monitoring.api import _flat_rows

    fast = _flat_rows([json.dumps([row]) for row in rows], columns) is not None
    assert fast == (rows[0][1] == "007")  # only the flat rows take the CSV reader
