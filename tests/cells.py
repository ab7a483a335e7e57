"""Running notebook cells in the ``shell`` fixture's IPython shell, the way a kernel does."""

from __future__ import annotations

from typing import Any


def cell(shell: Any, source: str) -> Any:
    """Run a cell the way a kernel does (stored in the history); return the ExecutionResult."""
    return shell.run_cell(source, store_history=True)


def ok(shell: Any, source: str) -> Any:
    """Run a cell that must succeed; return its result (what ``Out[]`` shows)."""
    result = cell(shell, source)
    result.raise_error()
    return result.result
