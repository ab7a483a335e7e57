"""``%%experiment`` and ``%mlops`` through a real IPython shell: what each cell records, exactly."""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import pytest
from cells import cell, ok
from rawsql import sql

import jupyter_mlops as mlops


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlops.db'}"


def only_run(experiment: str | None = None):
    frame = mlops.runs(experiment)
    assert len(frame) == 1, frame
    return mlops.get_run(frame.run_id[0])


# -- loading ---------------------------------------------------------------------------------------


def test_load_prints_where_runs_go_and_loading_twice_is_harmless(shell, tmp_path, capsys):
    cell(shell, "%unload_ext jupyter_mlops")
    capsys.readouterr()
    ok(shell, "%load_ext jupyter_mlops")
    ok(shell, "%load_ext jupyter_mlops")  # IPython says it is loaded; our hooks are not doubled
    from jupyter_mlops.magics import load_ipython_extension

    load_ipython_extension(shell)  # called directly a third time: still one set of hooks
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        f"jupyter_mlops: tracking to sqlite:///{tmp_path / 'mlops.db'} "
        f"(artifacts in {tmp_path / 'artifacts'})"
    )
    ok(shell, "%%experiment\nx = 1")
    assert len(mlops.runs()) == 1


def test_extension_is_registered_lazily_and_import_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, jupyter_mlops; "
        "print(all(m not in sys.modules for m in ('IPython', 'sqlalchemy', 'pandas', 'numpy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


# -- what a cell records ---------------------------------------------------------------------------


def test_cell_records_code_params_metrics_and_status(shell, capsys):
    ok(shell, "import jupyter_mlops as mlops")
    source = (
        "lr = 0.01\n"
        "layers = [64, 32]\n"
        "name = 'mlp'\n"
        "for epoch in range(3):\n"
        "    loss = 1 / (epoch + 1)\n"
        "    mlops.log_metric('loss', loss)\n"
        "acc = 0.5 + lr\n"
        "n_layers = len(layers)\n"
        "flag = acc > 0.1\n"
    )
    ok(shell, "%%experiment churn -n baseline --tag team=risk\n" + source)
    run = only_run("churn")
    assert (run.name, run.status, run.experiment) == ("baseline", "finished", "churn")
    assert run.params == {"lr": "0.01", "layers": "[64, 32]", "name": "mlp"}
    assert run.metrics == {"loss": pytest.approx(1 / 3), "acc": pytest.approx(0.51), "n_layers": 2.0}
    # the variable `loss` the loop logged is not logged once more when the cell ends
    assert run.history("loss")["value"].tolist() == pytest.approx([1, 0.5, 1 / 3])
    assert run.tags == {"team": "risk"}
    assert run.code == source  # the cell without its magic line
    import hashlib

    assert run.source_hash == hashlib.sha256(source.encode()).hexdigest()
    assert run.context["magic"] == "%%experiment churn -n baseline --tag team=risk"
    assert run.context["assigned"] == ["loss", "acc", "n_layers", "flag"]
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(f"run {run.id[:8]} 'baseline' in 'churn' finished (3 params, 2 metrics)")
    )


def test_a_logged_variable_is_appended_at_the_end_only_when_it_changed_since(shell):
    ok(shell, "import jupyter_mlops as mlops")
    ok(
        shell,
        "%%experiment churn\n"
        "score = len('ab') / 4\n"
        "mlops.log_metric('score', score)\n"
        "score = score + 0.25\n"
        "loss = score * 2\n"
        "mlops.log_metric('loss', loss)\n",
    )
    run = only_run("churn")
    assert run.history("score")["value"].tolist() == [0.5, 0.75]  # changed after it was logged: kept
    assert run.history("loss")["value"].tolist() == [1.5]  # its last point already: not twice


def test_p_overrides_rewrite_the_assignment_before_the_cell_runs(shell):
    ok(
        shell,
        "%%experiment -p lr=0.5 -p layers=[8] -p name=rf\n"
        "lr = 0.01\nlayers = [64,\n  32]\nname = 'mlp'\nused = lr * 2",
    )
    run = only_run()
    assert run.params == {"lr": "0.5", "layers": "[8]", "name": "rf"}
    assert run.metrics == {"used": 1.0}
    assert shell.user_ns["lr"] == 0.5 and shell.user_ns["layers"] == [8] and shell.user_ns["name"] == "rf"
    assert "lr = 0.5\n" in run.code


