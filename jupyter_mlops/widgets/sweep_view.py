"""The live view under a sweep cell: parallel coordinates of the finished trials (one axis per swept
parameter, then the objective or the metrics), redrawn as each trial ends, and a progress line."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

import ipywidgets as w
import plotly.graph_objects as go
from IPython.display import display

from ..entities import FINISHED

MAX_METRIC_AXES = 6


class SweepView(w.VBox):
    def __init__(self, keys: Sequence[str], total: int, objective: str | None) -> None:
        # plain attributes, not traits: ``keys`` would shadow the widget's own trait of that name
        self._axes, self._total, self._objective = list(keys), total, objective
        self.trials: list[Any] = []
        self.status = w.HTML(f"<b>sweep</b>: 0 of {total} trials done")
        self.figure = go.FigureWidget(layout={"height": 340, "margin": {"l": 60, "r": 60, "t": 40, "b": 20}})
        super().__init__([self.status, self.figure])
        self.add_class("mlops-sweep")

    def show(self) -> None:
        display(self)

    def add(self, trial: Any) -> None:
        """One more trial ended: count it, and redraw the lines of the finished ones."""
        self.trials.append(trial)
        failed = sum(t.status != FINISHED for t in self.trials)
        tail = f", {failed} failed" if failed else ""
        self.status.value = f"<b>sweep</b>: {len(self.trials)} of {self._total} trials done{tail}"
        dims, color = dimensions(self.trials, self._axes, self._objective)
        if not dims:
            return
        line = {"color": color, "colorscale": "Viridis", "showscale": True} if color is not None else {}
        with self.figure.batch_update():
            if self.figure.data:
                self.figure.data[0].dimensions = dims
                self.figure.data[0].line = line
            else:
                self.figure.add_parcoords(dimensions=dims, line=line)

    def finish(self, result: Any) -> None:
        self.status.value = f"<b>{escape(result.headline())}</b>"


def dimensions(
    trials: Sequence[Any], keys: Sequence[str], objective: str | None
) -> tuple[list[dict[str, Any]], list[float] | None]:
    """Parallel-coordinates axes of the finished trials, and the objective's values to colour lines by."""
    done = [t for t in trials if t.status == FINISHED]
    if not done:
        return [], None
    metrics = sorted({k for t in done for k, v in t.metrics.items() if _number(v)})
    shown = [objective] if objective is not None and objective in metrics else metrics[:MAX_METRIC_AXES]
    dims = [_axis(key, [t.config.get(key) for t in done]) for key in keys]
    dims += [_axis(key, [t.metrics.get(key) for t in done]) for key in shown]
    color = [_as_float(t.metrics.get(objective)) for t in done] if objective in metrics else None
    return dims, color


def _axis(label: str, values: list[Any]) -> dict[str, Any]:
    if all(_number(v) or v is None for v in values):
        return {"label": label, "values": [_as_float(v) for v in values]}
    names = sorted({repr(v) for v in values})  # categories: one tick each
    index = {name: i for i, name in enumerate(names)}
    return {
        "label": label,
        "values": [index[repr(v)] for v in values],
        "tickvals": list(range(len(names))),
        "ticktext": names,
    }


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_float(value: Any) -> float:
    return float(value) if _number(value) and math.isfinite(value) else math.nan
