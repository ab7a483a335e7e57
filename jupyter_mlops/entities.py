"""Frozen records the store hands out: ORM rows never leave ``store/``.

>>> run = mlops.get_run("3f2a")                       # doctest: +SKIP
>>> run.status, run.params["lr"], run.metrics["acc"]  # doctest: +SKIP
('finished', '0.01', 0.93)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# Run statuses. ``crashed`` is never written: it is how a ``running`` run whose heartbeat went stale reads.
RUNNING = "running"
FINISHED = "finished"
FAILED = "failed"
KILLED = "killed"
CRASHED = "crashed"
STATUSES = (RUNNING, FINISHED, FAILED, KILLED, CRASHED)
#: A running run whose heartbeat is older than this many of its own heartbeat intervals has crashed.
STALE_BEATS = 3.0


def series_id(run_id: str, key: str) -> int:
    """The id of metric series (run, key): a signed 64-bit hash, the same in every process."""
    digest = hashlib.blake2b(f"{run_id}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    id: int
    name: str
    created_time: float


@dataclass(frozen=True)
class Artifact:
    """A file stored for a run: ``path`` is relative to the run's artifact folder."""

    path: str
    uri: str
    sha256: str
    size: int
    kind: str


@dataclass(frozen=True)
class DatasetInput:
    """A dataset fingerprint linked to a run as one of its inputs, under the variable ``name``."""

    name: str
    fingerprint: str
    shape: Any
    schema: Any
    profile: Any


@dataclass(frozen=True)
class Run:
    """One tracked run, as stored.

    ``metrics`` holds the latest value of each metric; ``history(key)`` gives the whole step series.
    """

    id: str
    name: str
    experiment: str
    experiment_id: int
    status: str
    start_time: float
    end_time: float | None
    parent_id: str | None
    user: str | None
    host: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    code: str | None = None
    source_hash: str | None = None
    context: Any = None
    notebook: str | None = None
    error: str | None = None
    env: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[DatasetInput, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    _history: Callable[[str], pd.DataFrame] | None = field(default=None, repr=False, compare=False)

    def history(self, key: str) -> pd.DataFrame:
        """The step series of metric ``key``: a DataFrame with columns ``step``, ``value``, ``time``.

        >>> mlops.get_run(run_id).history("loss").plot(x="step", y="value")  # doctest: +SKIP
        """
        if self._history is None:
            raise RuntimeError("this Run was built without a store; fetch it with mlops.get_run()")
        return self._history(key)


@dataclass(frozen=True, repr=False)
class ModelVersion:
    """One registered version of a model: ``ref`` (``churn:3``) names it for ``load_model``.

    ``metrics`` is the snapshot taken at registration (the run's metrics, then the evaluation on
    ``eval_data``), ``report`` the evaluation, feature importance and per-group metrics.
    """

    name: str
    version: int
    aliases: tuple[str, ...]
    run_id: str | None
    flavor: str
    format: str
    sha256: str
    size: int
    uri: str
    signature: Any
    metrics: dict[str, float]
    report: Any
    meta: dict[str, Any]
    author: str | None
    description: str | None
    created_time: float

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def __repr__(self) -> str:
        aliases = "".join(f" @{a}" for a in self.aliases)
        run = f" run {self.run_id[:8]}" if self.run_id else ""
        return f"<ModelVersion {self.ref}{aliases} {self.flavor}/{self.format}{run}>"


@dataclass(frozen=True)
class RegisteredModel:
    """A model name with its versions' count, its latest version and where its aliases point."""

    name: str
    description: str | None
    latest_version: int
    versions: int
    aliases: dict[str, int]
    created_time: float
    updated_time: float


@dataclass(frozen=True)
class AliasEvent:
    """One move of an alias: ``from_version`` None when it was set the first time, ``to_version`` None
    when it was removed."""

    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    user: str | None
    time: float


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment as stored: where its server listens, its routes and its last heartbeat."""

    id: int
    name: str
    backend: str
    host: str
    port: int
    pid: int | None
    status: str
    config: dict[str, Any]
    generation: int
    active_generation: int | None
    heartbeat: float | None
    error: str | None
    created_time: float
    updated_time: float
    has_token: bool = False
