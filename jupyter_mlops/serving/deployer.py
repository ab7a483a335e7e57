"""Deployers run a deployment's server somewhere. ``local`` (the default): a uvicorn process on this
machine, started in its own session so it outlives the kernel; its pid, port and heartbeat are in the
deployments table, so any kernel can find it again. ``ray`` (``ray_backend``): replicas of the same app
on a Ray cluster, behind its Serve proxy.

    deployer = LocalDeployer(store, url, artifacts)
    record = deployer.create("churn", config, host="127.0.0.1", port=None, token=None)
    deployer.update("churn", new_config)     # new versions load beside the old; then the router swaps
    deployer.delete("churn")
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..config import ENV_ARTIFACTS, ENV_URL
from ..entities import DeploymentRecord
from ..errors import DeployError, InvalidValue
from .defaults import TOKEN_ENV

if TYPE_CHECKING:
    from ..store.deploy_store import DeployStore

START_TIMEOUT = 120.0


class Deployer(Protocol):
    store: DeployStore

    def create(
        self, name: str, config: Mapping[str, Any], host: str, port: int | None, token: str | None
    ) -> DeploymentRecord: ...

    def update(self, name: str, config: Mapping[str, Any]) -> DeploymentRecord: ...

    def get(self, name: str) -> DeploymentRecord: ...

    def list(self) -> list[DeploymentRecord]: ...

    def delete(self, name: str) -> None: ...


class StoredDeployer:
    """What every backend shares: the deployments table, and new routes picked up by the servers
    themselves (they poll their deployment's generation and report the one they serve)."""

    def __init__(self, store: DeployStore, url: str, artifacts: str) -> None:
        self.store = store
        self.url = url
        self.artifacts = artifacts

    def update(self, name: str, config: Mapping[str, Any]) -> DeploymentRecord:
        generation = self.store.set_config(name, config)
        return self.wait_for(name, generation, f"did not take the new routes in {START_TIMEOUT:.0f} s")

    def wait_for(self, name: str, generation: int, timeout_reason: str) -> DeploymentRecord:
        """The record once a server reports ``generation`` live; DeployError if it refused it or died."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            current = self.store.get(name)
            if current.active_generation == generation:
                return current
            if current.error and f"generation {generation} " in current.error:
                raise DeployError(f"deployment {name!r} kept its old routes: {current.error}")
            if not is_running(current):
                raise DeployError(f"deployment {name!r} is not running: deploy it again")
            time.sleep(0.05)
        raise DeployError(f"deployment {name!r} {timeout_reason}")

    def get(self, name: str) -> DeploymentRecord:
        return self.store.get(name)

    def list(self) -> list[DeploymentRecord]:
        return self.store.all()


class LocalDeployer(StoredDeployer):
    """One uvicorn process per deployment on this machine."""

    def create(
        self, name: str, config: Mapping[str, Any], host: str, port: int | None, token: str | None
    ) -> DeploymentRecord:
        port = _port(host, port)
        digest = hashlib.sha256(token.encode()).hexdigest() if token else None
        record = self.store.create(name, "local", host, port, digest, config)
        log_path = log_file(name)
        env = {**os.environ, ENV_URL: self.url, ENV_ARTIFACTS: self.artifacts}
        env.pop(TOKEN_ENV, None)
        if token:
            env[TOKEN_ENV] = token
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_mlops.serving.server", name],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,  # not killed with the kernel that started it
            )
        self.store.set(name, pid=process.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                reason = _tail(log_path) or f"the server exited with status {process.returncode}"
                self.store.set(name, status="failed", pid=None, error=reason[-2000:])
                raise DeployError(f"deployment {name!r} did not start: {reason}")
            current = self.store.get(name)
            if current.active_generation == record.generation:
                return current
            time.sleep(0.05)
        _terminate(process.pid)
        self.store.set(name, status="failed", pid=None, error="did not become healthy in time")
        raise DeployError(
            f"deployment {name!r} did not become healthy in {START_TIMEOUT:.0f} s: see {log_path}"
        )

    def delete(self, name: str) -> None:
        record = self.store.get(name)
        if record.pid and _is_our_server(record.pid, name):
            _terminate(record.pid)
        self.store.set(name, status="stopped", pid=None)


def is_running(record: DeploymentRecord, now: float | None = None) -> bool:
    """Healthy means a heartbeat in the last 5 s (the server beats every second)."""
    now = time.time() if now is None else now
    return record.status == "healthy" and record.heartbeat is not None and now - record.heartbeat < 5


def log_file(name: str) -> Path:
    folder = Path(tempfile.gettempdir()) / f"jupyter-mlops-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"deployment-{hashlib.sha256(name.encode()).hexdigest()[:12]}.log"


def check_port(port: int | None) -> None:
    """None, or a port number from 1 to 65535; InvalidValue otherwise."""
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        raise InvalidValue(f"port must be a number from 1 to 65535, got {port!r}")


def _port(host: str, port: int | None) -> int:
    """``port``, checked free on ``host``; a free one when None."""
    check_port(port)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port or 0))
        except OSError as err:
            if port:
                raise InvalidValue(
                    f"port {port} on {host} is in use ({err.strerror}): choose another port= or leave it out"
                ) from None
            raise InvalidValue(f"cannot listen on {host}: {err.strerror}") from None
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _is_our_server(pid: int, name: str) -> bool:
    """Only signal a pid that is still this deployment's server (pids are reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"jupyter_mlops.serving.server" in cmdline and name.encode() in cmdline


def _terminate(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not our child (started by another kernel): poll it
                finished = 0
                os.kill(pid, 0)
            if finished:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
