"""The environment a run ran in: Python, OS, CPU/RAM/GPU, packages, git state, notebook path and
allow-listed environment variables (secrets masked).

    >>> env = capture_environment()                     # doctest: +SKIP
    >>> env["python"]["version"], env["packages"]["pandas"]  # doctest: +SKIP
    ('3.11.7', '3.1.1')

Capturing takes a few hundred milliseconds (listing packages, running git), so a kernel does it once, in
a background thread, and again only when installed packages change (a site-packages folder's mtime
moves). The content is stored once per distinct sha256 (``environment_id``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from ...masking import mask_text, mask_value

# Environment variables worth keeping: they change results or say where a run ran. Exact names and
# prefixes (ending in "_"); values are still masked when they look secret.
ENV_ALLOW = (
    "CUDA_VISIBLE_DEVICES",
    "CUBLAS_WORKSPACE_CONFIG",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "PYTHONHASHSEED",
    "CONDA_DEFAULT_ENV",
    "VIRTUAL_ENV",
    "LANG",
    "LC_ALL",
    "TZ",
    "SLURM_JOB_ID",
    "JUPYTER_MLOPS_",
)
MAX_GIT_DIFF = 100_000  # characters of `git diff HEAD` kept
_GIT_TIMEOUT = 5.0


def capture_environment(folder: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Everything recorded about the environment, as a JSON-able dict."""
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "os": {"system": platform.system(), "release": platform.release(), "machine": platform.machine()},
        "hardware": {"cpu": _cpu_model(), "cpus": os.cpu_count(), "ram_bytes": _ram_bytes(), "gpus": _gpus()},
        "packages": packages(),
        "git": git_state(folder or os.getcwd()),
        "env": allowed_variables(os.environ),
    }


def environment_id(content: dict[str, Any]) -> tuple[str, str]:
    """(sha256 id, canonical JSON) of a captured environment."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), text


def packages() -> dict[str, str]:
    """Installed distributions: normalised name -> version."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name.lower().replace("_", "-"), dist.version)
    return dict(sorted(found.items()))


def allowed_variables(environ: Any) -> dict[str, str]:
    """The allow-listed variables of ``environ``, secrets masked."""
    keep = {}
    for key, value in environ.items():
        if key in ENV_ALLOW or any(p.endswith("_") and key.startswith(p) for p in ENV_ALLOW):
            keep[key] = mask_value(key, value)
    return dict(sorted(keep.items()))


def git_state(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Commit, branch and uncommitted diff (capped, secrets masked) of the repository holding ``folder``."""
    if shutil.which("git") is None:
        return None
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(folder, "status", "--porcelain") or ""
    diff = _git(folder, "diff", "HEAD") or ""
    return {
        "commit": commit,
        "branch": _git(folder, "rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status),
        "diff": mask_text(diff[:MAX_GIT_DIFF]),
        "diff_truncated": len(diff) > MAX_GIT_DIFF,
    }


def _git(folder: str | os.PathLike[str], *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, timeout=_GIT_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _gpus() -> list[dict[str, str]]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in done.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "memory": parts[1], "driver": parts[2]})
    return gpus


def _site_stamp() -> tuple[tuple[str, int], ...]:
    """Modification times of the package folders on sys.path: they move when a package is installed."""
    stamp = []
    for entry in sys.path:
        if entry and ("site-packages" in entry or "dist-packages" in entry):
            try:
                stamp.append((entry, os.stat(entry).st_mtime_ns))
            except OSError:
                continue
    return tuple(stamp)


class EnvironmentWatch:
    """Captures the environment once in the background and again when installed packages change.

    watch = EnvironmentWatch(); watch.start()
    env_id, content = watch.current()   # waits for the first capture
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._value: tuple[str, str] | None = None
        self._stamp: tuple[tuple[str, int], ...] | None = None
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> None:
        """Begin a capture in a background thread unless one is running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._ready.clear()
            self._thread = threading.Thread(target=self._capture, name="mlops-environment", daemon=True)
            self._thread.start()

    def _capture(self) -> None:
        stamp = _site_stamp()
        try:
            value = environment_id(capture_environment(self.folder))
        except Exception as err:  # best effort: the run is recorded without it
            self.error = f"{type(err).__name__}: {err}"
            value = None
        with self._lock:
            self._value, self._stamp = value, stamp
        self._ready.set()

    def current(self, timeout: float = 30.0) -> tuple[str, str] | None:
        """(id, JSON) of the environment; recaptured first if packages changed since the last capture."""
        if self._thread is None or (self._ready.is_set() and self._stamp != _site_stamp()):
            self.start()
        self._ready.wait(timeout)
        return self._value
