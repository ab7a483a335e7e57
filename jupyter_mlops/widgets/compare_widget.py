"""The compare widget: a runs table (anywidget), a parallel-coordinates plot and metric curves (plotly
FigureWidget), a diff pane and an export button, all over one ``Comparison``.

    mlops.compare("churn")                   # in a notebook
"""

from __future__ import annotations

import contextlib
import math
from html import escape
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import plotly.graph_objects as go
import traitlets as t

from ..errors import FilterSyntaxError, InvalidValue
from ..tracking.compare import Comparison

HERE = Path(__file__).parent
MAX_ROWS = 2_000  # rows sent to the browser; the filter narrows further
_HINT = "<i>Select two runs to see their differences: parameters, metrics, code, packages.</i>"


class RunsTable(anywidget.AnyWidget):
    """Sortable, filterable, selectable table; the browser side is runs_table.js."""

    _esm = HERE / "runs_table.js"
    _css = HERE / "runs_table.css"
    rows: t.List[dict[str, Any]] = t.List().tag(sync=True)
    columns: t.List[str] = t.List().tag(sync=True)
    sort: t.List[Any] = t.List(["start_time", True]).tag(sync=True)  # [column, descending]
    selected: t.List[str] = t.List().tag(sync=True)
    filter_text = t.Unicode("").tag(sync=True)
    filter_error = t.Unicode("").tag(sync=True)
    diff_only = t.Bool(False).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_browser)

    def _on_browser(self, _: Any, message: Any, buffers: Any = None) -> None:
        """A click or key in the browser: {"type": trait name or alias, "value": new value}."""
        self._debug = [*getattr(self, "_debug", []), message]
        name = {"filter": "filter_text"}.get(message.get("type"), message.get("type"))
        if name in ("filter_text", "sort", "selected", "diff_only"):
            setattr(self, name, message["value"])


class CompareWidget(w.VBox):
    """Everything ``mlops.compare`` shows in a notebook. ``.comparison`` holds the state."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.table = RunsTable(filter_text=comparison.filter or "")
        metrics = [c[len("metrics.") :] for c in comparison.frame.columns if c.startswith("metrics.")]
        self.metric = w.Dropdown(options=metrics, value=metrics[0] if metrics else None, description="metric")
        self.parallel = go.FigureWidget(
            layout={"height": 320, "margin": {"l": 60, "r": 40, "t": 50, "b": 20}}
        )
        self.curves = go.FigureWidget(layout={"height": 300, "title": "metric curves of the selected runs"})
        self.diff_pane = w.HTML()
        self.export_button = w.Button(description="Export to DataFrame", icon="table")
        self.brush_button = w.Button(description="Select brushed runs", icon="filter")
        self.register_button = w.Button(description="Register model...", icon="archive")
        self.register_form = RegisterForm()
        self.status = w.HTML()
        self.exported: Any = None
        super().__init__(
            [
                self.table,
                w.HBox(
                    [self.metric, self.brush_button, self.export_button, self.register_button, self.status]
                ),
                self.register_form,
                self.parallel,
                self.curves,
                self.diff_pane,
            ]
        )
        self.add_class("mlops-compare")
        self.table.observe(self._on_filter, "filter_text")
        self.table.observe(self._on_sort, "sort")
        self.table.observe(self._on_select, "selected")
        self.table.observe(lambda _: self._show_table(), "diff_only")
        self.metric.observe(lambda _: self._show_parallel(), "value")
        self.export_button.on_click(self._export)
        self.brush_button.on_click(self.select_brushed)
        self.register_button.on_click(self._open_register)
        self._show_all()

    # -- events from the browser -------------------------------------------------------------------
    def _on_filter(self, change: dict[str, Any]) -> None:
        try:
            self.comparison.set_filter(change["new"])
        except (FilterSyntaxError, InvalidValue) as err:
            self.table.filter_error = str(err)
            return
        self.table.filter_error = ""
        self._show_all()

    def _on_sort(self, _: Any) -> None:
        column, descending = self.table.sort
        self.comparison.sort_by(column, bool(descending))
        self._show_table()

    def _on_select(self, change: dict[str, Any]) -> None:
        self.comparison.select(change["new"])
        if self.table.diff_only:
            self._show_table()
        self._show_selection()

    def select_brushed(self, _: Any = None) -> None:
        """Select the runs inside every range brushed on the parallel-coordinates axes."""
        if self.parallel.data:
            self._on_brush(self.parallel.data[0], self.parallel.data[0].dimensions)

    def _on_brush(self, trace: Any, dimensions: Any) -> None:
        with contextlib.suppress(Exception):  # see _show_parallel: never raise into plotly's handler
            self._select_in_ranges(dimensions)

    def _select_in_ranges(self, dimensions: Any) -> None:
        """Select the runs whose values fall inside every brushed range (several ranges per axis too)."""
        dims = [d.to_plotly_json() if hasattr(d, "to_plotly_json") else d for d in dimensions]
        ranges = [(d["values"], d.get("constraintrange")) for d in dims if d.get("constraintrange")]
        if not ranges:
            return
        ids = list(self.comparison.frame["run_id"])
        picked = [rid for i, rid in enumerate(ids) if all(_inside(vals[i], rng) for vals, rng in ranges)]
        self.table.selected = picked

    def _export(self, _: Any) -> None:
        self.exported = self.comparison.export()
        try:
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None:
                shell.user_ns["mlops_selection"] = self.exported
        except ImportError:
            pass
        self.status.value = f"<code>mlops_selection</code>: DataFrame of {len(self.exported)} runs"

    def _open_register(self, _: Any = None) -> None:
        """Show the register form for the one selected run (its candidate models in the drop-down)."""
        selected = list(self.comparison.selected)
        if len(selected) != 1:
            self.status.value = "<i>Select one run to register its model.</i>"
            return
        self.status.value = ""
        self.register_form.show_for(selected[0])

    # -- drawing -----------------------------------------------------------------------------------
    def _show_all(self) -> None:
        self.table.selected = list(self.comparison.selected)
        self._show_table()
        self._show_parallel()
        self._show_selection()

    def _show_table(self) -> None:
        cmp = self.comparison
        view = cmp.view.head(MAX_ROWS)
        columns = ["run_name", "status", *cmp.columns(self.table.diff_only)]
        self.table.columns = columns
        self.table.rows = [
            {"id": rid, "cells": [_cell(v) for v in values]}
            for rid, values in zip(view["run_id"], view[columns].itertuples(index=False), strict=True)
        ]

    def _show_parallel(self) -> None:
        """Draw the parallel coordinates. The trace is made once and then updated in place: replacing
        a plotly trace from inside a browser event handler stops the browser's later events."""
        metric = self.metric.value
        empty = not metric or self.comparison.frame.empty
        dims = [] if empty else self.comparison.parallel(metric)
        colour = [math.nan if v is None else v for v in dims[-1]["values"]] if dims else []
        line = {"color": colour, "colorscale": "Viridis"}
        if not self.parallel.data:
            if empty:
                return
            self.parallel.add_parcoords(dimensions=dims, line=line)
            # Brushing in the browser changes the dimensions' constraint ranges: select as they change.
            # The callback must never raise: an exception here stopped the page's later widget messages.
            self.parallel.data[0].on_change(self._on_brush, "dimensions")
        with self.parallel.batch_update():
            self.parallel.data[0].dimensions = dims
            self.parallel.data[0].line = line
            title = f"params → {metric} (drag on an axis to select runs)"
            self.parallel.layout.title = title if dims else ""

    def _show_selection(self) -> None:
        curves = self.comparison.curves()
        names = dict(zip(self.comparison.frame["run_id"], self.comparison.frame["run_name"], strict=True))
        with self.curves.batch_update():
            self.curves.data = ()
            for key, runs in curves.items():
                for run_id, (steps, values) in runs.items():
                    self.curves.add_scatter(x=steps, y=values, mode="lines", name=f"{key} · {names[run_id]}")
        diff = self.comparison.diff()
        self.diff_pane.value = diff.html(side_by_side=True) if diff else _HINT


