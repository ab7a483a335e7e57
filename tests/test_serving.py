"""Deployments over real HTTP to real uvicorn processes started by ``mlops.deploy``: payload formats,
signatures, bad inputs, faulty and hanging models, traffic splits, sticky routing, shadows, prediction
logging, tokens, updates under load and the command line."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidValue
from jupyter_mlops.serving.api import predictions
from jupyter_mlops.tracking import api

TESTS = Path(__file__).parent
COLUMNS = ["tenure", "spend", "calls", "plan"]


def request(url, method="GET", path="/ping", body=b"", headers=None):
    """One request to ``url`` + ``path`` (a Ray deployment's URL ends with its route prefix)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, parts.path + path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = raw.decode()
    return response.status, answer, {k.lower(): v for k, v in response.getheaders()}


def invoke(url, document, headers=None):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return request(url, "POST", "/invocations", body, {"content-type": "application/json", **(headers or {})})


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A database with two churn versions and two test models, and the deployments the tests share."""
    folder = tmp_path_factory.mktemp("serving")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(TESTS))
    from serving_models import Faulty, SlowFailingShadow

    url, artifacts = f"sqlite:///{folder / 'mlops.db'}", str(folder / "artifacts")
    mlops.connect(url, artifacts=artifacts)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=COLUMNS[:3]).assign(plan=rng.integers(0, 3, 400))
    y = (X.tenure + X.spend > 0).astype(int)
    first = LogisticRegression().fit(X, y)
    second = LogisticRegression(C=0.001).fit(X.assign(tenure=0.0), y)
    mlops.register_model(first, "churn", alias="champion", input_example=X.head())
    mlops.register_model(second, "churn", alias="challenger", input_example=X.head())
    mlops.register_model(Faulty(), "faulty", input_example=X.head())
    mlops.register_model(SlowFailingShadow(), "shadow", input_example=X.head())
    started = {}
    try:
        started["single"] = mlops.deploy("churn:1", name="single")
        started["split"] = mlops.deploy(
            "churn@champion",
            traffic={"churn@champion": 90, "churn@challenger": 10},
            name="split",
            sticky="x-user-id",
        )
        started["faulty"] = mlops.deploy("faulty", name="faulty", timeout=1)
        started["shadowed"] = mlops.deploy("churn:1", shadow="shadow:1", name="shadowed")
        yield {"X": X, "models": {"churn:1": first, "churn:2": second}, **started}
    finally:  # never leave a server running, even when one of them failed to start
        mlops.connect(url, artifacts=artifacts)
        for deployment in started.values():
            deployment.stop()
        api.disconnect()
        sys.path.remove(str(TESTS))


# -- formats and signatures --------------------------------------------------------------------------
def test_each_payload_format_gets_the_models_predictions(served):
    X, url = served["X"].head(5), served["single"].url
    expected = served["models"]["churn:1"].predict(X).tolist()
    split = X.to_dict(orient="split", index=False)
    records = X.to_dict(orient="records")
    for document in (
        {"dataframe_split": split},
        {"dataframe_records": records},
        {"instances": records},
        {"inputs": records},
        {"inputs": {c: X[c].tolist() for c in X.columns}},
    ):
        status, answer, headers = invoke(url, document)
        assert (status, answer) == (200, {"predictions": expected}), document
        assert headers["x-model-version"] == "churn:1" and len(headers["x-request-id"]) == 32
    floats = {"columns": split["columns"], "data": X.astype(float).values.tolist()}  # the fast road
    assert invoke(url, {"dataframe_split": floats})[:2] == (200, {"predictions": expected})
    status, answer, _ = request(
        url, "POST", "/invocations", X.to_csv(index=False).encode(), {"content-type": "text/csv"}
    )
    assert (status, answer) == (200, {"predictions": expected})
    assert served["single"].predict(X) == expected
    status, _, headers = invoke(url, {"dataframe_records": records}, {"x-request-id": "mine-1"})
    assert headers["x-request-id"] == "mine-1"


@pytest.mark.parametrize(
    ("rows", "columns"),
    [
        ([[0.1, 2.0]], ["a", "b"]),
        ([[1.0, 2.0], [3.5, -0.0]], None),
        ([[1, 2.0]], ["a", "b"]),  # an int: pandas infers each column
        ([[True, 1.0]], ["a", "b"]),  # a bool stays a bool, never 1.0
        ([[1.0, None]], ["a", "b"]),
        ([[1.0, "2.5"]], ["a", "b"]),  # text stays text, never a number
    ],
)
def test_rows_parse_to_the_table_pandas_makes(rows, columns):
    """Rows of nothing but floats take a fast road: it must give the table pandas gives."""
    from jupyter_mlops.serving.payload import parse

    key = "dataframe_split" if columns else "instances"
    value = {"columns": columns, "data": rows} if columns else rows
    got = parse(json.dumps({key: value}).encode(), "application/json")
    pd.testing.assert_frame_equal(got, pd.DataFrame(rows, columns=columns), check_column_type=False)


def test_signature_missing_columns_extra_columns_and_casts(served):
    url = served["single"].url
    row = {"tenure": 1.0, "spend": 2.0, "calls": 0.5, "plan": 1}
    status, answer, _ = invoke(url, {"dataframe_records": [{"tenure": 1.0, "calls": 2.0}]})
    assert (status, answer) == (400, {"error": "missing columns: spend, plan"})
    ok = invoke(url, {"dataframe_records": [row]})[1]
    assert invoke(url, {"dataframe_records": [{**row, "extra": "dropped"}]})[1] == ok
    assert invoke(url, {"dataframe_records": [{**row, "tenure": 1, "plan": 1.0}]})[1] == ok  # safe casts
    status, answer, _ = invoke(url, {"dataframe_records": [{**row, "plan": 1.5}]})
    assert status == 400 and answer["error"].startswith("column 'plan' must be int64, got float64")
    status, answer, _ = invoke(url, {"dataframe_records": [{**row, "spend": "lots"}]})
    assert status == 400 and "column 'spend' must be float64, got str (e.g. 'lots')" in answer["error"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b"{not json", {}, 400, "the body is not valid JSON"),
        (b'{"instances": [[1]], "inputs": [[1]]}', {}, 400, "give exactly one of"),
        (
            b'{"rows": [[1]]}',
            {},
            400,
            "give exactly one of dataframe_split, dataframe_records, instances, inputs",
        ),
        (b"[1, 2]", {}, 400, "must be an object"),
        (b'{"dataframe_split": {"columns": ["a"]}}', {}, 400, "dataframe_split must be"),
        (b'{"dataframe_records": []}', {}, 400, "no rows to predict"),
        (b'{"instances": [[1.0, 2.0], [1.0]]}', {}, 400, "row 2 has 1, row 1 has 2"),
        (b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", {}, 400, "nested too deeply"),
        (
            b"tenure,spend\n1,2",
            {"content-type": "text/plain"},
            415,
            "content type 'text/plain' is not served",
        ),
        (b'{"inputs": [[1]]}', {"content-type": ""}, 415, "send application/json or text/csv"),
        (b"x" * (10 * 1024 * 1024 + 1), {}, 413, "larger than 10,485,760 bytes"),
    ],
)
def test_bad_requests_get_a_4xx_with_the_reason_and_the_server_keeps_serving(
    served, body, headers, status, reason
):
    url = served["single"].url
    got, answer, _ = request(
        url, "POST", "/invocations", body, {"content-type": "application/json", **headers}
    )
    assert got == status and reason in answer["error"]
    assert invoke(url, {"dataframe_records": served["X"].head(1).to_dict(orient="records")})[0] == 200


def test_routes_methods_health_version_and_host_header(served):
    url = served["single"].url
    assert request(url, path="/ping")[:2] == (200, {"status": "ok"})
    status, health, _ = request(url, path="/health")
    assert (
        status == 200
        and health["status"] == "healthy"
        and health["routes"] == [{"model": "churn:1", "weight": 100.0}]
    )
    status, version, _ = request(url, path="/version")
    assert version["deployment"] == "single" and version["jupyter_mlops"] == mlops.__version__
    assert request(url, path="/nope")[0] == 404
    assert request(url, "GET", "/invocations")[:2] == (405, {"error": "use POST here, not GET"})
    status, answer, _ = request(url, path="/ping", headers={"host": "evil.example:80"})
    assert status == 421 and "loopback" in answer["error"]


# -- failures of the model -----------------------------------------------------------------------------
def test_a_model_that_raises_is_a_counted_500_and_a_hang_a_504_without_stalling_others(served):
    url = served["faulty"].url
    row = served["X"].head(1).to_dict(orient="records")[0]
    status, answer, _ = invoke(url, {"dataframe_records": [{**row, "tenure": -1.0}]})
    assert (
        status == 500 and answer["error"] == "the model failed: ValueError: cannot score a negative account"
    )
    results = {}

    def hang():
        results["hang"] = invoke(url, {"dataframe_records": [{**row, "tenure": 999.0}]})

    hanging = threading.Thread(target=hang)
    hanging.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert invoke(url, {"dataframe_records": [row]})[:2] == (200, {"predictions": [0.0]})
    assert time.monotonic() - started < 0.9  # answered while the other request hangs
    hanging.join()
    status, answer, _ = results["hang"]
    assert status == 504 and answer["error"] == "the model took longer than 1 s"
    metrics = request(url, path="/metrics")[1]
    assert 'mlops_requests_total{version="faulty:1",kind="primary",status="500"} 1' in metrics
    assert 'mlops_errors_total{version="faulty:1"} 2' in metrics
    assert 'mlops_request_seconds_bucket{version="faulty:1",le="0.0005"}' in metrics
    assert request(url, path="/health")[0] == 200


# -- routing -------------------------------------------------------------------------------------------
def test_a_90_10_split_of_10000_requests_passes_a_chi_square_test(served):
    from scipy.stats import chisquare

    url = served["split"].url
    host, port = url.split("//")[1].split(":")
    body = json.dumps({"dataframe_records": served["X"].head(1).to_dict(orient="records")})
    counts = {"churn:1": 0, "churn:2": 0}
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    for _ in range(10_000):
        connection.request("POST", "/invocations", body=body, headers={"content-type": "application/json"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        counts[response.getheader("x-model-version")] += 1
    connection.close()
    assert chisquare([counts["churn:1"], counts["churn:2"]], [9_000, 1_000]).pvalue > 0.001


def test_the_same_sticky_key_always_gets_the_same_version(served):
    url = served["split"].url
    row = served["X"].head(1).to_dict(orient="records")
    seen = {}
    for user in range(60):
        versions = {
            invoke(url, {"dataframe_records": row}, {"x-user-id": f"user-{user}"})[2]["x-model-version"]
            for _ in range(4)
        }
        assert len(versions) == 1
        seen[user] = versions.pop()
    assert set(seen.values()) == {"churn:1", "churn:2"} or list(seen.values()).count("churn:1") > 40


def test_a_slow_failing_shadow_never_touches_the_primary_answer(served):
    url = served["shadowed"].url
    X = served["X"].head(3)
    expected = served["models"]["churn:1"].predict(X).tolist()
    for _ in range(3):
        started = time.monotonic()
        status, answer, headers = invoke(url, {"dataframe_split": X.to_dict(orient="split", index=False)})
        assert time.monotonic() - started < 0.45  # the shadow takes 0.5 s: it ran off the response path
        assert (status, answer, headers["x-model-version"]) == (200, {"predictions": expected}, "churn:1")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        logged = predictions("shadowed")
        if (logged.shadow & (logged.status == 500)).sum() >= 3:
            break
        time.sleep(0.2)
    shadow_rows = logged[logged.shadow]
    assert (
        set(shadow_rows.model) == {"shadow:1"} and (shadow_rows.error == "RuntimeError: shadow broke").all()
    )
    primary = logged[~logged.shadow]
    assert set(shadow_rows.request_id) <= set(primary.request_id)
    assert (primary.outputs.map(tuple) == tuple(expected)).all()


# -- logging and feedback ------------------------------------------------------------------------------
def test_predictions_and_feedback_land_in_the_database(served):
    url = served["single"].url
    row = served["X"].head(1)
    _, answer, headers = invoke(url, {"dataframe_split": row.to_dict(orient="split", index=False)})
    request_id = headers["x-request-id"]
    status, stored, _ = request(
        url,
        "POST",
        "/feedback",
        json.dumps([{"request_id": request_id, "value": 1}]).encode(),
        {"content-type": "application/json"},
    )
    assert (status, stored) == (200, {"stored": 1})
    assert request(url, "POST", "/feedback", b'{"value": 1}')[0] == 400
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        logged = predictions("single")
        if request_id in set(logged.request_id):
            break
        time.sleep(0.1)
    mine = logged[logged.request_id == request_id].iloc[0]
    assert mine.model == "churn:1" and mine.status == 200 and not mine.shadow and mine.latency_ms > 0
    assert mine.outputs == answer["predictions"]
    assert mine.inputs["columns"] == COLUMNS  # values kept to 15 significant digits
    np.testing.assert_allclose(mine.inputs["data"], row.values.tolist(), rtol=1e-13)
    from rawsql import sql

    feedback = sql(api.tracking_settings().url, "SELECT request_id, value FROM feedback")
    assert [tuple(r) for r in feedback] == [(request_id, "1")]


# -- deployments -----------------------------------------------------------------------------------------
def test_off_loopback_a_token_is_required(served):
    deployment = mlops.deploy("churn:1", name="tokened", host="127.0.0.2")
    try:
        assert deployment.token and len(deployment.token) >= 40
        row = served["X"].head(1).to_dict(orient="records")
        status, answer, _ = invoke(deployment.url, {"dataframe_records": row})
        assert status == 401 and "Bearer" in answer["error"]
        assert invoke(deployment.url, {"dataframe_records": row}, {"authorization": "Bearer wrong"})[0] == 401
        ok = invoke(
            deployment.url, {"dataframe_records": row}, {"authorization": f"Bearer {deployment.token}"}
        )
        assert ok[0] == 200
        assert (
            deployment.predict(served["X"].head(2))
            == served["models"]["churn:1"].predict(served["X"].head(2)).tolist()
        )
        from rawsql import sql

        stored = sql(
            api.tracking_settings().url, "SELECT token_sha256 FROM deployments WHERE name = 'tokened'"
        )[0][0]
        assert stored and deployment.token not in stored
    finally:
        deployment.stop()


def test_bad_deploy_arguments_are_refused_before_anything_starts(served):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(InvalidValue, match=f"port {port} on 127.0.0.1 is in use"):
            mlops.deploy("churn:1", name="clash", port=port)
    finally:
        taken.close()
    for kwargs, message in [
        ({"traffic": {"churn:1": -1}}, "zero or more"),
        ({"traffic": {"churn:1": "half"}}, "references and weights"),
        ({"traffic": {"churn@nope": 100}}, "no alias @nope"),
        ({"log_sample": 2}, "from 0 to 1"),
        ({"port": 70000}, "from 1 to 65535"),
        ({"name": "bad name"}, "deployment name 'bad name' is not valid"),
    ]:
        with pytest.raises(mlops.MlopsError, match=message):
            mlops.deploy("churn:1", **{"name": "refused", **kwargs})
    with pytest.raises(mlops.AlreadyExists, match="'single' is running"):
        mlops.deploy("churn:2", name="single")
    assert not {"refused", "clash"} & set(mlops.deployments().name)


def test_removing_a_version_from_the_split_under_load_gives_no_5xx(served):
    deployment = mlops.deploy("churn:1", traffic={"churn:1": 50, "churn:2": 50}, name="rolling")
    statuses, versions, stop = [], [], threading.Event()
    row = served["X"].head(1).to_dict(orient="records")

    def load():
        while not stop.is_set():
            status, _, headers = invoke(deployment.url, {"dataframe_records": row})
            statuses.append(status)
            versions.append(headers.get("x-model-version"))

    clients = [threading.Thread(target=load) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        time.sleep(0.5)
        deployment.update(traffic={"churn:2": 100})
        moved = len(versions)
        time.sleep(0.5)
    finally:
        stop.set()
        for client in clients:
            client.join()
        deployment.stop()
    assert statuses and set(statuses) == {200}
    assert "churn:1" in versions[:moved] and set(versions[moved + 8 :]) == {"churn:2"}
    assert deployment.status()["status"] == "stopped"


def test_a_deployment_outlives_the_kernel_that_made_it(served, tmp_path):
    from cells import in_a_kernel

    settings = api.tracking_settings()
    code = (
        "import jupyter_mlops as mlops\n"
        f"mlops.connect({settings.url!r}, artifacts={settings.artifacts!r})\n"
        "d = mlops.deploy('churn@champion', name='survivor')\nprint(d.url)"
    )
    in_a_kernel(tmp_path, code, restart=True)
    deployment = mlops.get_deployment("survivor")
    try:
        assert deployment.status()["status"] == "healthy"
        X = served["X"].head(4)
        assert deployment.predict(X) == served["models"]["churn:1"].predict(X).tolist()
    finally:
        deployment.stop()


def test_jupyter_mlops_serve_in_the_foreground(served):
    port_probe = socket.socket()
    port_probe.bind(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    settings = api.tracking_settings()
    env = {**os.environ, "JUPYTER_MLOPS_URL": settings.url, "JUPYTER_MLOPS_ARTIFACTS": settings.artifacts}
    exe = str(Path(sys.executable).parent / "jupyter-mlops")
    proc = subprocess.Popen(
        [exe, "serve", "churn@challenger", "--port", str(port), "--name", "cli"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == f"serving churn:2 at http://127.0.0.1:{port} (POST /invocations; Ctrl-C stops)"
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(url, path="/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        X = served["X"].head(2)
        status, answer, headers = invoke(url, {"dataframe_records": X.to_dict(orient="records")})
        assert (status, answer["predictions"], headers["x-model-version"]) == (
            200,
            served["models"]["churn:2"].predict(X).tolist(),
            "churn:2",
        )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 0
    assert mlops.get_deployment("cli").status()["status"] == "stopped"
    done = subprocess.run(
        [exe, "serve", "churn:1", "--host", "0.0.0.0"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "needs --token" in done.stderr
