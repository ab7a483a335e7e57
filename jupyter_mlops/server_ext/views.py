"""What each REST route answers, as plain JSON-ready values, from the Python API (blocking calls: the
handlers run them in a worker thread)."""

from __future__ import annotations

from typing import Any

from ..masking import mask_url
from ..tracking import api


def status() -> dict[str, Any]:
    from .._version import __version__

    settings = api.tracking_settings()
    running = api.runs(filter="attributes.status = 'running'")
    return {
        "version": __version__,
        "url": mask_url(settings.url),
        "artifacts": str(settings.artifacts),
        "running": len(running),
        "running_runs": [
            {"run_id": r.run_id, "run_name": r.run_name, "experiment": r.experiment}
            for r in running.itertuples()
        ],
    }


def experiments() -> list[dict[str, Any]]:
    frame = api.experiments()
    return [
        {"id": int(r.id), "name": r.name, "created_time": r.created_time.timestamp()}
        for r in frame.itertuples()
    ]


def runs_page(
    experiment: str | None, filter: str | None, order_by: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """One page of runs, newest first unless ``order_by`` says otherwise."""
    frame = api.runs(experiment, filter=filter, order_by=order_by)
    page = frame.iloc[offset : offset + limit]
    rows = []
    for record in page.to_dict("records"):
        row: dict[str, Any] = {"params": {}, "metrics": {}, "tags": {}}
        for column, value in record.items():
            kind, _, key = column.partition(".")
            if key and kind in row:
                if not _missing(value):
                    row[kind][key] = value
            else:
                row[column] = _scalar(value)
        rows.append(row)
    return {"runs": rows, "total": len(frame), "offset": offset, "limit": limit}


def run_details(ref: str) -> dict[str, Any]:
    run = api.get_run(ref)
    context = run.context or {}
    return {
        "run_id": run.id,
        "run_name": run.name,
        "experiment": run.experiment,
        "status": run.status,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "parent_id": run.parent_id,
        "user": run.user,
        "notebook": run.notebook,
        "code": run.code,
        "magic": context.get("magic") if isinstance(context, dict) else None,
        "context_cells": context.get("cells", []) if isinstance(context, dict) else [],
        "params": run.params,
        "metrics": run.metrics,
        "tags": run.tags,
        "error": run.error,
        "inputs": [{"name": i.name, "shape": i.shape, "fingerprint": i.fingerprint} for i in run.inputs],
        "artifacts": [{"path": a.path, "size": a.size, "kind": a.kind} for a in run.artifacts],
        "series": {key: metric_series(run.id, key) for key in run.metrics},
    }


def metric_series(ref: str, key: str) -> dict[str, list[Any]]:
    history = api.get_run(ref).history(key)
    return {"steps": [int(s) for s in history.step], "values": [_scalar(v) for v in history.value]}


def models() -> list[dict[str, Any]]:
    from ..registry.api import list_models

    frame = list_models()
    return [
        {
            "name": r.name,
            "latest_version": int(r.latest_version),
            "versions": int(r.versions),
            "aliases": dict(pair.split(":", 1) for pair in r.aliases.split(", ") if pair),
            "updated_time": r.updated_time.timestamp(),
        }
        for r in frame.itertuples()
    ]


def model_versions(name: str) -> list[dict[str, Any]]:
    from ..registry.api import model_versions as versions

    return [
        {
            "name": v.name,
            "version": v.version,
            "ref": v.ref,
            "aliases": list(v.aliases),
            "run_id": v.run_id,
            "flavor": v.flavor,
            "metrics": v.metrics,
            "author": v.author,
            "description": v.description,
            "created_time": v.created_time,
        }
        for v in versions(name)
    ]


def deployments() -> list[dict[str, Any]]:
    from ..serving.api import deployments as listed

    frame = listed()
    return [
        {
            "name": r.name,
            "status": r.status,
            "healthy": r.status == "healthy",
            "backend": r.backend,
            "url": r.url,
            "routes": r.routes,
            "shadow": r.shadow,
            "pid": None if _missing(r.pid) else int(r.pid),
            "updated_time": r.updated_time.timestamp(),
        }
        for r in frame.itertuples()
    ]


def _missing(value: Any) -> bool:
    """None, NaN or NaT (a DataFrame's empty cell)."""
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or dict: not a missing scalar
        return False


def _scalar(value: Any) -> Any:
    """A DataFrame cell as JSON: timestamps as epoch seconds, NaN as None, numpy numbers as Python's."""
    if _missing(value):
        return None
    if hasattr(value, "timestamp"):
        return value.timestamp()
    if hasattr(value, "item"):
        return value.item()
    return value
