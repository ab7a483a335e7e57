"""Helpers shared by the benchmark scripts: timing, MLflow detection, result lines.

Every script prints lines ``RESULT <json>`` that run_all.py collects into a table.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # threaded BLAS makes tiny steps erratic on 2 cores


def has_mlflow() -> bool:
    return importlib.util.find_spec("mlflow") is not None


def median_seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def workdir() -> str:
    return tempfile.mkdtemp(prefix="mlops-bench-")


def result(
    name: str,
    ours: float,
    unit: str,
    mlflow: float | None = None,
    target: str = "",
    higher_is_better: bool = True,
    note: str = "",
) -> None:
    """Print one figure; the ratio says how many times better we are than MLflow (>1 is better)."""
    ratio = None
    if mlflow and ours > 0:
        ratio = ours / mlflow if higher_is_better else mlflow / ours
    row = {
        "name": name,
        "ours": ours,
        "mlflow": mlflow,
        "unit": unit,
        "ratio": ratio,
        "target": target,
        "note": note,
    }
    print("RESULT " + json.dumps(row), flush=True)
    shown = f"{name}: {ours:,.4g} {unit}"
    if ratio is not None:
        shown += f" | MLflow {mlflow:,.4g} {unit} | {ratio:,.1f}x better"
    print(shown + (f"  (target: {target})" if target else ""), flush=True)


def mlflow_experiment(folder: str, name: str = "bench") -> str:
    """Point MLflow at ``folder/mlflow.db`` and experiment ``name``, whose artifacts stay in ``folder``
    too (MLflow's default is ./mlruns in the working folder); the experiment's id."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=Path(folder, "mlartifacts").as_uri())
    return str(mlflow.set_experiment(name).experiment_id)


def quiet_mlflow() -> None:
    import logging
    import warnings

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def tracked_shell():
    """A fresh IPython shell (in-memory history) with ``%load_ext jupyter_mlops``, tracking to a new
    SQLite file in a temporary folder, which becomes the working folder."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    folder = workdir()
    os.environ["JUPYTER_MLOPS_URL"] = f"sqlite:///{folder}/mlops.db"
    os.environ["JUPYTER_MLOPS_ARTIFACTS"] = f"{folder}/artifacts"
    os.chdir(folder)
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_cell("%load_ext jupyter_mlops", store_history=True)
    return ip
