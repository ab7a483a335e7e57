"""``jupyter mlops ui``: JupyterLab on this folder with the MLOps sidebar open."""

from __future__ import annotations

import subprocess
import sys

#: A JupyterLab workspace of its own: the sidebar's plugin opens itself when it is the one shown (a query
#: string would not survive the server's redirect to the start page).
OPEN_SIDEBAR = "/lab/workspaces/mlops"


def lab_command(port: int | None, no_browser: bool, extra: list[str]) -> list[str]:
    """The JupyterLab command line: loopback only, opening on the sidebar."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--LabApp.default_url={OPEN_SIDEBAR}",
    ]
    if port is not None:
        command.append(f"--port={port}")
    if no_browser:
        command.append("--no-browser")
    return command + extra


def ui_command(port: int | None, no_browser: bool, extra: list[str]) -> int:
    try:
        return subprocess.call(lab_command(port, no_browser, extra))
    except KeyboardInterrupt:  # JupyterLab stops on Ctrl-C itself
        return 0
