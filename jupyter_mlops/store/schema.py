"""Schema revisions: create a new database, refuse an out-of-date one, upgrade on request.

An empty database is brought to the head revision on first use. A database at an older revision is
refused with the command that upgrades it; upgrading is a deliberate step because a shared team
database may be read by older clients.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, inspect, text

from ..errors import SchemaOutOfDate
from .db import Database

#: Every revision in order; the last is what this code expects. A test checks it against Alembic's head.
REVISIONS = ("0001", "0002", "0003", "0004", "0005")
HEAD = REVISIONS[-1]
MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every process that migrates this database.
_PG_MIGRATION_LOCK = 0x6D6C6F7073


def current_revision(conn: Connection) -> str | None:
    """The revision stamped in the database, or None when it has none."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(db: Database) -> None:
    """Create the tables in an empty database; raise SchemaOutOfDate when the revision differs."""
    revision = db.read(current_revision)
    if revision == HEAD:
        return
    if revision is None:
        tables = db.read(lambda conn: inspect(conn).get_table_names())
        if tables:
            raise SchemaOutOfDate(
                f"database {db.safe_url} has tables ({', '.join(sorted(tables)[:5])}) but no jupyter_mlops "
                "schema revision: point jupyter_mlops at an empty or a jupyter_mlops database"
            )
        upgrade(db, only_if_empty=True)
        return
    raise SchemaOutOfDate(_mismatch(db, revision))


def upgrade(db: Database, only_if_empty: bool = False) -> tuple[str | None, str]:
    """Upgrade the database to the head revision; return (revision before, revision after)."""
    from alembic import command
    from alembic.config import Config

    def migrate(conn: Connection) -> tuple[str | None, str]:
        if db.dialect == "postgresql":
            # Two kernels opening a new database at once must not both create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        before = current_revision(conn)
        if only_if_empty and before is not None:
            return before, before  # another process created it while we waited for the lock
        if before is not None and before not in REVISIONS:
            raise SchemaOutOfDate(_mismatch(db, before))
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        return before, HEAD

    return db.migrate(migrate)


def _mismatch(db: Database, revision: str) -> str:
    if revision in REVISIONS:
        return (
            f"database schema is at revision {revision}, this jupyter_mlops expects {HEAD}: "
            f"run `jupyter mlops db upgrade {db.safe_url}` (back the database up first)"
        )
    return (
        f"database {db.safe_url} is at schema revision {revision}, newer than this jupyter_mlops knows "
        f"({HEAD}): upgrade the package with `pip install -U jupyter_mlops`"
    )
