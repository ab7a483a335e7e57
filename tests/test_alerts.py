"""Alert rules on SQLite and PostgreSQL: thresholds, windows, cooldown and de-duplication, drift and
error-rate rules, and webhooks (a real local HTTP server; private addresses refused unless allowed).
The logged requests are written the way the server's prediction log writes them."""

from __future__ import annotations

import http.server
import json
import threading
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from jupyter_mlops.errors import InvalidValue, NotFound
from jupyter_mlops.serving.predlog import _serialised
from jupyter_mlops.store.deploy_store import DeployStore
from jupyter_mlops.tracking import api


@pytest.fixture
def deployment(mlops):
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 2_000), "y": rng.normal(5, 2, 2_000)})
    model = LogisticRegression().fit(reference, (reference.x > 0).astype(int))
    mlops.register_model(model, "churn", input_example=reference.head(), reference=reference)
    store = DeployStore(api._current().store.db)
    record = store.create(
        "churn", "local", "127.0.0.1", 1, None, {"routes": [{"model": "churn:1", "weight": 100}]}
    )
    return store, record


def log_requests(store, record, frame, when, status=200):
    rows = []
    for i in range(len(frame)):
        row = frame.iloc[[i]]
        rows.append(
            _serialised(
                {
                    "deployment_id": record.id,
                    "request_id": f"r{when}-{i}",
                    "model": "churn:1",
                    "shadow": False,
                    "time": when,
                    "latency_ms": 2.0,
                    "status": status,
                    "inputs": (list(row.columns), row.to_numpy()),
                    "outputs": [int(row.x.iloc[0] > 0)] if status == 200 else None,
                    "error": None if status == 200 else "the model failed",
                }
            )
        )
    store.write_predictions(rows)


def traffic(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1, n), "y": rng.normal(5, 2, n)})


def test_no_drift_no_alert_then_a_shift_fires_once_per_cooldown(mlops, deployment):
    store, record = deployment
    mlops.add_alert("churn", "drift", 0.5, window="1h", cooldown="30m")
    now = time.time()
    log_requests(store, record, traffic(300, seed=1), now - 600)
    assert mlops.check_alerts("churn", now=now) == []
    log_requests(store, record, traffic(300, seed=2, shift=1.5), now + 10)
    fired = mlops.check_alerts("churn", now=now + 20)
    assert [a["rule"] for a in fired] == ["drift >= 0.5"]
    assert fired[0]["value"] == pytest.approx(2 / 3)  # x and the predictions drifted, y did not
    assert mlops.check_alerts("churn", now=now + 30) == []  # within the cooldown: not again
    later = mlops.check_alerts("churn", now=now + 20 + 1800)  # the shift is still in the window
    assert len(later) == 1
    history = mlops.alerts("churn")
    assert len(history) == 2 and history.message[0] == "churn: drift = 0.6667 >= 0.5 over the last 3600 s"


