"""The buffered metric writer: ``log_metric`` appends to a list; a background thread writes batches.

Batches go to the store on a timer, at run end and at interpreter exit. The same thread beats the
heartbeat of every run in progress, so a run whose process died reads as crashed. A batch the database
refuses is kept and retried on the next tick, never dropped.

During a burst (a tight loop logging faster than BURST_RATE) the timer holds back: a background write
competes with the loop for the GIL and slows both, so the burst's points are written when it pauses,
when the run ends, after MAX_DEFER_SECONDS, or by ``log_metric`` itself once MAX_BUFFER points wait.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import warnings
from typing import TYPE_CHECKING

from ..errors import MlopsWarning, StoreError

if TYPE_CHECKING:
    from ..store.tracking_store import MetricRow, TrackingStore

#: Points the buffer may hold; at this size log_metric writes the batch itself (backpressure).
MAX_BUFFER = 1_000_000
#: Points per second above which logging counts as a burst.
BURST_RATE = 100_000
#: The longest the timer holds back during a burst.
MAX_DEFER_SECONDS = 10.0


class MetricWriter:
    """Owns the metric buffer and the heartbeat thread for one store."""

    def __init__(self, store: TrackingStore, flush_seconds: float, heartbeat_seconds: float) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.buffer: list[MetricRow] = []
        self.runs: set[str] = set()  # runs in progress, for heartbeats
        self.series: dict[int, tuple[str, str]] = {}  # series id -> (run id, key), for new series rows
        self.unordered = False  # set when a key's step went backwards: see flush()
        self.capacity = MAX_BUFFER
        self.limit = MAX_BUFFER  # log_metric calls relieve() at this many buffered points
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._warned = False
        self._thread = threading.Thread(target=self._loop, name="jupyter_mlops-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def relieve(self) -> None:
        """Write the full buffer in the caller's thread; if the database refuses, keep buffering."""
        try:
            self.flush()
            self.limit = self.capacity
        except StoreError as err:
            self.limit = len(self.buffer) + self.capacity  # try again a full buffer later
            warnings.warn(f"metrics buffered, will retry: {err}", MlopsWarning, stacklevel=3)

    def flush(self) -> None:
        """Write every buffered point; raises StoreError if the database refuses (points are kept)."""
        with self._flush_lock:
            while self.buffer:
                # Take a prefix: appends from other threads land after it and stay for the next round.
                count = len(self.buffer)
                rows = self.buffer[:count]
                # Read after taking the rows: a point logged out of order sets the flag before it is appended.
                ordered, self.unordered = not self.unordered, False
                try:
                    self.store.write_metrics(rows, self.series, ordered)
                except Exception:
                    self.unordered = self.unordered or not ordered
                    raise
                del self.buffer[:count]

    def close(self) -> None:
        """Flush what is left and stop the thread (at exit, or when switching databases)."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=30)
        try:
            self.flush()
        except StoreError as err:
            from .spool import spool

            path = spool(self.store.db.url, list(self.buffer), self.series)
            warnings.warn(
                f"{len(self.buffer)} metric points could not be written ({err}); kept in {path}, "
                "written when jupyter_mlops next connects to this database",
                MlopsWarning,
                stacklevel=2,
            )
            self.buffer.clear()
        atexit.unregister(self.close)

    def _loop(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_seconds
        checked = last_flush = time.monotonic()
        seen = 0
        while not self._closed:
            self._wake.wait(timeout=min(self.flush_seconds, self.heartbeat_seconds))
            self._wake.clear()
            try:
                now = time.monotonic()
                burst = len(self.buffer) - seen > BURST_RATE * (now - checked)
                if not burst or now - last_flush >= MAX_DEFER_SECONDS:
                    self.flush()
                    last_flush = now
                checked, seen = now, len(self.buffer)
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.heartbeat_seconds
                    self.store.beat(list(self.runs))
                self._warned = False
            except StoreError as err:
                if not self._warned:  # once per outage; the points stay buffered and are retried
                    self._warned = True
                    _warn_from_thread(f"metrics buffered, will retry: {err}")
            except Exception as err:  # the thread must survive anything, or heartbeats stop
                _warn_from_thread(f"jupyter_mlops writer: {type(err).__name__}: {err}")


def _warn_from_thread(message: str) -> None:
    # Warnings made errors (python -W error) must not stop the heartbeats.
    with contextlib.suppress(Exception):
        warnings.warn(message, MlopsWarning, stacklevel=1)
