"""The compare state and widget, Python side: filter, sort, selection, differences only, diff,
curves, brushing, export; edge cases (no runs, one run, 1,000 runs, disjoint params, NaN, failures)."""

from __future__ import annotations

import pytest

from jupyter_mlops.tracking.compare import Comparison, _downsample


@pytest.fixture
def runs(mlops):
    ids = []
    for i, (model, lr) in enumerate([("lr", 0.1), ("rf", 0.01), ("lr", 0.001), ("rf", 0.1)]):
        with mlops.start_run("cmp", name=f"r{i}", params={"model": model, "lr": lr, "seed": 7}) as run:
            for step in range(3):
                run.log_metric("loss", 1.0 / (step + 1 + i))
            run.log_metric("acc", 0.6 + i * 0.1)
        ids.append(run.id)
    return ids


def widget(comparison):
    from jupyter_mlops.widgets.compare_widget import CompareWidget

    return CompareWidget(comparison)


def test_table_state_follows_filter_sort_and_selection(mlops, runs):
    cmp = Comparison("cmp")
    assert list(cmp.view.run_name) == ["r3", "r2", "r1", "r0"]  # newest first
    cmp.sort_by("metrics.acc", descending=False)
    assert list(cmp.view.run_name) == ["r0", "r1", "r2", "r3"]
    cmp.sort_by("params.lr")  # numbers sort as numbers, not as text
    assert list(cmp.view["params.lr"]) == ["0.001", "0.01", "0.1", "0.1"]
    cmp.set_filter("params.model = 'rf'")
    assert sorted(cmp.view.run_name) == ["r1", "r3"]
    cmp.select([runs[1], runs[3]])
    assert cmp.columns(differences_only=True) == ["params.lr", "metrics.acc", "metrics.loss"]
    assert cmp.export().run_name.tolist() == ["r1", "r3"]
    diff = cmp.diff()
    assert diff.params == [("lr", "0.01", "0.1")]


def test_a_bad_filter_keeps_the_table_and_says_where(mlops, runs):
    cmp = Comparison("cmp")
    with pytest.raises(mlops.FilterSyntaxError, match="position"):
        cmp.set_filter("metrics.acc >")
    assert len(cmp.view) == 4


def test_curves_are_the_selected_step_series_downsampled(mlops, runs):
    cmp = Comparison("cmp")
    cmp.select(runs[:2])
    curves = cmp.curves()
    assert set(curves) == {"loss"}  # acc has one point: not a curve
    assert curves["loss"][runs[0]] == ([0, 1, 2], [1.0, 0.5, pytest.approx(1 / 3)])
    steps, _values = _downsample(list(range(10_001)), list(range(10_001)), 500)
    assert len(steps) <= 500 and steps[0] == 0 and steps[-1] == 10_000


def test_no_runs_one_run_and_disjoint_params(mlops):
    empty = Comparison("nothing-here")
    assert empty.view.empty and str(empty) == "no runs to compare"
    assert empty.curves() == {} and empty.diff() is None
    with mlops.start_run("disjoint", params={"a": 1}):
        pass
    with mlops.start_run("disjoint", params={"b": "x"}) as second:
        second.log_metric("m", float("nan"))
    cmp = Comparison("disjoint")
    assert cmp.columns() == ["params.a", "params.b", "metrics.m"]
    dims = cmp.parallel("m")
    assert [d["label"] for d in dims] == ["params.a", "params.b", "metrics.m"]
    assert dims[1]["ticktext"] == ["x"] and None in dims[0]["values"]
    table = widget(cmp).table
    assert [row["cells"][2:] for row in table.rows] == [["", "x", ""], ["1", "", ""]]  # NaN shows empty
    one = Comparison([second.id[:8]])
    assert one.view.run_id.tolist() == [second.id]


def test_failed_runs_show_their_status(mlops):
    with pytest.raises(ZeroDivisionError), mlops.start_run("fails"):
        1 / 0  # noqa: B018
    table = widget(Comparison("fails")).table
    assert table.rows[0]["cells"][1] == "failed"


def test_widget_reacts_to_the_browser_events(mlops, runs):
    w = widget(Comparison("cmp"))
    assert w.table.columns == [
        "run_name",
        "status",
        "params.lr",
        "params.model",
        "params.seed",
        "metrics.acc",
        "metrics.loss",
    ]
    w.table.sort = ["metrics.acc", True]
    assert [r["cells"][0] for r in w.table.rows] == ["r3", "r2", "r1", "r0"]
    w.table.filter_text = "metrics.acc >"
    assert "position 13" in w.table.filter_error and len(w.table.rows) == 4
    w.table.filter_text = "metrics.acc >= 0.75"
    assert w.table.filter_error == "" and [r["cells"][0] for r in w.table.rows] == ["r3", "r2"]
    w.table.selected = [runs[2], runs[3]]
    assert "Parameters that differ" in w.diff_pane.value and "mlops-code-diff" in w.diff_pane.value
    assert {t.name for t in w.curves.data} == {"loss · r2", "loss · r3"}
    w.table.diff_only = True
    assert w.table.columns == [
        "run_name",
        "status",
        "params.lr",
        "params.model",
        "metrics.acc",
        "metrics.loss",
    ]
    w.export_button.click()
    assert w.exported.run_name.tolist() == ["r3", "r2"]


def test_brushing_an_axis_selects_the_runs_inside(mlops, runs):
    w = widget(Comparison("cmp"))
    w.metric.value = "acc"
    w.parallel.data[0].dimensions[-1].constraintrange = [0.75, 1.0]  # what the browser's brush syncs
    assert sorted(w.table.selected) == sorted([runs[2], runs[3]])  # acc 0.8 and 0.9, selected at once
    w.table.selected = []
    w.brush_button.click()  # applies the current ranges again
    assert sorted(w.table.selected) == sorted([runs[2], runs[3]])
    w.parallel.data[0].dimensions[0].constraintrange = [[0.0005, 0.002], [0.005, 0.02]]  # two ranges on lr
    w.select_brushed()
    assert w.table.selected == [runs[2]]  # lr 0.001 and acc 0.8 (r1 has lr 0.01 but acc 0.7)


def test_a_thousand_runs(mlops):
    from jupyter_mlops.tracking import api

    store = api._current().store
    for i in range(1000):
        run_id, _ = store.create_run(
            "big",
            None,
            user=None,
            host=None,
            heartbeat_interval=10,
            params=[("i", str(i), float(i)), ("kind", "odd" if i % 2 else "even", None)],
        )
        store.end_run(run_id, "finished")
    w = widget(Comparison("big"))
    assert len(w.table.rows) == 1000
    w.table.filter_text = "params.kind = 'odd' and params.i < 100"
    assert len(w.table.rows) == 50


def test_terminal_ipython_gets_a_text_table(shell):
    for lr in (0.1, 0.01):
        shell.run_cell(f"%%experiment term --quiet -p lr={lr}\nlr = 1.0\nacc = 1 - lr", store_history=True)
    result = shell.run_cell("%mlops compare term --filter 'metrics.acc > 0.5'", store_history=True)
    result.raise_error()
    text = repr(result.result)
    lines = text.splitlines()
    assert lines[0] == "2 runs matching 'metrics.acc > 0.5'"
    assert lines[1].split() == ["run_id", "run_name", "status", "params.lr", "metrics.acc"]
    assert lines[2].split()[2:] == ["finished", "0.01", "0.99"]
