"""The `jupyter-mlops` executable, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jupyter_mlops as mlops
from jupyter_mlops.tracking import api

EXE = str(Path(sys.executable).parent / "jupyter-mlops")


def cli(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JUPYTER_MLOPS_URL": url}
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env)


def test_runs_lists_filtered_runs(db_url):
    mlops.connect(db_url)
    try:
        for lr in (0.1, 0.01):
            with mlops.start_run("cli", name=f"lr-{lr}", params={"lr": lr}) as run:
                run.log_metric("acc", 0.9 if lr == 0.01 else 0.7)
    finally:
        api.disconnect()
    done = cli("runs", "-e", "cli", "--filter", "metrics.acc > 0.8", url=db_url)
    assert done.returncode == 0, done.stderr
    assert "lr-0.01" in done.stdout and "lr-0.1 " not in done.stdout
    assert "metrics.acc" in done.stdout


def test_bad_filter_exits_2_with_the_reason(sqlite_url):
    done = cli("runs", "--filter", "metrics.acc >> 1", url=sqlite_url)
    assert done.returncode == 2
    assert "error: expected a number" in done.stderr and "Traceback" not in done.stderr


def test_no_runs(sqlite_url):
    done = cli("runs", url=sqlite_url)
    assert done.returncode == 0 and done.stdout.strip() == "no runs"


def test_jupyter_subcommand_is_found(sqlite_url):
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists():
        return
    env = {**os.environ, "JUPYTER_MLOPS_URL": sqlite_url, "PATH": f"{jupyter.parent}:{os.environ['PATH']}"}
    done = subprocess.run([str(jupyter), "mlops", "db", "upgrade"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "upgraded" in done.stdout
