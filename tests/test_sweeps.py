"""Sweeps: ``%%experiment --grid/--random`` through a real IPython shell, parallel trials in real worker
processes (joblib's loky, a local Dask cluster, a local Ray cluster), and the live view in a real kernel."""

from __future__ import annotations

import random

import pytest
from cells import cell, ok
from IPython.core.error import UsageError

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidValue
from jupyter_mlops.tracking.space import parse_distribution, parse_space

SETUP = (
    "import jupyter_mlops as mlops\n"
    "import threading\n"
    "import numpy as np\n"
    "lock = threading.Lock()  # cannot be pickled: rebuilt in workers from this cell\n"
    "def work(n):\n"
    "    return sum(i * i for i in range(n)) % 1000\n"
    "data = np.arange(10.0)"
)
GRID_CELL = (
    "a = 1\n"
    "b = 0.5\n"
    "kind = 'x'\n"
    "with lock:\n"
    "    score = a * b + data.sum() / 100 + work(1000) / 1e6\n"
    "for step in range(3):\n"
    "    mlops.log_metric('curve', a * step)\n"
)


def children(parent_id: str):
    frame = mlops.runs()
    kids = [mlops.get_run(r) for r in frame.run_id if mlops.get_run(r).parent_id == parent_id]
    return sorted(kids, key=lambda r: r.name)


def configs(runs, keys):
    return sorted(tuple(r.params[k] for k in keys) for r in runs)


# -- grid --------------------------------------------------------------------------------------------


def test_a_2x3_grid_gives_six_children_with_the_right_params(shell, capsys):
    ok(shell, SETUP)
    result = ok(
        shell,
        f"%%experiment sweeps -n grid --grid a=[1,2] --grid b=[0.1, 0.2, 0.3] --objective score\n{GRID_CELL}",
    )
    parent = mlops.get_run(result.parent_id)
    assert parent.name == "grid" and parent.status == "finished" and parent.parent_id is None
    assert parent.tags["sweep"] == "grid"
    assert parent.params["sweep.a"] == "[1, 2]" and parent.params["sweep.b"] == "[0.1, 0.2, 0.3]"
    assert (
        parent.params["kind"] == "x" and "a" not in parent.params
    )  # fixed params kept, swept ones described
    kids = children(parent.id)
    assert [k.name for k in kids] == [f"grid-{i}" for i in range(1, 7)]
    assert configs(kids, ["a", "b"]) == [(a, b) for a in ("1", "2") for b in ("0.1", "0.2", "0.3")]
    for kid in kids:
        a, b = int(kid.params["a"]), float(kid.params["b"])
        assert kid.status == "finished"
        assert kid.metrics["score"] == pytest.approx(
            a * b + 0.45 + 0.0 + (sum(i * i for i in range(1000)) % 1000) / 1e6
        )
        assert f"a = {a}\n" in kid.code and f"b = {b}\n" in kid.code  # the source is exactly what ran
        assert [i.name for i in kid.inputs] == ["data"]
        assert kid.history("curve").value.tolist() == [0.0, a, 2.0 * a]  # step metrics of each trial
    best = max(kids, key=lambda k: k.metrics["score"])
    assert parent.tags["sweep.best_run"] == best.id and best.params == {"a": "2", "b": "0.3", "kind": "x"}
    assert parent.metrics["best.score"] == best.metrics["score"]
    assert parent.tags["sweep.finished"] == "6" and parent.tags["sweep.failed"] == "0"
    table = result.table
    assert len(table) == 6 and table.run_id[0] == best.id  # best first
    assert [a.path for a in parent.artifacts if a.kind == "table"] == ["sweep.csv"]
    out = capsys.readouterr().out
    progress = [line for line in out.splitlines() if line.startswith("trial ")]
    assert len(progress) == 6 and progress[-1].startswith("trial 6/6 a=2 b=0.3: finished")
    assert "best score=" in repr(result)


def test_minimize_picks_the_lowest(shell):
    ok(shell, SETUP)
    result = ok(shell, f"%%experiment sweeps --grid a=[3,1,2] --minimize score --quiet\n{GRID_CELL}")
    assert result.best.config == {"a": 1}
    assert mlops.get_run(result.parent_id).tags["sweep.objective"] == "min score"


# -- random ------------------------------------------------------------------------------------------

