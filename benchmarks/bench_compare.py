"""Compare widget build time (Python side: one search, table rows, parallel coordinates, curves) for
100, 1,000 and 10,000 runs; and the logging rate with the live chart's sampling on and off."""

from __future__ import annotations

import statistics
import threading
import time

from common import median_seconds, result, workdir


def fill(store, n: int, experiment: str) -> None:
    """Runs with 5 params and 5 metrics, written straight through the store (fast to set up)."""
    for i in range(n):
        run_id, _ = store.create_run(
            experiment,
            None,
            user=None,
            host=None,
            heartbeat_interval=10,
            params=[(f"p{k}", str(i % (k + 3)), float(i % (k + 3))) for k in range(5)],
        )
        store.end_run(run_id, "finished")


def build_seconds(n: int) -> float:
    import jupyter_mlops as mlops
    from jupyter_mlops.tracking import api
    from jupyter_mlops.tracking.compare import Comparison
    from jupyter_mlops.widgets.compare_widget import CompareWidget

    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    fill(api._current().store, n, "bench")
    CompareWidget(Comparison("bench"))  # warm up imports
    seconds = median_seconds(lambda: CompareWidget(Comparison("bench")), repeats=5)
    api.disconnect()
    return seconds


def sampler(run, stop: threading.Event) -> threading.Thread:
    """What the live chart's thread does: read the buffer tail a few times a second."""
    from jupyter_mlops.widgets.live import TAIL, UPDATES_PER_SECOND

    def sample() -> None:
        while not stop.wait(1 / UPDATES_PER_SECOND):
            newest = {}
            for sid, step, value, _ in run._buffer[-TAIL:]:
                newest[sid] = (step, value)

    return threading.Thread(target=sample, daemon=True)


def logging_rates(points: int = 300_000, repeats: int = 7) -> tuple[float, float]:
    """(points/s without, with the live chart's sampling) of a tight log_metric loop, interleaved.
    The chart's drawing happens in the browser; the kernel only samples."""
    import jupyter_mlops as mlops

    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeats):
        for live in (False, True):
            with mlops.start_run("live") as run:
                stop = threading.Event()
                if live:
                    sampler(run, stop).start()
                started = time.perf_counter()
                for step in range(points):
                    run.log_metric("loss", 1.0 / (step + 1))
                rates[live].append(points / (time.perf_counter() - started))
                stop.set()
    return statistics.median(rates[False]), statistics.median(rates[True])


if __name__ == "__main__":
    for n in (100, 1_000, 10_000):
        target = "< 1 s" if n == 1_000 else ""
        result(
            f"compare widget build, {n:,} runs", build_seconds(n), "s", target=target, higher_is_better=False
        )
    off, on = logging_rates()
    result("log_metric with the live chart sampling", on, "points/s", note=f"{on / off:.1%} of off")
    result("log_metric without the live chart", off, "points/s", target="on within 5% of off")
