"""Resume: ``mlops.checkpoint`` / ``mlops.resumable`` and ``%%experiment --resume``, after an exception in
a real IPython shell and after a real kernel was killed, with the refusals and the safe loader."""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
from pathlib import Path

import pytest
from cells import cell, ok
from IPython.core.error import UsageError
from rawsql import sql

import jupyter_mlops as mlops

torch = pytest.importorskip("torch")

SETUP = "import os\nimport torch\nimport jupyter_mlops as mlops\nCRASH_AT = -1"
# A small regression trained for 10 epochs; the data and the initial weights come from the seed, so a
# run that is resumed must end exactly where an uninterrupted one does.
TRAIN = """torch.manual_seed(0)
epochs = 10
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
best = None
for epoch in mlops.resumable(range(epochs)):
    x = torch.randn(32, 4)
    y = x.sum(1, keepdim=True)
    loss = torch.nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    mlops.log_metric("loss", loss.item())
    best = loss.item() if best is None else min(best, loss.item())
    mlops.checkpoint(model=model, optimizer=optimizer, best=best)
    if epoch == CRASH_AT:
        raise RuntimeError("the GPU fell over")
    if epoch == int(os.environ.get("KILL_AT", "-1")):
        os.kill(os.getpid(), 9)
final_loss = loss.item()
"""


def weights(model) -> list[float]:
    return [round(v, 12) for p in model.parameters() for v in p.detach().flatten().tolist()]


def latest(experiment: str):
    return mlops.get_run(mlops.runs(experiment, order_by="-start_time").run_id[0])


def test_a_failed_training_resumed_ends_like_an_uninterrupted_one(shell):
    ok(shell, SETUP)
    ok(shell, f"%%experiment straight\n{TRAIN}")
    straight = latest("straight")
    straight_weights = weights(shell.user_ns["model"])

    ok(shell, "CRASH_AT = 4")
    failed = cell(shell, f"%%experiment churn\n{TRAIN}")
    assert isinstance(failed.error_in_exec, RuntimeError)  # the user's error shows as usual
    run = latest("churn")
    assert run.status == "failed" and len(run.history("loss")) == 5
    ok(shell, "CRASH_AT = -1")
    ok(shell, f"%%experiment churn --resume\n{TRAIN}")

    resumed = mlops.get_run(run.id)
    assert len(mlops.runs("churn")) == 1  # the same run, not a new one
    assert resumed.status == "finished" and resumed.tags["resumed"] == "1" and resumed.error is None
    assert resumed.metrics == pytest.approx(straight.metrics)
    assert resumed.history("loss").value.tolist() == straight.history("loss").value.tolist()
    assert resumed.history("loss").step.tolist() == list(range(10))  # one point per epoch, none after
    assert weights(shell.user_ns["model"]) == straight_weights
    assert shell.user_ns["best"] == pytest.approx(min(straight.history("loss").value[:10]))
    checkpoints = [a for a in resumed.artifacts if a.kind == "checkpoint"]
    assert len(checkpoints) == 1 and checkpoints[0].path.startswith("checkpoints/step-000000010-")
    files = list((Path("artifacts") / run.id / "checkpoints").iterdir())
    assert [f.name for f in files] == [Path(checkpoints[0].path).name]  # older ones deleted


