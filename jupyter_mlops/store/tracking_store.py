"""Reads and writes of runs, params, metrics, tags and artifact records.

Takes plain Python values that ``tracking/`` has already validated, returns ``entities``.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert, select, update

from .. import entities as ent
from ..entities import series_id
from ..errors import AmbiguousRef, ConfigError, InvalidValue, NotFound
from . import models as m
from .db import Database
from .schema import ensure_schema

if TYPE_CHECKING:
    import pandas as pd

MetricRow = tuple[int, int, float | None, float]  # series id, step, value (None = NaN), time
DatasetRecord = tuple[str, str, str, str, str]  # variable, fingerprint id, shape, schema, profile (JSON)
_HEX_PREFIX = re.compile(r"[0-9a-f]{1,32}")
ROWS_PER_INSERT = 250  # 1,000 bound values per statement, far below SQLite's limit


class TrackingStore:
    """The SQL side of tracking, for one database."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        if self.db.dialect not in ("sqlite", "postgresql"):
            raise ConfigError(f"{self.db.dialect} is not supported: use sqlite:/// or postgresql+psycopg://")
        ensure_schema(self.db)
        self._experiment_ids: dict[str, int] = {}
        self._environments: set[str] = set()
        one_row = "(?, ?, ?, ?)"
        self._metric_sql = f"INSERT INTO metrics (series_id, step, value, time) VALUES {one_row}"
        # SQLite: one statement per ROWS_PER_INSERT points is ~2.5x faster than one per point.
        self._metric_block_sql = self._metric_sql.replace(one_row, ", ".join([one_row] * ROWS_PER_INSERT))

    # -- experiments -------------------------------------------------------------------------------
    def experiment_id(self, name: str) -> int:
        """The id of experiment ``name``, created on first use."""
        if name in self._experiment_ids:
            return self._experiment_ids[name]

        def get_or_create(conn: Connection) -> int:
            # DO NOTHING on conflict: two kernels creating one experiment at once both get its id.
            conn.execute(
                upsert(self.db, m.experiments, ["name"], []), {"name": name, "created_time": time.time()}
            )
            return int(
                conn.execute(select(m.experiments.c.id).where(m.experiments.c.name == name)).scalar_one()
            )

        self._experiment_ids[name] = self.db.write(get_or_create)
        return self._experiment_ids[name]

    def experiments(self) -> list[ent.Experiment]:
        rows = self.db.read(lambda c: c.execute(select(m.experiments).order_by(m.experiments.c.id)).all())
        return [ent.Experiment(r.id, r.name, r.created_time) for r in rows]

    # -- run lifecycle -----------------------------------------------------------------------------
    def create_run(
        self,
        experiment: str,
        name: str | None,
        *,
        user: str | None,
        host: str | None,
        heartbeat_interval: float,
        parent_id: str | None = None,
        params: Sequence[tuple[str, str, float | None]] = (),
        tags: Sequence[tuple[str, str]] = (),
        source: str | None = None,
        source_hash: str | None = None,
        notebook: str | None = None,
        context: str | None = None,
        environment_id: str | None = None,
        inputs: Sequence[DatasetRecord] = (),
    ) -> tuple[str, str]:
        """Insert a running run with its first params and tags in one transaction; return (id, name).

        A tracked cell also gives its code, context slice (JSON), environment id (saved before with
        ``save_environment``) and ``inputs``: (variable, fingerprint id, shape, schema, profile) with
        shape/schema/profile as JSON text, stored once per fingerprint and linked to the run."""
        experiment_id = self.experiment_id(experiment)
        run_id = uuid.uuid4().hex
        name = name or f"run-{run_id[:8]}"
        now = time.time()

        def create(conn: Connection) -> None:
            conn.execute(
                insert(m.runs).values(
                    id=run_id,
                    experiment_id=experiment_id,
                    name=name,
                    status=ent.RUNNING,
                    start_time=now,
                    heartbeat=now,
                    heartbeat_interval=heartbeat_interval,
                    user=user,
                    host=host,
                    parent_id=parent_id,
                    source=source,
                    source_hash=source_hash,
                    notebook=notebook,
                    context=context,
                    environment_id=environment_id,
                )
            )
            _write_params(self.db, conn, run_id, params)
            _write_tags(self.db, conn, run_id, tags)
            _write_inputs(self.db, conn, run_id, inputs, now)

        self.db.write(create)
        return run_id, name

    def end_run(self, run_id: str, status: str, error: str | None = None) -> None:
        now = time.time()
        self.db.write(
            lambda c: c.execute(
                update(m.runs)
                .where(m.runs.c.id == run_id)
                .values(status=status, end_time=now, heartbeat=now, error=error)
            )
        )

    def reopen_run(self, run_id: str) -> None:
        """Mark an ended or crashed run running again (``--resume``), its heartbeat fresh."""
        now = time.time()
        self.db.write(
            lambda c: c.execute(
                update(m.runs)
                .where(m.runs.c.id == run_id)
                .values(status=ent.RUNNING, end_time=None, heartbeat=now, error=None)
            )
        )

    def rewind_metrics(self, run_id: str, keep: Mapping[str, int]) -> None:
        """Drop the run's metric points after step ``keep[key]`` (all points of keys not in ``keep``),
        and point each series' latest value at what is left: a resumed run continues from its checkpoint."""
        heads, points = m.latest_metrics, m.metrics

        def rewind(conn: Connection) -> None:
            for sid, key in conn.execute(
                select(heads.c.id, heads.c.key).where(heads.c.run_id == run_id)
            ).all():
                last = keep.get(key)
                gone = points.c.series_id == sid
                conn.execute(delete(points).where(gone if last is None else gone & (points.c.step > last)))
                top = conn.execute(
                    select(points.c.step, points.c.value, points.c.time)
                    .where(points.c.series_id == sid)
                    .order_by(points.c.step.desc(), points.c.id.desc())
                    .limit(1)
                ).first()
                if top is None:
                    conn.execute(delete(heads).where(heads.c.id == sid))
                else:
                    conn.execute(
                        update(heads).where(heads.c.id == sid).values(step=top[0], value=top[1], time=top[2])
                    )

        self.db.write(rewind)

    def save_environment(self, environment_id: str, content: str) -> None:
        """Store an environment (content-addressed: a known id is left as it is)."""
        if environment_id in self._environments:
            return
        stmt = upsert(self.db, m.environments, ["id"], [])
        self.db.write(
            lambda c: c.execute(stmt, {"id": environment_id, "content": content, "created_time": time.time()})
        )
        self._environments.add(environment_id)

    def beat(self, run_ids: Iterable[str]) -> None:
        """Record that these runs are alive."""
        ids = list(run_ids)
        if ids:
            now = time.time()
            self.db.write(
                lambda c: c.execute(
                    update(m.runs)
                    .where(m.runs.c.id.in_(ids), m.runs.c.status == ent.RUNNING)
                    .values(heartbeat=now)
                )
            )

    # -- params, tags, metrics ---------------------------------------------------------------------
    def log_params(self, run_id: str, items: Sequence[tuple[str, str, float | None]]) -> None:
        self.db.write(lambda c: _write_params(self.db, c, run_id, items))

    def set_tags(self, run_id: str, items: Sequence[tuple[str, str]]) -> None:
        self.db.write(lambda c: _write_tags(self.db, c, run_id, items))

    def write_metrics(
        self, rows: list[MetricRow], series: Mapping[int, tuple[str, str]], ordered: bool = False
    ) -> None:
        """Append metric points and move each series' latest point forward: the writer's hot path.

        ``series`` maps each series id in ``rows`` to its (run id, key). ``ordered`` promises that no
        series' step goes down within ``rows``, so each series' last row is its latest.
        """
        if ordered:
            latest = {row[0]: row for row in rows}
        else:
            latest = {}
            for row in rows:
                seen = latest.get(row[0])
                if seen is None or row[1] >= seen[1]:
                    latest[row[0]] = row
        heads = [
            {
                "id": sid,
                "run_id": series[sid][0],
                "key": series[sid][1],
                "step": r[1],
                "value": r[2],
                "time": r[3],
            }
            for sid, r in latest.items()
        ]
        stmt = upsert(self.db, m.latest_metrics, ["id"], ["step", "value", "time"], only_if_newer=True)

        def write(conn: Connection) -> None:
            conn.execute(stmt, heads)  # first: points reference their series row
            if self.db.dialect == "sqlite":
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                whole = len(rows) - len(rows) % ROWS_PER_INSERT
                flat = list(chain.from_iterable(rows[:whole]))
                width = 4 * ROWS_PER_INSERT
                cursor.executemany(
                    self._metric_block_sql, [flat[i : i + width] for i in range(0, len(flat), width)]
                )
                cursor.executemany(self._metric_sql, rows[whole:])
            else:
                keys = ("series_id", "step", "value", "time")
                conn.execute(insert(m.metrics), [dict(zip(keys, r, strict=True)) for r in rows])

        self.db.write(write)

    def metric_history(self, run_id: str, key: str) -> pd.DataFrame:
        import pandas as pd

        t = m.metrics
        query = (
            select(t.c.step, t.c.value, t.c.time)
            .where(t.c.series_id == series_id(run_id, key))
            .order_by(t.c.step, t.c.id)
        )
        rows = self.db.read(lambda c: c.execute(query).all())
        frame = pd.DataFrame(rows, columns=["step", "value", "time"])
        frame["value"] = frame["value"].astype(float)  # NULL (stored NaN) -> NaN
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
        return frame

    def metric_series(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[list[int], list[float | None]]]:
        """Step series of many (run, key) pairs in one query: {(run, key): (steps, values)}."""
        by_id = {series_id(run_id, key): (run_id, key) for run_id, key in pairs}
        t = m.metrics
        found: dict[tuple[str, str], tuple[list[int], list[float | None]]] = {}

        def fetch(conn: Connection) -> list[Any]:
            rows: list[Any] = []
            ids = list(by_id)
            for start in range(0, len(ids), 500):
                query = (
                    select(t.c.series_id, t.c.step, t.c.value)
                    .where(t.c.series_id.in_(ids[start : start + 500]))
                    .order_by(t.c.series_id, t.c.step, t.c.id)
                )
                rows.extend(conn.execute(query).cursor.fetchall())
            return rows

        for sid, step, value in self.db.read(fetch):
            steps, values = found.setdefault(by_id[sid], ([], []))
            steps.append(step)
            values.append(value)
        return found

    def add_artifact(self, run_id: str, path: str, uri: str, sha256: str, size: int, kind: str) -> None:
        stmt = upsert(
            self.db, m.artifacts, ["run_id", "path"], ["uri", "sha256", "size", "kind", "created_time"]
        )
        self.db.write(
            lambda c: c.execute(
                stmt,
                {
                    "run_id": run_id,
                    "path": path,
                    "uri": uri,
                    "sha256": sha256,
                    "size": size,
                    "kind": kind,
                    "created_time": time.time(),
                },
            )
        )

    def remove_artifacts(self, run_id: str, paths: Sequence[str]) -> None:
        """Forget these artifact records of the run (the caller deletes the files)."""
        if paths:
            t = m.artifacts
            self.db.write(
                lambda c: c.execute(delete(t).where(t.c.run_id == run_id, t.c.path.in_(list(paths))))
            )

    # -- reading runs ------------------------------------------------------------------------------
    def resolve_run_id(self, ref: str) -> str:
        """The full id of the run whose id is ``ref`` or starts with it (like a git commit prefix)."""
        ref = str(ref).strip().lower()
        if not _HEX_PREFIX.fullmatch(ref):
            raise InvalidValue(f"{ref!r} is not a run id: give a run id or a prefix of one (hex digits)")
        query = select(m.runs.c.id).where(m.runs.c.id.startswith(ref, autoescape=True)).limit(6)
        found = self.db.read(lambda c: c.execute(query).scalars().all())
        if not found:
            raise NotFound(f"no run id starts with {ref!r}: list runs with mlops.runs()")
        if len(found) > 1:
            shown = ", ".join(found[:5])
            raise AmbiguousRef(f"run prefix {ref!r} matches several runs ({shown}...): give more characters")
        return found[0]

    def get_run(self, ref: str) -> ent.Run:
        run_id = self.resolve_run_id(ref)

        def fetch(conn: Connection) -> dict[str, Any]:
            row = conn.execute(
                select(
                    m.runs, m.experiments.c.name.label("experiment"), m.environments.c.content.label("env")
                )
                .join(m.experiments, m.experiments.c.id == m.runs.c.experiment_id)
                .outerjoin(m.environments, m.environments.c.id == m.runs.c.environment_id)
                .where(m.runs.c.id == run_id)
            ).one()
            return {
                "row": row,
                "params": _pairs(conn, m.params, run_id),
                "metrics": _pairs(conn, m.latest_metrics, run_id),
                "tags": _pairs(conn, m.tags, run_id),
                "artifacts": conn.execute(
                    select(m.artifacts).where(m.artifacts.c.run_id == run_id).order_by(m.artifacts.c.path)
                ).all(),
                "inputs": conn.execute(
                    select(m.run_inputs.c.name, m.datasets)
                    .join(m.datasets, m.datasets.c.id == m.run_inputs.c.dataset_id)
                    .where(m.run_inputs.c.run_id == run_id)
                ).all(),
            }

        got = self.db.read(fetch)
        row = got["row"]
        return ent.Run(
            id=row.id,
            name=row.name,
            experiment=row.experiment,
            experiment_id=row.experiment_id,
            status=effective_status(row.status, row.heartbeat, row.heartbeat_interval, time.time()),
            start_time=row.start_time,
            end_time=row.end_time,
            parent_id=row.parent_id,
            user=row.user,
            host=row.host,
            params=got["params"],
            metrics={k: (float("nan") if v is None else v) for k, v in got["metrics"].items()},
            tags=got["tags"],
            code=row.source,
            source_hash=row.source_hash,
            context=json.loads(row.context) if row.context else None,
            notebook=row.notebook,
            error=row.error,
            env=json.loads(row.env) if row.env else {},
            inputs=tuple(
                ent.DatasetInput(
                    r.name, r.id, json.loads(r.shape), json.loads(r.schema), json.loads(r.profile)
                )
                for r in got["inputs"]
            ),
            artifacts=tuple(ent.Artifact(a.path, a.uri, a.sha256, a.size, a.kind) for a in got["artifacts"]),
            _history=lambda key: self.metric_history(run_id, key),
        )


