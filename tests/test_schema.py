"""Schema revisions: creation, refusal of out-of-date databases, and `jupyter mlops db upgrade`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from rawsql import sql
from sqlalchemy import create_engine, text

import jupyter_mlops as mlops
from jupyter_mlops.entities import series_id
from jupyter_mlops.errors import SchemaOutOfDate
from jupyter_mlops.store import models
from jupyter_mlops.store.db import Database
from jupyter_mlops.store.schema import HEAD, MIGRATIONS, REVISIONS, current_revision, upgrade
from jupyter_mlops.tracking import api


def script_directory() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_revision_list_matches_alembic():
    scripts = script_directory()
    assert scripts.get_heads() == [HEAD]
    chain = [s.revision for s in scripts.walk_revisions()][::-1]
    assert tuple(chain) == REVISIONS
    for script in scripts.walk_revisions():
        assert "Why:" in (script.module.__doc__ or ""), f"revision {script.revision} must say why"


def test_migrated_schema_matches_the_orm(db_url):
    mlops.connect(db_url)
    api.disconnect()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
        assert current_revision(conn) == HEAD
    engine.dispose()
    assert diff == []


def stamp_old_database(url: str) -> str:
    """A database at revision 0001 holding one run with a param and a metric, as an old version left it."""
    db = Database(url)
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def to_0001(conn):
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        now = time.time()
        conn.execute(text("INSERT INTO experiments (name, created_time) VALUES ('old', :t)"), {"t": now})
        conn.execute(
            text(
                "INSERT INTO runs (id, experiment_id, name, status, start_time, end_time, heartbeat, "
                "heartbeat_interval) VALUES (:id, 1, 'kept', 'finished', :t, :t, :t, 10)"
            ),
            {"id": "a" * 32, "t": now},
        )
        conn.execute(
            text("INSERT INTO params (run_id, key, value, num) VALUES (:id, 'lr', '0.1', 0.1)"),
            {"id": "a" * 32},
        )
        series = {"sid": series_id("a" * 32, "acc"), "id": "a" * 32, "t": now}
        conn.execute(
            text(
                "INSERT INTO latest_metrics (id, run_id, key, step, value, time) "
                "VALUES (:sid, :id, 'acc', 1, 0.9, :t)"
            ),
            series,
        )
        conn.execute(
            text(
                "INSERT INTO metrics (series_id, step, value, time) "
                "VALUES (:sid, 0, 0.5, :t), (:sid, 1, 0.9, :t)"
            ),
            series,
        )

    db.write(to_0001)
    db.dispose()
    return "a" * 32


def test_old_database_is_refused_then_upgraded_by_the_cli_keeping_data(db_url):
    run_id = stamp_old_database(db_url)
    with pytest.raises(SchemaOutOfDate) as info:
        mlops.connect(db_url)
    message = str(info.value)
    assert "revision 0001" in message and f"jupyter mlops db upgrade {db_url}" in message

    cli = [sys.executable, "-m", "jupyter_mlops.cli", "db", "upgrade", db_url]
    done = subprocess.run(cli, capture_output=True, text=True, check=True)
    assert f"from revision 0001 to {HEAD}" in done.stdout
    again = subprocess.run(cli, capture_output=True, text=True, check=True)
    assert "already at revision" in again.stdout

    mlops.connect(db_url)
    try:
        kept = mlops.get_run(run_id)
        assert kept.name == "kept" and kept.params == {"lr": "0.1"} and kept.metrics == {"acc": 0.9}
        assert list(kept.history("acc")["value"]) == [0.5, 0.9]
        assert kept.env == {} and kept.artifacts == ()
    finally:
        api.disconnect()


def test_newer_database_is_refused_with_package_upgrade(sqlite_url):
    mlops.connect(sqlite_url)
    api.disconnect()
    sql(sqlite_url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaOutOfDate, match="pip install -U jupyter_mlops"):
        mlops.connect(sqlite_url)
    with pytest.raises(SchemaOutOfDate, match="newer"):
        upgrade(Database(sqlite_url))


def test_foreign_database_is_refused(sqlite_url):
    sql(sqlite_url, "CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(SchemaOutOfDate, match="invoices"):
        mlops.connect(sqlite_url)


def test_unreachable_database_names_the_url_without_password():
    from jupyter_mlops.errors import StoreError

    with pytest.raises(StoreError) as info:
        mlops.connect("postgresql+psycopg://me:hunter2@127.0.0.1:1/mlops")
    assert "hunter2" not in str(info.value) and "me:***@127.0.0.1:1" in str(info.value)


def test_cli_upgrade_uses_the_configured_url(tmp_path):
    env = {**os.environ, "JUPYTER_MLOPS_URL": f"sqlite:///{tmp_path / 'cfg.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tmp_path,
    )
    assert f"from revision (empty) to {HEAD}" in done.stdout
    assert (tmp_path / "cfg.db").exists()
