"""Reads and writes of registered models, versions, aliases and the append-only alias history.

Version numbers are handed out inside the write transaction that inserts the version, with the model's
row locked (PostgreSQL ``FOR UPDATE``; SQLite writers are serialised by ``BEGIN IMMEDIATE``), so two
kernels registering one name at once get two distinct numbers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from .. import entities as ent
from ..errors import NotFound
from . import models as m
from .db import Database
from .tracking_store import upsert


class RegistryStore:
    """The SQL side of the model registry, for one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- versions ----------------------------------------------------------------------------------
    def create_version(
        self, name: str, record: Mapping[str, Any], alias: str | None = None, user: str | None = None
    ) -> int:
        """Insert a version of ``name`` (created on first use) and return its number.

        ``record`` holds the model_versions columns other than ids and number (JSON columns as text).
        ``alias``, when given, points at the new version in the same transaction."""
        now = time.time()

        def create(conn: Connection) -> int:
            model_id = self._lock_model(conn, name, now)
            last = conn.execute(
                select(func.max(m.model_versions.c.version)).where(m.model_versions.c.model_id == model_id)
            ).scalar()
            version = (last or 0) + 1
            conn.execute(
                insert(m.model_versions).values(
                    model_id=model_id, version=version, created_time=now, **record
                )
            )
            conn.execute(
                update(m.registered_models)
                .where(m.registered_models.c.id == model_id)
                .values(updated_time=now)
            )
            if alias:
                _move_alias(conn, model_id, alias, version, None, user, now)
            return version

        return self.db.write(create)

    def _lock_model(self, conn: Connection, name: str, now: float) -> int:
        conn.execute(
            upsert(self.db, m.registered_models, ["name"], []),
            {"name": name, "created_time": now, "updated_time": now},
        )
        query = select(m.registered_models.c.id).where(m.registered_models.c.name == name)
        if self.db.dialect == "postgresql":
            query = query.with_for_update()
        return int(conn.execute(query).scalar_one())

    def version(self, name: str, version: int | None = None, alias: str | None = None) -> ent.ModelVersion:
        """Version ``version`` of ``name``, the one ``alias`` points at, or the latest."""

        def fetch(conn: Connection) -> ent.ModelVersion:
            model_id = _model_id(conn, name)
            number = version
            if alias is not None:
                number = conn.execute(
                    select(m.aliases.c.version).where(
                        m.aliases.c.model_id == model_id, m.aliases.c.alias == alias
                    )
                ).scalar()
                if number is None:
                    known = _aliases(conn, model_id)
                    hint = f"its aliases: {', '.join('@' + a for a in known)}" if known else "it has none"
                    raise NotFound(f"model {name!r} has no alias @{alias} ({hint})")
            query = select(m.model_versions).where(m.model_versions.c.model_id == model_id)
            if number is None:
                query = query.order_by(m.model_versions.c.version.desc()).limit(1)
            else:
                query = query.where(m.model_versions.c.version == number)
            row = conn.execute(query).first()
            if row is None:
                raise NotFound(f"model {name!r} has no version {number}: list them with mlops.list_models()")
            return _version(name, row, _aliases(conn, model_id))

        return self.db.read(fetch)

    def versions(self, name: str) -> list[ent.ModelVersion]:
        """Every version of ``name``, newest first."""

        def fetch(conn: Connection) -> list[ent.ModelVersion]:
            model_id = _model_id(conn, name)
            aliases = _aliases(conn, model_id)
            rows = conn.execute(
                select(m.model_versions)
                .where(m.model_versions.c.model_id == model_id)
                .order_by(m.model_versions.c.version.desc())
            ).all()
            return [_version(name, row, aliases) for row in rows]

        return self.db.read(fetch)

    def update_meta(self, name: str, version: int, meta: Mapping[str, Any]) -> None:
        """Replace the ``meta`` of one version (what it was registered with stays as it was)."""

        def write(conn: Connection) -> None:
            model_id = _model_id(conn, name)
            done = conn.execute(
                update(m.model_versions)
                .where(m.model_versions.c.model_id == model_id, m.model_versions.c.version == version)
                .values(meta=json.dumps(meta, default=str))
            )
            if done.rowcount == 0:
                raise NotFound(f"model {name!r} has no version {version}")

        self.db.write(write)

    def versions_of_run(self, run_id: str) -> list[tuple[str, int]]:
        """(model name, version) of every version registered from run ``run_id``."""
        query = (
            select(m.registered_models.c.name, m.model_versions.c.version)
            .join(m.registered_models, m.registered_models.c.id == m.model_versions.c.model_id)
            .where(m.model_versions.c.run_id == run_id)
            .order_by(m.registered_models.c.name, m.model_versions.c.version)
        )
        return [(r[0], r[1]) for r in self.db.read(lambda c: c.execute(query).all())]

    def models(self) -> list[ent.RegisteredModel]:
        def fetch(conn: Connection) -> list[ent.RegisteredModel]:
            counts = dict(
                (row[0], (row[1], row[2]))
                for row in conn.execute(
                    select(
                        m.model_versions.c.model_id,
                        func.max(m.model_versions.c.version),
                        func.count(),
                    ).group_by(m.model_versions.c.model_id)
                ).all()
            )
            pointers: dict[int, dict[str, int]] = {}
            for row in conn.execute(select(m.aliases).order_by(m.aliases.c.alias)).all():
                pointers.setdefault(row.model_id, {})[row.alias] = row.version
            rows = conn.execute(select(m.registered_models).order_by(m.registered_models.c.name)).all()
            return [
                ent.RegisteredModel(
                    name=r.name,
                    description=r.description,
                    latest_version=counts.get(r.id, (0, 0))[0],
                    versions=counts.get(r.id, (0, 0))[1],
                    aliases=pointers.get(r.id, {}),
                    created_time=r.created_time,
                    updated_time=r.updated_time,
                )
                for r in rows
            ]

        return self.db.read(fetch)

    # -- aliases -----------------------------------------------------------------------------------
    def alias_require(self, name: str, alias: str) -> str | None:
        """The gate (JSON text) stored for ``alias`` of ``name``, if any."""

        def fetch(conn: Connection) -> str | None:
            model_id = _model_id(conn, name)
            return conn.execute(
                select(m.aliases.c.require).where(
                    m.aliases.c.model_id == model_id, m.aliases.c.alias == alias
                )
            ).scalar()

        return self.db.read(fetch)

    def set_alias(
        self, name: str, alias: str, version: int, require: str | None, user: str | None
    ) -> int | None:
        """Point ``alias`` at ``version``; ``require`` (JSON) replaces the stored gate when not None.
        Returns the version the alias pointed at before (None if it is new)."""
        now = time.time()

        def write(conn: Connection) -> int | None:
            model_id = _model_id(conn, name, lock=self.db.dialect == "postgresql")
            exists = conn.execute(
                select(m.model_versions.c.id).where(
                    m.model_versions.c.model_id == model_id, m.model_versions.c.version == version
                )
            ).first()
            if exists is None:
                raise NotFound(f"model {name!r} has no version {version}: list them with mlops.list_models()")
            return _move_alias(conn, model_id, alias, version, require, user, now)

        return self.db.write(write)

    def remove_alias(self, name: str, alias: str, user: str | None) -> int:
        """Remove ``alias`` (its gate too); return the version it pointed at."""
        now = time.time()

        def write(conn: Connection) -> int:
            model_id = _model_id(conn, name, lock=self.db.dialect == "postgresql")
            where = (m.aliases.c.model_id == model_id, m.aliases.c.alias == alias)
            before = conn.execute(select(m.aliases.c.version).where(*where)).scalar()
            if before is None:
                raise NotFound(f"model {name!r} has no alias @{alias}")
            conn.execute(delete(m.aliases).where(*where))
            _record_move(conn, model_id, alias, before, None, user, now)
            return int(before)

        return self.db.write(write)

    def alias_history(self, name: str, alias: str | None = None) -> list[ent.AliasEvent]:
        """Every move of ``alias`` (or of all aliases) of ``name``, oldest first."""

        def fetch(conn: Connection) -> list[ent.AliasEvent]:
            model_id = _model_id(conn, name)
            t = m.alias_events
            query = select(t).where(t.c.model_id == model_id).order_by(t.c.time, t.c.id)
            if alias is not None:
                query = query.where(t.c.alias == alias)
            return [
                ent.AliasEvent(name, r.alias, r.from_version, r.to_version, r.user, r.time)
                for r in conn.execute(query).all()
            ]

        return self.db.read(fetch)

    def alias_as_of(self, name: str, alias: str, when: float) -> int | None:
        """The version ``alias`` pointed at at time ``when`` (None if it pointed nowhere)."""

        def fetch(conn: Connection) -> int | None:
            model_id = _model_id(conn, name)
            t = m.alias_events
            return conn.execute(
                select(t.c.to_version)
                .where(t.c.model_id == model_id, t.c.alias == alias, t.c.time <= when)
                .order_by(t.c.time.desc(), t.c.id.desc())
                .limit(1)
            ).scalar()

        return self.db.read(fetch)


