"""The registry's faces: ``%mlops register/models/alias/show`` in a real IPython shell, the text
registry view, and ``jupyter mlops check`` / ``models`` run as a user would."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError
from test_cli import cli
from test_mlops_magic import line, run_cells

import jupyter_mlops as mlops
from jupyter_mlops.tracking import api

TRAIN = """%%experiment churn --quiet
C = 1.0
clf = LogisticRegression(C=C).fit(X, y)
acc = float(clf.score(X, y))
"""


@pytest.fixture
def trained(shell):
    run_cells(
        shell,
        "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
        "rng = np.random.default_rng(0)\nX = rng.normal(size=(200, 3))\ny = (X[:, 0] > 0).astype(int)",
        TRAIN,
    )
    return shell


def test_register_from_the_run_just_executed_with_alias_and_gate(trained, capsys):
    capsys.readouterr()
    line(trained, '%mlops register churn --alias champion --require "acc>=0.9"')
    out = capsys.readouterr().out
    run_id = api.last_run_id()
    assert out.strip() == f"registered churn:1 from run {run_id[:8]} (sklearn, skops) @champion"
    version = mlops.get_model_version("churn@champion")
    assert version.run_id == run_id and version.meta["variable"] == "clf"
    assert version.metrics["acc"] > 0.9
    X = trained.user_ns["X"]
    np.testing.assert_array_equal(
        mlops.load_model("churn@champion").predict(X), trained.user_ns["clf"].predict(X)
    )


def test_a_failed_gate_is_a_usage_error_and_registers_nothing(trained):
    with pytest.raises(UsageError, match=r"churn not registered: gate acc>=1.5 failed: acc=.* is not >= 1.5"):
        line(trained, '%mlops register churn --require "acc>=1.5"')
    assert mlops.list_models().empty


def test_registering_the_live_variable_links_it_to_the_run_that_trained_it(trained):
    clf = trained.user_ns["clf"]
    version = mlops.register_model(clf, "live")
    assert version.run_id == api.last_run_id() and version.meta["variable"] == "clf"
    assert "acc" in version.metrics


def test_register_a_notebook_variable_when_no_run_ended(shell, capsys):
    api._last_run_id = None
    run_cells(
        shell,
        "import numpy as np\nfrom sklearn.linear_model import LinearRegression\n"
        "X = np.arange(20.0).reshape(10, 2)\nreg = LinearRegression().fit(X, X.sum(axis=1))",
    )
    with pytest.raises(UsageError, match="give --run RUN, or --var VAR"):
        line(shell, "%mlops register reg")
    with pytest.raises(UsageError, match="no variable 'nope'"):
        line(shell, "%mlops register reg --var nope")
    capsys.readouterr()
    line(shell, "%mlops register reg --var reg")
    assert capsys.readouterr().out.strip() == "registered reg:1 (sklearn, skops)"


def test_models_alias_and_show_in_a_terminal_shell(trained, capsys):
    line(trained, "%mlops register churn")
    run_cells(trained, TRAIN.replace("C = 1.0", "C = 0.01"))
    line(trained, "%mlops register churn")
    capsys.readouterr()
    line(trained, "%mlops alias churn@champion 2")
    assert capsys.readouterr().out.strip() == "churn@champion -> version 2"
    line(trained, '%mlops alias churn@production 1 --require "acc>=0.5"')
    with pytest.raises(UsageError, match=r"churn:2 cannot become @production: gate acc>=0\.99"):
        line(trained, '%mlops alias churn@production 2 --require "acc>=0.99"')
    view = line(trained, "%mlops models")
    text = str(view)
    assert "churn  2 versions, latest 2  @champion->2, @production->1" in text
    assert "@production requires acc>=0.5" in text
    assert text.count("@champion") >= 2 and "Alias history:" in text
    card = line(trained, "%mlops show churn@champion")
    assert str(card).startswith("Model churn:2 @champion") and "skops" in str(card)
    assert "<h3>Model churn:2 @champion</h3>" in card.html()
    line(trained, "%mlops alias churn@champion --remove")
    assert mlops.get_model_version("churn").aliases == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("%mlops register", "the following arguments are required: name"),
        ("%mlops register 'bad name'", "model name 'bad name' is not valid"),
        ("%mlops register churn --run zzz", "'zzz' is not a run id"),
        ("%mlops register churn --var missing", "no candidate model 'missing'"),
        ("%mlops alias churn 1", "write NAME@ALIAS VERSION"),
        ("%mlops alias churn@champion", "which version?"),
        ("%mlops alias churn@champion two", "version must be a whole number"),
        ("%mlops alias churn@champion 7", "no version 7"),
        ("%mlops show churn:0", "versions start at 1"),
        ("%mlops show nosuch", "no run id starts with|is not a run id"),
    ],
)
def test_bad_registry_commands_say_what_to_write(trained, text, message):
    line(trained, "%mlops register churn")
    with pytest.raises(UsageError, match=message):
        line(trained, text)
    assert mlops.get_model_version("churn").version == 1


def test_empty_registry_view_says_how_to_register(shell):
    assert "mlops.register_model(model, 'name')" in str(line(shell, "%mlops models"))


def test_cli_check_exits_0_or_1_with_one_line(db_url, tmp_path):
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(100, 2))
    y = (X[:, 0] > 0).astype(int)
    artifacts = str(tmp_path / "artifacts")
    mlops.connect(db_url, artifacts=artifacts)
    try:
        mlops.register_model(LogisticRegression().fit(X, y), "churn", eval_data=(X, y), alias="champion")
    finally:
        api.disconnect()
    env = {"JUPYTER_MLOPS_ARTIFACTS": artifacts}
    passed = cli("check", "churn@champion", "--require", "accuracy>=0.9", url=db_url, env=env)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("PASS churn:1 passes accuracy>=0.9 (accuracy=0.9")
    failed = cli("check", "churn:1", "--require", "accuracy>=0.999, f1>0.5", url=db_url, env=env)
    assert failed.returncode == 1
    assert failed.stdout.startswith("FAIL churn:1 fails accuracy>=0.999, f1>0.5: accuracy=0.9")
    for args, message in [
        (("check", "churn@nope", "--require", "accuracy>=0.9"), "no alias @nope"),
        (("check", "churn", "--require", "accuracy"), "is not METRIC OP NUMBER"),
        (("check", "churn:x", "--require", "accuracy>0"), "is not a model reference"),
    ]:
        done = cli(*args, url=db_url, env=env)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    listed = cli("models", url=db_url, env=env)
    assert listed.returncode == 0 and "churn" in listed.stdout and "champion:1" in listed.stdout


def test_a_torch_module_trained_in_a_tracked_cell_registers_from_the_run_and_loads(shell, capsys):
    pytest.importorskip("torch")
    run_cells(
        shell,
        "import torch\nimport jupyter_mlops as mlops\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(self, n_in, hidden=8):\n"
        "        super().__init__()\n"
        "        self.n_in, self.hidden = n_in, hidden\n"
        "        self.body = torch.nn.Sequential(\n"
        "            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2)\n"
        "        )\n"
        "    def forward(self, x):\n"
        "        return self.body(x)\n"
        "torch.manual_seed(0)\nX = torch.randn(128, 4)\ny = (X[:, 0] > 0).long()",
        "%%experiment torch-reg --quiet\n"
        "hidden = 12\n"
        "net = Net(4, hidden=hidden)\n"
        "opt = torch.optim.Adam(net.parameters(), lr=0.05)\n"
        "for _ in range(50):\n"
        "    opt.zero_grad()\n"
        "    loss = torch.nn.functional.cross_entropy(net(X), y)\n"
        "    loss.backward()\n"
        "    opt.step()\n"
        "final_loss = loss.item()",
    )
    capsys.readouterr()
    line(shell, '%mlops register net --require "final_loss<0.5"')
    assert capsys.readouterr().out.startswith("registered net:1 from run")
    version = mlops.get_model_version("net:1")
    assert (version.flavor, version.format) == ("torch", "state_dict")
    assert version.meta["init"] == {"n_in": 4, "hidden": 12}
    run_cells(shell, "loaded = mlops.load_model('net:1')", "same = torch.equal(loaded(X), net.eval()(X))")
    assert shell.user_ns["same"] is True


def test_deploy_deployments_and_undeploy_magics(trained, capsys):
    line(trained, "%mlops register churn")
    capsys.readouterr()
    deployment = line(trained, "%mlops deploy churn:1 --name magic-churn")
    try:
        out = capsys.readouterr().out.strip()
        assert out == f"deployed magic-churn at {deployment.url}  (POST {deployment.url}/invocations)"
        X = trained.user_ns["X"][:3]
        assert deployment.predict(X) == trained.user_ns["clf"].predict(X).tolist()
        frame = line(trained, "%mlops deployments")
        assert frame.loc[0, "name"] == "magic-churn" and frame.loc[0, "status"] == "healthy"
        with pytest.raises(UsageError, match="--traffic takes REF=WEIGHT"):
            line(trained, "%mlops deploy churn:1 --traffic churn:1")
        with pytest.raises(UsageError, match="no deployment named 'nope'"):
            line(trained, "%mlops undeploy nope")
    finally:
        line(trained, "%mlops undeploy magic-churn")
    assert capsys.readouterr().out.strip().endswith("stopped magic-churn")
    assert mlops.deployments().loc[0, "status"] == "stopped"
