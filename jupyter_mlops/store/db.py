"""Engine set-up and the one transaction scope, which turns driver errors into ours.

    db = Database("sqlite:////tmp/mlops.db")
    db.write(lambda conn: conn.execute(insert(runs).values(...)))
    rows = db.read(lambda conn: conn.execute(select(runs)).all())

SQLite runs in WAL mode with a busy timeout, and write transactions start with ``BEGIN IMMEDIATE`` so a
writer waits for the lock up front instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import os
import random
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc

from ..errors import AlreadyExists, ConfigError, StoreError
from ..masking import mask_url

T = TypeVar("T")

SQLITE_BUSY_MS = 30_000
# After the busy timeout, a locked SQLite write is retried with backoff for this long before giving up.
RETRY_SECONDS = 120.0


class Database:
    """One database URL: its engine, and read/write transactions with retries and clear errors."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.safe_url = mask_url(url)
        self.engine = _create_engine(url)
        self.dialect = self.engine.dialect.name
        self._writer = self.engine.execution_options(immediate=True)

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in a read transaction."""
        return self._run(lambda: _transaction(self.engine), fn)

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in a write transaction; committed when ``fn`` returns, retried while locked."""
        return self._run(lambda: _transaction(self._writer), fn)

    def migrate(self, fn: Callable[[Connection], T]) -> T:
        """Like ``write``, for schema changes: on SQLite with foreign keys off (checked before commit),
        because altering a table there means copying and dropping it."""
        return self._run(lambda: _migration(self._writer), fn)

    def _run(
        self, scope: Callable[[], AbstractContextManager[Connection]], fn: Callable[[Connection], T]
    ) -> T:
        deadline = time.monotonic() + RETRY_SECONDS
        delay = 0.01
        while True:
            try:
                with scope() as conn:
                    return fn(conn)
            except exc.IntegrityError as err:
                reason = _reason(err)
                if "unique" in reason.lower() or "duplicate" in reason.lower():
                    raise AlreadyExists(f"already stored: {reason}") from None
                raise StoreError(f"database {self.safe_url} refused a write: {reason}") from None
            except exc.OperationalError as err:
                if _is_locked(err) and time.monotonic() < deadline:
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 1.0)
                    continue
                raise StoreError(f"database {self.safe_url} failed: {_reason(err)}") from None
            except exc.DBAPIError as err:
                raise StoreError(f"database {self.safe_url} refused the operation: {_reason(err)}") from None

    def dispose(self) -> None:
        """Close pooled connections (before a fork, or when switching databases)."""
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            return _sqlite_engine(url)
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return create_engine(url, pool_pre_ping=True)
    except exc.ArgumentError as err:
        raise ConfigError(f"not a database URL: {mask_url(url)} ({err})") from None
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"the driver for {mask_url(url)} is not installed ({err.name}): "
            "pip install 'jupyter_mlops[postgres]' and use postgresql+psycopg://"
        ) from None


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        yield conn


@contextmanager
def _migration(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        # The pragma is ignored inside a transaction, so it goes to the driver before BEGIN.
        conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise StoreError(
                        f"migration would break {len(broken)} foreign keys, e.g. {broken[0]}; rolled back"
                    )
        finally:
            conn.invalidate()  # never hand a connection with foreign keys off back to the pool


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False})
    # A forked child (parallel trials) must not share the parent's open SQLite handles.
    ref = weakref.ref(engine)
    os.register_at_fork(after_in_child=lambda: _dispose_in_child(ref()))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below issue BEGIN itself (pysqlite's own is deferred only).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _dispose_in_child(engine: Engine | None) -> None:
    if engine is not None:
        engine.dispose(close=False)


def _is_locked(err: exc.DBAPIError) -> bool:
    text = str(err.orig).lower()
    return "locked" in text or "busy" in text


def _reason(err: exc.DBAPIError) -> str:
    """The driver's one-line reason, without SQLAlchemy's statement dump."""
    return mask_url(str(err.orig).strip().splitlines()[0] if err.orig else str(err))
