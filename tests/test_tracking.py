"""The Python tracking API against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from rawsql import sql

import jupyter_mlops
from jupyter_mlops.config import MAX_PARAM_VALUE


def test_run_records_params_metrics_tags_and_finishes(mlops):
    with mlops.start_run(
        "churn", name="baseline", params={"lr": 0.01, "layers": [64, 32]}, tags={"team": "a"}
    ) as run:
        run.log_param("model", "lr")
        for step in range(5):
            run.log_metric("loss", 1.0 / (step + 1))
        run.log_metrics({"acc": 0.91, "f1": 0.88})
        run.set_tag("stage", "dev")
    got = mlops.get_run(run.id)
    assert got.status == "finished" and got.name == "baseline" and got.experiment == "churn"
    assert got.params == {"lr": "0.01", "layers": "[64, 32]", "model": "lr"}
    assert got.metrics == {"loss": 0.2, "acc": 0.91, "f1": 0.88}
    assert got.tags == {"team": "a", "stage": "dev"}
    assert got.end_time >= got.start_time
    history = got.history("loss")
    assert list(history["step"]) == [0, 1, 2, 3, 4]
    assert list(history["value"]) == [1.0, 0.5, 1 / 3, 0.25, 0.2]


def test_runs_dataframe_has_mlflow_style_columns(mlops):
    for lr, acc in [(0.1, 0.8), (0.01, 0.9)]:
        with mlops.start_run("exp", params={"lr": lr}) as run:
            run.log_metric("acc", acc)
    frame = mlops.runs("exp")
    assert list(frame.columns[:4]) == ["run_id", "experiment", "run_name", "status"]
    assert {"params.lr", "metrics.acc", "start_time", "end_time"} <= set(frame.columns)
    assert frame["metrics.acc"].dtype == float
    assert isinstance(frame["start_time"].dtype, pd.DatetimeTZDtype)
    assert sorted(frame["metrics.acc"]) == [0.8, 0.9]


def test_exception_marks_failed_with_traceback_and_propagates(mlops):
    with pytest.raises(ZeroDivisionError), mlops.start_run("exp") as run:
        run.log_metric("loss", 0.5)
        1 / 0  # noqa: B018
    got = mlops.get_run(run.id)
    assert got.status == "failed"
    assert "ZeroDivisionError" in got.error and "Traceback" in got.error
    assert got.metrics == {"loss": 0.5}  # what was logged before the failure is kept


def test_keyboard_interrupt_marks_killed(mlops):
    with pytest.raises(KeyboardInterrupt), mlops.start_run("exp") as run:
        raise KeyboardInterrupt
    assert mlops.get_run(run.id).status == "killed"


def test_module_level_logging_goes_to_active_run(mlops):
    with pytest.raises(jupyter_mlops.NoActiveRun, match="start_run"):
        mlops.log_metric("x", 1.0)
    with mlops.start_run("exp") as run:
        assert mlops.active_run() is run
        mlops.log_param("a", 1)
        mlops.log_params({"b": "two"})
        mlops.log_metric("m", 3.0)
        mlops.log_metrics({"n": 4.0}, step=7)
        mlops.set_tag("t", "v")
    assert mlops.active_run() is None
    got = mlops.get_run(run.id)
    assert (
        got.params == {"a": "1", "b": "two"}
        and got.metrics == {"m": 3.0, "n": 4.0}
        and got.tags == {"t": "v"}
    )
    assert list(got.history("n")["step"]) == [7]


def test_nested_run_records_parent(mlops):
    with mlops.start_run("exp") as parent, mlops.start_run("exp", parent=parent.id[:10]) as child:
        assert mlops.active_run() is child
    assert mlops.get_run(child.id).parent_id == parent.id


def test_run_prefix_lookup(mlops):
    with mlops.start_run("exp") as run:
        pass
    assert mlops.get_run(run.id[:5]).id == run.id
    assert mlops.get_run(run.id.upper()).id == run.id
    with pytest.raises(jupyter_mlops.NotFound, match="no run id starts with"):
        mlops.get_run("ffffffffffff0000")
    with pytest.raises(jupyter_mlops.InvalidValue, match="hex digits"):
        mlops.get_run("x%")


def test_ambiguous_prefix_is_refused(mlops):
    ids = []
    for _ in range(40):
        with mlops.start_run("exp") as run:
            ids.append(run.id)
    first = {i[0] for i in ids}
    shared = next(c for c in first if sum(i.startswith(c) for i in ids) > 1)
    with pytest.raises(jupyter_mlops.AmbiguousRef, match="give more characters"):
        mlops.get_run(shared)


def test_nan_and_inf_metrics_round_trip(mlops):
    with mlops.start_run("exp") as run:
        run.log_metric("nan", float("nan"))
        run.log_metric("inf", float("inf"))
        run.log_metric("ninf", float("-inf"))
        run.log_metric("curve", 1.0)
        run.log_metric("curve", float("nan"))
    got = mlops.get_run(run.id)
    assert (
        math.isnan(got.metrics["nan"]) and got.metrics["inf"] == math.inf and got.metrics["ninf"] == -math.inf
    )
    assert math.isnan(got.history("curve")["value"][1])
    frame = mlops.runs("exp")
    assert math.isnan(frame["metrics.nan"][0]) and frame["metrics.inf"][0] == math.inf
    # NaN never matches a comparison; inf compares as the largest number.
    assert mlops.runs(filter="metrics.nan > 0").empty
    assert len(mlops.runs(filter="metrics.inf > 1e308")) == 1


def test_metric_steps_default_and_latest_is_highest_step(mlops):
    with mlops.start_run("exp") as run:
        run.log_metric("a", 1.0)
        run.log_metric("a", 2.0)
        run.log_metric("b", 10.0, step=5)
        run.log_metric("b", 99.0, step=2)  # a late point for an earlier step
        run.log_metric("b", 11.0)  # continues after the highest step: 6
    got = mlops.get_run(run.id)
    assert list(got.history("a")["step"]) == [0, 1]
    assert list(got.history("b")["step"]) == [2, 5, 6]
    assert got.metrics["b"] == 11.0


def test_metrics_survive_several_flushes(mlops):
    with mlops.start_run("exp") as run:
        for i in range(2500):
            run.log_metric("x", float(i))
            if i % 1000 == 0:
                mlops.flush()
    history = mlops.get_run(run.id).history("x")
    assert list(history["value"]) == [float(i) for i in range(2500)]


@pytest.mark.parametrize("bad", ["", " lead", "a\nb", "../up", "/abs", "x" * 251, 3])
def test_invalid_names_are_refused(mlops, bad):
    with mlops.start_run("exp") as run:
        with pytest.raises(jupyter_mlops.InvalidValue):
            run.log_metric(bad, 1.0)
        with pytest.raises(jupyter_mlops.InvalidValue):
            run.log_param(bad, 1)
        with pytest.raises(jupyter_mlops.InvalidValue):
            run.set_tag(bad, "v")
    assert mlops.get_run(run.id).params == {}


def test_names_with_slashes_and_quotes_round_trip(mlops):
    keys = ["train/loss", "it's", 'say "hi"', "a.b-c:d", "ключ"]
    with mlops.start_run("exp") as run:
        for key in keys:
            run.log_metric(key, 1.5)
            run.log_param(key, "v")
    got = mlops.get_run(run.id)
    assert set(got.metrics) == set(keys) and set(got.params) == set(keys)
    assert len(mlops.runs(filter="metrics.`train/loss` = 1.5 and params.`it's` = 'v'")) == 1
    assert len(mlops.runs(filter="metrics.train/loss = 1.5")) == 1
    assert len(mlops.runs(filter='params."say ""hi""" = \'v\'')) == 1