def test_line_numbers_in_tracebacks_match_the_cell(shell, capsys):
    result = cell(shell, "%%experiment -p a=2\na = 1\nb = [1,\n 2]\nraise ValueError('third')")
    assert isinstance(result.error_in_exec, ValueError)
    out = capsys.readouterr().out
    assert re.search(r"Cell In\[\d+\], line 5", out), out
    run = only_run()
    assert run.status == "failed"
    assert "ValueError: third" in run.error and "line 5" in run.error


def test_a_failing_cell_fails_the_same_way_with_and_without_the_magic(shell, capsys):
    body = "x = 1\nprint('before')\n1 / 0\n"
    plain = cell(shell, body)
    plain_out = capsys.readouterr().out
    tracked = cell(shell, "%%experiment --quiet\n" + body)
    tracked_out = capsys.readouterr().out
    assert type(plain.error_in_exec) is type(tracked.error_in_exec) is ZeroDivisionError
    assert not tracked.success  # "Run All" stops here, as it would without the magic

    def normalise(text: str) -> str:  # cell numbers and the magic's blank first line aside
        return re.sub(r"In\[\d+\], line \d+", "In[N], line L", text).replace("      2 x = 1", "      1 x = 1")

    assert "ZeroDivisionError" in tracked_out and "before" in tracked_out
    assert re.sub(r"\s+\d+ ", " ", normalise(plain_out)) == re.sub(r"\s+\d+ ", " ", normalise(tracked_out))
    run = only_run()
    assert run.status == "failed" and "ZeroDivisionError: division by zero" in run.error
    assert "interactiveshell.py" not in run.error  # the user's frames, not the shell's


