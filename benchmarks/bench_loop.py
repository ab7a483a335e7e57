"""Slowdown of a 2,000-step loop of ~0.08 ms/step when each step logs one metric (flush included)."""

from __future__ import annotations

import statistics
import time

import numpy as np
from common import has_mlflow, quiet_mlflow, result, workdir

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


def loop(step, log=None, finish=None) -> float:
    started = time.perf_counter()
    for i in range(STEPS):
        loss = step()
        if log is not None:
            log("loss", loss, i)
    if finish is not None:
        finish()
    return time.perf_counter() - started


def main() -> None:
    import jupyter_mlops as mlops

    step, per_step = make_step()
    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    plain, ours, theirs = [], [], []
    log_mlflow = None
    if has_mlflow():
        import mlflow

        quiet_mlflow()
        mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
        mlflow.set_experiment("bench")

        def log_mlflow(key: str, value: float, i: int) -> None:
            mlflow.log_metric(key, value, step=i, synchronous=False)

    for _ in range(7):  # interleaved, so drift in machine speed hits all three alike
        plain.append(loop(step))
        with mlops.start_run("loop") as run:
            ours.append(loop(step, run.log_metric, mlops.flush))
        if log_mlflow is not None:
            with mlflow.start_run():
                theirs.append(loop(step, log_mlflow, mlflow.flush_async_logging))
    base = statistics.median(plain)
    ours_slow = 100 * (statistics.median(ours) / base - 1)
    note = f"step {per_step * 1e3:.3f} ms"
    if theirs:
        their_slow = 100 * (statistics.median(theirs) / base - 1)
        result(
            "2,000-step loop slowdown (MLflow async)",
            ours_slow,
            "%",
            their_slow,
            target="< 5%",
            higher_is_better=False,
            note=note,
        )
    else:
        result("2,000-step loop slowdown", ours_slow, "%", target="< 5%", higher_is_better=False, note=note)


if __name__ == "__main__":
    main()
