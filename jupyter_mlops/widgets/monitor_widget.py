"""The monitor widget: request rate, p95 latency and errors per version (plotly), live accuracy and the
service table, the drift table with a reference-vs-current histogram of the chosen column, and the
alerts. It refreshes itself every few seconds while it is open.

    mlops.monitor("churn")          # or: %mlops monitor churn
"""

from __future__ import annotations

import contextlib
import threading
from html import escape
from typing import Any

import ipywidgets as w
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..monitoring.view import MonitorView

_TABLE = (
    "<style>.mlops-monitor table{border-collapse:collapse}"
    ".mlops-monitor td,.mlops-monitor th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
    ".mlops-drift-yes{color:#cf222e;font-weight:bold}</style>"
)


class MonitorWidget(w.VBox):
    """Everything ``mlops.monitor`` shows. ``.view`` holds the numbers."""

    def __init__(self, view: MonitorView, every: float = 5.0) -> None:
        self.view = view
        self.header = w.HTML()
        self.charts = go.FigureWidget(
            make_subplots(
                rows=1, cols=3, subplot_titles=("requests / minute", "p95 latency (ms)", "errors / minute")
            )
        )
        self.charts.update_layout(height=260, margin={"l": 40, "r": 20, "t": 40, "b": 30})
        self.service = w.HTML()
        self.drift = w.HTML()
        self.column = w.Dropdown(description="column")
        self.histogram = go.FigureWidget(
            layout={"height": 260, "barmode": "overlay", "margin": {"t": 40, "b": 30}}
        )
        self.alerts = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        super().__init__(
            [
                w.HBox([self.header, self.refresh_button]),
                self.charts,
                self.service,
                self.drift,
                self.column,
                self.histogram,
                self.alerts,
            ]
        )
        self.add_class("mlops-monitor")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.column.observe(lambda _: self._show_histogram(), "value")
        self._stop = threading.Event()
        self.refresh()
        if every:
            threading.Thread(target=self._loop, args=(every,), name="mlops-monitor", daemon=True).start()

    def _loop(self, every: float) -> None:
        while not self._stop.wait(every):
            if self.comm is None:  # the widget was closed
                return
            self.refresh()

    def close(self) -> None:
        self._stop.set()
        super().close()

    def refresh(self) -> None:
        """Read the window again and redraw; a failure is shown in the header, never raised."""
        try:
            self.view.refresh()
        except Exception as err:  # the database is away, the deployment was removed...
            self.header.value = (
                f"<b>{escape(self.view.name)}</b>: <span style='color:#cf222e'>{escape(str(err))}</span>"
            )
            return
        with contextlib.suppress(Exception):
            self._draw()

    def _draw(self) -> None:
        v = self.view
        record = v.record
        fired = f", {len(v.fired)} alert(s) fired now" if v.fired else ""
        self.header.value = (
            f"<b>{escape(v.name)}</b> {escape(record.status)} on port {record.port}, "
            f"last {v.window_s / 60:g} min{escape(fired)}"
        )
        with self.charts.batch_update():
            self.charts.data = ()
            for model, rows in v.per_minute.groupby("model"):
                for col, field in enumerate(("requests", "p95_ms", "errors"), start=1):
                    self.charts.add_scatter(
                        x=rows.minute,
                        y=rows[field],
                        mode="lines+markers",
                        name=model,
                        legendgroup=model,
                        showlegend=col == 1,
                        row=1,
                        col=col,
                    )
        self.service.value = (
            _TABLE
            + "<h4>Service</h4>"
            + _html(
                v.service,
                [
                    "model",
                    "requests",
                    "error_rate",
                    "p50_ms",
                    "p95_ms",
                    "p99_ms",
                    "labelled",
                    "accuracy",
                    "rmse",
                ],
            )
        )
        drift = v.drift
        verdicts = v.drift.attrs.get("dataset_drift", {})
        title = ", ".join(f"{m}: {'DRIFT' if d else 'no dataset drift'}" for m, d in verdicts.items())
        self.drift.value = (
            "<h4>Drift "
            + escape(title)
            + "</h4>"
            + _html(
                drift,
                [
                    "model",
                    "column",
                    "test",
                    "statistic",
                    "threshold",
                    "verdict",
                    "current_missing",
                    "unseen_categories",
                ],
            )
        )
        columns = list(dict.fromkeys(drift.column)) if len(drift) else []
        if list(self.column.options) != columns:
            self.column.options = columns
        if self.column.value not in columns:
            self.column.value = columns[0] if columns else None  # observed: draws the histogram
        else:
            self._show_histogram()
        self.alerts.value = "<h4>Alerts</h4>" + _html(
            v.alerts.head(20), ["time", "rule", "value", "message", "delivery"]
        )

    def _show_histogram(self) -> None:
        column = self.column.value
        with self.histogram.batch_update():
            self.histogram.data = ()
            if not column:
                return
            for model, (reference, current) in self.view.distributions(column).items():
                self.histogram.add_histogram(
                    x=reference, name=f"{model} reference", opacity=0.55, histnorm="probability"
                )
                self.histogram.add_histogram(
                    x=current, name=f"{model} current", opacity=0.55, histnorm="probability"
                )
            self.histogram.layout.title = f"{column}: reference vs current"


def _html(frame: Any, columns: list[str]) -> str:
    if frame is None or len(frame) == 0:
        return "<i>nothing in the window</i>"
    shown = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in shown)
    body = []
    for _, row in frame[shown].iterrows():
        cells = []
        for c in shown:
            value = row[c]
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
            cls = " class='mlops-drift-yes'" if c == "verdict" and value == "drift" else ""
            cells.append(f"<td{cls}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"