RANDOM_CELL = "lr = 0.01\ndepth = 3\nact = 'relu'\nloss = lr * depth\n"
RANDOM = "--random lr=loguniform(1e-4, 1e-1) --random depth=int(2,8) --random act=choice(['relu', 'tanh'])"


def test_random_search_with_a_seed_is_repeatable(shell):
    first = ok(shell, f"%%experiment rnd {RANDOM} --trials 5 --seed 7 --quiet\n{RANDOM_CELL}")
    again = ok(shell, f"%%experiment rnd {RANDOM} --trials 5 --seed 7 --quiet\n{RANDOM_CELL}")
    other = ok(shell, f"%%experiment rnd {RANDOM} --trials 5 --seed 8 --quiet\n{RANDOM_CELL}")
    drawn = [t.config for t in first.trials]
    assert len(drawn) == 5 and drawn == [t.config for t in again.trials]
    assert drawn != [t.config for t in other.trials]
    keys = ["lr", "depth", "act"]
    assert configs(children(first.parent_id), keys) == configs(children(again.parent_id), keys)
    # no seed: a fresh one, recorded on the parent, repeats the sweep
    unseeded = ok(shell, f"%%experiment rnd {RANDOM} --trials 4 --quiet\n{RANDOM_CELL}")
    seed = mlops.get_run(unseeded.parent_id).params["sweep.seed"]
    repeat = ok(shell, f"%%experiment rnd {RANDOM} --trials 4 --seed {seed} --quiet\n{RANDOM_CELL}")
    assert [t.config for t in repeat.trials] == [t.config for t in unseeded.trials]
    parent = mlops.get_run(first.parent_id)
    assert parent.tags["sweep"] == "random" and parent.params["sweep.trials"] == "5"
    assert parent.params["sweep.lr"] == "loguniform(1e-4, 1e-1)"


def test_grid_and_random_cross():
    space = parse_space(["a=[1,2,3]"], ["x=uniform(0,1)"])
    found = space.configurations(trials=4, seed=0)
    assert len(found) == 12 and [c["a"] for c in found] == [1] * 4 + [2] * 4 + [3] * 4
    assert len({c["x"] for c in found}) == 12


def test_each_distribution_draws_inside_its_range():
    rng = random.Random(1)
    uniform = [parse_distribution("x", "uniform(-2, 3)").draw(rng) for _ in range(2000)]
    assert min(uniform) >= -2 and max(uniform) <= 3 and abs(sum(uniform) / 2000 - 0.5) < 0.15
    logs = [parse_distribution("x", "loguniform(1e-4, 1)").draw(rng) for _ in range(2000)]
    assert min(logs) >= 1e-4 and max(logs) <= 1
    decades = [sum(10**-k <= v < 10 ** (1 - k) for v in logs) for k in (1, 2, 3, 4)]
    assert all(400 < d < 600 for d in decades)  # evenly spread over the decades: log-uniform
    ints = [parse_distribution("x", "int(2, 5)").draw(rng) for _ in range(500)]
    assert set(ints) == {2, 3, 4, 5} and all(isinstance(i, int) for i in ints)
    picks = [parse_distribution("x", "choice(['a', 7, None])").draw(rng) for _ in range(300)]
    assert set(picks) == {"a", 7, None}


@pytest.mark.parametrize(
    "text, says",
    [
        ("normal(0, 1)", "is not one of them"),
        ("uniform(1)", "takes two numbers"),
        ("uniform(2, 1)", "needs a < b"),
        ("loguniform(0, 1)", "needs 0 < a"),
        ("int(1.5, 3)", "two integers"),
        ("choice([])", "one non-empty list"),
        ("choice(x)", "must be literals"),
        ("uniform(0, 1", "where DIST is one of"),
        ("__import__('os')", "is not one of them"),
    ],
)
def test_bad_distributions_say_what_to_write(text, says):
    with pytest.raises(InvalidValue, match=says.replace("(", r"\(")):
        parse_distribution("lr", text)


# -- bad arguments: a usage error, nothing stored, the cell does not run ----------------------------


