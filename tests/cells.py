"""Running notebook cells: in the ``shell`` fixture's IPython shell the way a kernel does, or in a real
kernel of their own."""

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


def in_a_kernel(cwd: Any, code: str, timeout: float = 120, restart: bool = False) -> None:
    """Run ``code`` in a new real kernel (it must succeed), then end the kernel; ``restart`` restarts it
    once first, as a user restarting the notebook's kernel would."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(cwd))
    try:
        reply = client.execute_interactive(code, timeout=timeout)
        assert reply["content"]["status"] == "ok", reply["content"]
        if restart:
            manager.restart_kernel(now=True)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