def effective_status(status: str, heartbeat: float, interval: float, now: float) -> str:
    """``running`` reads as ``crashed`` once the run missed STALE_BEATS heartbeats."""
    if status == ent.RUNNING and now - heartbeat > ent.STALE_BEATS * interval:
        return ent.CRASHED
    return status


def _pairs(conn: Connection, table: Any, run_id: str) -> dict[str, Any]:
    return dict(conn.execute(select(table.c.key, table.c.value).where(table.c.run_id == run_id)).all())


def _write_params(
    db: Database, conn: Connection, run_id: str, items: Sequence[tuple[str, str, float | None]]
) -> None:
    if items:
        stmt = upsert(db, m.params, ["run_id", "key"], ["value", "num"])
        conn.execute(stmt, [{"run_id": run_id, "key": k, "value": v, "num": n} for k, v, n in items])


def _write_tags(db: Database, conn: Connection, run_id: str, items: Sequence[tuple[str, str]]) -> None:
    if items:
        stmt = upsert(db, m.tags, ["run_id", "key"], ["value"])
        conn.execute(stmt, [{"run_id": run_id, "key": k, "value": v} for k, v in items])


def _write_inputs(
    db: Database, conn: Connection, run_id: str, inputs: Sequence[DatasetRecord], now: float
) -> None:
    if inputs:
        datasets = [
            {"id": fid, "shape": shape, "schema": schema, "profile": profile, "created_time": now}
            for _, fid, shape, schema, profile in inputs
        ]
        conn.execute(upsert(db, m.datasets, ["id"], []), datasets)
        links = [{"run_id": run_id, "dataset_id": fid, "name": name} for name, fid, *_ in inputs]
        conn.execute(upsert(db, m.run_inputs, ["run_id", "dataset_id", "name"], []), links)


def upsert(
    db: Database, table: Any, index: list[str], update_cols: list[str], only_if_newer: bool = False
) -> Any:
    """INSERT ... ON CONFLICT (index) DO UPDATE the given columns (DO NOTHING when there are none).

    ``only_if_newer`` keeps the stored row when its ``step`` is higher than the incoming one.
    """
    return _built_upsert(db.dialect, table.name, tuple(index), tuple(update_cols), only_if_newer)


@functools.cache
def _built_upsert(
    dialect: str, name: str, index: tuple[str, ...], update_cols: tuple[str, ...], newer: bool
) -> Any:
    """Built once per shape: building the statement costs more than running it for a small batch."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = m.Base.metadata.tables[name]
    stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
    if not update_cols:
        return stmt.on_conflict_do_nothing(index_elements=list(index))
    where = table.c.step <= stmt.excluded.step if newer else None
    return stmt.on_conflict_do_update(
        index_elements=list(index), set_={c: stmt.excluded[c] for c in update_cols}, where=where
    )
