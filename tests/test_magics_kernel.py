"""``%%experiment`` in real kernels: a notebook run by nbclient, Ctrl-C, a kernel killed mid-cell,
and ``%mlops reproduce`` (which starts a fresh kernel itself)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import jupyter_mlops as mlops


@pytest.fixture
def tracking_env(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_URL", f"sqlite:///{tmp_path / 'mlops.db'}")
    monkeypatch.setenv("JUPYTER_MLOPS_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("JUPYTER_MLOPS_HEARTBEAT_SECONDS", "0.3")
    yield dict(os.environ)
    from jupyter_mlops.tracking import api

    api.disconnect()


def run_notebook(cells: list[str], cwd: Path, allow_errors: bool = False) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    ).execute()
    return notebook


def texts(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_notebook_in_a_real_kernel(tracking_env, tmp_path):
    notebook = run_notebook(
        [
            "%load_ext jupyter_mlops",
            "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
            "import matplotlib.pyplot as plt\nimport pandas as pd\ndf = pd.DataFrame({'x': [1.0, 2.0, 3.0]})",
            "%%experiment demo -n plot\nscale = 2\nfig, ax = plt.subplots()\nax.plot(df.x * scale)\n"
            "plt.show()\ntotal = float((df.x * scale).sum())\ntotal",
            "%mlops runs demo",
        ],
        tmp_path,
    )
    experiment_cell = notebook.cells[2]
    kinds = [o.output_type for o in experiment_cell.outputs]
    assert "display_data" in kinds and "execute_result" in kinds  # the plot and Out[] as usual
    result = next(o for o in experiment_cell.outputs if o.output_type == "execute_result")
    assert result["data"]["text/plain"] == "12.0"
    assert "in 'demo' finished (1 param, 1 metric, 1 input, 1 figure)" in texts(experiment_cell)
    assert "plot" in notebook.cells[3].outputs[0]["data"]["text/plain"]
    run = mlops.get_run(mlops.runs("demo").run_id[0])
    assert run.metrics == {"total": 12.0} and run.params == {"scale": "2"}
    assert [a.path for a in run.artifacts if a.kind == "figure"] == ["figures/figure-1.png"]
    png = Path(next(a.uri for a in run.artifacts if a.kind == "figure")).read_bytes()
    assert png.startswith(b"\x89PNG")
    assert [c["execution_count"] for c in run.context["cells"]] == [2]


def test_a_failing_cell_stops_the_notebook_like_without_the_magic(tracking_env, tmp_path):
    with pytest.raises(CellExecutionError) as info:
        run_notebook(
            ["%load_ext jupyter_mlops", "%%experiment\nx = 1\nraise ValueError('mine')", "y = 2"], tmp_path
        )
    assert info.value.ename == "ValueError" and info.value.evalue == "mine"
    run = mlops.get_run(mlops.runs().run_id[0])
    assert run.status == "failed" and "ValueError: mine" in run.error


def start_kernel(env: dict[str, str], cwd: Path):
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(cwd))
    reply = kc.execute_interactive("%load_ext jupyter_mlops", timeout=60)
    assert reply["content"]["status"] == "ok"
    return km, kc


def wait_for_run(timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = mlops.runs()
        if len(frame):
            return frame.run_id[0]
        time.sleep(0.1)
    raise AssertionError("the cell's run never appeared")


def test_ctrl_c_marks_the_run_killed(tracking_env, tmp_path):
    km, kc = start_kernel(tracking_env, tmp_path)
    try:
        msg_id = kc.execute(
            "%%experiment\nimport time\nsteps = 0\nwhile True:\n    time.sleep(0.05)\n    steps += 1"
        )
        run_id = wait_for_run()
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert kc.execute_interactive("steps > 0", timeout=30)["content"]["status"] == "ok"  # kernel alive
        assert mlops.get_run(run_id).status == "killed"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_kernel_killed_mid_cell_reads_crashed(tracking_env, tmp_path):
    km, kc = start_kernel(tracking_env, tmp_path)
    try:
        kc.execute("%%experiment\nimport time\ntime.sleep(60)")
        run_id = wait_for_run()
        assert mlops.get_run(run_id).status == "running"
        km.signal_kernel(signal.SIGKILL)  # what the OOM killer does
        time.sleep(1.5)  # three missed heartbeats of 0.3 s
        assert mlops.get_run(run_id).status == "crashed"
        assert mlops.runs(filter="attributes.status = 'crashed'").run_id.tolist() == [run_id]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_reproduce_matches_and_reports_changed_data(shell, tmp_path):
    (tmp_path / "data.csv").write_text("a\n1\n2\n3\n")
    for source in [
        "import pandas as pd\nimport jupyter_mlops as mlops",
        "df = pd.read_csv('data.csv')",
        "unrelated = 1 / 0.5",
        "%%experiment --quiet\nscale = 2\nfor i in range(3):\n    mlops.log_metric('step', i)\n"
        "mean = float(df.a.mean()) * scale",
    ]:
        shell.run_cell(source, store_history=True).raise_error()
    run_id = mlops.runs().run_id[0]

    same = mlops.reproduce(run_id[:8])
    assert same.matches, str(same)
    assert same.metrics == {"mean": (4.0, 4.0)} and same.changed_inputs == []
    assert str(same).startswith(f"Run {run_id[:8]} reproduced: final metrics match")
    assert len(mlops.runs()) == 1  # reproducing adds no runs to the user's database

    (tmp_path / "data.csv").write_text("a\n1\n2\n6\n")
    changed = shell.run_cell(f"%mlops reproduce {run_id[:8]}", store_history=True).result
    assert not changed.matches
    assert changed.mismatched_metrics == ["mean"] and changed.metrics["mean"] == (4.0, 6.0)
    assert changed.changed_inputs == ["df"]
    text = str(changed)
    assert "does NOT reproduce" in text and "input df changed" in text
    assert "metric mean: recorded 4, now 6  DIFFERENT" in text
    assert "<b" in changed._repr_html_()


def test_the_live_chart_is_saved_as_a_static_chart(tracking_env, tmp_path):
    notebook = run_notebook(
        [
            "%load_ext jupyter_mlops\nimport jupyter_mlops as mlops",
            "%%experiment live --quiet\nfor step in range(30):\n    mlops.log_metric('loss', 1 / (step + 1))",
            "%%experiment live --quiet --no-live\nfor step in range(30):\n    mlops.log_metric('loss', 1.0)",
        ],
        tmp_path,
    )
    live, off = notebook.cells[1].outputs, notebook.cells[2].outputs
    html = [o["data"]["text/html"] for o in live if "text/html" in o.get("data", {})]
    assert len(html) == 1 and 'class="mlops-static-chart"' in html[0] and "loss" in html[0]
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in live)
    assert off == []  # --no-live, --quiet: the cell's outputs are its own (none)
