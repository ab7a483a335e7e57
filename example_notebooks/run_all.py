"""Execute every example notebook top to bottom in a real kernel and say where the runs went.

python example_notebooks/run_all.py            # tracks to sqlite:///<repo>/mlops.db
JUPYTER_MLOPS_URL=postgresql+psycopg://... python example_notebooks/run_all.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent


def run_notebook(path: Path, cwd: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run ``path`` with ``cwd`` as its folder; raises CellExecutionError on the first failing cell."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return notebook


def main() -> int:
    root = HERE.parent
    os.environ.setdefault("JUPYTER_MLOPS_URL", f"sqlite:///{root / 'mlops.db'}")
    os.environ.setdefault("JUPYTER_MLOPS_ARTIFACTS", str(root / "mlops-artifacts"))
    for path in sorted(HERE.glob("*.ipynb")):
        started = time.perf_counter()
        run_notebook(path, HERE)
        print(f"ran {path.name} in {time.perf_counter() - started:.1f}s")
    import jupyter_mlops as mlops

    runs = mlops.runs()
    settings = mlops.tracking_settings()
    print(f"{len(runs)} runs in {runs['experiment'].nunique()} experiments, tracked to {settings.url}")
    print(f"artifacts under {settings.artifacts}")
    print("look at them with: jupyter mlops runs   (or mlops.runs() in a notebook)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
