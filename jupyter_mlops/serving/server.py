"""The server process of a deployment: ``python -m jupyter_mlops.serving.server NAME``.

Reads the deployment's routes from the database (``JUPYTER_MLOPS_URL``), loads and warms up the
versions, serves them with uvicorn on the recorded host and port, and every second writes a heartbeat
and picks up new routes: the new versions load beside the old ones, then the router is swapped, so an
update never drops a request. The token, when there is one, comes in ``JUPYTER_MLOPS_SERVE_TOKEN``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError
from .app import ServingApp
from .defaults import LOOPBACK, PREDICT_TIMEOUT, TOKEN_ENV

if TYPE_CHECKING:
    from ..entities import DeploymentRecord
    from ..store.deploy_store import DeployStore

BEAT_SECONDS = 1.0
POLL_SECONDS = 0.2  # how soon new routes are noticed
ALERT_SECONDS = 30.0  # how often the server evaluates its deployment's alert rules
ALERTS_ENV = "JUPYTER_MLOPS_ALERT_SECONDS"


def serve(name: str, token: str | None = None) -> int:
    import uvicorn

    token = token or os.environ.pop(TOKEN_ENV, None) or None
    try:
        app, store, record = open_app(name, token_digest(token))
    except MlopsError as err:
        print(f"jupyter_mlops: deployment {name!r} cannot load its models: {err}", file=sys.stderr)
        return 1
    stop = threading.Event()
    config = uvicorn.Config(
        app, host=record.host, port=record.port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    watcher = watch(app, store, stop, server)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then passed Ctrl-C on: stopping is the point
        pass
    finally:
        stop.set()
        watcher.join(5)  # its last heartbeat must not land after the status below
        app.close()
    if not server.started:  # the port was taken, or the address does not exist here
        store.set(name, status="failed", error=f"could not listen on {record.host}:{record.port}")
        return 1
    store.set(name, status="stopped", pid=None)
    return 0


def token_digest(token: str | None) -> bytes | None:
    return hashlib.sha256(token.encode()).digest() if token else None


def open_app(name: str, digest: bytes | None) -> tuple[ServingApp, DeployStore, DeploymentRecord]:
    """The deployment's app with its versions loaded and warmed up, from the database
    ``JUPYTER_MLOPS_URL`` names; a deployment that cannot load is recorded failed (and raised)."""
    from ..registry import flavors
    from ..store.deploy_store import DeployStore
    from ..tracking import api as tracking
    from .loader import build_router
    from .predlog import PredictionLog

    flavors.load_without_listing()  # this process only loads models
    tracking.connect()
    store = DeployStore(tracking._current().store.db)
    record = store.get(name)
    app = ServingApp(
        name,
        record.id,
        PredictionLog(store, float(record.config.get("log_sample", 1.0))),
        token_digest=digest,
        loopback_port=record.port if record.host in LOOPBACK else None,
        timeout=float(record.config.get("timeout", PREDICT_TIMEOUT)),
    )
    try:
        app.install(build_router(record.config), record.generation)
    except MlopsError as err:
        store.set(name, status="failed", error=str(err))
        app.close()
        raise
    gc.freeze()  # what loaded so far lives as long as the server: keep it out of every collection
    return app, store, record


def watch(
    app: ServingApp, store: DeployStore, stop: threading.Event, server: Any, alerts: bool = True
) -> threading.Thread:
    """Start the heartbeat thread of ``app`` (see ``_watch``); ``alerts``: whether it also evaluates
    the deployment's alert rules."""
    watcher = threading.Thread(
        target=_watch, args=(app, store, app.name, stop, server, alerts), name="mlops-heartbeat", daemon=True
    )
    watcher.start()
    return watcher


def _watch(
    app: ServingApp, store: DeployStore, name: str, stop: threading.Event, server: Any, alerts: bool
) -> None:
    """Heartbeat (the first as soon as ``server.started``), new routes when the deployment's generation
    moves on, and ``server.should_exit`` when the deployment was marked stopped (by a kernel that could
    not signal us)."""
    from .loader import build_router

    while not server.started:
        if stop.wait(0.005):
            return
    rejected = None
    next_beat = 0.0
    every = float(os.environ.get(ALERTS_ENV, ALERT_SECONDS))
    next_alerts = time.monotonic() + every
    while not stop.is_set():
        try:
            record = store.get(name)
            if record.status == "stopped":
                server.should_exit = True
                return
            if record.generation not in (app.generation, rejected):
                try:
                    app.install(build_router(record.config), record.generation)
                except MlopsError as err:  # the old routes keep serving; the error is recorded
                    rejected = record.generation
                    store.set(name, error=f"routes of generation {record.generation} not applied: {err}")
            if time.monotonic() >= next_beat or record.active_generation != app.generation:
                store.beat(record.id, app.generation)
                next_beat = time.monotonic() + BEAT_SECONDS
            if alerts and time.monotonic() >= next_alerts:
                next_alerts = time.monotonic() + every
                _check_alerts(store, record)
        except Exception as err:  # the database is away for a moment: keep serving, beat again later
            print(f"jupyter_mlops: heartbeat of {name!r} failed: {err}", file=sys.stderr)
            stop.wait(BEAT_SECONDS)
        stop.wait(POLL_SECONDS)


def _check_alerts(store: DeployStore, record: Any) -> None:
    """Evaluate the deployment's alert rules, if it has any (fired alerts go to the database and their
    webhooks); a failure is printed, never stops serving."""
    from ..store.alert_store import AlertStore

    if not AlertStore(store.db).rules(record.id):
        return
    from ..monitoring.alerts import check_alerts

    try:
        check_alerts(record.name)
    except Exception as err:
        print(f"jupyter_mlops: alert rules of {record.name!r} not evaluated: {err}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mlops.serving.server")
    parser.add_argument("name", help="the deployment to serve (as recorded in the database)")
    return serve(parser.parse_args(argv).name)


if __name__ == "__main__":
    sys.exit(main())
