"""The sidebar's REST API over real HTTP to a real Jupyter server (started by the test on loopback, the
extension enabled by the config file the package installs), against a SQLite file the test filled."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from jupyter_servers import JupyterServer

import jupyter_mlops as mlops
from jupyter_mlops.tracking import api


class Server(JupyterServer):
    """A plain Jupyter server, with this package's server extension enabled by its installed config."""

    def call(self, path: str, token: str | None = "own", **query: object) -> tuple[int, object]:
        """(HTTP status, JSON body) of GET /jupyter-mlops/api/PATH."""
        url = f"http://127.0.0.1:{self.port}/jupyter-mlops/api/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = (
            {} if token is None else {"Authorization": f"token {self.token if token == 'own' else token}"}
        )
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as err:
            body = err.read()
            try:
                return err.code, json.loads(body)
            except ValueError:
                return err.code, body.decode(errors="replace")

    def get(self, path: str, **query: object) -> object:
        status, body = self.call(path, **query)
        assert status == 200, (status, body)
        return body


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A database with two experiments, six runs (one still running), a registered model with an alias."""
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("server")
    url, artifacts = f"sqlite:///{folder / 'mlops.db'}", str(folder / "artifacts")
    mlops.connect(url, artifacts)
    ids = []
    for i in range(5):
        with mlops.start_run(
            "churn", name=f"r{i}", params={"C": 10.0**-i, "api_key": "sk-live-123456"}
        ) as run:
            for step in range(3):
                run.log_metric("loss", 1.0 / (i + step + 1))
            run.log_metric("acc", 0.5 + i / 10)
            ids.append(run.id)
    running = mlops.start_run("other", name="in-progress")
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    mlops.register_model(model, "churn-model", alias="champion")
    api.flush()
    env = {**os.environ, "JUPYTER_MLOPS_URL": url, "JUPYTER_MLOPS_ARTIFACTS": artifacts}
    server = Server(folder, env)
    try:
        yield {"server": server, "ids": ids, "running": running.id, "url": url}
    finally:
        server.stop()
        running.end()
        api.disconnect()


def test_every_route_requires_the_token(filled):
    server = filled["server"]
    for path in ("status", "experiments", "runs", f"runs/{filled['ids'][0]}", "models", "deployments"):
        assert server.call(path, token=None)[0] == 403
        assert server.call(path, token="wrong")[0] == 403
    assert server.call("status")[0] == 200


def test_status_shows_the_tracking_url_and_the_runs_in_progress(filled):
    status = filled["server"].get("status")
    assert status["url"].startswith("sqlite:///") and status["url"].endswith("mlops.db")
    assert status["running"] == 1 and status["running_runs"][0]["run_name"] == "in-progress"


def test_experiments_and_runs_with_filter_order_and_pages(filled):
    server = filled["server"]
    assert sorted(e["name"] for e in server.get("experiments")) == ["churn", "other"]
    page = server.get("runs", experiment="churn", filter="metrics.acc > 0.55", order_by="-metrics.acc")
    assert page["total"] == 4 and [r["run_name"] for r in page["runs"]] == ["r4", "r3", "r2", "r1"]
    assert (
        page["runs"][0]["metrics"]["acc"] == pytest.approx(0.9) and page["runs"][0]["params"]["C"] == "0.0001"
    )
    assert page["runs"][0]["params"]["api_key"] == "***"  # masked before it reached the database
    second = server.get("runs", experiment="churn", order_by="params.C", limit=2, offset=2)
    assert (second["total"], second["offset"], second["limit"]) == (5, 2, 2)
    assert [r["run_name"] for r in second["runs"]] == ["r2", "r1"]
    assert server.get("runs", experiment="churn", limit=2, offset=10)["runs"] == []
    everything = server.get("runs")
    assert everything["total"] == 6 and {r["status"] for r in everything["runs"]} == {"finished", "running"}


@pytest.mark.parametrize(
    "query, says",
    [
        ({"limit": "abc"}, "limit must be a whole number, got 'abc'"),
        ({"limit": "0"}, "limit must be between 1 and 500"),
        ({"limit": "100000"}, "limit must be between 1 and 500"),
        ({"offset": "-1"}, "offset must be between 0"),
        ({"filter": "metrics.acc >>> 1"}, "expected"),
        ({"filter": "nonsense"}, "metrics.KEY, params.KEY, tags.KEY"),
        ({"order_by": "; drop table runs"}, ""),
    ],
)
def test_bad_parameters_answer_400_with_a_reason(filled, query, says):
    status, body = filled["server"].call("runs", **query)
    assert status == 400 and says in body["error"], body
    assert filled["server"].get("runs")["total"] == 6  # nothing harmed


def test_run_details_code_params_and_metric_curves(filled):
    server = filled["server"]
    run_id = filled["ids"][2]
    run = server.get(f"runs/{run_id[:8]}")  # a prefix, like everywhere else
    assert run["run_id"] == run_id and run["run_name"] == "r2" and run["status"] == "finished"
    assert run["params"] == {"C": "0.01", "api_key": "***"}
    assert run["series"]["loss"] == {"steps": [0, 1, 2], "values": [1 / 3, 1 / 4, 1 / 5]}
    assert server.get(f"runs/{run_id}/metrics/loss")["steps"] == [0, 1, 2]
    status, body = server.call("runs/ffffffff")
    assert status == 404 and "no run id starts with 'ffffffff'" in body["error"]
    status, body = server.call("runs/not-hex")
    assert status == 400 and "is not a run id" in body["error"]


def test_models_versions_and_deployments(filled):
    server = filled["server"]
    [model] = server.get("models")
    assert model["name"] == "churn-model" and model["aliases"] == {"champion": "1"} and model["versions"] == 1
    [version] = server.get("models/churn-model")
    assert (
        version["ref"] == "churn-model:1"
        and version["aliases"] == ["champion"]
        and version["flavor"] == "sklearn"
    )
    status, body = server.call("models/nope")
    assert status == 404 and "nope" in body["error"]
    assert server.get("deployments") == []
    from jupyter_mlops.store.db import Database
    from jupyter_mlops.store.deploy_store import DeployStore

    # a deployment on record (no server started: the route only reads the table)
    config = {"routes": [{"model": "churn-model:1", "ref": "churn-model@champion", "weight": 100.0}]}
    DeployStore(Database(filled["url"])).create("churn", "ray", "127.0.0.1", 8000, None, config)
    [deployment] = server.get("deployments")
    assert (
        deployment["name"] == "churn"
        and deployment["backend"] == "ray"
        and deployment["status"] == "starting"
    )
    assert deployment["routes"] == "churn-model:1 100" and deployment["pid"] is None