def test_a_kernel_killed_mid_training_resumes_in_a_new_kernel(tmp_path, monkeypatch):
    """The kernel is SIGKILLed at epoch 6 (what the OOM killer does); a new kernel resumes the run."""
    import nbformat
    from jupyter_client.manager import start_new_kernel
    from nbclient import NotebookClient

    from jupyter_mlops.tracking import api

    monkeypatch.setenv("JUPYTER_MLOPS_URL", f"sqlite:///{tmp_path / 'mlops.db'}")
    monkeypatch.setenv("JUPYTER_MLOPS_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("JUPYTER_MLOPS_HEARTBEAT_SECONDS", "0.3")
    km, kc = start_new_kernel(kernel_name="python3", env={**os.environ, "KILL_AT": "6"}, cwd=str(tmp_path))
    try:
        for source in ("%load_ext jupyter_mlops", SETUP):
            assert kc.execute_interactive(source, timeout=60)["content"]["status"] == "ok"
        kc.execute(f"%%experiment train\n{TRAIN}")
        deadline = time.monotonic() + 60
        while km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not km.is_alive()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    time.sleep(1.2)  # missed heartbeats: the run reads crashed
    killed = latest("train")
    assert killed.status == "crashed" and len(killed.history("loss")) == 7

    cells = [
        "%load_ext jupyter_mlops",
        SETUP,
        f"%%experiment train --resume\n{TRAIN}",
        f"%%experiment again\n{TRAIN}",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    resumed, straight = mlops.get_run(killed.id), latest("again")
    assert resumed.status == "finished" and resumed.tags["resumed"] == "1"
    assert resumed.metrics == pytest.approx(straight.metrics)
    assert resumed.history("loss").value.tolist() == straight.history("loss").value.tolist()
    api.disconnect()


def test_resume_refuses_when_the_cell_changed(shell, tmp_path):
    ok(shell, SETUP + "\nCRASH_AT = 2")
    cell(shell, f"%%experiment churn\n{TRAIN}")
    run = latest("churn")
    changed = TRAIN.replace("lr=0.05", "lr=0.01")
    result = cell(shell, f"%%experiment churn --resume {run.id[:6]}\n{changed}\nran = True")
    error = result.error_before_exec or result.error_in_exec
    assert isinstance(error, UsageError)
    assert f"the cell's code changed since run {run.id[:8]}" in str(error)
    assert "(line 4 was 'optimizer = torch.optim.Adam(model.parameters(), lr=0.05)', is " in str(error)
    assert "ran" not in shell.user_ns
    after = mlops.get_run(run.id)
    assert after.status == "failed" and len(after.history("loss")) == 3 and "resumed" not in after.tags


def test_resume_refuses_what_cannot_be_resumed(shell):
    ok(shell, SETUP)
    ok(shell, "%%experiment done\nx = 1")
    finished = latest("done")

    def refused(header: str) -> str:
        result = cell(shell, f"{header}\nx = 1\nran = True")
        error = result.error_before_exec or result.error_in_exec
        assert isinstance(error, UsageError), error
        assert "ran" not in shell.user_ns
        return str(error)

    assert "finished: there is nothing to resume" in refused(f"%%experiment done --resume {finished.id}")
    assert "no run in 'done' failed or crashed" in refused("%%experiment done --resume")
    assert "no run id starts with 'abc123'" in refused("%%experiment done --resume abc123")
    assert "is not a run id" in refused("%%experiment done --resume not-hex")
    running = mlops.start_run("live")
    try:
        assert "is still running" in refused(f"%%experiment live --resume {running.id}")
    finally:
        running.end()
    assert len(mlops.runs()) == 2  # nothing was created or changed


def test_a_damaged_checkpoint_is_refused_and_the_run_is_left_as_it_was(shell, tmp_path):
    ok(shell, SETUP + "\nCRASH_AT = 3")
    cell(shell, f"%%experiment churn\n{TRAIN}")
    run = latest("churn")
    checkpoint = next(a for a in run.artifacts if a.kind == "checkpoint")
    path = Path(checkpoint.uri)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    result = cell(shell, f"%%experiment churn --resume\n{TRAIN}")
    assert "does not match the sha256 recorded when it was saved" in str(result.error_before_exec)
    assert mlops.get_run(run.id).status == "failed" and len(mlops.runs()) == 1


class Planted:
    """A pickle that would create a file when loaded."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("fmt", ["pickle", "torch"])
def test_a_checkpoint_that_would_run_code_is_refused_even_with_a_matching_hash(shell, tmp_path, fmt):
    ok(shell, SETUP + "\nCRASH_AT = 3")
    cell(shell, f"%%experiment churn\n{TRAIN}")
    run = latest("churn")
    checkpoint = next(a for a in run.artifacts if a.kind == "checkpoint")
    pwned = tmp_path / "pwned"
    payload = {"step": 1, "series": {}, "names": {}, "kinds": {"x": "value"}, "state": {"x": Planted(pwned)}}
    if fmt == "pickle":
        data = pickle.dumps(payload)
    else:
        import io

        buffer = io.BytesIO()
        torch.save(payload, buffer)
        data = buffer.getvalue()
    Path(checkpoint.uri).write_bytes(data)
    sql(  # whoever planted it could write the database too
        f"sqlite:///{tmp_path / 'mlops.db'}",
        "UPDATE artifacts SET sha256 = :h WHERE run_id = :r AND kind = 'checkpoint'",
        h=hashlib.sha256(data).hexdigest(),
        r=run.id,
    )
    result = cell(shell, f"%%experiment churn --resume\n{TRAIN}")
    assert "could not be loaded safely" in str(result.error_before_exec)
    assert not pwned.exists()
    assert mlops.get_run(run.id).status == "failed"


PLAIN = """import numpy as np
rng = np.random.default_rng(0)
total = np.zeros(3)
seen = []
for step in mlops.resumable(range(6)):
    total = total + np.random.rand(3)
    seen.append(step)
    mlops.log_metric("norm", float(np.linalg.norm(total)))
    mlops.checkpoint(total=total, seen=seen, note="plain values")
    if step == CRASH_AT:
        raise ValueError("stop")
result = float(total.sum())
"""


def test_plain_values_and_numpy_resume_without_torch(shell, monkeypatch):
    """Without torch in use, checkpoints are pickles read back by the safe unpickler."""
    monkeypatch.delitem(sys.modules, "torch")
    ok(shell, "import jupyter_mlops as mlops\nimport numpy as np\nCRASH_AT = -1\nnp.random.seed(5)")
    ok(shell, f"%%experiment plain\n{PLAIN}")
    straight = latest("plain")
    ok(shell, "CRASH_AT = 2\nnp.random.seed(5)")
    cell(shell, f"%%experiment plain2\n{PLAIN}")
    ok(shell, "CRASH_AT = -1\nnp.random.seed(99)")  # the checkpoint restores NumPy's generator
    ok(shell, f"%%experiment plain2 --resume\n{PLAIN}")
    resumed = latest("plain2")
    blob = Path(next(a.uri for a in resumed.artifacts if a.kind == "checkpoint")).read_bytes()
    assert blob[:1] == b"\x80"  # a pickle, not a torch zip
    assert resumed.status == "finished"
    assert resumed.metrics["result"] == pytest.approx(straight.metrics["result"])
    assert shell.user_ns["seen"] == list(range(6)) and shell.user_ns["note"] == "plain values"


def test_checkpoint_and_resumable_outside_a_resumed_run(shell):
    with pytest.raises(mlops.NoActiveRun):
        mlops.checkpoint(x=1)
    assert list(mlops.resumable(range(3))) == [0, 1, 2]  # no run: a plain loop
    with mlops.start_run("api") as run:
        steps = mlops.resumable(["a", "b"])
        assert list(steps) == ["a", "b"] and steps.state == {}
        with pytest.raises(mlops.InvalidValue, match="a lock cannot be saved safely"):
            import threading

            mlops.checkpoint(lock=threading.Lock())
        mlops.checkpoint(numbers=[1, 2.5, {"k": (3, None)}])
    assert [a.kind for a in mlops.get_run(run.id).artifacts] == ["checkpoint"]


def test_resume_without_a_checkpoint_starts_the_run_over(shell):
    ok(shell, "import jupyter_mlops as mlops\nFAIL = True")
    # no newline at the end: IPython adds one for the input transformers, not for the run's code
    source = "for i in range(3):\n    mlops.log_metric('m', i)\nif FAIL:\n    raise ValueError('x')"
    cell(shell, f"%%experiment over\n{source}")
    run = latest("over")
    ok(shell, "FAIL = False")
    ok(shell, f"%%experiment over --resume {run.id}\n{source}")
    assert mlops.get_run(run.id).history("m").value.tolist() == [0.0, 1.0, 2.0]  # not six points
