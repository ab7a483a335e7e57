"""Helpers for browser tests: write a notebook, open it in JupyterLab and run all its cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def write_notebook(path: Path, cells: list[str]) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def open_and_run(page: object, lab: Any, name: str) -> None:
    """Open a notebook in JupyterLab, wait for the kernel, and run all its cells."""
    page.goto(lab.open(name))  # type: ignore[attr-defined]
    page.wait_for_function("window.jupyterapp && window.jupyterapp.restored !== undefined", timeout=60_000)  # type: ignore[attr-defined]
    page.evaluate("window.jupyterapp.restored")  # type: ignore[attr-defined]
    page.wait_for_selector(".jp-Notebook", timeout=60_000)  # type: ignore[attr-defined]
    page.wait_for_function(  # the kernel is up
        "document.querySelector('.jp-Notebook') && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=60_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")  # type: ignore[attr-defined]
