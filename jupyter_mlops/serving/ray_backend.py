"""The ``ray`` deployer: a deployment as a Ray Serve application on the cluster this kernel is connected
to (``ray.init(address=...)``), for models that need more than one machine's worth of replicas.

Each replica runs the same ``ServingApp`` as a local server (routing, shadow, signature checks,
prediction logging, heartbeat, new routes picked up from the database), behind Ray Serve's HTTP proxy at
``http://HOST:PORT/NAME``. The application is named after the deployment; the cluster keeps it when the
kernel that deployed it ends, and any kernel connected to the cluster can update or stop it.

    deployer = RayDeployer(store, url, artifacts)
    deployer.create("churn", {**config, "replicas": 2}, host="127.0.0.1", port=8000, token=None)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config import ENV_ARTIFACTS, ENV_URL
from ..entities import DeploymentRecord
from ..errors import DeployError, InvalidValue
from .defaults import LOOPBACK
from .deployer import START_TIMEOUT, StoredDeployer, check_port

if TYPE_CHECKING:
    from ..store.deploy_store import DeployStore

DEFAULT_PORT = 8000  # Ray Serve's own default


class RayDeployer(StoredDeployer):
    """Deployments as Ray Serve applications, one per deployment, on the cluster this process is
    connected to (an error at once when there is none)."""

    def __init__(self, store: DeployStore, url: str, artifacts: str) -> None:
        super().__init__(store, url, artifacts)
        self.serve = _serve()

    def create(
        self, name: str, config: Mapping[str, Any], host: str, port: int | None, token: str | None
    ) -> DeploymentRecord:
        serve = self.serve
        host, port = _proxy(serve, host, port)
        if host not in LOOPBACK and not token:
            raise InvalidValue(
                f"Ray Serve on this cluster listens on {host}, beyond this machine: pass token= "
                "(any secret string; clients send it as a Bearer token)"
            )
        digest = hashlib.sha256(token.encode()).hexdigest() if token else None
        prefix = f"/{name}"
        config = {**config, "route_prefix": prefix}
        record = self.store.create(name, "ray", host, port, digest, config)
        application = _application(name, self.url, self.artifacts, digest, int(config.get("replicas", 1)))
        try:
            serve.run(application, name=name, route_prefix=prefix)
        except Exception as err:  # a replica failed to start: its reason is in the database when we know it
            reason = self.store.get(name).error or f"{type(err).__name__}: {err}"
            self.store.set(name, status="failed", error=reason[-2000:])
            _delete(serve, name)
            raise DeployError(f"deployment {name!r} did not start on Ray Serve: {reason}") from None
        return self.wait_for(
            name, record.generation, f"did not report healthy from Ray Serve in {START_TIMEOUT:.0f} s"
        )

    def delete(self, name: str) -> None:
        self.store.get(name)  # NotFound before anything else
        _delete(self.serve, name)
        self.store.set(name, status="stopped", pid=None)


def _serve() -> Any:
    """``ray.serve``, once this process is connected to a cluster."""
    from ..clusters import connected_ray

    connected_ray("backend='ray'")
    try:
        from ray import serve
    except ImportError:
        raise InvalidValue("backend='ray' needs Ray Serve: pip install 'jupyter_mlops[ray]'") from None
    return serve


def _proxy(serve: Any, host: str, port: int | None) -> tuple[str, int]:
    """Where the cluster's Serve proxy listens: started on ``host``/``port`` when Serve is not running
    yet; an error when it already listens elsewhere and ``port`` asked for another."""
    check_port(port)
    serve.start(http_options={"host": host, "port": port or DEFAULT_PORT})
    try:
        from ray.serve.context import _get_global_client

        options = _get_global_client().http_config  # type: ignore[union-attr]
        actual = (str(options.host), int(options.port))
    except Exception:  # Ray moved its client: trust what was asked for
        return host, port or DEFAULT_PORT
    if port is not None and actual != (host, port):
        raise InvalidValue(
            f"Ray Serve on this cluster already listens on {actual[0]}:{actual[1]}: "
            f"leave port= and host= out, or pass port={actual[1]}"
        )
    return actual


def _application(name: str, url: str, artifacts: str, digest: str | None, replicas: int) -> Any:
    from ray import serve

    def build() -> Any:  # runs in each replica, on whichever node Ray places it
        from jupyter_mlops.serving.ray_backend import replica_app

        return replica_app(name, digest)

    ingress: Any = serve.deployment(
        serve.ingress(build)(),
        name=name,
        num_replicas=replicas,
        ray_actor_options={"runtime_env": {"env_vars": {ENV_URL: url, ENV_ARTIFACTS: artifacts}}},
    )
    return ingress.bind()


def replica_app(name: str, digest: str | None) -> Any:
    """One replica's app: the deployment's versions loaded and warmed up, and its heartbeat running
    until Ray shuts the replica down."""
    from .server import open_app, watch

    app, store, _ = open_app(name, bytes.fromhex(digest) if digest else None)
    watch(app, store, app.closed, _Replica(), alerts=_first_replica())
    return app


def _first_replica() -> bool:
    """Whether this replica evaluates the deployment's alert rules: only the first does (they would all
    measure the same window). Ray releases without replica ranks let each one check; an alert still
    fires once, since the database checks its cooldown in the transaction that records it."""
    from ray import serve

    rank = getattr(serve.get_replica_context(), "rank", None)
    return getattr(rank, "rank", rank) in (None, 0)


class _Replica:
    """What the heartbeat watches for: a replica serves from its start; Ray, not the heartbeat, ends it."""

    started = True
    should_exit = False


def _delete(serve: Any, name: str) -> None:
    if name in serve.status().applications:
        serve.delete(name)
