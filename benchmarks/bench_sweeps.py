"""Sweeps: the tracking overhead per trial of a 50-trial grid of a trivial cell (a parent run and 50 child
runs, each with its code, params, metric and status), beside MLflow logging the same parent and 50 nested
runs by hand; and a CPU-bound 50-trial sweep with ``--jobs 2`` against the same sweep run sequentially."""

from __future__ import annotations

import contextlib
import io
import statistics
import time

from common import has_mlflow, mlflow_experiment, quiet_mlflow, result, tracked_shell, workdir

TRIVIAL = "x = 0\nlr = 0.1\ny = x * lr + 1.0\n"
# About 0.2 s of pure-Python work per trial.
CPU_BOUND = "x = 0\nn = 2_000_000\ntotal = float(sum(i * i % 7 for i in range(n + x)))\n"
GRID = "--grid x=[" + ",".join(str(i) for i in range(50)) + "]"


def timed(ip, source: str) -> float:
    with contextlib.redirect_stdout(io.StringIO()):  # the sweep's table, shown as the cell's Out[]
        started = time.perf_counter()
        ip.run_cell(source, store_history=True).raise_error()
        return time.perf_counter() - started


def overhead_per_trial(ip, repeats: int = 5) -> float:
    """Median seconds of tracking per trial: the sweep's time less 50 untracked runs of the cell."""
    timed(ip, f"%%experiment warm --grid x=[1,2] --quiet\n{TRIVIAL}")
    sweeps, plains = [], []
    for _ in range(repeats):
        sweeps.append(timed(ip, f"%%experiment bench {GRID} --quiet\n{TRIVIAL}"))
        plains.append(sum(timed(ip, TRIVIAL) for _ in range(50)))
    return (statistics.median(sweeps) - statistics.median(plains)) / 50


def mlflow_nested(repeats: int = 5) -> float:
    """Median seconds per trial of MLflow: a parent run and 50 nested runs with 2 params and a metric."""
    import mlflow

    quiet_mlflow()
    folder = workdir()
    mlflow_experiment(folder)
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        with mlflow.start_run():
            for x in range(50):
                with mlflow.start_run(nested=True):
                    mlflow.log_params({"x": x, "lr": 0.1})
                    mlflow.log_metric("y", x * 0.1 + 1.0)
        times.append((time.perf_counter() - started) / 50)
    return statistics.median(times[1:])


def _work(_: int) -> float:
    return float(sum(i * i % 7 for i in range(2_000_000)))


def machine_speedup(repeats: int = 3) -> float:
    """The speed-up two bare processes get on the same work here: the ceiling for --jobs 2."""
    from concurrent.futures import ProcessPoolExecutor

    ratios = []
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_work, range(2)))
        for _ in range(repeats):
            started = time.perf_counter()
            [_work(i) for i in range(20)]
            sequential = time.perf_counter() - started
            started = time.perf_counter()
            list(pool.map(_work, range(20)))
            ratios.append(sequential / (time.perf_counter() - started))
    return statistics.median(ratios)


def parallel_speedup(ip, repeats: int = 3) -> tuple[float, float]:
    """(median seconds sequential, median seconds with --jobs 2) of the CPU-bound 50-trial sweep."""
    timed(ip, f"%%experiment warm --grid x=[1,2] --jobs 2 --quiet\n{CPU_BOUND}")  # start the workers
    sequential, parallel = [], []
    for _ in range(repeats):
        sequential.append(timed(ip, f"%%experiment cpu {GRID} --quiet\n{CPU_BOUND}"))
        parallel.append(timed(ip, f"%%experiment cpu {GRID} --jobs 2 --quiet\n{CPU_BOUND}"))
    return statistics.median(sequential), statistics.median(parallel)


if __name__ == "__main__":
    ceiling = machine_speedup()  # before the shell: IPython takes over __main__, which the pool pickles from
    ip = tracked_shell()
    ours = overhead_per_trial(ip) * 1000
    theirs = mlflow_nested() * 1000 if has_mlflow() else None
    print(
        f"tracking per trial: {ours:.2f} ms" + (f" (MLflow nested runs: {theirs:.2f} ms)" if theirs else "")
    )
    result(
        "sweep overhead per trial (50 trivial trials)",
        ours,
        "ms",
        mlflow=theirs,
        target="< 30 ms",
        higher_is_better=False,
        note="MLflow: a parent and 50 nested runs with 2 params and a metric, logged by hand, no capture",
    )
    sequential, parallel = parallel_speedup(ip)
    print(f"CPU-bound 50-trial sweep: sequential {sequential:.2f} s, --jobs 2 {parallel:.2f} s")
    print(f"two bare processes on the same work: {ceiling:.2f}x")
    result(
        "sweep speed-up with --jobs 2 (50 CPU-bound trials, 2 cores)",
        sequential / parallel,
        "x",
        target=">= 1.6x",
        note=f"sequential {sequential:.1f} s, --jobs 2 {parallel:.1f} s; two bare processes: {ceiling:.2f}x",
    )
