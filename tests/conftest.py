"""Real databases for the tests: a SQLite file per test, and a PostgreSQL server started for the session.

PostgreSQL is started with initdb/pg_ctl on 127.0.0.1 and a free port, as the unprivileged ``postgres``
user when the tests run as root (the server refuses root). Each test gets its own database. Where no
PostgreSQL is installed the PostgreSQL half is skipped, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ports import free_port

BACKENDS = ["sqlite", "postgresql"]


def _pg_bin() -> Path | None:
    candidates = [
        shutil.which("pg_ctl"),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True),
    ]
    for candidate in candidates:
        if candidate:
            return Path(candidate).resolve().parent
    return None


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=self.user, cwd=self.dir)

    def start(self) -> None:
        data = self.dir / "data"
        self._run(
            str(self.bin / "initdb"), "-D", str(data), "-U", "mlops", "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.dir / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            user=self.user,
            cwd=self.dir,
        )
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://mlops@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=mlops dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # name is generated here, not user text
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mlops.db'}"
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlops.db'}"


@pytest.fixture
def mlops(db_url: str, tmp_path: Path) -> Iterator[object]:
    """``jupyter_mlops`` connected to a fresh database and artifact folder."""
    import jupyter_mlops
    from jupyter_mlops.tracking import api

    jupyter_mlops.connect(db_url, artifacts=str(tmp_path / "artifacts"))
    yield jupyter_mlops
    for run in list(api._active):
        run.end()
    api.disconnect()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's own settings or write into the repository."""
    for name in (
        "JUPYTER_MLOPS_URL",
        "JUPYTER_MLOPS_ARTIFACTS",
        "JUPYTER_MLOPS_EXPERIMENT",
        "JPY_SESSION_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_MLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real IPython shell with the extension loaded, tracking to a fresh SQLite file in tmp_path.

    Run cells with ``cell(shell, source)``: like a kernel does, it stores them in the history."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from jupyter_mlops.tracking import api

    monkeypatch.setenv("JUPYTER_MLOPS_URL", f"sqlite:///{tmp_path / 'mlops.db'}")
    monkeypatch.setenv("JUPYTER_MLOPS_ARTIFACTS", str(tmp_path / "artifacts"))
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    ipython = InteractiveShell.instance(config=config)
    ipython.run_cell("%load_ext jupyter_mlops", store_history=True).raise_error()
    yield ipython
    ipython.run_cell("%unload_ext jupyter_mlops")
    for run in list(api._active):
        run.end()
    api.disconnect()
    InteractiveShell.clear_instance()
    # each shell registers a clean-up for the end of the process that runs a full garbage collection:
    # hundreds of them made a whole test run linger for minutes after its last test
    atexit.unregister(ipython.atexit_operations)


def _server_pids(marker: bytes) -> set[int]:
    """Model server processes (``python -m jupyter_mlops.serving.server``) whose environment holds
    ``marker``: this test session's base folder, so a session never stops another one's servers."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                if b"jupyter_mlops.serving.server" in cmdline and marker in (entry / "environ").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="session", autouse=True)
def _no_model_servers_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A test that failed half-way may leave a deployment's server running: stop those at the end."""
    marker = str(tmp_path_factory.getbasetemp()).encode()
    yield
    for pid in _server_pids(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
