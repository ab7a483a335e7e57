"""``MonitorView``: what the monitor widget shows, computed without widgets (and printable as text).

view = MonitorView("churn", window="1h")
view.refresh()
view.per_minute          # requests, errors and p95 latency per minute and version
view.drift, view.service, view.alerts
view.distributions("tenure")   # reference and current values of one column
"""

from __future__ import annotations

import time
from typing import Any

from ..tracking import api as tracking
from .alerts import alerts, check_alerts, seconds
from .api import drift_of, service_metrics, window_frames


class MonitorView:
    def __init__(self, name: str, window: Any = "1h") -> None:
        from ..store.deploy_store import DeployStore

        self.name = name
        self.window_s = seconds(window, "window")
        self.record = DeployStore(tracking._current().store.db).get(name)  # NotFound for a wrong name
        self.per_minute: Any = None
        self.drift: Any = None
        self.frames: dict[str, tuple[Any, Any]] = {}
        self.service: Any = None
        self.alerts: Any = None
        self.fired: list[dict[str, Any]] = []
        self.refreshed = 0.0

    def refresh(self) -> None:
        """Read the window again, evaluate the alert rules, and recompute every table."""
        from ..store.deploy_store import DeployStore, timeline

        db = tracking._current().store.db
        self.record = DeployStore(db).get(self.name)
        since = time.time() - self.window_s
        self.per_minute = per_minute(timeline(db, self.record.id, since))
        self.service = service_metrics(self.name, since=since)
        self.frames = window_frames(self.name, since)
        self.drift = drift_of(self.frames)
        self.fired = check_alerts(self.name)
        self.alerts = alerts(self.name)
        self.refreshed = time.time()

    def distributions(self, column: str) -> dict[str, Any]:
        """{version: (reference values, current values)} of ``column`` in the window last read."""
        return {
            model: (reference[column].dropna().tolist(), current[column].dropna().tolist())
            for model, (reference, current) in self.frames.items()
            if column in reference.columns and column in current.columns
        }

    def __str__(self) -> str:
        if self.per_minute is None:
            self.refresh()
        out = [f"Deployment {self.name} ({self.record.status}), last {self.window_s:g} s"]
        out.append(self.service.to_string(index=False) if len(self.service) else "no requests in the window")
        if len(self.drift):
            out.append(self.drift[["model", "column", "test", "statistic", "verdict"]].to_string(index=False))
        out.append(
            f"{len(self.alerts)} alerts" + (f": {self.alerts.message.iloc[0]}" if len(self.alerts) else "")
        )
        return "\n\n".join(out)

    __repr__ = __str__


def per_minute(frame: Any) -> Any:
    """requests, errors and p95 latency (ms) per minute and version."""
    import pandas as pd

    columns = ["minute", "model", "requests", "errors", "p95_ms"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.assign(
        minute=pd.to_datetime(frame.time // 60 * 60, unit="s", utc=True), error=frame.status >= 500
    )
    grouped = frame.groupby(["minute", "model"])
    table = grouped.agg(
        requests=("status", "size"),
        errors=("error", "sum"),
        p95_ms=("latency_ms", lambda v: v.quantile(0.95)),
    )
    return table.reset_index()[columns]
