"""Every example notebook runs top to bottom in a real kernel. Only a cell tagged ``raises-exception``
(one that shows what a failure looks like) may fail, and it must."""

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
    for cell in notebook.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        expected = "raises-exception" in cell.get("metadata", {}).get("tags", [])  # it shows a failure
        assert len(errors) == expected, (cell.source, errors)
    assert (tmp_path / "mlops.db").exists()