def test_keyboard_interrupt_marks_the_run_killed(shell):
    result = cell(shell, "%%experiment\nx = 1\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    run = only_run()
    assert run.status == "killed" and run.error == "KeyboardInterrupt"


def test_a_cell_that_does_not_parse_is_recorded_failed(shell):
    result = cell(shell, "%%experiment\nx = (1,\n")
    assert isinstance(result.error_before_exec, SyntaxError)
    assert only_run().status == "failed"


def test_outputs_namespace_and_out_value_are_unchanged(shell, capsys):
    value = ok(shell, "%%experiment --quiet\nz = 21\nprint('hello')\nz * 2")
    assert value == 42 and shell.user_ns["z"] == 21
    assert shell.user_ns["_"] == 42
    out = capsys.readouterr().out
    assert out.startswith("hello\n") and "jupyter_mlops" not in out


def test_stdout_and_stderr_are_kept_capped(shell):
    ok(shell, "import sys\nbig = 'x' * 150_000")
    ok(shell, "%%experiment --quiet\nprint('to out')\nprint('to err', file=sys.stderr)\nprint(big)")
    run = only_run()
    paths = {a.path: a for a in run.artifacts}
    stdout = Path(paths["stdout.txt"].uri).read_text()
    assert stdout.startswith("to out\n" + "x" * 1000)
    assert stdout.endswith("[... cut at 100,000 characters]\n") and len(stdout) < 100_100
    assert Path(paths["stderr.txt"].uri).read_text() == "to err\n"


def test_inputs_are_fingerprinted_with_lineage_rows(shell, tmp_path):
    ok(
        shell,
        "import numpy as np, pandas as pd\ndf = pd.DataFrame({'a': [1.0, 2.0, None], 'b': ['x', 'y', 'x']})",
    )
    ok(shell, "arr = np.arange(6).reshape(2, 3)\nunused = pd.DataFrame({'c': [1]})")
    ok(shell, "%%experiment\ntotal = float(df.a.sum()) + float(arr.sum())")
    run = only_run()
    inputs = {i.name: i for i in run.inputs}
    assert set(inputs) == {"df", "arr"}
    assert inputs["df"].shape == [3, 2] and inputs["df"].schema == {"a": "float64", "b": "str"}
    assert inputs["df"].profile["columns"]["a"]["null_share"] == pytest.approx(1 / 3)
    assert inputs["arr"].shape == [2, 3] and inputs["arr"].schema == {"dtype": "int64"}
    from jupyter_mlops.tracking.capture.fingerprint import fingerprint

    assert inputs["df"].fingerprint == fingerprint(shell.user_ns["df"]).id
    rows = sql(url(tmp_path), "select name, dataset_id from run_inputs where run_id = :r", r=run.id)
    assert sorted(rows) == sorted([("arr", inputs["arr"].fingerprint), ("df", inputs["df"].fingerprint)])
    # the same data read again is stored once
    ok(shell, "%%experiment --quiet\nmean = float(df.a.mean())")
    assert sql(url(tmp_path), "select count(*) from datasets")[0][0] == 2


def test_no_data_skips_fingerprints(shell):
    ok(shell, "import pandas as pd\ndf = pd.DataFrame({'a': [1]})")
    ok(shell, "%%experiment --no-data\nn = len(df)")
    assert only_run().inputs == ()


def test_fitted_models_are_saved_as_candidates(shell):
    ok(
        shell,
        "from sklearn.linear_model import LogisticRegression\nimport torch\n"
        "X = [[0.0], [1.0], [2.0], [3.0]]\ny = [0, 0, 1, 1]",
    )
    ok(
        shell,
        "%%experiment\nC = 1.0\nclf = LogisticRegression(C=C).fit(X, y)\nunfitted = LogisticRegression()\n"
        "torch.manual_seed(0)\nnet = torch.nn.Linear(1, 2)\nacc = clf.score(X, y)",
    )
    run = only_run()
    kinds = {a.path: a.kind for a in run.artifacts}
    assert kinds == {
        "models/clf.pkl": "model.sklearn",
        "models/clf.json": "model.meta",
        "models/net.pt": "model.torch",
        "models/net.json": "model.meta",
    }
    paths = {a.path: Path(a.uri) for a in run.artifacts}
    with paths["models/clf.pkl"].open("rb") as fh:
        loaded = pickle.load(fh)
    assert loaded.predict([[0.0], [3.0]]).tolist() == [0, 1]
    import torch

    state = torch.load(paths["models/net.pt"], weights_only=True)
    assert torch.equal(state["weight"], shell.user_ns["net"].weight.detach())
    meta = json.loads(paths["models/net.json"].read_text())
    assert meta["class"] == "torch.nn.modules.linear.Linear" and meta["format"] == "state_dict"


def test_no_models_skips_them(shell):
    ok(shell, "from sklearn.linear_model import LogisticRegression")
    ok(shell, "%%experiment --no-models\nclf = LogisticRegression().fit([[0], [1]], [0, 1])")
    assert only_run().artifacts == ()


def test_displayed_figures_are_saved(shell):
    svg = "<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'></svg>"
    ok(shell, f"%%experiment\nfrom IPython.display import SVG, display\ndisplay(SVG({svg!r}))")
    run = only_run()
    figure = [a for a in run.artifacts if a.kind == "figure"]
    assert [a.path for a in figure] == ["figures/figure-1.svg"]
    assert "<svg" in Path(figure[0].uri).read_text()
    # the display machinery is back to normal after the cell
    assert "publish" not in shell.display_pub.__dict__


def test_context_slice_follows_execution_order(shell):
    ok(shell, "x = 2")
    ok(shell, "y = 5")
    ok(shell, "unrelated = 1")
    ok(shell, "x = 3")  # re-executed later: the slice must take this one, not the first
    ok(shell, "import math")
    ok(shell, "%%experiment\nz = math.sqrt(x + y)")
    run = only_run()
    assert [c["source"] for c in run.context["cells"]] == ["y = 5", "x = 3", "import math"]
    counts = [c["execution_count"] for c in run.context["cells"]]
    assert counts == sorted(counts)


def test_context_slice_follows_dependencies_and_mutations(shell):
    ok(shell, "import pandas as pd")
    ok(shell, "raw = pd.DataFrame({'a': [1, 2]})")
    ok(shell, "%%experiment -p k=3\nk = 2\ndf = raw * k")  # an earlier tracked cell: kept as it ran
    ok(shell, "df['b'] = 1")
    ok(shell, "%%experiment\ns = float(df.sum().sum())")
    runs = mlops.runs(order_by="start_time")
    run = mlops.get_run(runs.run_id.iloc[-1])
    sources = [c["source"] for c in run.context["cells"]]
    assert sources == [
        "import pandas as pd",
        "raw = pd.DataFrame({'a': [1, 2]})",
        "k = 3\ndf = raw * k",
        "df['b'] = 1",
    ]
    assert run.metrics["s"] == 11.0


def test_environment_is_captured_once_and_stored_once(shell, tmp_path):
    ok(shell, "%%experiment\na = 1")
    ok(shell, "%%experiment\nb = 2")
    ids = sql(url(tmp_path), "select distinct environment_id from runs")
    assert len(ids) == 1 and ids[0][0]
    assert sql(url(tmp_path), "select count(*) from environments")[0][0] == 1
    env = only_env = mlops.get_run(mlops.runs().run_id[0]).env
    import platform

    assert env["python"]["version"] == platform.python_version()
    assert env["packages"]["pandas"] == __import__("pandas").__version__
    assert env["hardware"]["cpus"] == os.cpu_count()
    assert only_env is env


def test_notebook_path_is_recorded_when_the_front_end_says(shell, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/churn.ipynb")
    ok(shell, "%%experiment\na = 1")
    assert only_run().notebook == "/home/me/churn.ipynb"


# -- secrets ---------------------------------------------------------------------------------------

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def test_secrets_never_reach_the_database(shell, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("JUPYTER_MLOPS_API_TOKEN", "tok-planted-in-env-123")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # a fresh extension so the environment is captured with these variables
    cell(shell, "%reload_ext jupyter_mlops")
    ok(
        shell,
        "%%experiment --tag auth=Bearer-xyz-planted\n"
        "api_key = 'planted-api-key-value'\n"
        "db = 'postgresql://me:planted-pw@db/x'\n"
        f"note = {JWT!r}\n"
        "def connect(password): return 1\n"
        "c = connect(password='planted-call-pw')\n"
        "print('AKIAABCDEFGHIJKLMNOP')\n",
    )
    run = only_run()
    planted = [
        "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        "tok-planted-in-env-123",
        "planted-api-key-value",
        "planted-pw",
        JWT[:40],
        "planted-call-pw",
        "AKIAABCDEFGHIJKLMNOP",
        "Bearer-xyz-planted",
    ]
    dump = json.dumps(
        [sql(url(tmp_path), f"select * from {t}") for t in ("runs", "params", "tags", "environments")]
    )
    for artifact in run.artifacts:
        dump += Path(artifact.uri).read_text(errors="replace")
    for secret in planted:
        assert secret not in dump, secret
    assert run.env["env"]["OMP_NUM_THREADS"] == "1"  # allow-listed, not secret: kept
    assert run.env["env"]["JUPYTER_MLOPS_API_TOKEN"] == "***"
    assert "AWS_SECRET_ACCESS_KEY" not in run.env["env"]  # not on the allow-list at all


# -- tracking failures and bad arguments -------------------------------------------------------------


def test_when_tracking_fails_the_cell_still_runs_and_one_line_says_why(shell, monkeypatch, capsys):
    from jupyter_mlops.tracking import api

    api.disconnect()
    monkeypatch.setenv("JUPYTER_MLOPS_URL", "postgresql+psycopg://me:planted-pw@127.0.0.1:1/none")
    result = cell(shell, "%%experiment\nvalue = 7\nprint('ran')")
    assert result.success and shell.user_ns["value"] == 7
    captured = capsys.readouterr()
    assert captured.out == "ran\n"
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("jupyter_mlops: not tracking this run:")
    assert "planted-pw" not in captured.err


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("%%experiment -p lr", "-p takes KEY=VALUE, e.g. -p lr=0.1; got 'lr'"),
        ("%%experiment -p nope=1", "-p nope: the code has no top-level literal assignment `nope = ...`"),
        ("%%experiment --bogus", "unrecognized arguments: --bogus"),
        ("%%experiment --tag novalue", "--tag takes KEY=VALUE"),
    ],
)
def test_bad_magic_arguments_are_usage_errors_and_the_cell_does_not_run(shell, capsys, header, message):
    result = cell(shell, f"{header}\nlr = 0.1\nran = True")
    assert not result.success
    assert "ran" not in shell.user_ns
    out = capsys.readouterr()
    assert "UsageError" in out.out + out.err and message in out.out + out.err
    assert len(mlops.runs()) == 0


def test_p_needs_plain_python(shell, capsys):
    result = cell(shell, "%%experiment -p a=1\na = 0\n%time b = 1")
    assert not result.success
    out = capsys.readouterr()
    assert "-p needs the cell to be plain Python" in out.out + out.err


def test_experiment_must_be_the_first_line(shell, capsys):
    result = cell(shell, "x = 1\n%%experiment\ny = 2")
    assert not result.success  # IPython itself refuses a cell magic below code


# -- configuration ---------------------------------------------------------------------------------


def test_config_and_pyproject_defaults(shell, tmp_path, capsys):
    ok(shell, "%config MLOpsMagics.experiment = 'configured'\n")
    ok(shell, "%config MLOpsMagics.quiet = True")
    capsys.readouterr()
    ok(shell, "%%experiment\na = 1")
    assert capsys.readouterr().out == ""
    assert mlops.runs().experiment.tolist() == ["configured"]


def test_pyproject_sets_the_experiment_and_quiet(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter_mlops]\nexperiment = "from-pyproject"\nquiet = true\n'
    )
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from jupyter_mlops.tracking import api

    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    ipython = InteractiveShell.instance(config=config)
    try:
        ok(ipython, "%load_ext jupyter_mlops")
        capsys.readouterr()
        ok(ipython, "%%experiment\na = 1")
        assert capsys.readouterr().out == ""
        assert mlops.runs().experiment.tolist() == ["from-pyproject"]
        assert str(tmp_path / "mlops.db") in mlops.tracking_settings().url
    finally:
        ipython.run_cell("%unload_ext jupyter_mlops")
        api.disconnect()
        InteractiveShell.clear_instance()


