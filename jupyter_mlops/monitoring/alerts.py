"""Alert rules over a deployment's drift and service metrics, with cooldown and an optional webhook.

    mlops.add_alert("churn", "drift", 0.5, window="1h")          # half of the columns drifted
    mlops.add_alert("churn", "error_rate", 0.01, webhook="https://hooks.example.com/mlops")
    mlops.check_alerts("churn")                                   # evaluate now; fired ones are returned
    mlops.alerts("churn")

A rule fires when its metric crosses the threshold over the last ``window``, at most once per
``cooldown``. Webhooks get a JSON POST; addresses that are private, loopback, link-local or otherwise
not public are refused unless ``allow_private=True`` (so a rule cannot be used to reach internal
services), redirects are not followed.
"""

from __future__ import annotations

import json
import math
import operator
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import InvalidValue
from ..tracking import api as tracking

if TYPE_CHECKING:
    import pandas as pd

#: metric -> (what it is, the comparison that fires by default)
METRICS = {
    "drift": ("share of drifted columns (any version)", ">="),
    "error_rate": ("share of requests answered 5xx (any version)", ">"),
    "p95_ms": ("95th percentile latency in ms (any version)", ">"),
    "accuracy": ("live accuracy from feedback (worst version)", "<"),
    "rmse": ("live RMSE from feedback (worst version)", ">"),
}
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def seconds(value: Any, what: str) -> float:
    """A duration: a number of seconds or '30s', '15m', '1h', '2d'."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None or float(match[1]) <= 0:
        raise InvalidValue(f"{what} is a duration such as 900, '15m', '1h' or '2d', got {value!r}")
    return float(match[1]) * _UNITS[match[2]]


def check_webhook(url: str, allow_private: bool = False) -> str:
    """The URL, if it is http(s) to a public address (any address with ``allow_private``)."""
    import ipaddress
    import socket

    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(f"webhook must be an http(s) URL, got {url!r}")
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as err:
        raise InvalidValue(f"webhook host {parts.hostname!r} does not resolve: {err}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise InvalidValue(
                f"webhook {parts.hostname} resolves to {address}, which is not a public address: refused "
                "(pass allow_private=True for a hook inside your network)"
            )
    return url


def add_alert(
    name: str,
    metric: str,
    threshold: float,
    op: str | None = None,
    window: Any = "1h",
    cooldown: Any = "1h",
    webhook: str | None = None,
    allow_private: bool = False,
    rule: str | None = None,
) -> None:
    """Store an alert rule for deployment ``name`` (replacing the rule of the same name)."""
    from ..store.alert_store import AlertStore
    from ..store.deploy_store import DeployStore

    if metric not in METRICS:
        raise InvalidValue(f"metric {metric!r} has no alerts: use one of {', '.join(METRICS)}")
    op = op or METRICS[metric][1]
    if op not in _OPS:
        raise InvalidValue(f"op is one of {', '.join(_OPS)}, got {op!r}")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or math.isnan(threshold):
        raise InvalidValue(f"threshold is a number, got {threshold!r}")
    if webhook is not None:
        check_webhook(webhook, allow_private)
    db = tracking._current().store.db
    deployment = DeployStore(db).get(name)
    AlertStore(db).save_rule(
        deployment.id,
        rule or f"{metric} {op} {threshold:g}",
        metric=metric,
        op=op,
        threshold=float(threshold),
        window_s=seconds(window, "window"),
        cooldown_s=seconds(cooldown, "cooldown"),
        webhook=webhook,
        allow_private=bool(allow_private),
    )


def check_alerts(name: str, now: float | None = None) -> list[dict[str, Any]]:
    """Evaluate every rule of deployment ``name`` now; record and deliver those that fire (unless the
    rule fired within its cooldown). Returns the alerts fired by this check."""
    from ..store.alert_store import AlertStore
    from ..store.deploy_store import DeployStore

    now = time.time() if now is None else now
    db = tracking._current().store.db
    deployment = DeployStore(db).get(name)
    store = AlertStore(db)
    fired = []
    measured: dict[
        tuple[str, float], float | None
    ] = {}  # rules on the same metric and window share a reading
    for rule in store.rules(deployment.id):
        key = (rule.metric, rule.window_s)
        if key not in measured:
            measured[key] = measure(name, rule.metric, now - rule.window_s)
        value = measured[key]
        if value is None or math.isnan(value) or not _OPS[rule.op](value, rule.threshold):
            continue
        crossed = f"{rule.metric} = {value:.4g} {rule.op} {rule.threshold:g}"
        message = f"{name}: {crossed} over the last {rule.window_s:g} s"
        alert_id = store.fire(rule.id, now, value, message, rule.cooldown_s)
        if alert_id is None:
            continue  # the same problem, already reported in this cooldown (here or by another checker)
        alert = {"rule": rule.name, "metric": rule.metric, "value": value, "message": message, "time": now}
        if rule.webhook:
            delivery = deliver(rule.webhook, alert, rule.allow_private)
            store.delivered(alert_id, delivery)
            alert["delivery"] = delivery
        fired.append(alert)
    return fired


def measure(name: str, metric: str, since: float) -> float | None:
    """The metric's current value over requests since ``since`` (None when there is nothing to judge)."""
    from .api import drift, service_metrics

    if metric == "drift":
        table = drift(name, since=since)
        judged = table[table.drift.notna()]
        if judged.empty:
            return None
        return float(judged.groupby("model").drift.mean().max())
    table = service_metrics(name, since=since)
    if table.empty:
        return None
    column = table[metric].dropna()
    if column.empty:
        return None
    return float(column.min() if metric == "accuracy" else column.max())


def deliver(url: str, alert: dict[str, Any], allow_private: bool) -> str:
    """POST the alert as JSON; returns 'delivered <status>' or 'failed: <reason>' (never raises)."""
    import urllib.error
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # a redirect could lead to an address the check refused

    try:
        check_webhook(url, allow_private)  # again: the name may resolve elsewhere now
        request = urllib.request.Request(
            url, data=json.dumps(alert).encode(), headers={"content-type": "application/json"}, method="POST"
        )
        with urllib.request.build_opener(NoRedirects).open(request, timeout=5) as response:
            return f"delivered {response.status}"
    except InvalidValue as err:
        return f"refused: {err}"
    except (urllib.error.URLError, OSError) as err:
        return f"failed: {err}"


def alerts(name: str) -> pd.DataFrame:
    """The alerts fired for deployment ``name``, newest first: time, rule, metric, value, message and
    delivery."""
    import pandas as pd

    from ..store.alert_store import AlertStore
    from ..store.deploy_store import DeployStore

    db = tracking._current().store.db
    rows = AlertStore(db).alerts(DeployStore(db).get(name).id)
    frame = pd.DataFrame(rows, columns=["time", "rule", "metric", "value", "message", "delivery"])
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame
