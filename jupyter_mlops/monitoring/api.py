"""Monitoring from Python: drift of a deployment's logged requests against each version's reference.

mlops.drift("churn")                         # every logged request
mlops.drift("churn", since="2026-11-01")     # a window: a time, a date string or a Unix time
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from ..registry import api as registry
from ..tracking import api as tracking

if TYPE_CHECKING:
    import pandas as pd


def drift(name: str, since: Any = None, method: str | None = None) -> pd.DataFrame:
    """Per version that answered in the window, one row per input column and one for its predictions:
    the test (chosen by type and reference size, as Evidently does), its statistic and threshold, the
    verdict, missing shares and unseen categories. ``attrs["dataset_drift"]`` maps each version to
    whether half of its columns drifted. ``method="psi"`` uses the population stability index."""
    return drift_of(window_frames(name, _timestamp(since)), method)


def window_frames(name: str, since: float | None) -> dict[str, tuple[Any, Any]]:
    """{version: (its reference sample, the window's inputs and predictions)} for every version of
    deployment ``name`` that answered since ``since``: read and parsed once, then tested or plotted."""
    from ..store.deploy_store import DeployStore, window

    db = tracking._current().store.db
    record = DeployStore(db).get(name)
    by_model: dict[str, list[Any]] = defaultdict(list)
    for model, inputs, outputs in window(db, record.id, since):
        by_model[model].append((inputs, outputs))
    return {
        model: (registry.load_reference(model), current_frame(rows))
        for model, rows in sorted(by_model.items())
    }


def drift_of(frames: dict[str, tuple[Any, Any]], method: str | None = None) -> pd.DataFrame:
    """The drift table of ``window_frames``' output (see ``drift``)."""
    import pandas as pd

    from .drift import COLUMNS, drift_table

    tables, verdicts = [], {}
    for model, (reference, current) in frames.items():
        columns = [c for c in reference.columns if c in current.columns or c != "prediction"]
        table = drift_table(reference[columns], current.reindex(columns=columns), method)
        verdicts[model] = table.attrs["dataset_drift"]
        tables.append(table.assign(model=model))
    if not tables:
        frame = pd.DataFrame(columns=["model", *COLUMNS])
    else:
        frame = pd.concat(tables, ignore_index=True)[["model", *COLUMNS]]
    frame.attrs["dataset_drift"] = verdicts
    return frame


def service_metrics(name: str, since: Any = None) -> pd.DataFrame:
    """Per version: requests, errors, error rate, p50/p95/p99 latency (ms), the mean prediction, and
    live accuracy (class labels) or RMSE (numbers) over the requests whose ground truth came back
    through ``POST /feedback``."""
    from ..store.deploy_store import DeployStore, requests_and_feedback
    from .service import service_table

    db = tracking._current().store.db
    record = DeployStore(db).get(name)
    logged, feedback = requests_and_feedback(db, record.id, _timestamp(since))
    return service_table(logged, feedback)


def ab_report(name: str, a: str, b: str, since: Any = None) -> dict[str, Any]:
    """Is version ``a`` or ``b`` (``churn:3``) more accurate on the labelled requests? A two-proportion
    z-test on their live accuracy: the accuracies, the counts, the p-value and a verdict."""
    from .service import ab_test

    table = service_metrics(name, since)
    for ref in (a, b):
        if ref not in set(table.model):
            raise InvalidValue(
                f"{ref} answered no request of {name!r} in that window: compare {', '.join(table.model)}"
            )
    return ab_test(table, a, b)


def current_frame(rows: list[tuple[str | None, str | None]]) -> Any:
    """Logged inputs (and outputs, as ``prediction``) to one DataFrame.

    The log writes ``{"columns": [...], "data": [[...]]}``: requests with the same columns (compared as
    text) are read in one pass. Flat rows of numbers, booleans and plain strings go through pandas' CSV
    reader, which is several times faster than ``json.loads`` plus building the frame; anything else
    (nested values, escapes) through ``json``. Rows the log cut at its size cap are left out."""
    import pandas as pd

    texts = [(i, o) for i, o in rows if i]
    if not texts:
        return pd.DataFrame()
    marker = ', "data": '
    head = texts[0][0][: texts[0][0].index(marker)]
    prefix = head + marker
    same = [(i, o) for i, o in texts if i.startswith(prefix) and i.endswith("]}")]
    columns = json.loads(head + "}")["columns"]
    parts = [i[len(prefix) : -1] for i, _ in same]  # each request's "[[...], ...]"
    frame = _flat_rows(parts, columns)
    if frame is None:
        data: list[Any] = []
        for chunk in json.loads("[" + ",".join(parts) + "]"):
            data.extend(chunk)
        frame = pd.DataFrame(data, columns=columns)
    outputs = [o for _, o in same if o]
    if len(outputs) == len(same):
        predictions = _flat_predictions(outputs)
        if predictions is None:
            predictions = [p for chunk in json.loads("[" + ",".join(outputs) + "]") for p in chunk]
        if len(predictions) == len(frame):
            frame["prediction"] = predictions
    return frame.infer_objects()


def _flat_predictions(outputs: list[str]) -> Any:
    """The predictions of ``outputs`` (JSON arrays of numbers) as one array, or None when they hold
    anything but numbers (then ``json`` reads them)."""
    import io

    import pandas as pd

    body = "\n".join(o[1:-1] for o in outputs).replace(", ", "\n")
    if any(mark in body for mark in ('"', "[", "{", ",", "\\")) or not body.strip():
        return None
    try:
        column = pd.read_csv(
            io.StringIO(body), header=None, na_values=["null", "NaN"], keep_default_na=False
        )[0]
    except (ValueError, pd.errors.ParserError):
        return None
    return column.to_numpy() if column.dtype.kind in "iuf" else None


def _flat_rows(parts: list[str], columns: list[str]) -> Any:
    """The rows of ``parts`` (JSON arrays of rows) read as CSV, or None when they are not flat rows of
    numbers, booleans, nulls and strings without escapes (then ``json`` reads them)."""
    import io

    import pandas as pd

    first = json.loads(parts[0]) if parts else []
    if not first or len(first[0]) != len(columns) or any(isinstance(v, list | dict) for v in first[0]):
        return None
    body = "\n".join(p[2:-2] for p in parts).replace("], [", "\n").replace("],[", "\n")
    if any(mark in body for mark in ("\\", "[", "]", "{")):
        return None
    strings = {c: "str" for c, v in zip(columns, first[0], strict=True) if isinstance(v, str)}
    try:
        return pd.read_csv(
            io.StringIO(body),
            header=None,
            names=columns,
            dtype=strings,
            na_values=["null", "NaN"],
            keep_default_na=False,
            true_values=["true"],
            false_values=["false"],
            skipinitialspace=True,
            doublequote=False,
        )
    except (ValueError, pd.errors.ParserError):
        return None


def _timestamp(since: Any) -> float | None:
    import pandas as pd

    if since is None:
        return None
    if isinstance(since, int | float) and not isinstance(since, bool):
        return float(since)
    try:
        stamp = pd.Timestamp(since)
    except (TypeError, ValueError):
        raise InvalidValue(
            f"since is a time: a datetime, a date string or a Unix time, got {since!r}"
        ) from None
    if stamp.tzinfo is None:  # a naive time is read as UTC, as the logged times are
        stamp = stamp.tz_localize("UTC")
    return float(stamp.timestamp())
