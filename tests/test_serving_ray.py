"""The ``ray`` deployer over real HTTP through a real Ray Serve proxy, on a local Ray cluster this module
starts: the same answers, headers, signature checks, splits, updates, tokens and prediction logging as a
local server; a deployment that outlives the kernel that made it; and the refusals."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cells import in_a_kernel, ok
from ports import free_port
from sklearn.linear_model import LogisticRegression
from test_serving import invoke, request

import jupyter_mlops as mlops
from jupyter_mlops.errors import DeployError, InvalidValue
from jupyter_mlops.tracking import api

ray = pytest.importorskip("ray")
pytest.importorskip("ray.serve")

TESTS = Path(__file__).parent
COLUMNS = ["tenure", "spend", "calls"]


def test_without_a_cluster_a_ray_deploy_says_how_to_connect_one(tmp_path):
    assert not ray.is_initialized()
    mlops.connect(f"sqlite:///{tmp_path / 'mlops.db'}", artifacts=str(tmp_path / "artifacts"))
    try:
        with pytest.raises(InvalidValue, match=r"there is none: run `import ray; ray.init\(address='auto'\)"):
            mlops.deploy("churn:1", name="nowhere", backend="ray")
        assert mlops.deployments().empty
    finally:
        api.disconnect()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A database with two churn versions and a model that fails its warm-up, and a Ray cluster with
    Serve's proxy on a free loopback port."""
    folder = tmp_path_factory.mktemp("ray-serving")
    url, artifacts = f"sqlite:///{folder / 'mlops.db'}", str(folder / "artifacts")
    mlops.connect(url, artifacts=artifacts)
    sys.path.insert(0, str(TESTS))
    from serving_models import Faulty

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=COLUMNS)
    y = (X.tenure + X.spend > 0).astype(int)
    first = LogisticRegression().fit(X, y)
    second = LogisticRegression(C=0.001).fit(X.assign(tenure=0.0), y)
    mlops.register_model(first, "churn", alias="champion", input_example=X.head())
    mlops.register_model(second, "churn", alias="challenger", input_example=X.head())
    broken = X.head().assign(tenure=-1.0)  # Faulty raises on its warm-up row
    mlops.register_model(Faulty(), "broken", input_example=broken)
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        log_to_driver=False,
        # replicas import the test models, and check alert rules every 0.3 s instead of 30 s
        runtime_env={"env_vars": {"PYTHONPATH": str(TESTS), "JUPYTER_MLOPS_ALERT_SECONDS": "0.3"}},
    )
    port = free_port()
    try:
        yield {
            "X": X,
            "models": {"churn:1": first, "churn:2": second},
            "port": port,
            "url": url,
            "art": artifacts,
        }
    finally:
        from ray import serve

        mlops.connect(url, artifacts=artifacts)
        serve.shutdown()
        ray.shutdown()
        api.disconnect()
        sys.path.remove(str(TESTS))


def test_a_ray_deployment_answers_like_a_local_server(cluster):
    X, port = cluster["X"], cluster["port"]
    deployment = mlops.deploy("churn@champion", backend="ray", port=port, name="churn-ray", replicas=2)
    try:
        assert deployment.url == f"http://127.0.0.1:{port}/churn-ray"
        state = deployment.status()
        assert state["status"] == "healthy" and state["backend"] == "ray" and state["pid"] is None
        from ray import serve

        replicas = serve.status().applications["churn-ray"].deployments["churn-ray"].replica_states
        assert replicas == {"RUNNING": 2}
        assert deployment.predict(X.head(5)) == cluster["models"]["churn:1"].predict(X.head(5)).tolist()

        rows = {"dataframe_split": X.head(3).to_dict(orient="split", index=False)}
        status, answer, headers = invoke(deployment.url, rows, {"x-request-id": "abc-1"})
        assert status == 200 and len(answer["predictions"]) == 3
        assert headers["x-model-version"] == "churn:1" and headers["x-request-id"] == "abc-1"

        status, answer, _ = invoke(deployment.url, {"dataframe_records": [{"tenure": 1.0}]})
        assert status == 400 and "calls" in answer["error"] and "spend" in answer["error"]
        status, answer, _ = invoke(deployment.url, b"{not json")
        assert status == 400
        assert request(deployment.url, path="/health")[0] == 200
        assert request(deployment.url, path="/nowhere")[0] == 404

        listed = mlops.deployments().set_index("name").loc["churn-ray"]
        assert listed.status == "healthy" and listed.backend == "ray"

        # the replicas evaluate the deployment's alert rules; a rule that holds fires once per cooldown
        mlops.add_alert("churn-ray", "p95_ms", 0, cooldown="1h")
        deadline = time.monotonic() + 30
        while mlops.alerts("churn-ray").empty and time.monotonic() < deadline:
            invoke(deployment.url, rows)
            time.sleep(0.2)
        time.sleep(1.5)  # several more checks by both replicas
        fired = mlops.alerts("churn-ray")
        assert len(fired) == 1 and fired.message[0].startswith("churn-ray: p95_ms = ")
    finally:
        deployment.stop()
    assert deployment.status()["status"] == "stopped"
    logged = mlops.predictions("churn-ray").set_index("request_id")  # a replica flushes its log as it ends
    assert logged.loc["abc-1"].model == "churn:1" and logged.loc["abc-1"].inputs["columns"] == COLUMNS
    assert request(deployment.url, path="/ping")[0] == 404  # Serve no longer routes it


