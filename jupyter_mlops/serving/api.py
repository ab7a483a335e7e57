"""Deploying from Python: ``mlops.deploy`` returns a ``Deployment``.

d = mlops.deploy("churn@champion")                               # one version, 127.0.0.1, a free port
d = mlops.deploy("churn@champion", traffic={"churn@champion": 90, "churn@challenger": 10},
                 shadow="churn:7", sticky="x-user-id")
d.url, d.predict(X_test.head()), d.status()
d.update(traffic={"churn@challenger": 100}); d.stop()
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..entities import DeploymentRecord
from ..errors import DeployError, InvalidValue
from ..registry import api as registry
from ..registry.refs import check_model_name, parse_ref
from ..tracking import api as tracking
from .defaults import LOOPBACK, PREDICT_TIMEOUT
from .deployer import Deployer, LocalDeployer, is_running

__all__ = ["DeployError", "Deployment", "deploy", "deployments", "get_deployment", "predictions", "undeploy"]

if TYPE_CHECKING:
    import pandas as pd

BACKENDS = ("local", "ray")


def _deployer(backend: str = "local") -> Deployer:
    """The deployer of ``backend``; the default one is enough to read the deployments table."""
    from ..store.deploy_store import DeployStore

    if backend not in BACKENDS:
        raise InvalidValue(f"backend {backend!r} is not available: use one of {', '.join(BACKENDS)}")
    current = tracking._current()
    settings = current.settings
    store = DeployStore(current.store.db)
    if backend == "ray":
        from .ray_backend import RayDeployer

        return RayDeployer(store, settings.url, settings.artifacts)
    return LocalDeployer(store, settings.url, settings.artifacts)


def _deployer_of(record: DeploymentRecord) -> Deployer:
    return _deployer("ray" if record.backend == "ray" else "local")


def routes(
    model_ref: str,
    traffic: Mapping[str, float] | None,
    shadow: str | None,
    sticky: str | None,
    log_sample: float,
    timeout: float = PREDICT_TIMEOUT,
) -> dict[str, Any]:
    """The stored config: each reference pinned to the version it names now (``churn@champion`` ->
    ``churn:3``), weights checked."""
    traffic = dict(traffic) if traffic else {model_ref: 100}
    if not traffic or not all(
        isinstance(w, int | float) and not isinstance(w, bool) for w in traffic.values()
    ):
        raise InvalidValue(
            'traffic is {"churn@champion": 90, "churn@challenger": 10}: references and weights'
        )
    if any(w < 0 for w in traffic.values()) or sum(traffic.values()) <= 0:
        raise InvalidValue("traffic weights must be zero or more, and not all zero")
    if not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
        raise InvalidValue(f"timeout is seconds a prediction may take, from 0 to 3600, got {timeout!r}")
    if not 0 <= log_sample <= 1:
        raise InvalidValue(f"log_sample is the share of requests logged, from 0 to 1, got {log_sample}")
    if sticky is not None and (not isinstance(sticky, str) or not sticky.strip() or not sticky.isascii()):
        raise InvalidValue(f"sticky is the name of a request header, such as 'x-user-id', got {sticky!r}")
    pinned = [
        {"model": registry.get_model_version(ref).ref, "ref": ref, "weight": float(w)}
        for ref, w in traffic.items()
        if w > 0
    ]
    return {
        "routes": pinned,
        "shadow": registry.get_model_version(shadow).ref if shadow else None,
        "sticky": sticky.strip().lower() if sticky else None,
        "log_sample": float(log_sample),
        "timeout": float(timeout),
    }


class Deployment:
    """A running (or stopped) deployment. ``token`` is only known to the session that made it."""

    def __init__(self, record: DeploymentRecord, token: str | None = None) -> None:
        self._record = record
        self.name = record.name
        self.token = token

    @property
    def url(self) -> str:
        host = f"[{self._record.host}]" if ":" in self._record.host else self._record.host
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"
        return f"http://{host}:{self._record.port}{self._record.config.get('route_prefix', '')}"

    def __repr__(self) -> str:
        return f"<Deployment {self.name!r} at {self.url}: {self.status()['status']}>"

    def status(self) -> dict[str, Any]:
        """status (healthy, starting, stopped, failed, unreachable), routes, pid, heartbeat age, error."""
        record = self._record = _deployer().get(self.name)
        state = record.status
        if state == "healthy" and not is_running(record):
            state = "unreachable"
        return {
            "status": state,
            "backend": record.backend,
            "url": self.url,
            "routes": record.config.get("routes", []),
            "shadow": record.config.get("shadow"),
            "sticky": record.config.get("sticky"),
            "pid": record.pid,
            "heartbeat_age_s": round(time.time() - record.heartbeat, 1) if record.heartbeat else None,
            "error": record.error,
        }

    def predict(self, data: Any) -> list[Any]:
        """Send rows (a DataFrame, a list of records, or a 2-D array) to ``/invocations``."""
        from ..registry.signature import as_frame

        frame = as_frame(data)
        body = json.dumps({"dataframe_split": frame.to_dict(orient="split", index=False)}, default=str)
        status, answer, _ = self.request("POST", "/invocations", body.encode())
        if status != 200:
            raise DeployError(f"{self.name} answered {status}: {answer.get('error', answer)}")
        return list(answer["predictions"])

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any, dict[str, str]]:
        """One HTTP request to the server: (status, JSON answer, headers)."""
        import http.client

        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        path = parts.path + path  # behind Ray Serve's proxy the deployment lives under /NAME
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except OSError as err:
            raise DeployError(
                f"{self.name} at {self.url} does not answer ({err}): see mlops.deployments()"
            ) from None
        finally:
            connection.close()
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = raw.decode(errors="replace")
        return response.status, answer, dict(response.getheaders())

    def update(
        self,
        traffic: Mapping[str, float] | None = None,
        shadow: str | None = None,
        sticky: str | None = None,
        log_sample: float | None = None,
    ) -> Deployment:
        """New routes: the server loads the new versions beside the old ones, checks them with a warm-up
        prediction, then switches; requests in flight finish on the old routes."""
        current = self._record.config
        first = current["routes"][0]["ref"] if current.get("routes") else None
        config = current | routes(  # keeps what the backend stored beside the routes (its route prefix)
            first or "",
            traffic or {r["ref"]: r["weight"] for r in current["routes"]},
            shadow,
            sticky if sticky is not None else current.get("sticky"),
            current.get("log_sample", 1.0) if log_sample is None else log_sample,
            current.get("timeout", PREDICT_TIMEOUT),
        )
        self._record = _deployer_of(self._record).update(self.name, config)
        return self

    def stop(self) -> None:
        """Stop the server (its predictions and history stay in the database)."""
        deployer = _deployer_of(_deployer().get(self.name))
        deployer.delete(self.name)
        self._record = deployer.get(self.name)


def deploy(
    model_ref: str,
    traffic: Mapping[str, float] | None = None,
    shadow: str | None = None,
    port: int | None = None,
    backend: str = "local",
    *,
    name: str | None = None,
    host: str = "127.0.0.1",
    token: str | None = None,
    sticky: str | None = None,
    log_sample: float = 1.0,
    timeout: float = PREDICT_TIMEOUT,
    replicas: int = 1,
) -> Deployment:
    """Serve ``model_ref`` (``churn``, ``churn:3``, ``churn@champion``) over HTTP and return the
    Deployment once it answered a warm-up prediction.

    ``traffic`` splits requests by weight across references; ``sticky`` names a header whose value
    always picks the same version; ``shadow`` gets a copy of every request, its answers logged, never
    returned. Binds 127.0.0.1 by default; any other address requires a token (one is made when not
    given: read it from ``.token``). ``log_sample`` is the share of requests logged (1.0: all);
    ``timeout`` the seconds one prediction may take before the answer is a 504.

    ``backend="ray"`` deploys to the Ray cluster this kernel is connected to, as a Ray Serve application
    with ``replicas`` copies, served at ``http://HOST:PORT/NAME`` by the cluster's Serve proxy (port 8000
    unless Serve was started on another).
    """
    name = check_model_name("deployment name", name or parse_ref(model_ref).name)
    if not isinstance(host, str) or not host:
        raise InvalidValue(f"host must be an address such as '127.0.0.1', got {host!r}")
    if host not in LOOPBACK and not token:
        token = secrets.token_urlsafe(32)  # never listen off loopback without one
    deployer = _deployer(backend)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or not 1 <= replicas <= 1000:
        raise InvalidValue(f"replicas is a number of copies from 1 to 1000, got {replicas!r}")
    if replicas != 1 and backend != "ray":
        raise InvalidValue("replicas= needs backend='ray': the local backend runs one server process")
    config = routes(model_ref, traffic, shadow, sticky, log_sample, timeout)
    if backend == "ray":
        config["replicas"] = replicas
    record = deployer.create(name, config, host, port, token)
    return Deployment(record, token)


def get_deployment(name: str, token: str | None = None) -> Deployment:
    """The deployment ``name`` (from any kernel: it is in the database); give its token if it has one."""
    return Deployment(_deployer().get(name), token)


def undeploy(name: str) -> None:
    """Stop deployment ``name`` (a ``ray`` one from a kernel connected to its cluster)."""
    get_deployment(name).stop()


def deployments() -> pd.DataFrame:
    """Deployments: name, status (healthy only with a fresh heartbeat), backend, url, routes, shadow, pid,
    updated."""
    import pandas as pd

    rows = []
    for record in _deployer().list():
        d = Deployment(record)
        state = record.status
        if state == "healthy" and not is_running(record):
            state = "unreachable"
        described = ", ".join(f"{r['model']} {r['weight']:g}" for r in record.config.get("routes", []))
        rows.append(
            (
                record.name,
                state,
                record.backend,
                d.url,
                described,
                record.config.get("shadow"),
                record.pid,
                record.updated_time,
            )
        )
    frame = pd.DataFrame(
        rows, columns=["name", "status", "backend", "url", "routes", "shadow", "pid", "updated_time"]
    )
    frame["updated_time"] = pd.to_datetime(frame["updated_time"], unit="s", utc=True)
    return frame


def predictions(name: str, limit: int | None = None) -> pd.DataFrame:
    """The logged predictions of deployment ``name``, newest first."""
    from ..store.deploy_store import DeployStore

    return DeployStore(tracking._current().store.db).predictions(name, limit)


def serve_foreground(model_ref: str, name: str | None, host: str, port: int | None, token: str | None) -> int:
    """``jupyter mlops serve``: record the deployment, then serve it in this process until stopped."""
    from .deployer import _port
    from .server import serve

    name = check_model_name("deployment name", name or parse_ref(model_ref).name)
    if host not in LOOPBACK and not token:
        raise InvalidValue(
            f"serving on {host} needs --token (any secret string): clients send it as a Bearer token"
        )
    deployer = _deployer()
    config = routes(model_ref, None, None, None, 1.0)
    record = deployer.store.create(name, "foreground", host, _port(host, port), None, config)
    routes_text = ", ".join(r["model"] for r in config["routes"])
    print(f"serving {routes_text} at {Deployment(record).url} (POST /invocations; Ctrl-C stops)", flush=True)
    return serve(name, token)
