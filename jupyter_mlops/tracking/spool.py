"""Metric points the database refused at exit are spooled to a local file and replayed on next connect.

The spool lives in ``$JUPYTER_MLOPS_SPOOL`` or ``~/.cache/jupyter_mlops/spool``, one JSON-lines file
per process, named after a hash of the database URL so each file replays into the database it was for.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ENV_SPOOL

if TYPE_CHECKING:
    from ..store.tracking_store import MetricRow, TrackingStore

BATCH = 50_000


def spool_dir() -> Path:
    configured = os.environ.get(ENV_SPOOL)
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "jupyter_mlops" / "spool"


def _prefix(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def spool(url: str, rows: list[MetricRow], series: Mapping[int, tuple[str, str]]) -> Path:
    """Write ``rows`` and the (run, key) of their series to a new spool file for ``url``; return its path."""
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_prefix(url)}-{os.getpid()}-{time.time_ns()}.jsonl"
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        used = {row[0] for row in rows}
        handle.write(json.dumps({"series": [[sid, *series[sid]] for sid in used]}) + "\n")
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    os.replace(partial, path)  # a replaying process never reads half a file
    return path


def replay(url: str, store: TrackingStore) -> int:
    """Write every spooled point for ``url`` into ``store``, deleting each file once it is in.

    Returns the number of points written."""
    folder = spool_dir()
    if not folder.is_dir():
        return 0
    written = 0
    for path in sorted(folder.glob(f"{_prefix(url)}-*.jsonl")):
        claimed = path.with_suffix(".replaying")
        try:
            os.replace(path, claimed)  # two kernels connecting at once: one of them takes the file
        except FileNotFoundError:
            continue
        with open(claimed, encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            rows: list[MetricRow] = [tuple(json.loads(line)) for line in handle if line.strip()]
        series = {sid: (run_id, key) for sid, run_id, key in header["series"]}
        try:
            for start in range(0, len(rows), BATCH):
                store.write_metrics(rows[start : start + BATCH], series)
        except Exception:
            os.replace(claimed, path)  # keep it for the next try
            raise
        claimed.unlink()
        written += len(rows)
    return written