def test_unload_stops_tracking(shell):
    ok(shell, "%unload_ext jupyter_mlops")
    assert not any("experiment" in str(t) for t in shell.input_transformers_cleanup)
    assert len(mlops.runs()) == 0


def test_environment_is_captured_again_after_a_package_install(shell, tmp_path):
    import sys

    site = tmp_path / "extra" / "site-packages"  # a package folder on sys.path, as pip would write to
    site.mkdir(parents=True)
    sys.path.append(str(site))
    try:
        ok(shell, "%%experiment --quiet\na = 1")
        time_before = os.stat(site).st_mtime_ns
        dist = site / "fakepkg-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
        os.utime(site, ns=(time_before + 10**9, time_before + 10**9))  # coarse clocks: make the move visible
        ok(shell, "%%experiment --quiet\nb = 2")
    finally:
        sys.path.remove(str(site))
    first, second = (mlops.get_run(r) for r in mlops.runs(order_by="start_time").run_id)
    assert "fakepkg" not in first.env["packages"] and second.env["packages"]["fakepkg"] == "1.0"
    assert sql(url(tmp_path), "select count(*) from environments")[0][0] == 2
    assert mlops.diff(first.id, second.id).packages == [("fakepkg", "-", "1.0")]


def test_a_million_row_input_is_fingerprinted_in_full(shell):
    ok(
        shell,
        "import numpy as np, pandas as pd\n"
        "big = pd.DataFrame(np.random.default_rng(0).random((1_000_000, 10)))",
    )
    ok(shell, "%%experiment --quiet\nm = float(big[0].mean())")
    (fp,) = only_run().inputs
    assert fp.name == "big" and fp.shape == [1_000_000, 10]
    assert fp.profile["rows"] == 1_000_000 and fp.profile["sampled_rows"] == 10_000
    from jupyter_mlops.tracking.capture.fingerprint import fingerprint

    assert fp.fingerprint == fingerprint(shell.user_ns["big"]).id
