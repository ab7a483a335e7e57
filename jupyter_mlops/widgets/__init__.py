"""Notebook widgets (anywidget, ipywidgets, plotly FigureWidget). Faces only: the state lives in
``jupyter_mlops.tracking`` (``Comparison``), and these classes display it and pass clicks back."""

from __future__ import annotations

from typing import Any


def compare(experiment_or_runs: Any = None, filter: str | None = None) -> Any:
    """Compare runs: in a notebook a widget (sortable, filterable table, parallel coordinates, metric
    curves, a diff of two selected runs); elsewhere a ``Comparison`` that prints as a text table.

    mlops.compare("churn", filter="metrics.acc > 0.8")
    mlops.compare(mlops.runs("churn").head(10))
    """
    from ..tracking.compare import Comparison

    comparison = Comparison(experiment_or_runs, filter)
    if not available():
        return comparison
    from .compare_widget import CompareWidget

    return CompareWidget(comparison)


def available() -> bool:
    """True in a Jupyter kernel where ipywidgets, anywidget and plotly can be imported."""
    import importlib.util

    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False  # a terminal IPython: widgets would not render
    return all(importlib.util.find_spec(m) is not None for m in ("ipywidgets", "anywidget", "plotly"))


def models(name: str | None = None) -> Any:
    """Browse the model registry: in a notebook a widget (models, versions with metrics and lineage,
    alias badges, promote/demote with the gate check, alias history, reports); elsewhere a
    ``RegistryView`` that prints as text.

    mlops.models()            # every model
    mlops.models("churn")     # opened on one model
    """
    from ..registry.browser import RegistryView

    view = RegistryView(name)
    if not available():
        return view
    from .models_widget import ModelsWidget

    return ModelsWidget(view)


def monitor(name: str, window: Any = "1h", every: float = 5.0) -> Any:
    """Watch a deployment: request rate, latency and errors per version, live accuracy, drift per column
    with reference-vs-current histograms, and alerts; refreshed every ``every`` seconds while open.
    Outside Jupyter, a ``MonitorView`` that prints the same as text.

    mlops.monitor("churn", window="30m")
    """
    from ..monitoring.view import MonitorView

    view = MonitorView(name, window)
    if not available():
        view.refresh()
        return view
    from .monitor_widget import MonitorWidget

    return MonitorWidget(view, every)
