"""``%mlops`` subcommands through a real IPython shell: what each shows, and its usage errors."""

from __future__ import annotations

import re

import pytest
from IPython.core.error import UsageError

import jupyter_mlops as mlops


def run_cells(shell, *sources: str) -> None:
    for source in sources:
        shell.run_cell(source, store_history=True).raise_error()


def line(shell, text: str):
    """Run a line magic directly so a UsageError is raised to the test (the shell would print it)."""
    name, _, rest = text.lstrip("%").partition(" ")
    return shell.run_line_magic(name, rest)


@pytest.fixture
def two_runs(shell):
    run_cells(
        shell,
        "import pandas as pd\ndf = pd.DataFrame({'a': [1.0, 2.0]})",
        "%%experiment churn -n first --quiet\nC = 1.0\nmodel = 'lr'\nacc = float(df.a.mean()) / 2",
        "%%experiment churn -n second --quiet -p C=0.5\n"
        "C = 1.0\nmodel = 'lr'\nacc = float(df.a.mean()) / 2 + C\nextra = acc * 2",
    )
    frame = mlops.runs("churn", order_by="start_time")
    return frame.run_id.tolist()


def test_status_says_where_runs_go(shell, tmp_path, capsys):
    capsys.readouterr()
    line(shell, "%mlops status")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"tracking to   sqlite:///{tmp_path / 'mlops.db'}"
    assert out[1] == f"artifacts in  {tmp_path / 'artifacts'}"
    assert out[2] == "experiment    default (cells that name none)"
    assert out[3] == "active run    none"


def test_connect_switches_database_and_masks_the_password_in_errors(shell, tmp_path, capsys):
    other = tmp_path / "other.db"
    line(shell, f"%mlops connect sqlite:///{other}")
    assert capsys.readouterr().out.strip().startswith(f"jupyter_mlops: tracking to sqlite:///{other}")
    run_cells(shell, "%%experiment --quiet\nx = 1")
    assert other.exists() and len(mlops.runs()) == 1
    with pytest.raises(UsageError) as info:
        line(shell, "%mlops connect postgresql+psycopg://me:planted-pw@127.0.0.1:1/x")
    assert "planted-pw" not in str(info.value) and "me:***@127.0.0.1" in str(info.value)


def test_experiments_and_runs_return_dataframes(shell, two_runs):
    experiments = line(shell, "%mlops experiments")
    assert experiments.name.tolist() == ["churn"]
    frame = line(shell, '%mlops runs churn --filter "params.C < 1" -n 5')
    assert frame.run_name.tolist() == ["second"]
    ordered = line(shell, "%mlops runs --order-by -metrics.acc")
    assert ordered.run_name.tolist() == ["second", "first"]
    assert line(shell, "%mlops runs churn -n 1").shape[0] == 1


def test_show_gives_a_run_card_as_text_and_html(shell, two_runs):
    first = two_runs[0]
    card = line(shell, f"%mlops show {first[:6]}")
    text = str(card)
    assert text.splitlines()[0] == f"Run {first[:8]} 'first' in 'churn': finished"
    for row in (r"C\s+1\.0", r"model\s+lr", r"acc\s+0\.75", r"df\s+2x1\s+[0-9a-f]{12}\s+a: float64"):
        assert re.search(rf"^\s+{row}\s*$", text, re.MULTILINE), row
    for title in ("Parameters", "Metrics", "Inputs", "Code", "Environment"):
        assert f"\n{title}" in text, title
    html = card._repr_html_()
    assert "<table>" in html and "<td>acc</td><td>0.75</td>" in html


def test_show_escapes_stored_text_in_html(shell):
    run_cells(shell, "%%experiment --quiet -n evil\nlabel = '<script>alert(1)</script>'")
    card = line(shell, f"%mlops show {mlops.runs().run_id[0]}")
    html = card._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_diff_shows_params_metrics_and_code(shell, two_runs):
    first, second = two_runs
    diff = line(shell, f"%mlops diff {first[:8]} {second[:8]}")
    assert diff.params == [("C", "1.0", "0.5")]
    assert [(k, a, b) for k, a, b, _ in diff.metrics] == [("acc", 0.75, 1.25), ("extra", None, 2.5)]
    assert diff.metrics[0][3] == pytest.approx(0.5)
    assert "-C = 1.0" in diff.code and "+C = 0.5" in diff.code and "+extra = acc * 2" in diff.code
    assert diff.packages == []  # same kernel, same packages
    assert 'class="add"' in diff._repr_html_()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("%mlops", "%mlops needs a subcommand: one of status, connect"),
        ("%mlops frobnicate", "%mlops has no subcommand 'frobnicate'"),
        ("%mlops show", "the following arguments are required: ref"),
        ("%mlops show zzzz", "'zzzz' is not a run id"),
        ("%mlops show abcdef", "no run id starts with 'abcdef'"),
        ("%mlops diff 1", "the following arguments are required: b"),
        ('%mlops runs --filter "metrics.acc >"', "metrics.acc >"),
        ("%mlops runs -n many", "invalid int value: 'many'"),
        ("%mlops runs --filter 'unclosed", "close the quote"),
        ("%mlops connect", "the following arguments are required: url"),
        ("%mlops connect nowhere", "has no scheme"),
    ],
)
def test_bad_arguments_are_usage_errors_that_say_what_to_write(shell, text, message):
    with pytest.raises(UsageError) as info:
        line(shell, text)
    assert message in str(info.value)


def test_ambiguous_prefix_asks_for_more_characters(shell, monkeypatch):
    import uuid

    ids = iter([uuid.UUID("aaaa0000" + "0" * 24), uuid.UUID("aaaa1111" + "1" * 24)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(ids))
    run_cells(shell, "%%experiment --quiet\nx = 1", "%%experiment --quiet\ny = 2")
    with pytest.raises(UsageError) as info:
        line(shell, "%mlops show aaaa")
    assert "matches several runs" in str(info.value) and "give more characters" in str(info.value)
