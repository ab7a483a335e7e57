"""A Jupyter server the tests start (``jupyter_server`` or ``jupyterlab``): on 127.0.0.1, a free port, a
random token, its own folder and log; ready once ``/api/status`` answers (importable from every test
folder)."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from ports import free_port


class JupyterServer:
    def __init__(
        self,
        folder: Path,
        env: Mapping[str, str],
        module: str = "jupyter_server",
        args: Sequence[str] = (),
    ) -> None:
        self.folder = folder
        self.port = free_port()
        self.token = secrets.token_hex(16)
        log_path = folder / f"{module}.log"
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.token={self.token}",
                "--allow-root",
                f"--ServerApp.root_dir={folder}",
                *args,
            ],
            env=dict(env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{module} did not start: see {log_path}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        try:
            request = urllib.request.Request(f"{self.url}/api/shutdown?token={self.token}", method="POST")
            urllib.request.urlopen(request, timeout=5)
            self.process.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=20)
        self.log.close()
