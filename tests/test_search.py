"""The filter language and ordering, against real SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, inspect

import jupyter_mlops


@pytest.fixture
def grid(mlops):
    """Six runs: model in {lr, rf} x lr in {0.1, 0.01, 0.001}; acc rises as lr falls; rf adds 0.05."""
    accuracy = {"lr": (0.7, 0.8, 0.9), "rf": (0.75, 0.85, 0.95)}
    for model in ("lr", "rf"):
        for i, lr in enumerate((0.1, 0.01, 0.001)):
            tags = {"stage": "prod" if (model, lr) == ("rf", 0.001) else "dev"}
            with mlops.start_run(
                "grid", name=f"{model}-{lr}", params={"model": model, "lr": lr}, tags=tags
            ) as run:
                run.log_metric("acc", accuracy[model][i])
                if model == "rf":
                    run.log_metric("trees", 100.0)
    with mlops.start_run("other", name="elsewhere", params={"model": "lr"}) as run:
        run.log_metric("acc", 0.99)
    return mlops


def names(frame) -> list[str]:
    return list(frame["run_name"])


def test_experiment_filter_and_default_order(grid):
    assert len(grid.runs("grid")) == 6
    assert len(grid.runs()) == 7
    assert names(grid.runs(["other"])) == ["elsewhere"]
    assert names(grid.runs("grid", limit=1)) == ["rf-0.001"]  # newest first


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("metrics.acc > 0.85", {"lr-0.001", "rf-0.001"}),
        ("metrics.acc >= 0.85", {"lr-0.001", "rf-0.01", "rf-0.001"}),
        ("metrics.acc >= 0.9 and params.model = 'lr'", {"lr-0.001"}),
        ("params.model = 'rf' and (params.lr = '0.1' or params.lr = '0.001')", {"rf-0.1", "rf-0.001"}),
        ("params.lr in (0.1, 0.001) and not params.model = 'rf'", {"lr-0.1", "lr-0.001"}),
        ("params.lr < 0.05", {"lr-0.01", "lr-0.001", "rf-0.01", "rf-0.001"}),
        ("params.model != 'lr'", {"rf-0.1", "rf-0.01", "rf-0.001"}),
        ("params.model not in ('lr')", {"rf-0.1", "rf-0.01", "rf-0.001"}),
        ("tags.stage like 'pro%'", {"rf-0.001"}),
        ("tags.stage ILIKE 'PROD'", {"rf-0.001"}),
        ("run_name like 'lr-%' and metrics.acc < 0.75", {"lr-0.1"}),
        ("metrics.trees is null", {"lr-0.1", "lr-0.01", "lr-0.001"}),
        ("metrics.trees is not null and metrics.acc > 0.8", {"rf-0.01", "rf-0.001"}),
        (
            "attributes.status = 'finished' and params.model == 'lr' and metrics.acc <> 0.8",
            {"lr-0.1", "lr-0.001"},
        ),
        ("metric.acc > 0.9 OR tag.stage = 'prod'", {"rf-0.001"}),
        ("attributes.start_time > '2000-01-01' and params.lr = 0.1", {"lr-0.1", "rf-0.1"}),
        ("params.missing = 'x'", set()),
    ],
)
def test_filters(grid, expression, expected):
    assert set(names(grid.runs("grid", filter=expression))) == expected


@pytest.mark.parametrize(
    ("order_by", "first", "last"),
    [
        ("metrics.acc DESC", "rf-0.001", "lr-0.1"),
        ("-metrics.acc", "rf-0.001", "lr-0.1"),
        ("metrics.acc", "lr-0.1", "rf-0.001"),
        ("metrics.trees desc, metrics.acc asc", "rf-0.1", "lr-0.001"),  # runs without trees sort last
        (["params.model", "-params.lr"], "lr-0.1", "rf-0.001"),
        ("run_name", "lr-0.001", "rf-0.1"),
        ("params.lr", None, None),
    ],
)
def test_order_by(grid, order_by, first, last):
    frame = grid.runs("grid", order_by=order_by)
    if first is not None:
        assert names(frame)[0] == first and names(frame)[-1] == last
    else:  # numeric params sort as numbers: 0.001 < 0.01 < 0.1
        assert list(frame["params.lr"]) == ["0.001", "0.001", "0.01", "0.01", "0.1", "0.1"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("metrics.acc >", "expected a number or a quoted string"),
        ("metrics.acc 0.9", "expected a comparison"),
        ("(metrics.acc > 0.9", "')' to close"),
        ("metrics.acc > 'high'", "compare it with a number"),
        ("colour = 'red'", "expected metrics.KEY"),
        ("params.a = 'x' and", "expected metrics.KEY"),
        ("params.a = 'x' params.b = 'y'", "expected 'and', 'or'"),
        ("params.a like 3", "quoted pattern"),
        ("attributes.start_time > 'yesterday'", "not a time"),
    ],
)
def test_filter_errors_say_where_and_what(grid, expression, message):
    with pytest.raises(jupyter_mlops.FilterSyntaxError, match=re.escape(message)) as info:
        grid.runs(filter=expression)
    assert "^" in str(info.value) or "time" in message or "number" in message


@pytest.mark.parametrize(
    "attack",
    [
        "' or 1=1 --",
        "params.model = 'lr' or 1=1 --",
        "metrics.acc > 0; drop table runs",
        "params.model = 'x'; DELETE FROM runs",
        "params.model = 'lr' /* */",
        "1=1",
        "params.`x` = '' union select * from runs",
    ],
)
def test_injection_attempts_are_syntax_errors_and_data_stays(grid, db_url, attack):
    with pytest.raises(jupyter_mlops.FilterSyntaxError):
        grid.runs(filter=attack)
    with pytest.raises(jupyter_mlops.FilterSyntaxError):
        grid.runs(order_by=attack)
    assert len(grid.runs()) == 7
    engine = create_engine(db_url)
    assert "runs" in inspect(engine).get_table_names()
    engine.dispose()


def test_quoted_values_cannot_break_out(grid):
    # A quote inside a value is data: the run named with it is found, nothing else is.
    with grid.start_run("grid", name="o'brien") as run:
        run.set_tag("who", "x' or '1'='1")
    assert names(grid.runs(filter="tags.who = 'x'' or ''1''=''1'")) == ["o'brien"]
    assert names(grid.runs(filter='run_name = "o\'brien"')) == ["o'brien"]


def test_limit_must_be_a_count(grid):
    with pytest.raises(jupyter_mlops.InvalidValue, match="limit"):
        grid.runs(limit=-1)


def test_empty_result_has_run_columns(grid):
    frame = grid.runs(filter="metrics.acc > 2")
    assert frame.empty and list(frame.columns[:3]) == ["run_id", "experiment", "run_name"]
