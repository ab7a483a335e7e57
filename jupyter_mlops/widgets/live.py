"""Live metric chart under a running ``%%experiment`` cell.

A background thread samples the newest buffered points a few times per second (it only reads the
tail of the writer's buffer, so ``log_metric`` does no extra work) and appends them to a plotly
FigureWidget. When the cell ends, the chart is replaced by a static SVG of the whole series from the
database, which is what stays in the saved notebook.
"""

from __future__ import annotations

import threading
from html import escape
from typing import Any

import plotly.graph_objects as go
from IPython.display import HTML, display

UPDATES_PER_SECOND = 4
TAIL = 256  # newest buffered points looked at per update
SVG_POINTS = 500


class LiveChart:
    """Shows the step metrics of ``run`` while it runs; ``close()`` leaves a static chart."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.figure = go.FigureWidget(layout={"height": 260, "title": f"run {run.name}: live metrics"})
        self.handle = display(self.figure, display_id=True)
        self._seen: dict[int, int] = {}  # series id -> last step drawn
        self._traces: dict[int, int] = {}  # series id -> trace index
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jupyter_mlops-live", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(1 / UPDATES_PER_SECOND):
            self.update()

    def update(self) -> None:
        """Draw the newest point of each of the run's series, if it is new."""
        mine = self.run._series  # key -> [series id, last step]
        ids = {sid: key for key, (sid, _) in mine.items()}
        newest: dict[int, tuple[int, float | None]] = {}
        for sid, step, value, _ in self.run._buffer[-TAIL:]:
            if sid in ids:
                newest[sid] = (step, value)
        with self.figure.batch_update():
            for sid, (step, value) in newest.items():
                if self._seen.get(sid, -(2**62)) >= step:
                    continue
                self._seen[sid] = step
                if sid not in self._traces:
                    self.figure.add_scatter(x=[], y=[], mode="lines+markers", name=ids[sid])
                    self._traces[sid] = len(self.figure.data) - 1
                trace = self.figure.data[self._traces[sid]]
                trace.x = (*trace.x, step)
                trace.y = (*trace.y, value)

    def close(self) -> None:
        """Stop updating and put the static chart in the cell's output."""
        self._stop.set()
        self._thread.join(timeout=2)
        from ..tracking.api import _current

        tracking = _current()
        tracking.writer.flush()  # a run still in progress: its buffered points belong in the chart
        keys = list(self.run._series)
        found = tracking.store.metric_series([(self.run.id, k) for k in keys])
        series = {key: points for key, points in found.items() if len(points[0]) > 1}  # step series only
        # The widget is left open: closing it broke the later browser messages of other widgets in the
        # same page (JupyterLab 4.6). Its view is gone once the output is replaced.
        self.handle.update(HTML(static_svg(f"run {self.run.name}", series) if series else ""))


def static_svg(title: str, series: dict[tuple[str, str], tuple[list[int], list[float | None]]]) -> str:
    """A small self-contained SVG line chart of each (run, key) series, for saved notebooks."""
    width, height, pad = 640, 240, 40
    points = [
        (s, v)
        for steps, values in series.values()
        for s, v in zip(steps, values, strict=True)
        if v is not None
    ]
    if not points:
        return f"<div>{escape(title)}: no step metrics</div>"
    lo_x, hi_x = min(p[0] for p in points), max(p[0] for p in points)
    lo_y, hi_y = min(p[1] for p in points), max(p[1] for p in points)
    span_x, span_y = (hi_x - lo_x) or 1, (hi_y - lo_y) or 1
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    lines, legend = [], []
    for i, ((_, key), (steps, values)) in enumerate(series.items()):
        stride = max(1, len(steps) // SVG_POINTS)
        coords = " ".join(
            f"{pad + (s - lo_x) / span_x * (width - 2 * pad):.1f},"
            f"{height - pad - (v - lo_y) / span_y * (height - 2 * pad):.1f}"
            for s, v in list(zip(steps, values, strict=True))[::stride]
            if v is not None
        )
        colour = colours[i % len(colours)]
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>')
        legend.append(f'<tspan fill="{colour}">■ {escape(key)}</tspan> ')
    axis = (
        f'<text x="{pad}" y="{height - 8}" font-size="11">step {lo_x} … {hi_x}</text>'
        f'<text x="4" y="{pad - 8}" font-size="11">{hi_y:.4g}</text>'
        f'<text x="4" y="{height - pad}" font-size="11">{lo_y:.4g}</text>'
    )
    return (
        f'<svg class="mlops-static-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" font-family="sans-serif"><text x="{pad}" y="16" font-size="13">'
        f"{escape(title)}: {''.join(legend)}</text>{axis}{''.join(lines)}</svg>"
    )