@pytest.mark.parametrize(
    "args, says",
    [
        ("--grid nope=[1,2]", "no top-level literal assignment `nope = ...`; its parameters are: a, b"),
        ("--grid a=1", "give a non-empty list of values"),
        ("--grid a=[]", "give a non-empty list of values"),
        ("--grid a", "--grid takes KEY=VALUES"),
        ("--grid a=[1] --random a=uniform(0,1)", "a is swept twice"),
        ("--random a=gauss(0,1)", "is not one of them"),
        ("--grid a=[1,2] --trials 3", "--trials N sets how many --random draws"),
        ("--random a=uniform(0,1) --trials 0", "--trials N sets how many --random draws"),
        ("--grid a=[1,2] --objective s --minimize s", "not both"),
        ("--jobs 2", "--jobs belongs to a sweep"),
        ("--seed 1", "--seed belongs to a sweep"),
        ("--grid a=[1,2] --resume", "cannot be combined"),
        ("--grid a=[1,2] --jobs 0", "--jobs takes a number of processes"),
        ("--grid a=[1,2] --backend spark", "--backend is one of loky, dask, ray"),
        ("--grid a=[1,2] --backend dask", "there is none: run `from dask.distributed import Client"),
        ("--grid a=[1,2] --backend ray", "there is none: run `import ray; ray.init"),
        ("--grid a=list(range(200)) ", "give a non-empty list of values"),
        (
            "--grid a=[1,2,3,4,5,6,7,8,9,10] --grid b=[1,2,3,4,5,6,7,8,9,10] "
            "--random c=uniform(0,1) --trials 101",
            "more than 10,000",
        ),
    ],
)
def test_bad_sweep_arguments_are_refused_before_anything_runs(shell, args, says):
    result = cell(shell, f"%%experiment bad {args}\na = 1\nb = 2\nc = 0.5\nran = True\n")
    assert isinstance(result.error_in_exec or result.error_before_exec, UsageError)
    assert says in str(result.error_in_exec or result.error_before_exec)
    assert "ran" not in shell.user_ns
    assert mlops.runs().empty


# -- failures ----------------------------------------------------------------------------------------


def test_a_failing_trial_is_recorded_failed_and_the_sweep_goes_on(shell):
    result = ok(
        shell,
        "%%experiment f --grid a=[1,2,3] --objective s --quiet\n"
        "a = 1\nif a == 2:\n    raise ValueError(f'bad a={a}')\ns = a * 10\n",
    )
    assert [t.status for t in result.trials] == ["finished", "failed", "finished"]
    assert result.trials[1].error == "ValueError: bad a=2"
    kids = children(result.parent_id)
    failed = [k for k in kids if k.status == "failed"]
    assert len(failed) == 1 and "ValueError: bad a=2" in failed[0].error
    parent = mlops.get_run(result.parent_id)
    assert parent.status == "finished" and parent.tags["sweep.failed"] == "1"
    assert parent.metrics["best.s"] == 30.0
    assert "error" in result.table.columns


def test_a_sweep_whose_trials_all_fail_fails_its_run(shell):
    result = ok(shell, "%%experiment f --grid a=[1,2] --quiet\na = 1\nraise RuntimeError('always')\n")
    assert [t.status for t in result.trials] == ["failed", "failed"]
    parent = mlops.get_run(result.parent_id)
    assert parent.status == "failed" and "all 2 trials failed" in parent.error


def test_ctrl_c_stops_the_sweep_and_marks_it_killed(shell):
    result = cell(
        shell, "%%experiment k --grid a=[1,2,3] --quiet\na = 1\nif a == 2:\n    raise KeyboardInterrupt\n"
    )
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    frame = mlops.runs("k")
    parent = frame.run_name[frame["tags.sweep"] == "grid"].item()
    statuses = dict(zip(frame.run_name, frame.status, strict=True))
    assert statuses == {parent: "killed", f"{parent}-1": "finished", f"{parent}-2": "killed"}  # no trial 3


# -- parallel ----------------------------------------------------------------------------------------


def comparable(result):
    return sorted(
        (tuple(sorted(t.config.items())), t.status, tuple(sorted(t.metrics.items()))) for t in result.trials
    )


def test_parallel_trials_give_the_same_results_as_sequential(shell):
    ok(shell, SETUP)
    sweep = "--grid a=[1,2,3] --grid b=[0.5, 2.0] --objective score --quiet"
    sequential = ok(shell, f"%%experiment p {sweep}\n{GRID_CELL}")
    parallel = ok(shell, f"%%experiment p {sweep} --jobs 2\n{GRID_CELL}")
    assert comparable(parallel) == comparable(sequential)
    assert parallel.best.config == sequential.best.config == {"a": 3, "b": 2.0}
    kids = children(parallel.parent_id)
    assert len(kids) == 6 and all(k.status == "finished" for k in kids)
    assert {k.history("curve").value.tolist()[-1] for k in kids} == {2.0, 4.0, 6.0}  # logged in the workers
    assert all([i.name for i in k.inputs] == ["data"] for k in kids)
    assert mlops.get_run(parallel.parent_id).tags["sweep.best_run"] == parallel.best.run_id


