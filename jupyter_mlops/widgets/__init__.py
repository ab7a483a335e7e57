"""Notebook widgets (anywidget, ipywidgets, plotly FigureWidget). Faces only: the state lives in
``jupyter_mlops.tracking`` (``Comparison``), and these classes display it and pass clicks back."""

from __future__ import annotations


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
