"""Reads and writes of deployments, logged predictions and feedback."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from ..entities import DeploymentRecord
from ..errors import AlreadyExists, NotFound
from . import models as m
from .db import Database

if TYPE_CHECKING:
    import pandas as pd

#: A deployment in one of these states holds its name; a stopped or failed one can be replaced.
LIVE = ("starting", "healthy")


class DeployStore:
    """The SQL side of serving, for one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        name: str,
        backend: str,
        host: str,
        port: int,
        token_sha256: str | None,
        config: Mapping[str, Any],
    ) -> DeploymentRecord:
        """Record a new deployment as starting (replacing a stopped or failed one of the same name)."""
        now = time.time()
        values = {
            "backend": backend,
            "host": host,
            "port": port,
            "pid": None,
            "token_sha256": token_sha256,
            "status": "starting",
            "config": json.dumps(config),
            "active_generation": None,
            "heartbeat": None,
            "error": None,
            "updated_time": now,
        }

        def write(conn: Connection) -> None:
            row = conn.execute(select(m.deployments).where(m.deployments.c.name == name)).first()
            if row is None:
                conn.execute(
                    insert(m.deployments).values(name=name, generation=1, created_time=now, **values)
                )
            elif row.status in LIVE and _alive(row):
                raise AlreadyExists(
                    f"deployment {name!r} is running on port {row.port}: update it with "
                    f"mlops.get_deployment({name!r}).update(...), or undeploy it first"
                )
            else:
                conn.execute(
                    update(m.deployments)
                    .where(m.deployments.c.id == row.id)
                    .values(generation=row.generation + 1, **values)
                )

        self.db.write(write)
        return self.get(name)

    def get(self, name: str) -> DeploymentRecord:
        row = self.db.read(
            lambda c: c.execute(select(m.deployments).where(m.deployments.c.name == name)).first()
        )
        if row is None:
            raise NotFound(f"no deployment named {name!r}: list them with mlops.deployments()")
        return _record(row)

    def all(self) -> list[DeploymentRecord]:
        rows = self.db.read(lambda c: c.execute(select(m.deployments).order_by(m.deployments.c.name)).all())
        return [_record(r) for r in rows]

    def set(self, name: str, **values: Any) -> None:
        """Update columns of a deployment (status, pid, port, error, ...)."""
        values["updated_time"] = time.time()
        self.db.write(
            lambda c: c.execute(update(m.deployments).where(m.deployments.c.name == name).values(**values))
        )

    def set_config(self, name: str, config: Mapping[str, Any]) -> int:
        """Store new routes; return the new generation the server will pick up."""

        def write(conn: Connection) -> int:
            row = conn.execute(select(m.deployments).where(m.deployments.c.name == name)).first()
            if row is None:
                raise NotFound(f"no deployment named {name!r}")
            generation = int(row.generation) + 1
            conn.execute(
                update(m.deployments)
                .where(m.deployments.c.id == row.id)
                .values(config=json.dumps(config), generation=generation, updated_time=time.time())
            )
            return generation

        return self.db.write(write)

    def beat(self, deployment_id: int, active_generation: int | None, status: str = "healthy") -> None:
        now = time.time()
        self.db.write(
            lambda c: c.execute(
                update(m.deployments)
                .where(m.deployments.c.id == deployment_id)
                .values(heartbeat=now, active_generation=active_generation, status=status)
            )
        )

    def write_predictions(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.db.write(lambda c: c.execute(insert(m.predictions), list(rows)))

    def write_feedback(self, deployment_id: int, items: Sequence[tuple[str, str]]) -> None:
        now = time.time()
        rows = [{"deployment_id": deployment_id, "request_id": r, "value": v, "time": now} for r, v in items]
        self.db.write(lambda c: c.execute(insert(m.feedback), rows))

    def predictions(self, name: str, limit: int | None = None) -> pd.DataFrame:
        """Logged predictions of a deployment, newest first."""
        import pandas as pd

        record = self.get(name)
        t = m.predictions
        query = select(t).where(t.c.deployment_id == record.id).order_by(t.c.time.desc(), t.c.id.desc())
        if limit:
            query = query.limit(limit)
        rows = self.db.read(lambda c: c.execute(query).all())
        frame = pd.DataFrame([r._asdict() for r in rows], columns=[c.name for c in t.columns])
        for column in ("inputs", "outputs"):
            frame[column] = frame[column].map(lambda v: json.loads(v) if isinstance(v, str) else None)
        return frame.drop(columns=["id", "deployment_id"])


def _requests(deployment_id: int, since: float | None, *columns: Any) -> Any:
    """SELECT ``columns`` of a deployment's non-shadow requests since ``since``, oldest first."""
    t = m.predictions
    query = select(*columns).where(t.c.deployment_id == deployment_id, t.c.shadow.is_(False))
    if since is not None:
        query = query.where(t.c.time >= since)
    return query.order_by(t.c.time, t.c.id)


def window(db: Database, deployment_id: int, since: float | None) -> list[Any]:
    """(model, inputs JSON, outputs JSON) of the answered, non-shadow requests since ``since``, oldest
    first: what drift is measured on."""
    t = m.predictions
    query = _requests(deployment_id, since, t.c.model, t.c.inputs, t.c.outputs).where(t.c.status == 200)
    return list(db.read(lambda c: c.execute(query).cursor.fetchall()))  # plain tuples: 100,000s of rows


def requests_and_feedback(db: Database, deployment_id: int, since: float | None) -> tuple[Any, Any]:
    """(model, request_id, latency_ms, status, outputs) of the non-shadow requests since ``since``, and
    (request_id, value) of the feedback, as two DataFrames."""
    import pandas as pd

    t, f = m.predictions, m.feedback
    answers = _requests(
        deployment_id, since, t.c.model, t.c.request_id, t.c.latency_ms, t.c.status, t.c.outputs
    )
    labels = select(f.c.request_id, f.c.value).where(f.c.deployment_id == deployment_id).order_by(f.c.id)

    def fetch(conn: Connection) -> tuple[Any, Any]:
        return conn.execute(answers).all(), conn.execute(labels).all()

    logged, feedback = db.read(fetch)
    return (
        pd.DataFrame(logged, columns=["model", "request_id", "latency_ms", "status", "outputs"]),
        pd.DataFrame(feedback, columns=["request_id", "value"]),
    )


def timeline(db: Database, deployment_id: int, since: float | None) -> Any:
    """time, model, latency_ms, status of the non-shadow requests since ``since``, as a DataFrame."""
    import pandas as pd

    t = m.predictions
    query = _requests(deployment_id, since, t.c.time, t.c.model, t.c.latency_ms, t.c.status)
    rows = db.read(lambda c: c.execute(query).all())
    return pd.DataFrame(rows, columns=["time", "model", "latency_ms", "status"])


def _alive(row: Any) -> bool:
    """A server whose heartbeat stopped more than 10 s ago (or never came) no longer holds the name."""
    if row.status == "starting":
        return time.time() - row.updated_time < 120
    return row.heartbeat is not None and time.time() - row.heartbeat < 10


def _record(row: Any) -> DeploymentRecord:
    return DeploymentRecord(
        id=row.id,
        name=row.name,
        backend=row.backend,
        host=row.host,
        port=row.port,
        pid=row.pid,
        status=row.status,
        config=json.loads(row.config),
        generation=row.generation,
        active_generation=row.active_generation,
        heartbeat=row.heartbeat,
        error=row.error,
        created_time=row.created_time,
        updated_time=row.updated_time,
        has_token=row.token_sha256 is not None,
    )
