"""Faults across processes: concurrent writers on one SQLite file, SIGKILL mid-run, exit without end()."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from rawsql import sql

import jupyter_mlops as mlops
from jupyter_mlops.tracking import api

pytestmark = pytest.mark.slow


def python(code: str, url: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "JUPYTER_MLOPS_URL": url, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


WRITER = """
    import jupyter_mlops as mlops
    with mlops.start_run("parallel", params={"worker": WORKER, "batch": 32}) as run:
        for step in range(5000):
            run.log_metric("loss", 1.0 / (step + 1))
            run.log_metric("acc", step / 5000)
            if step % 1000 == 0:
                run.log_params({f"p{step}": step})
                run.set_tag(f"t{step}", "x")
                mlops.flush()
    print(run.id)
"""


def test_eight_processes_on_one_sqlite_file_lose_nothing(sqlite_url):
    mlops.connect(sqlite_url)  # create the schema up front, as a first kernel would
    api.disconnect()
    procs = [python(WRITER.replace("WORKER", str(i)), sqlite_url) for i in range(8)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    mlops.connect(sqlite_url)
    try:
        frame = mlops.runs("parallel")
        assert len(frame) == 8 and set(frame["status"]) == {"finished"}
        assert sorted(frame["params.worker"].astype(int)) == list(range(8))
        for run_id in frame["run_id"]:
            run = mlops.get_run(run_id)
            assert len(run.history("loss")) == 5000 and len(run.history("acc")) == 5000
            assert run.metrics["loss"] == 1 / 5000 and len(run.params) == 7 and len(run.tags) == 5
    finally:
        api.disconnect()


def test_eight_processes_creating_a_new_database_at_once(sqlite_url):
    procs = [python(WRITER.replace("WORKER", str(i)).replace("5000", "50"), sqlite_url) for i in range(8)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    mlops.connect(sqlite_url)
    try:
        assert len(mlops.runs("parallel")) == 8
    finally:
        api.disconnect()


KILLED = """
    import time, jupyter_mlops as mlops
    run = mlops.start_run("doomed")
    for step in range(100):
        run.log_metric("loss", float(step))
    mlops.flush()
    print(run.id, flush=True)
    run.log_metric("unflushed", 1.0)
    time.sleep(600)
"""


def test_sigkill_mid_run_reads_crashed_with_flushed_metrics(db_url):
    proc = python(KILLED, db_url, JUPYTER_MLOPS_HEARTBEAT_SECONDS="0.3", JUPYTER_MLOPS_FLUSH_SECONDS="60")
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read()
    mlops.connect(db_url)
    try:
        assert mlops.get_run(run_id).status == "running"  # alive and beating
        time.sleep(1.2)
        assert mlops.get_run(run_id).status == "running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while mlops.get_run(run_id).status == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        run = mlops.get_run(run_id)
        assert run.status == "crashed"
        assert len(run.history("loss")) == 100 and run.metrics["loss"] == 99.0
        assert list(mlops.runs(filter="status = 'crashed'")["run_id"]) == [run_id]
    finally:
        api.disconnect()


EXITS = """
    import jupyter_mlops as mlops
    run = mlops.start_run("exits")
    for step in range(20000):
        mlops.log_metric("x", float(step))
    print(run.id, flush=True)
    # no end(), no flush(): interpreter exit must write the buffered points
"""


def test_buffered_points_are_written_at_interpreter_exit(db_url):
    proc = python(EXITS, db_url, JUPYTER_MLOPS_FLUSH_SECONDS="600")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    run_id = out.strip()
    stored = sql(
        db_url,
        "SELECT count(*) FROM metrics JOIN latest_metrics ON latest_metrics.id = metrics.series_id "
        "WHERE latest_metrics.run_id = :id",
        id=run_id,
    )
    assert stored == [(20000,)]


OUTAGE = """
    import time, jupyter_mlops as mlops
    run = mlops.start_run("outage")
    mlops.log_metric("before", 1.0)
    mlops.flush()
    print(run.id, flush=True)
    input()  # the test cuts the database off here
    for step in range(1000):
        mlops.log_metric("during", float(step))
    # exit without end(): the writer cannot reach the database and spools the points
"""


def test_points_survive_a_database_outage_at_exit(postgres, tmp_path):
    import psycopg

    url = postgres.create_database()
    database = url.rsplit("/", 1)[1]
    spool_dir = tmp_path / "spool"  # the autouse fixture points JUPYTER_MLOPS_SPOOL here
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OUTAGE)],
        env={**os.environ, "JUPYTER_MLOPS_URL": url, "JUPYTER_MLOPS_FLUSH_SECONDS": "600"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = proc.stdout.readline().strip()
    admin = f"host=127.0.0.1 port={postgres.port} user=mlops dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
    _, err = proc.communicate("\n", timeout=120)
    assert proc.returncode == 0, err
    assert "1000 metric points could not be written" in err and "kept in" in err
    assert len(list(spool_dir.glob("*.jsonl"))) == 1
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")

    try:
        with pytest.warns(mlops.MlopsWarning, match="wrote 1000 spooled metric points"):
            mlops.connect(url)
        run = mlops.get_run(run_id)
        assert len(run.history("during")) == 1000 and run.metrics == {"before": 1.0, "during": 999.0}
        assert list(spool_dir.glob("*.jsonl")) == []
    finally:
        api.disconnect()


def test_user_exception_is_not_replaced_when_the_database_is_gone(postgres):
    import warnings

    import psycopg

    url = postgres.create_database()
    database = url.rsplit("/", 1)[1]
    admin = f"host=127.0.0.1 port={postgres.port} user=mlops dbname=postgres"
    mlops.connect(url)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(ValueError, match="the user's own error"), mlops.start_run("outage") as run:
                run.log_metric("loss", 0.5)
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                        (database,),
                    )
                raise ValueError("the user's own error")
        messages = [str(w.message) for w in caught]
        assert any("could not record how run" in m for m in messages), messages
        assert mlops.active_run() is None  # the failed end still ends it in this process
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        mlops.flush()  # the buffered point was kept and goes in once the database is back
        assert mlops.get_run(run.id).metrics == {"loss": 0.5}
    finally:
        api.disconnect()