def _model_id(conn: Connection, name: str, lock: bool = False) -> int:
    query = select(m.registered_models.c.id).where(m.registered_models.c.name == name)
    if lock:
        query = query.with_for_update()
    found = conn.execute(query).scalar()
    if found is None:
        raise NotFound(f"no registered model named {name!r}: list them with mlops.list_models()")
    return int(found)


def _aliases(conn: Connection, model_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(m.aliases.c.alias, m.aliases.c.version)
        .where(m.aliases.c.model_id == model_id)
        .order_by(m.aliases.c.alias)
    ).all()
    return {alias: version for alias, version in rows}


def _move_alias(
    conn: Connection,
    model_id: int,
    alias: str,
    version: int,
    require: str | None,
    user: str | None,
    now: float,
) -> int | None:
    where = (m.aliases.c.model_id == model_id, m.aliases.c.alias == alias)
    before = conn.execute(select(m.aliases.c.version).where(*where)).scalar()
    if before is None:
        conn.execute(
            insert(m.aliases).values(
                model_id=model_id, alias=alias, version=version, require=require, updated_time=now
            )
        )
    else:
        values: dict[str, Any] = {"version": version, "updated_time": now}
        if require is not None:
            values["require"] = require
        conn.execute(update(m.aliases).where(*where).values(**values))
    if before != version:
        _record_move(conn, model_id, alias, before, version, user, now)
    return None if before is None else int(before)


def _record_move(
    conn: Connection,
    model_id: int,
    alias: str,
    before: int | None,
    after: int | None,
    user: str | None,
    now: float,
) -> None:
    conn.execute(
        insert(m.alias_events).values(
            model_id=model_id, alias=alias, from_version=before, to_version=after, user=user, time=now
        )
    )


def _version(name: str, row: Any, aliases: Mapping[str, int]) -> ent.ModelVersion:
    return ent.ModelVersion(
        name=name,
        version=row.version,
        aliases=tuple(a for a, v in aliases.items() if v == row.version),
        run_id=row.run_id,
        flavor=row.flavor,
        format=row.format,
        sha256=row.sha256,
        size=row.size,
        uri=row.uri,
        signature=json.loads(row.signature) if row.signature else None,
        metrics={k: (float("nan") if v is None else v) for k, v in json.loads(row.metrics).items()},
        report=json.loads(row.report) if row.report else None,
        meta=json.loads(row.meta),
        author=row.author,
        description=row.description,
        created_time=row.created_time,
    )
