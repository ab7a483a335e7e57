"""Search runs with a filter and an order, into a wide pandas DataFrame (one row per run).

Four queries for up to 10,000 runs: the matching runs, then their params, latest metrics and tags by
run id, pivoted in Python.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, case, literal, nulls_last, select

from .. import entities as ent
from ..errors import InvalidValue
from . import models as m
from .db import Database
from .filters import Field, compile_filter, parse_order_by

if TYPE_CHECKING:
    import pandas as pd

IDS_PER_QUERY = 10_000  # bound ids per IN list, well below SQLite's limit of 32,766 variables
RUN_COLUMNS = [
    "run_id",
    "experiment",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "parent_id",
    "user",
    "host",
]


def status_column(now: float) -> Any:
    """Run status as SQL, with a stale ``running`` read as ``crashed`` (so filters on status agree)."""
    stale = and_(
        m.runs.c.status == ent.RUNNING,
        m.runs.c.heartbeat < literal(now) - m.runs.c.heartbeat_interval * ent.STALE_BEATS,
    )
    return case((stale, literal(ent.CRASHED)), else_=m.runs.c.status)


def attribute_columns(now: float) -> dict[str, Any]:
    return {
        "run_id": m.runs.c.id,
        "run_name": m.runs.c.name,
        "status": status_column(now),
        "start_time": m.runs.c.start_time,
        "end_time": m.runs.c.end_time,
        "user": m.runs.c.user,
        "host": m.runs.c.host,
        "parent_id": m.runs.c.parent_id,
        "experiment": m.experiments.c.name,
        "source_hash": m.runs.c.source_hash,
    }


def runs_query(
    experiment: str | list[str] | None,
    filter: str | None,
    order_by: str | list[str] | None,
    limit: int | None,
    now: float,
) -> Select:
    """SELECT of the matching runs' columns, ordered and limited."""
    attributes = attribute_columns(now)
    query = select(
        m.runs.c.id,
        m.experiments.c.name,
        m.runs.c.name,
        attributes["status"],
        m.runs.c.start_time,
        m.runs.c.end_time,
        m.runs.c.parent_id,
        m.runs.c.user,
        m.runs.c.host,
    ).join(m.experiments, m.experiments.c.id == m.runs.c.experiment_id)
    if experiment is not None:
        names = [experiment] if isinstance(experiment, str) else list(experiment)
        query = query.where(m.experiments.c.name.in_(names))
    if filter and filter.strip():
        query = query.where(compile_filter(filter, attributes))
    for field, descending in parse_order_by(order_by):
        query, columns = _order_columns(query, field, attributes)
        query = query.order_by(*(nulls_last(c.desc() if descending else c.asc()) for c in columns))
    query = query.order_by(m.runs.c.start_time.desc(), m.runs.c.id)
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise InvalidValue(f"limit must be a non-negative whole number, got {limit!r}")
        query = query.limit(limit)
    return query


def _order_columns(query: Select, field: Field, attributes: dict[str, Any]) -> tuple[Select, list[Any]]:
    if field.entity == "attributes":
        if field.key not in attributes:
            raise InvalidValue(f"cannot order by unknown attribute {field.key!r}")
        return query, [attributes[field.key]]
    table = {"metrics": m.latest_metrics, "params": m.params, "tags": m.tags}[field.entity]
    joined = table.alias()
    query = query.outerjoin(joined, and_(joined.c.run_id == m.runs.c.id, joined.c.key == field.key))
    # Params sort as numbers when they are numbers (10 after 9), as text otherwise.
    return query, ([joined.c.num, joined.c.value] if field.entity == "params" else [joined.c.value])


def search_runs(
    db: Database,
    experiment: str | list[str] | None = None,
    filter: str | None = None,
    order_by: str | list[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The runs matching ``filter`` as a DataFrame: run columns, then params.*, metrics.*, tags.*."""
    import pandas as pd

    query = runs_query(experiment, filter, order_by, limit, time.time())

    def fetch(conn: Any) -> tuple[list[Any], dict[str, list[Any]]]:
        rows = [tuple(r) for r in conn.execute(query).all()]  # pandas probes Row objects slowly
        ids = [r[0] for r in rows]
        extras: dict[str, list[Any]] = {"params": [], "metrics": [], "tags": []}
        # By id lists, not by re-running the filter as a subquery: the filter runs once.
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            for prefix, table in (("params", m.params), ("metrics", m.latest_metrics), ("tags", m.tags)):
                found = conn.execute(
                    select(table.c.run_id, table.c.key, table.c.value).where(table.c.run_id.in_(chunk))
                )
                extras[prefix].extend(found.cursor.fetchall())  # plain tuples: no Row objects to build
        return rows, extras

    rows, extras = db.read(fetch)
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    if not rows:
        return frame
    position = {run_id: i for i, run_id in enumerate(frame["run_id"])}
    wide: dict[str, Any] = {}
    for prefix in ("params", "metrics", "tags"):
        wide.update(_pivot(prefix, extras[prefix], position, len(rows)))
    return pd.concat([frame, pd.DataFrame(wide, index=frame.index)], axis=1) if wide else frame


def _pivot(prefix: str, triples: list[Any], position: dict[str, int], n: int) -> dict[str, Any]:
    import numpy as np

    columns: dict[str, list[Any]] = {}
    fill = np.nan if prefix == "metrics" else None
    for run_id, key, value in triples:
        column = columns.get(key)
        if column is None:
            column = columns[key] = [fill] * n
        column[position[run_id]] = fill if value is None else value
    result = {}
    for key in sorted(columns):
        data = columns[key]
        result[f"{prefix}.{key}"] = np.array(data, dtype=float) if prefix == "metrics" else data
    return result
