"""Reproduce a run: execute its context slice and code in a fresh kernel and compare final metrics.

    >>> mlops.reproduce("3f2a")      # doctest: +SKIP
    Run 3f2a9c1b reproduced: final metrics match (acc 0.9333)

The fresh kernel (nbclient, the current Python) starts in the current folder and tracks to a throwaway
database, so reproducing never adds runs to yours. Before the run's code executes, the inputs it read
are fingerprinted again: when a metric differs, the report says which input data changed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..entities import Run

_MARK = "__jupyter_mlops_reproduce__"


@dataclass
class Reproduction:
    """The outcome: per final metric (recorded, reproduced), per input (recorded, current fingerprint)."""

    run_id: str
    metrics: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    inputs: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    error: str | None = None
    rel_tol: float = 1e-9

    @property
    def mismatched_metrics(self) -> list[str]:
        return [k for k, (old, new) in self.metrics.items() if not _same(old, new, self.rel_tol)]

    @property
    def changed_inputs(self) -> list[str]:
        return [k for k, (old, new) in self.inputs.items() if old != new]

    @property
    def matches(self) -> bool:
        """True when the code ran without error and every final metric came out the same."""
        return self.error is None and bool(self.metrics) and not self.mismatched_metrics

    def lines(self) -> list[str]:
        head = f"Run {self.run_id[:8]}"
        if self.error:
            return [f"{head} could not be reproduced: the code failed in the fresh kernel", self.error]
        if not self.metrics:
            return [f"{head}: it has no final metrics to compare"]
        out = [f"{head} reproduced: final metrics match" if self.matches else f"{head} does NOT reproduce"]
        for key, (old, new) in self.metrics.items():
            mark = "same" if _same(old, new, self.rel_tol) else "DIFFERENT"
            out.append(f"  metric {key}: recorded {old:.6g}, now {_fmt(new)}  {mark}")
        for key in self.changed_inputs:
            then, current = self.inputs[key]
            now = current[:12] if current else "missing"
            out.append(f"  input {key} changed: fingerprint {then[:12]} then, {now} now")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        lines = self.lines()
        colour = "#1a7f37" if self.matches else "#cf222e"
        rest = "".join(f"<li>{escape(line.strip())}</li>" for line in lines[1:])
        return f'<div><b style="color:{colour}">{escape(lines[0])}</b><ul>{rest}</ul></div>'


def reproduce_run(run: Run, timeout: int = 600, rel_tol: float = 1e-9) -> Reproduction:
    """Execute ``run``'s context cells and code in a fresh kernel; see the module docstring."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    context = run.context or {}
    final = [name for name in context.get("assigned", []) if name in run.metrics]
    inputs = {i.name: i.fingerprint for i in run.inputs}
    cells = [c["source"] for c in context.get("cells", [])]
    cells.append(_probe("inputs", list(inputs), "fingerprint"))
    cells.append(f"import jupyter_mlops as _mlops_r\n_run_r = _mlops_r.start_run({'reproduce'!r})")
    cells.append(run.code or "")
    cells.append("_run_r.end()\n" + _probe("metrics", final, "metric"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    result = Reproduction(run.id, rel_tol=rel_tol)
    with tempfile.TemporaryDirectory(prefix="mlops-reproduce-") as scratch:
        env = dict(os.environ)
        env["JUPYTER_MLOPS_URL"] = f"sqlite:///{scratch}/reproduce.db"
        env["JUPYTER_MLOPS_ARTIFACTS"] = f"{scratch}/artifacts"
        client = NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": os.getcwd()}}
        )
        try:
            # The kernel's own start-up chatter on stderr would land under the user's cell.
            client.execute(env=env, stderr=subprocess.DEVNULL)
        except CellExecutionError as err:
            result.error = _short(str(err))
        except Exception as err:  # kernel would not start, timeout: said in the report
            result.error = f"{type(err).__name__}: {err}"
    found = _probed(notebook)
    for name, old in inputs.items():
        result.inputs[name] = (old, found.get("inputs", {}).get(name))
    now = found.get("metrics", {})
    for key in final:
        result.metrics[key] = (run.metrics[key], now.get(key))
    return result


def _probe(what: str, names: list[str], kind: str) -> str:
    """A cell printing, as one JSON line, the fingerprint or metric value of each name in the kernel."""
    if kind == "fingerprint":
        value = "(_fp(globals()[n]).id if n in globals() and _fp(globals()[n]) else None)"
        load = "from jupyter_mlops.tracking.capture.fingerprint import fingerprint as _fp"
    else:
        value = "(_fm([n], globals()).get(n))"
        load = "from jupyter_mlops.tracking.capture.outputs import final_metrics as _fm"
    return (
        f"import json as _json_r\n{load}\n"
        f"print({_MARK!r}, _json_r.dumps({{{what!r}: {{n: {value} for n in {names!r}}}}}))"
    )


def _probed(notebook: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in str(output.get("text", "")).splitlines():
                if line.startswith(_MARK):
                    found.update(json.loads(line[len(_MARK) :]))
    return found


def _same(old: float, new: float | None, rel_tol: float) -> bool:
    if new is None:
        return False
    if math.isnan(old) or math.isnan(new):
        return math.isnan(old) and math.isnan(new)
    return math.isclose(old, new, rel_tol=rel_tol, abs_tol=1e-12)


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.6g}"


def _short(text: str, limit: int = 4000) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "\n..."
