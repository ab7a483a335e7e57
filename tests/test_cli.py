"""The `jupyter-mlops` executable, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jupyter_mlops as mlops
from jupyter_mlops.tracking import api

EXE = str(Path(sys.executable).parent / "jupyter-mlops")


def cli(*args: str, url: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "JUPYTER_MLOPS_URL": url, **(env or {})}
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


TRAIN = """\
import sys
from sklearn.linear_model import LogisticRegression
C = 1.0
max_iter = 100
X = [[0.0], [1.0], [2.0], [3.0]]
y = [0, 0, 1, 1]
model = LogisticRegression(C=C, max_iter=max_iter).fit(X, y)
acc = model.score(X, y)
print("args", sys.argv[1:])
"""


def test_run_tracks_a_script(db_url, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    done = cli(
        "run",
        str(script),
        "-p",
        "C=0.5",
        "-e",
        "scripts",
        "-n",
        "first",
        "--tag",
        "k=v",
        "--",
        "--fast",
        url=db_url,
    )
    assert done.returncode == 0, done.stderr
    assert "args ['--fast']" in done.stdout
    assert "in 'scripts' finished (4 params, 1 metric, 1 model)" in done.stdout
    mlops.connect(db_url, artifacts=str(tmp_path / "mlops-artifacts"))
    try:
        run = mlops.get_run(mlops.runs("scripts").run_id[0])
        assert (run.name, run.status) == ("first", "finished")
        assert run.params == {
            "C": "0.5",
            "max_iter": "100",
            "X": "[[0.0], [1.0], [2.0], [3.0]]",
            "y": "[0, 0, 1, 1]",
        }
        assert run.metrics == {"acc": 1.0}
        assert run.tags == {"k": "v"}
        assert "C = 0.5\n" in run.code and run.env["python"]["version"]
        assert {a.path for a in run.artifacts} == {"models/model.pkl", "models/model.json", "stdout.txt"}
    finally:
        api.disconnect()


def test_run_records_a_failing_script_and_exits_1(sqlite_url, tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("x = 1\nraise ValueError('boom')\n")
    done = cli("run", str(script), url=sqlite_url)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("ValueError: boom") and 'bad.py", line 2' in done.stderr
    mlops.connect(sqlite_url)
    try:
        run = mlops.get_run(mlops.runs().run_id[0])
        assert run.status == "failed" and "ValueError: boom" in run.error
    finally:
        api.disconnect()


def test_run_bad_input_exits_2_with_the_reason(sqlite_url, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    unknown = cli("run", str(script), "-p", "lr=0.1", url=sqlite_url)
    assert unknown.returncode == 2
    assert "-p lr: the code has no top-level literal assignment `lr = ...`" in unknown.stderr
    assert "its parameters are: C, max_iter, X, y" in unknown.stderr
    missing = cli("run", str(tmp_path / "missing.py"), url=sqlite_url)
    assert missing.returncode == 2 and "cannot read script" in missing.stderr
    malformed = cli("run", str(script), "-p", "C", url=sqlite_url)
    assert malformed.returncode == 2 and "-p takes KEY=VALUE" in malformed.stderr
    (tmp_path / "broken.py").write_text("x = (\n")
    broken = cli("run", str(tmp_path / "broken.py"), "-p", "x=1", url=sqlite_url)
    assert broken.returncode == 2 and "does not parse" in broken.stderr


def test_ui_opens_jupyterlab_on_loopback_with_the_sidebar(tmp_path):
    """`jupyter mlops ui` starts JupyterLab on 127.0.0.1; its start page opens the MLOps sidebar, and the
    sidebar's REST API answers there (with the token only)."""
    import secrets
    import signal
    import time
    import urllib.error
    import urllib.request

    from ports import free_port

    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_MLOPS_URL": f"sqlite:///{tmp_path / 'mlops.db'}"}
    args = [
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        "--allow-root",
        f"--ServerApp.root_dir={tmp_path}",
    ]
    log = (tmp_path / "ui.log").open("w")
    process = subprocess.Popen(
        [EXE, "ui", "--no-browser", "--port", str(port), "--", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status = urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/jupyter-mlops/api/status?token={token}"
                )
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "ui.log").read_text()
                time.sleep(0.3)
        assert b'"running": 0' in status.read()
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(f"http://127.0.0.1:{port}/?token={token}")
            raise AssertionError("the start page should redirect")
        except urllib.error.HTTPError as err:
            assert err.code == 302 and err.headers["Location"].startswith("/lab/workspaces/mlops")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/jupyter-mlops/api/status")
            raise AssertionError("the API needs the token")
        except urllib.error.HTTPError as err:
            assert err.code == 403
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
