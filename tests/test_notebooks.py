"""Every example notebook runs top to bottom in a real kernel, with errors not allowed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "example_notebooks"
sys.path.insert(0, str(EXAMPLES))
from run_all import run_notebook  # noqa: E402


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.ipynb")), ids=lambda p: p.name)
def test_example_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_URL", f"sqlite:///{tmp_path / 'mlops.db'}")
    monkeypatch.setenv("JUPYTER_MLOPS_ARTIFACTS", str(tmp_path / "artifacts"))
    notebook = run_notebook(path, tmp_path)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert (tmp_path / "mlops.db").exists()
