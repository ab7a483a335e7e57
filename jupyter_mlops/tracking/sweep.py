"""Sweeps: run one piece of code once per configuration of a search space, each as a child run of one
parent run, in this process or in parallel worker processes.

    sweep = Sweep(code, space, SweepOptions(trials=20, seed=1, objective="acc"), track, namespace=user_ns)
    result = sweep.run(on_trial=print)      # result.table, result.best, result.parent_id

A configuration is applied by rewriting the code's top-level literal assignments (what ``-p`` does), so
each child run's source is exactly the code that ran. A trial that fails is recorded failed and the sweep
goes on; Ctrl-C stops it, the trial in progress and the parent recorded killed.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import entities as ent
from ..errors import InvalidValue
from . import api
from .capture.code import analyse, rewrite
from .capture.context import HistoryCell
from .capture.environment import EnvironmentWatch
from .space import MAX_CONFIGURATIONS, Space
from .tracked import TrackedCode, TrackOptions, notify, user_traceback

if TYPE_CHECKING:
    import pandas as pd

BACKENDS = ("loky", "dask", "ray")
DEFAULT_TRIALS = 10


@dataclass
class SweepOptions:
    """How to sweep: draws per grid point, seed, the metric to optimise, and where trials run."""

    trials: int | None = None  # random draws per grid point (default 10 when there are --random keys)
    seed: int | None = None  # None: a fresh seed, recorded on the parent so the sweep can be repeated
    objective: str | None = None
    minimize: bool = False
    jobs: int = 1
    backend: str = "loky"  # with jobs > 1: loky (local processes), dask or ray (the user's cluster)


@dataclass
class Trial:
    """One configuration and how its run ended."""

    number: int
    config: dict[str, Any]
    run_id: str | None = None
    status: str = ent.RUNNING
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # the last line of the traceback when it failed


class Sweep:
    """A sweep of ``code`` (a cell or a script) over ``space``; see the module docstring."""

    def __init__(
        self,
        code: str,
        space: Space,
        options: SweepOptions,
        track: TrackOptions,
        *,
        namespace: dict[str, Any],
        history: Sequence[HistoryCell] = (),
        to_python: Callable[[str], str] | None = None,
        notebook: str | None = None,
        magic: str | None = None,
        environment: EnvironmentWatch | None = None,
    ) -> None:
        self.code, self.space, self.options, self.track = code, space, options, track
        self.namespace, self.history, self.notebook, self.magic = namespace, history, notebook, magic
        self.environment = environment
        self.to_python = to_python or (lambda source: source)
        self._check()
        self.seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
        trials = options.trials or DEFAULT_TRIALS
        self.configurations = space.configurations(trials, self.seed)
        self.parent_name = "sweep"  # the sweep's run's name, once it started: trials are PARENT-1, ...
        self.inputs: list[tuple[str, str, str, str, str]] | None = None

    def _check(self) -> None:
        """Refuse, before any run is created, what cannot work."""
        options = self.options
        if not self.space.keys:
            raise InvalidValue("a sweep needs --grid KEY=[...] or --random KEY=DIST")
        if options.trials is not None and (options.trials < 1 or not self.space.random):
            raise InvalidValue(
                "--trials N sets how many --random draws to make (N >= 1); "
                "a --grid alone runs each point once"
            )
        if options.jobs < 1 and options.jobs != -1:
            raise InvalidValue(
                f"--jobs takes a number of processes >= 1 (or -1 for all cores), got {options.jobs}"
            )
        if options.backend not in BACKENDS:
            raise InvalidValue(f"--backend is one of {', '.join(BACKENDS)}, got {options.backend!r}")
        if options.backend != "loky":
            from .trial import check_backend

            check_backend(options.backend)
        size = self.space.size(options.trials or DEFAULT_TRIALS)
        if size > MAX_CONFIGURATIONS:
            raise InvalidValue(
                f"the sweep has {size:,} configurations, more than {MAX_CONFIGURATIONS:,}: "
                "narrow the grid or use --random with --trials"
            )
        params = analyse(self.to_python(self.code)).params
        missing = [k for k in self.space.keys if k not in params]
        if missing:
            have = ", ".join(params) or "none"
            raise InvalidValue(
                f"cannot sweep {missing[0]}: the cell has no top-level literal assignment "
                f"`{missing[0]} = ...`; its parameters are: {have}"
            )

    # -- running -----------------------------------------------------------------------------------
    def run(self, on_trial: Callable[[Trial], None] | None = None) -> SweepResult:
        """Run every trial; ``on_trial`` is called in this thread as each one ends."""
        parent = self._parent()
        parent_run = parent.start()
        self.parent_name = self.track.name or (parent_run.name if parent_run else "sweep")
        # the trials read the same data as the sweep: fingerprinted once, for all of them
        self.inputs = parent.input_fingerprints() if self.track.data else None
        trials: list[Trial] = []
        error: BaseException | None = None
        try:
            for trial in self._trials(parent_run.id if parent_run else None):
                trials.append(trial)
                if on_trial is not None:
                    on_trial(trial)
        except BaseException as err:  # Ctrl-C or a broken backend: the parent says so, then it goes up
            error = err
            raise
        finally:
            result = SweepResult(parent_run.id if parent_run else None, trials, self)
            self._finish_parent(parent, result, error)
        return result

    def _parent(self) -> TrackedCode:
        params: dict[str, Any] = {
            k: v for k, v in analyse(self.to_python(self.code)).params.items() if k not in self.space.keys
        }
        params.update({f"sweep.{k}": v for k, v in self.space.describe().items()})
        params["sweep.seed"] = self.seed
        if self.space.random:
            params["sweep.trials"] = self.options.trials or DEFAULT_TRIALS
        kind = "+".join(k for k, on in (("grid", self.space.grid), ("random", self.space.random)) if on)
        options = dataclasses.replace(
            self.track, tags={**self.track.tags, "sweep": kind}, params=params, values=False, quiet=True
        )
        return self.tracked(self.code, options)

    def tracked(self, code: str, options: TrackOptions, inputs: Any = None) -> TrackedCode:
        return TrackedCode(
            code,
            options,
            namespace=self.namespace,
            history=self.history,
            python=self.to_python(code),
            notebook=self.notebook,
            magic=self.magic,
            environment=self.environment,
            inputs=inputs,
        )

    def child_options(self, parent_id: str | None, number: int) -> TrackOptions:
        """How trial ``number`` is tracked: a child of the sweep's run, named after it."""
        return dataclasses.replace(
            self.track, name=f"{self.parent_name}-{number}", parent=parent_id, quiet=True
        )

    def _trials(self, parent_id: str | None) -> Any:
        if self.options.jobs == 1 and self.options.backend == "loky":
            yield from self._sequential(parent_id)
        else:
            from .trial import parallel_trials

            yield from parallel_trials(self, parent_id)

    def _sequential(self, parent_id: str | None) -> Any:
        for number, config in enumerate(self.configurations, start=1):
            code = rewrite(self.code, config)
            tracked = self.tracked(code, self.child_options(parent_id, number), self.inputs)
            run = tracked.start()
            error = execute(tracked.python, self.namespace)
            tracked.finish(error)
            trial = Trial(number, config, run.id if run else None)
            finish_trial(trial, error)
            if isinstance(error, KeyboardInterrupt):
                raise error
            yield trial

    def _finish_parent(self, parent: TrackedCode, result: SweepResult, error: BaseException | None) -> None:
        run = parent.run
        if run is None:
            return
        best = result.best
        try:
            if best is not None and self.options.objective in best.metrics:
                run.log_metric(f"best.{self.options.objective}", best.metrics[self.options.objective])
            tags = {
                "sweep.finished": str(result.count(ent.FINISHED)),
                "sweep.failed": str(result.count(ent.FAILED)),
            }
            if best is not None and best.run_id:
                tags["sweep.best_run"] = best.run_id
            if self.options.objective:
                tags["sweep.objective"] = (
                    f"{'min' if self.options.minimize else 'max'} {self.options.objective}"
                )
            run.set_tags(tags)
            if result.trials:
                run._store_artifact("sweep.csv", result.table.to_csv(index=False).encode(), "table")
        except Exception as err:  # the trials are recorded; say what the parent lacks
            notify(f"sweep run {run.id[:8]} is missing its summary: {err}")
        if error is None and result.trials and result.count(ent.FINISHED) == 0:
            error = RuntimeError(
                f"all {len(result.trials)} trials failed; the first: {result.trials[0].error}"
            )
        parent.finish(error)


