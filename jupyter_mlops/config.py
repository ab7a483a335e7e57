"""Where runs are tracked to, and the limits every layer shares.

Resolution order, first found wins:
``connect(url, artifacts)`` > environment (``JUPYTER_MLOPS_URL``, ``JUPYTER_MLOPS_ARTIFACTS``) >
``[tool.jupyter_mlops]`` in the nearest ``pyproject.toml`` > ``sqlite:///./mlops.db`` and
``./mlops-artifacts``.

    >>> resolve_settings(url="sqlite:///runs.db").url        # doctest: +SKIP
    'sqlite:////home/me/project/runs.db'
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

# Environment variable names, in one place.
ENV_URL = "JUPYTER_MLOPS_URL"
ENV_ARTIFACTS = "JUPYTER_MLOPS_ARTIFACTS"
#: Experiment of ``%%experiment`` cells that name none.
ENV_EXPERIMENT = "JUPYTER_MLOPS_EXPERIMENT"
#: Seconds between a run's heartbeats; a running run silent for 3 beats reads as crashed.
ENV_HEARTBEAT = "JUPYTER_MLOPS_HEARTBEAT_SECONDS"
#: Seconds between background flushes of buffered metrics.
ENV_FLUSH = "JUPYTER_MLOPS_FLUSH_SECONDS"
#: Folder for metric points the database refused at exit (replayed on the next connect).
ENV_SPOOL = "JUPYTER_MLOPS_SPOOL"

DEFAULT_URL = "sqlite:///mlops.db"
DEFAULT_ARTIFACTS = "mlops-artifacts"
DEFAULT_EXPERIMENT = "default"
DEFAULT_HEARTBEAT_SECONDS = 10.0
DEFAULT_FLUSH_SECONDS = 1.0

# Limits on what one row may hold; larger values are refused or truncated with a warning.
MAX_NAME_LENGTH = 250
MAX_PARAM_VALUE = 64 * 1024
MAX_TAG_VALUE = 64 * 1024
MAX_TEXT = 1024 * 1024  # captured source, tracebacks


@dataclass(frozen=True)
class Settings:
    """Resolved tracking settings: a database URL and an artifact root (path or fsspec URL)."""

    url: str
    artifacts: str
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    flush_seconds: float = DEFAULT_FLUSH_SECONDS
    experiment: str = DEFAULT_EXPERIMENT


def resolve_settings(
    url: str | None = None, artifacts: str | None = None, cwd: Path | None = None
) -> Settings:
    """Resolve the tracking URL and artifact root by the documented precedence."""
    cwd = cwd or Path.cwd()
    section, folder = _pyproject_section(cwd)
    url, url_base = _pick(url, ENV_URL, section, "url", DEFAULT_URL, cwd, folder)
    artifacts, artifacts_base = _pick(
        artifacts, ENV_ARTIFACTS, section, "artifacts", DEFAULT_ARTIFACTS, cwd, folder
    )
    experiment, _ = _pick(None, ENV_EXPERIMENT, section, "experiment", DEFAULT_EXPERIMENT, cwd, folder)
    return Settings(
        experiment=experiment,
        url=_absolute_sqlite(url, url_base),
        artifacts=_absolute_path(artifacts, artifacts_base),
        heartbeat_seconds=_seconds(ENV_HEARTBEAT, DEFAULT_HEARTBEAT_SECONDS),
        flush_seconds=_seconds(ENV_FLUSH, DEFAULT_FLUSH_SECONDS),
    )


def tool_section(cwd: Path | None = None) -> dict:
    """The ``[tool.jupyter_mlops]`` table of the nearest pyproject.toml ({} when there is none)."""
    return _pyproject_section(cwd or Path.cwd())[0]


def _pick(explicit: str | None, env: str, section: dict, key: str, default: str, cwd: Path, folder: Path):
    """One setting and the folder its relative paths start from (pyproject's own folder for its values)."""
    if explicit:
        return explicit, cwd
    if os.environ.get(env):
        return os.environ[env], cwd
    value = section.get(key)
    if value is not None:
        if not isinstance(value, str):
            raise ConfigError(f"[tool.jupyter_mlops] {key} must be a string, got {type(value).__name__}")
        return value, folder
    return default, cwd


def _pyproject_section(start: Path) -> tuple[dict, Path]:
    """The ``[tool.jupyter_mlops]`` table of the nearest pyproject.toml, and its folder."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read {candidate}: {exc}; fix the file or set {ENV_URL}") from exc
            section = data.get("tool", {}).get("jupyter_mlops", {})
            if not isinstance(section, dict):
                raise ConfigError(f"[tool.jupyter_mlops] in {candidate} must be a table")
            return section, folder
    return {}, start


def _absolute_sqlite(url: str, base: Path) -> str:
    """Make ``sqlite:///relative.db`` absolute so every kernel and process agrees on the file."""
    if "://" not in url:
        raise ConfigError(
            f"tracking URL {url!r} has no scheme: write sqlite:///path/to/mlops.db "
            "or postgresql+psycopg://user@host/db"
        )
    prefix = "sqlite:///"
    if url.startswith(prefix):
        path = url[len(prefix) :]
        if path and path != ":memory:" and not path.startswith("/") and not path.startswith("file:"):
            return prefix + str((base / path).resolve())
    return url


def _absolute_path(location: str, base: Path) -> str:
    if "://" in location and not location.startswith("file://"):
        return location
    if location.startswith("file://"):
        location = location[len("file://") :]
    return str((base / location).resolve())


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw}")
    return value
