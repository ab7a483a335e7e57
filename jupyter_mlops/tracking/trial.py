"""Sweep trials in other processes: joblib's local processes (loky), or the user's Dask or Ray cluster.

Each job carries the trial's code, the names it reads from the notebook (cloudpickle: functions and
classes defined in the notebook travel by value) and the database to track to. A name that cannot be
pickled (a lock, an open file) is rebuilt in the worker by running the context-slice cells that define
it. The worker tracks the trial itself, as a child run of the sweep's run, and returns how it ended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError
from . import api
from .capture.code import analyse, rewrite
from .capture.context import HistoryCell, context_slice
from .tracked import TrackedCode, TrackOptions

if TYPE_CHECKING:
    from .sweep import Sweep, Trial


@dataclass
class TrialJob:
    number: int
    config: dict[str, Any]
    code: str
    python: str
    options: TrackOptions
    url: str
    artifacts: str
    namespace: bytes  # cloudpickle of {name: value} for the names the code reads
    rebuild: list[str]  # Python source of the cells that rebuild the names that could not be pickled
    history: list[HistoryCell]
    notebook: str | None
    magic: str | None
    environment: tuple[str, str] | None
    inputs: list[tuple[str, str, str, str, str]] | None


@dataclass
class TrialOutcome:
    number: int
    run_id: str | None
    error: BaseException | None
    metrics: dict[str, float] | None  # read back in the worker, so the notebook need not


def parallel_trials(sweep: Sweep, parent_id: str | None) -> Iterator[Trial]:
    """Run the sweep's trials through joblib and yield each as it ends (in the order they end)."""
    from .sweep import Trial, finish_trial

    jobs = list(_jobs(sweep, parent_id))
    backend = sweep.options.backend
    n_jobs = (
        sweep.options.jobs if sweep.options.jobs != 1 or backend == "loky" else -1
    )  # a cluster: all of it
    outcomes = _on_ray(jobs, n_jobs) if backend == "ray" else _on_joblib(jobs, n_jobs, backend)
    for outcome in outcomes:
        job = jobs[outcome.number - 1]
        trial = Trial(outcome.number, job.config, outcome.run_id)
        finish_trial(trial, outcome.error, outcome.metrics)
        yield trial


def _on_joblib(jobs: list[TrialJob], n_jobs: int, backend: str) -> Iterator[TrialOutcome]:
    """Through joblib: its own worker processes (loky), or the Dask cluster the kernel is connected to."""
    import joblib

    check_backend(backend)
    config = joblib.parallel_config(backend=backend) if backend != "loky" else contextlib.nullcontext()
    with config:
        yield from joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            joblib.delayed(run_trial)(job) for job in jobs
        )


def _on_ray(jobs: list[TrialJob], n_jobs: int) -> Iterator[TrialOutcome]:
    """As Ray tasks, at most ``n_jobs`` at once (-1: as many as the cluster takes), in the order they end."""
    import ray

    check_backend("ray")
    remote = ray.remote(run_trial)
    waiting = list(jobs)
    running: list[Any] = []
    limit = len(jobs) if n_jobs == -1 else n_jobs
    while waiting or running:
        while waiting and len(running) < limit:
            running.append(remote.remote(waiting.pop(0)))
        done, running = ray.wait(running, num_returns=1)
        yield ray.get(done[0])


def _jobs(sweep: Sweep, parent_id: str | None) -> Iterator[TrialJob]:
    import cloudpickle

    python = sweep.to_python(sweep.code)
    reads = sorted(analyse(python).reads)
    shipped: dict[str, Any] = {}
    missing: list[str] = []
    for name in reads:
        if name not in sweep.namespace:
            continue
        try:
            cloudpickle.dumps(sweep.namespace[name])
        except Exception:  # rebuilt in the worker from the cells that define it
            missing.append(name)
        else:
            shipped[name] = sweep.namespace[name]
    namespace = cloudpickle.dumps(shipped)
    by_count = {count: parsed for count, parsed, _ in sweep.history}
    rebuild = [by_count[count] for count, _ in context_slice(sweep.history, missing)] if missing else []
    needed = {count for count, _ in context_slice(sweep.history, reads)}
    history = [c for c in sweep.history if c[0] in needed]  # the context slice only: less to ship and read
    settings = api.tracking_settings()
    environment = sweep.environment.current() if sweep.environment is not None else None
    for number, config in enumerate(sweep.configurations, start=1):
        code = rewrite(sweep.code, config)
        options = sweep.child_options(parent_id, number)
        yield TrialJob(
            number,
            config,
            code,
            sweep.to_python(code),
            options,
            settings.url,
            str(settings.artifacts),
            namespace,
            rebuild,
            history,
            sweep.notebook,
            sweep.magic,
            environment,
            sweep.inputs,
        )


def check_backend(name: str) -> None:
    """Refuse ``--backend dask``/``ray`` when the kernel is connected to no such cluster."""
    if name == "dask":
        try:
            from distributed import get_client
        except ImportError:
            raise MlopsError(
                "--backend dask needs dask.distributed: pip install 'jupyter_mlops[dask]'"
            ) from None
        try:
            get_client()
        except ValueError:
            raise MlopsError(
                "--backend dask sends trials to the Dask cluster this kernel is connected to, and there is "
                "none: run `from dask.distributed import Client; client = Client('tcp://HOST:8786')` first"
            ) from None
    elif name == "ray":
        from ..clusters import connected_ray

        connected_ray("--backend ray")


# -- in the worker ---------------------------------------------------------------------------------


class _FixedEnvironment:
    """The notebook kernel's environment, recorded for the trials it sent to workers."""

    def __init__(self, current: tuple[str, str] | None) -> None:
        self._current = current

    def current(self) -> tuple[str, str] | None:
        return self._current


def run_trial(job: TrialJob) -> TrialOutcome:
    """Track one trial in this (worker) process: what the joblib workers run."""
    import cloudpickle

    from .sweep import execute

    _connect(job.url, job.artifacts)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    error: BaseException | None = None
    try:
        namespace.update(cloudpickle.loads(job.namespace))
    except Exception as err:  # e.g. a module the worker does not have
        error = MlopsError(
            f"trial {job.number}: the notebook's values could not be loaded in the worker: {err}"
        )
    for source in job.rebuild if error is None else []:
        error = execute(source, namespace)
        if error is not None:
            error = MlopsError(f"trial {job.number}: rebuilding a value in the worker failed: {error!r}")
            break
    tracked = TrackedCode(
        job.code,
        dataclasses.replace(job.options, quiet=True),
        namespace=namespace,
        history=job.history,
        python=job.python,
        notebook=job.notebook,
        magic=job.magic,
        environment=_FixedEnvironment(job.environment),  # type: ignore[arg-type]
        inputs=job.inputs,
    )
    run = tracked.start()
    if error is None:
        error = execute(job.python, namespace)
    tracked.finish(error)
    metrics = api.get_run(run.id).metrics if run else None
    return TrialOutcome(job.number, run.id if run else None, _portable(error), metrics)


def _connect(url: str, artifacts: str) -> None:
    """Track to the sweep's database (once per worker process)."""
    current = api._tracking
    if current is None or current.settings.url != url or str(current.settings.artifacts) != artifacts:
        api.connect(url, artifacts)


def _portable(error: BaseException | None) -> BaseException | None:
    """The error itself when it pickles back to the notebook, else one that says what it was."""
    if error is None:
        return None
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