class RegisterForm(w.HBox):
    """Name, candidate variable, alias and gate for registering a run's model from the compare widget."""

    def __init__(self) -> None:
        self.run_id = ""
        self.name = w.Text(placeholder="model name, e.g. churn", layout={"width": "180px"})
        self.var = w.Dropdown(description="model", layout={"width": "200px"})
        self.alias = w.Text(placeholder="alias (optional)", layout={"width": "130px"})
        self.require = w.Text(placeholder="gate, e.g. accuracy>=0.9", layout={"width": "180px"})
        self.button = w.Button(description="Register", button_style="primary")
        self.result = w.HTML()
        super().__init__(
            [self.name, self.var, self.alias, self.require, self.button, self.result],
            layout={"display": "none"},
        )
        self.add_class("mlops-register-form")
        self.button.on_click(self.register)

    def show_for(self, run_id: str) -> None:
        from ..registry.api import candidate_models

        self.run_id = run_id
        candidates = candidate_models(run_id)
        self.var.options = candidates
        self.result.value = "" if candidates else f"<i>run {run_id[:8]} saved no model</i>"
        self.layout.display = "flex"

    def register(self, _: Any = None) -> None:
        from ..errors import MlopsError
        from ..registry.api import register_model

        try:
            version = register_model(
                self.run_id,
                self.name.value.strip(),
                alias=self.alias.value.strip() or None,
                require=self.require.value.strip() or None,
                var=self.var.value,
            )
        except MlopsError as err:  # shown in the form: a failed gate, a bad name
            self.result.value = f'<span style="color:#cf222e">{escape(str(err))}</span>'
            return
        self.result.value = f"registered <b>{escape(version.ref)}</b>"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _inside(value: Any, bounds: Any) -> bool:
    if value is None:
        return False
    spans = bounds if bounds and isinstance(bounds[0], list | tuple) else [bounds]
    return any(low <= value <= high for low, high in spans)


__all__ = ["CompareWidget", "RegisterForm", "RunsTable"]