def test_a_ray_split_follows_its_weights_and_an_update(cluster):
    X = cluster["X"]
    deployment = mlops.deploy(
        "churn@champion",
        traffic={"churn@champion": 50, "churn@challenger": 50},
        backend="ray",
        port=cluster["port"],
        name="split-ray",
    )
    row = {"dataframe_records": X.head(1).to_dict(orient="records")}
    try:
        seen = Counter(invoke(deployment.url, row)[2]["x-model-version"] for _ in range(200))
        assert set(seen) == {"churn:1", "churn:2"} and min(seen.values()) > 60
        deployment.update(traffic={"churn@challenger": 100})
        assert deployment.url.endswith("/split-ray")  # the route prefix survives an update
        seen = Counter(invoke(deployment.url, row)[2]["x-model-version"] for _ in range(30))
        assert seen == {"churn:2": 30}
    finally:
        deployment.stop()


def test_a_ray_deployment_with_a_token_answers_only_with_it(cluster):
    deployment = mlops.deploy(
        "churn:1", backend="ray", port=cluster["port"], name="tokened-ray", token="s3cret-token"
    )
    row = {"dataframe_records": cluster["X"].head(1).to_dict(orient="records")}
    try:
        assert invoke(deployment.url, row)[0] == 401
        assert invoke(deployment.url, row, {"authorization": "Bearer wrong"})[0] == 401
        assert invoke(deployment.url, row, {"authorization": "Bearer s3cret-token"})[0] == 200
        assert len(deployment.predict(cluster["X"].head(2))) == 2  # the Deployment sends its token
    finally:
        deployment.stop()


def test_a_ray_deployment_outlives_the_kernel_that_made_it(cluster, tmp_path):
    settings = api.tracking_settings()
    address = ray.get_runtime_context().gcs_address
    code = (
        "import ray, jupyter_mlops as mlops\n"
        f"ray.init(address={address!r}, log_to_driver=False)\n"
        f"mlops.connect({settings.url!r}, artifacts={settings.artifacts!r})\n"
        "d = mlops.deploy('churn@challenger', backend='ray', "
        f"port={cluster['port']}, name='survivor-ray')"
    )
    in_a_kernel(tmp_path, code, timeout=180)
    deployment = mlops.get_deployment("survivor-ray")
    try:
        assert deployment.status()["status"] == "healthy"
        X = cluster["X"].head(4)
        assert deployment.predict(X) == cluster["models"]["churn:2"].predict(X).tolist()
    finally:
        deployment.stop()


def test_ray_deployments_refuse_what_they_cannot_do(cluster):
    with pytest.raises(InvalidValue, match="replicas= needs backend='ray'"):
        mlops.deploy("churn:1", name="refused", replicas=2)
    with pytest.raises(InvalidValue, match="replicas is a number"):
        mlops.deploy("churn:1", name="refused", backend="ray", replicas=0)
    with pytest.raises(InvalidValue, match="backend 'kubernetes' is not available"):
        mlops.deploy("churn:1", name="refused", backend="kubernetes")
    with pytest.raises(InvalidValue, match="port must be a number from 1 to 65535"):
        mlops.deploy("churn:1", name="refused", backend="ray", port=70000)
    other = free_port()
    with pytest.raises(InvalidValue, match=f"already listens on 127.0.0.1:{cluster['port']}"):
        mlops.deploy("churn:1", name="refused", backend="ray", port=other)

    with pytest.raises(DeployError, match=r"failed its warm-up prediction.*negative account"):
        mlops.deploy("broken", name="broken-ray", backend="ray", port=cluster["port"])
    state = mlops.get_deployment("broken-ray").status()
    assert state["status"] == "failed" and "warm-up" in state["error"]
    from ray import serve

    assert "broken-ray" not in serve.status().applications  # nothing half-started is left on the cluster
    assert "refused" not in set(mlops.deployments().name)


def test_the_deploy_magic_takes_the_ray_backend(cluster, shell):
    ok(
        shell,
        "import pandas as pd\nimport jupyter_mlops as mlops\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X = pd.DataFrame({'a': [0.0, 1.0, 2.0, 3.0], 'b': [1.0, 0.0, 1.0, 0.0]})\n"
        "mlops.register_model(LogisticRegression().fit(X, X.a > 1), 'magic', input_example=X)",
    )
    try:
        deployment = ok(shell, f"%mlops deploy magic --backend ray --port {cluster['port']} --name magic-ray")
        try:
            assert deployment.status()["backend"] == "ray"
            assert deployment.url.endswith("/magic-ray")
            assert deployment.predict(pd.DataFrame({"a": [0.0, 3.0], "b": [1.0, 0.0]})) == [False, True]
        finally:
            ok(shell, "%mlops undeploy magic-ray")
        assert deployment.status()["status"] == "stopped"
    finally:
        mlops.connect(cluster["url"], artifacts=cluster["art"])