def test_non_numeric_metric_is_refused_with_reason(mlops):
    with mlops.start_run("exp") as run, pytest.raises(jupyter_mlops.InvalidValue, match="real number"):
        run.log_metric("acc", "high")


def test_huge_param_is_truncated_with_warning(mlops):
    with (
        mlops.start_run("exp") as run,
        pytest.warns(jupyter_mlops.ValueTruncatedWarning, match="stored the first"),
    ):
        run.log_param("blob", "x" * 1_000_000)
    assert len(mlops.get_run(run.id).params["blob"]) == MAX_PARAM_VALUE


def test_ten_thousand_params(mlops):
    params = {f"p{i}": i for i in range(10_000)}
    with mlops.start_run("exp") as run:
        run.log_params(params)
    got = mlops.get_run(run.id).params
    assert len(got) == 10_000 and got["p9999"] == "9999"


def test_unserialisable_param_is_stored_by_repr_with_warning(mlops):
    class Thing:
        def __repr__(self) -> str:
            return "Thing()"

    with mlops.start_run("exp") as run:
        with pytest.warns(jupyter_mlops.UnserialisableWarning, match="repr"):
            run.log_param("obj", Thing())
        with pytest.warns(jupyter_mlops.UnserialisableWarning):
            run.log_param("nested", {"f": Thing()})
    params = mlops.get_run(run.id).params
    assert params["obj"] == "Thing()" and params["nested"] == "{'f': Thing()}"


