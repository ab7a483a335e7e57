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
