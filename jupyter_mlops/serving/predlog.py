"""Prediction logging off the request path: a bounded queue drained by one thread in batches.

A request only does ``put_nowait``; when the queue is full the row is dropped and counted, so logging
never blocks or slows an answer. ``sample`` logs that share of requests (1.0: all).
"""

from __future__ import annotations

import json
import queue
import random
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.deploy_store import DeployStore

BATCH = 2_000
GATHER_SECONDS = 0.25
MAX_QUEUED = 20_000
TEXT_CAP = 20_000  # characters of inputs/outputs kept per logged request


class PredictionLog:
    def __init__(self, store: DeployStore, sample: float = 1.0, max_queued: int = MAX_QUEUED) -> None:
        self.store = store
        self.sample = sample
        self.queue: queue.Queue[Mapping[str, Any]] = queue.Queue(max_queued)
        self.dropped = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="mlops-prediction-log", daemon=True)
        self._thread.start()

    def wanted(self) -> bool:
        return self.sample >= 1.0 or random.random() < self.sample

    def log(self, row: Mapping[str, Any]) -> None:
        try:
            self.queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1

    def _drain(self) -> None:
        while not self._stop.is_set() or not self.queue.empty():
            try:
                first = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self._stop.wait(GATHER_SECONDS)  # one transaction per gathering, not one per request
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.store.write_predictions([_serialised(row) for row in batch])
            except Exception:  # the database is away: these rows are lost, counted, and serving goes on
                self.failed += len(batch)

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


def _serialised(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with its inputs (column names and a 2-D array) and outputs as JSON text, each capped at
    TEXT_CAP."""
    (columns, values), outputs = row["inputs"], row["outputs"]
    inputs = {"columns": columns, "data": values.tolist()}
    return {
        **row,
        "inputs": _capped(json.dumps(inputs, default=str)),
        "outputs": _capped(json.dumps(outputs, default=str)) if outputs is not None else None,
    }


def _capped(text: str) -> str:
    return text if len(text) <= TEXT_CAP else text[:TEXT_CAP] + "...[cut]"
