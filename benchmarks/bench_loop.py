"""Slowdown of a 2,000-step loop of ~0.08 ms/step when each step logs one metric.

Two figures: the loop itself (what the training loop feels; points are written in the background), and
the loop plus writing every point to the database before the cell would end (flush included).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from common import has_mlflow, mlflow_experiment, quiet_mlflow, result, workdir

STEPS = 2000


def make_step() -> tuple[object, float]:
    """A numpy step sized to take about 0.08 ms here."""
    size = 8
    while True:
        a = np.random.default_rng(0).random((size, size))

        def step(a: np.ndarray = a) -> float:
            return float((a @ a).sum())

        started = time.perf_counter()
        for _ in range(500):
            step()
        per_step = (time.perf_counter() - started) / 500
        if per_step >= 80e-6 or size > 400:
            return step, per_step
        size += 4


def loop(step, log=None, finish=None) -> tuple[float, float]:
    """(seconds for the loop, seconds for the loop and ``finish()``)."""
    started = time.perf_counter()
    for i in range(STEPS):
        loss = step()
        if log is not None:
            log("loss", loss, i)
    looped = time.perf_counter()
    if finish is not None:
        finish()
    return looped - started, time.perf_counter() - started


def main() -> None:
    import jupyter_mlops as mlops

    step, per_step = make_step()
    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    plain: list[float] = []
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    log_mlflow = None
    if has_mlflow():
        import mlflow

        quiet_mlflow()
        mlflow_experiment(folder)

        def log_mlflow(key: str, value: float, i: int) -> None:
            mlflow.log_metric(key, value, step=i, synchronous=False)

    for _ in range(21):  # interleaved, so drift in machine speed hits both alike
        plain.append(loop(step)[0])
        with mlops.start_run("loop") as run:
            ours.append(loop(step, run.log_metric, mlops.flush))
    # MLflow after ours, with its own baseline: its background threads outlive a run and would slow ours.
    their_plain = []
    if log_mlflow is not None:
        for _ in range(7):
            their_plain.append(loop(step)[0])
            with mlflow.start_run():
                theirs.append(loop(step, log_mlflow, mlflow.flush_async_logging))
    note = f"step {per_step * 1e3:.3f} ms"
    for which, label in ((0, "logging in the loop"), (1, "loop + writing every point")):
        ours_slow = slowdown([t[which] for t in ours], plain)
        their_slow = slowdown([t[which] for t in theirs], their_plain) if theirs else None
        result(
            f"2,000-step loop slowdown, {label}",
            ours_slow,
            "%",
            their_slow,
            target="< 5%" if which == 0 else "",
            higher_is_better=False,
            note=note,
        )


def slowdown(times: list[float], baseline: list[float]) -> float:
    return 100 * (statistics.median(times) / statistics.median(baseline) - 1)


if __name__ == "__main__":
    main()