def test_a_failing_parallel_trial_does_not_stop_the_others(shell):
    result = ok(
        shell,
        "%%experiment p --grid a=[1,2,3,4] --jobs 2 --quiet\na = 1\nassert a != 3, 'three'\nsq = a * a\n",
    )
    assert sorted((t.config["a"], t.status) for t in result.trials) == [
        (1, "finished"),
        (2, "finished"),
        (3, "failed"),
        (4, "finished"),
    ]
    assert next(t for t in result.trials if t.status == "failed").error == "AssertionError: three"


@pytest.mark.slow
def test_dask_backend_sends_trials_to_the_cluster(shell):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        ok(shell, SETUP)
        sweep = "--grid a=[1,2] --grid b=[0.5, 2.0] --objective score --quiet"
        on_cluster = ok(shell, f"%%experiment d {sweep} --backend dask\n{GRID_CELL}")
        here = ok(shell, f"%%experiment d {sweep}\n{GRID_CELL}")
    assert comparable(on_cluster) == comparable(here)
    assert len(children(on_cluster.parent_id)) == 4


@pytest.mark.slow
def test_ray_backend_sends_trials_to_the_cluster(shell):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ok(shell, SETUP)
        sweep = "--grid a=[1,2] --grid b=[0.5, 2.0] --objective score --quiet"
        on_cluster = ok(shell, f"%%experiment r {sweep} --backend ray\n{GRID_CELL}")
        here = ok(shell, f"%%experiment r {sweep}\n{GRID_CELL}")
    finally:
        ray.shutdown()
    assert comparable(on_cluster) == comparable(here)
    assert len(children(on_cluster.parent_id)) == 4


# -- the live view -----------------------------------------------------------------------------------


def test_the_sweep_view_draws_one_line_per_finished_trial():
    from jupyter_mlops.tracking.sweep import Trial
    from jupyter_mlops.widgets.sweep_view import SweepView

    view = SweepView(["lr", "act"], 3, "acc")
    view.add(Trial(1, {"lr": 0.1, "act": "relu"}, "r1", "finished", {"acc": 0.8, "loss": 0.3}))
    view.add(Trial(2, {"lr": 0.01, "act": "tanh"}, "r2", "failed", {}, "ValueError: x"))
    view.add(Trial(3, {"lr": 0.001, "act": "tanh"}, "r3", "finished", {"acc": 0.9, "loss": 0.2}))
    assert "3 of 3 trials done, 1 failed" in view.status.value
    dims = view.figure.data[0].dimensions
    assert [d.label for d in dims] == ["lr", "act", "acc"]
    assert list(dims[0].values) == [0.1, 0.001] and list(dims[2].values) == [0.8, 0.9]
    assert list(dims[1].ticktext) == ["'relu'", "'tanh'"] and list(dims[1].values) == [0, 1]
    assert list(view.figure.data[0].line.color) == [0.8, 0.9]


def test_a_sweep_in_a_real_kernel_shows_the_live_view_and_the_table(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_MLOPS_URL", f"sqlite:///{tmp_path / 'mlops.db'}")
    monkeypatch.setenv("JUPYTER_MLOPS_ARTIFACTS", str(tmp_path / "artifacts"))
    cells = [
        "%load_ext jupyter_mlops",
        "%%experiment live --grid a=[1,2,3] --objective s\na = 1\ns = a * 2\n",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = notebook.cells[1].outputs
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1  # the live view, updated in place
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "trial 1/3" not in streams and "no live sweep view" not in streams, streams
    result = next(o for o in outputs if o.output_type == "execute_result")
    html = result["data"]["text/html"]
    assert "3 of 3 trials finished; best s=6 with a=3" in html and html.count("<tr") == 4
    mlops.connect()
    try:
        frame = mlops.runs("live")
        assert len(frame) == 4
        child = frame[frame.run_name.str.endswith("-2")].run_id.item()
        again = mlops.reproduce(child)  # one trial alone, from its own code, in a fresh kernel
        assert again.matches and again.metrics == {"s": (4.0, 4.0)}
    finally:
        from jupyter_mlops.tracking import api

        api.disconnect()