def test_checkers_racing_on_one_rule_fire_it_once(mlops, deployment):
    """A deployment's replicas and a notebook may check the same rules at the same moment: the cooldown
    check and the write are one transaction, so the alert fires once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from jupyter_mlops.store.alert_store import AlertStore

    store, record = deployment
    mlops.add_alert("churn", "drift", 0.5, window="1h", cooldown="30m")
    now = time.time()
    log_requests(store, record, traffic(300, seed=1), now - 600)
    log_requests(store, record, traffic(300, seed=2, shift=1.5), now + 10)
    start = threading.Barrier(4)

    def check(_):
        start.wait()
        return mlops.check_alerts("churn", now=now + 20)

    with ThreadPoolExecutor(4) as pool:
        fired = [alert for alerts in pool.map(check, range(4)) for alert in alerts]
    assert len(fired) == 1 and len(mlops.alerts("churn")) == 1
    [rule] = AlertStore(store.db).rules(record.id)
    alerts = AlertStore(store.db)
    assert alerts.fire(rule.id, now + 21, 1.0, "again", cooldown_s=1800) is None  # within the cooldown
    assert alerts.fire(rule.id, now + 20 + 1800, 1.0, "later", cooldown_s=1800) is not None


def test_error_rate_and_latency_rules_use_their_window(mlops, deployment):
    store, record = deployment
    now = time.time()
    log_requests(store, record, traffic(90, seed=3), now - 7200)
    log_requests(store, record, traffic(10, seed=4), now - 7200, status=500)  # old errors
    log_requests(store, record, traffic(100, seed=5), now - 60)
    mlops.add_alert("churn", "error_rate", 0.04, window="1h", rule="errors")
    mlops.add_alert("churn", "p95_ms", 1.0, window="1h", rule="slow")
    fired = {a["rule"]: a for a in mlops.check_alerts("churn", now=now)}
    assert set(fired) == {"slow"} and fired["slow"]["value"] == 2.0  # the errors are older than the window
    mlops.add_alert("churn", "error_rate", 0.04, window="3h", rule="errors")  # same name: replaced
    fired = mlops.check_alerts("churn", now=now)
    assert [a["rule"] for a in fired] == ["errors"] and fired[0]["value"] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "cpu", "threshold": 1}, "use one of drift, error_rate, p95_ms, accuracy, rmse"),
        ({"metric": "drift", "threshold": 0.5, "op": "=>"}, "op is one of"),
        ({"metric": "drift", "threshold": "half"}, "threshold is a number"),
        ({"metric": "drift", "threshold": 0.5, "window": "soon"}, "window is a duration"),
        ({"metric": "drift", "threshold": 0.5, "cooldown": -5}, "cooldown is a duration"),
        ({"metric": "drift", "threshold": 0.5, "webhook": "ftp://example.com/x"}, "http(s) URL"),
        ({"metric": "drift", "threshold": 0.5, "webhook": "http://127.0.0.1:9/hook"}, "not a public address"),
        ({"metric": "drift", "threshold": 0.5, "webhook": "http://10.1.2.3/hook"}, "not a public address"),
        (
            {"metric": "drift", "threshold": 0.5, "webhook": "http://169.254.169.254/latest"},
            "not a public address",
        ),
        ({"metric": "drift", "threshold": 0.5, "webhook": "http://[::1]:80/x"}, "not a public address"),
    ],
)
def test_bad_rules_are_refused_and_nothing_is_stored(mlops, deployment, kwargs, message):
    with pytest.raises(InvalidValue, match=message.replace("(", r"\(").replace(")", r"\)")):
        mlops.add_alert("churn", **kwargs)
    from jupyter_mlops.store.alert_store import AlertStore

    assert AlertStore(api._current().store.db).rules(deployment[1].id) == []
    with pytest.raises(NotFound):
        mlops.add_alert("nowhere", "drift", 0.5)


def test_a_webhook_inside_the_network_needs_allow_private_and_gets_the_alert(mlops, deployment):
    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        with pytest.raises(InvalidValue, match="allow_private=True"):
            mlops.add_alert("churn", "p95_ms", 1.0, webhook=url)
        mlops.add_alert("churn", "p95_ms", 1.0, webhook=url, allow_private=True)
        store, record = deployment
        log_requests(store, record, traffic(20, seed=6), time.time())
        fired = mlops.check_alerts("churn")
    finally:
        server.shutdown()
    assert fired[0]["delivery"] == "delivered 204"
    assert received == [{k: fired[0][k] for k in ("rule", "metric", "value", "message", "time")}]
    assert mlops.alerts("churn").delivery[0] == "delivered 204"


def test_monitor_view_in_a_terminal_shows_traffic_service_drift_and_alerts(mlops, deployment):
    store, record = deployment
    now = time.time()
    log_requests(store, record, traffic(150, seed=7, shift=2.0), now - 30)
    log_requests(store, record, traffic(5, seed=8), now - 20, status=500)
    mlops.add_alert("churn", "error_rate", 0.01)
    view = mlops.monitor("churn", window="10m")
    assert type(view).__name__ == "MonitorView"  # no kernel here: the text view
    assert int(view.per_minute.requests.sum()) == 155 and int(view.per_minute.errors.sum()) == 5
    assert view.service.set_index("model").loc["churn:1", "errors"] == 5
    assert view.drift.set_index("column").loc["x", "verdict"] == "drift"
    assert [a["rule"] for a in view.fired] == ["error_rate > 0.01"]
    text = str(view)
    assert (
        text.startswith("Deployment churn (starting), last 600 s") and "1 alerts: churn: error_rate" in text
    )
    reference, current = view.distributions("x")["churn:1"]
    assert len(reference) == 2_000 and len(current) == 150 and np.mean(current) > 1.5
    with pytest.raises(InvalidValue, match="window is a duration"):
        mlops.monitor("churn", window="forever")