def test_secrets_are_masked_before_the_database(mlops, db_url):
    with mlops.start_run("exp", params={"api_key": "sk-live-123"}) as run:
        run.log_param("db", "postgresql://me:hunter2@db.example/x")
        run.set_tag("note", "token AKIAABCDEFGHIJKLMNOP used")
        run.log_param("dbPassword", "hunter2")
    stored = " ".join(v for (v,) in sql(db_url, "SELECT value FROM params UNION ALL SELECT value FROM tags"))
    assert "hunter2" not in stored and "sk-live-123" not in stored and "AKIAABCDEFGHIJKLMNOP" not in stored
    assert mlops.get_run(run.id).params["db"] == "postgresql://me:***@db.example/x"


def test_error_text_is_masked(mlops):
    with pytest.raises(RuntimeError), mlops.start_run("exp") as run:
        raise RuntimeError("cannot reach postgresql://me:hunter2@db/x")
    assert "hunter2" not in mlops.get_run(run.id).error


def test_log_artifact_kinds(mlops, tmp_path):
    source = tmp_path / "report.txt"
    source.write_text("hello")
    with mlops.start_run("exp") as run:
        run.log_artifact(source)
        run.log_artifact(b"\x00\x01", name="raw/bytes.bin")
        run.log_artifact({"a": [1, 2]}, name="meta.json")
        run.log_artifact(pd.DataFrame({"x": [1, 2]}), name="table.csv")
        with pytest.raises(jupyter_mlops.ArtifactPathError):
            run.log_artifact(b"x", name="../escape.bin")
        with pytest.raises(jupyter_mlops.InvalidValue, match="not a file"):
            run.log_artifact(tmp_path / "missing.txt")
    artifacts = {a.path: a for a in mlops.get_run(run.id).artifacts}
    assert set(artifacts) == {"report.txt", "raw/bytes.bin", "meta.json", "table.csv"}
    assert artifacts["report.txt"].size == 5
    assert (
        artifacts["report.txt"].sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )
    assert Path(artifacts["table.csv"].uri).read_text() == "x\n1\n2\n"


def test_crashed_status_when_heartbeat_is_stale(mlops, db_url):
    with mlops.start_run("exp") as run:
        # What a dead process leaves behind: a heartbeat long ago.
        sql(db_url, "UPDATE runs SET heartbeat = heartbeat - 3600 WHERE id = :id", id=run.id)
        assert mlops.get_run(run.id).status == "crashed"
        assert list(mlops.runs(filter="attributes.status = 'crashed'")["run_id"]) == [run.id]
        assert mlops.runs(filter="status = 'running'").empty


def test_experiments_listing(mlops):
    for name in ("a", "b", "a"):
        with mlops.start_run(name):
            pass
    assert list(mlops.experiments()["name"]) == ["a", "b"]
    assert len(mlops.runs("a")) == 2


def test_bad_mapping_arguments(mlops):
    with mlops.start_run("exp") as run:
        with pytest.raises(jupyter_mlops.InvalidValue, match="dict"):
            run.log_params(["lr", 1])
        with pytest.raises(jupyter_mlops.InvalidValue, match="whole number"):
            run.log_metric("x", 1.0, step=1.5)


def test_full_buffer_is_written_by_log_metric_itself(mlops, db_url):
    from jupyter_mlops.tracking import api

    writer = api._current().writer
    writer.capacity = writer.limit = 1000  # a small buffer, to fill it quickly
    with mlops.start_run("exp") as run:
        for i in range(2500):
            run.log_metric("x", float(i))
        assert len(writer.buffer) == 500  # two full buffers written, the rest waits
        assert sql(db_url, "SELECT count(*) FROM metrics") == [(2000,)]
    assert len(mlops.get_run(run.id).history("x")) == 2500
