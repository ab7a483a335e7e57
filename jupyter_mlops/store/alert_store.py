"""Reads and writes of alert rules and fired alerts."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..errors import NotFound
from . import models as m
from .db import Database
from .tracking_store import upsert


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save_rule(self, deployment_id: int, name: str, **values: Any) -> None:
        """Create rule ``name`` of a deployment, or replace the one of that name."""
        stmt = upsert(self.db, m.alert_rules, ["deployment_id", "name"], [*values, "created_time"])
        row = {"deployment_id": deployment_id, "name": name, "created_time": time.time(), **values}
        self.db.write(lambda c: c.execute(stmt, row))

    def rules(self, deployment_id: int) -> list[Any]:
        t = m.alert_rules
        query = select(t).where(t.c.deployment_id == deployment_id).order_by(t.c.name)
        return list(self.db.read(lambda c: c.execute(query).all()))

    def delete_rule(self, deployment_id: int, name: str) -> None:
        def write(conn: Connection) -> None:
            t = m.alert_rules
            rule = conn.execute(
                select(t.c.id).where(t.c.deployment_id == deployment_id, t.c.name == name)
            ).scalar()
            if rule is None:
                raise NotFound(f"no alert rule named {name!r}")
            conn.execute(delete(m.alerts).where(m.alerts.c.rule_id == rule))
            conn.execute(delete(t).where(t.c.id == rule))

        self.db.write(write)

    def fire(
        self, rule_id: int, when: float, value: float | None, message: str, cooldown_s: float
    ) -> int | None:
        """Record an alert of rule ``rule_id``, unless the rule fired less than ``cooldown_s`` before
        ``when``: then None. The check and the write are one transaction holding the rule's row, so two
        checkers (the server's replicas, a notebook) never fire the same alert twice."""

        def write(conn: Connection) -> int | None:
            conn.execute(select(m.alert_rules.c.id).where(m.alert_rules.c.id == rule_id).with_for_update())
            last = conn.execute(
                select(m.alerts.c.time)
                .where(m.alerts.c.rule_id == rule_id)
                .order_by(m.alerts.c.time.desc())
                .limit(1)
            ).scalar()
            if last is not None and when - last < cooldown_s:
                return None
            result = conn.execute(
                insert(m.alerts).values(rule_id=rule_id, time=when, value=value, message=message)
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

        return self.db.write(write)

    def delivered(self, alert_id: int, delivery: str) -> None:
        self.db.write(
            lambda c: c.execute(update(m.alerts).where(m.alerts.c.id == alert_id).values(delivery=delivery))
        )

    def alerts(self, deployment_id: int) -> list[Any]:
        a, r = m.alerts, m.alert_rules
        query = (
            select(a.c.time, r.c.name.label("rule"), r.c.metric, a.c.value, a.c.message, a.c.delivery)
            .join(r, r.c.id == a.c.rule_id)
            .where(r.c.deployment_id == deployment_id)
            .order_by(a.c.time.desc(), a.c.id.desc())
        )
        return list(self.db.read(lambda c: c.execute(query).all()))