def execute(python: str, namespace: dict[str, Any]) -> BaseException | None:
    """Run ``python`` in ``namespace``; the exception it raised, or None."""
    try:
        exec(compile(python, "<trial>", "exec"), namespace)  # the user's own cell
    except BaseException as err:  # the trial's outcome, recorded on its run
        return err
    return None


def finish_trial(trial: Trial, error: BaseException | None, metrics: dict[str, Any] | None = None) -> None:
    """Fill in the trial's status, error and metrics (read back from its run unless given)."""
    if isinstance(error, KeyboardInterrupt):
        trial.status = ent.KILLED
    elif error is not None and not (isinstance(error, SystemExit) and error.code in (0, None)):
        trial.status = ent.FAILED
        trial.error = user_traceback(error).strip().splitlines()[-1]
    else:
        trial.status = ent.FINISHED
    if metrics is None and trial.run_id:
        metrics = api.get_run(trial.run_id).metrics
    trial.metrics = {k: v for k, v in (metrics or {}).items() if v is not None}


class SweepResult:
    """What a sweep did: the parent run, each trial, the best one and a summary table."""

    def __init__(self, parent_id: str | None, trials: list[Trial], sweep: Sweep) -> None:
        self.parent_id = parent_id
        self.trials = sorted(trials, key=lambda t: t.number)
        self.objective = sweep.options.objective
        self.minimize = sweep.options.minimize
        self.keys = sweep.space.keys

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.trials)

    @property
    def best(self) -> Trial | None:
        """The finished trial with the best objective (None without ``--objective``/``--minimize``)."""
        if not self.objective:
            return None
        scored = [t for t in self.trials if _finite(t.metrics.get(self.objective))]
        if not scored:
            return None
        pick = min if self.minimize else max
        return pick(scored, key=lambda t: t.metrics[self.objective])  # type: ignore[index]

    @property
    def table(self) -> pd.DataFrame:
        """One row per trial: trial, run_id, status, the swept parameters, every metric; best first."""
        import pandas as pd

        metrics = sorted({k for t in self.trials for k in t.metrics})
        rows = [
            {
                "trial": t.number,
                "run_id": t.run_id,
                "status": t.status,
                **{k: t.config.get(k) for k in self.keys},
                **{k: t.metrics.get(k) for k in metrics},
                "error": t.error,
            }
            for t in self.trials
        ]
        frame = pd.DataFrame(rows, columns=["trial", "run_id", "status", *self.keys, *metrics, "error"])
        if self.objective in frame:
            frame = frame.sort_values(
                self.objective, ascending=self.minimize, na_position="last", kind="stable"
            )
        if frame["error"].isna().all():
            frame = frame.drop(columns="error")
        return frame.reset_index(drop=True)

    def headline(self) -> str:
        done = f"{self.count(ent.FINISHED)} of {len(self.trials)} trials finished"
        failed = self.count(ent.FAILED)
        if failed:
            done += f", {failed} failed"
        best = self.best
        if best is not None and self.objective:
            config = ", ".join(f"{k}={_short(v)}" for k, v in best.config.items())
            done += f"; best {self.objective}={best.metrics[self.objective]:.6g} with {config}"
            done += f" (run {(best.run_id or '')[:8]})"
        parent = f"sweep {self.parent_id[:8]}: " if self.parent_id else "sweep: "
        return parent + done

    def __repr__(self) -> str:
        return f"{self.headline()}\n{self.table.to_string(index=False)}"

    def _repr_html_(self) -> str:
        from html import escape

        return f"<p>{escape(self.headline())}</p>{self.table.to_html(index=False, na_rep='')}"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def describe_trial(trial: Trial, total: int) -> str:
    """One line per finished trial: what the console shows while a sweep runs."""
    config = " ".join(f"{k}={_short(v)}" for k, v in trial.config.items())
    tail = trial.error if trial.error else ", ".join(f"{k}={v:.4g}" for k, v in sorted(trial.metrics.items()))
    return f"trial {trial.number}/{total} {config}: {trial.status}" + (f" ({tail})" if tail else "")


def _short(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)
