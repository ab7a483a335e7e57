"""One tracked execution of code, a notebook cell or a script: what ``%%experiment`` and
``jupyter mlops run`` share.

    tracked = TrackedCode(code, TrackOptions("churn"), namespace=user_ns, history=cells)
    tracked.start()                  # run created: code, context slice, params, inputs, environment
    ...                              # the caller executes the code in ``namespace``
    tracked.finish(error)            # final metrics, models, figures, output, status

Tracking never breaks the user's code: ``start`` and ``finish`` turn their own failures into one-line
notices on stderr, and ``finish`` records the status even when something else could not be saved.
"""

from __future__ import annotations

import hashlib
import json
import sys
import traceback
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import entities as ent
from ..masking import mask_text
from . import api
from .capture.code import CodeFacts, analyse
from .capture.context import HistoryCell, context_slice
from .capture.environment import EnvironmentWatch
from .capture.fingerprint import fingerprint, kind_of
from .capture.outputs import OutputCapture, candidate_models, final_metrics, init_arguments, serialise_model
from .run import ActiveRun

_FIGURE_SUFFIX = {
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "application/vnd.plotly.v1+json": ".plotly.json",
}


@dataclass
class TrackOptions:
    """How to track: where to, under which name, and what to leave out."""

    experiment: str
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    models: bool = True
    data: bool = True
    quiet: bool = False
    parent: str | None = None  # a sweep's trials are child runs of the sweep's run
    params: Mapping[str, Any] | None = None  # recorded instead of the code's literals (a sweep's run)
    values: bool = True  # record the final metrics and models the code leaves behind
    resume: str | None = None  # continue this run (``--resume``) instead of creating one


@dataclass
class Summary:
    """What a tracked execution recorded, for the one line shown after it."""

    run_id: str
    name: str
    experiment: str
    status: str
    params: int = 0
    metrics: int = 0
    inputs: int = 0
    models: int = 0
    figures: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        counts = [
            f"{n} {what}{'' if n == 1 else 's'}"
            for n, what in (
                (self.params, "param"),
                (self.metrics, "metric"),
                (self.inputs, "input"),
                (self.models, "model"),
                (self.figures, "figure"),
            )
            if n
        ]
        tail = f" ({', '.join(counts)})" if counts else ""
        return (
            f"jupyter_mlops: run {self.run_id[:8]} {self.name!r} in {self.experiment!r} {self.status}{tail}"
        )


def notify(message: str) -> None:
    """One line on stderr: how tracking tells the user what it could not do."""
    print(f"jupyter_mlops: {message}", file=sys.stderr)


class TrackedCode:
    """Tracks one execution of ``code`` in ``namespace``; see the module docstring.

    ``code`` is stored as the run's source; ``python`` (default: ``code``) is what is analysed for
    parameters, reads and assignments when the code has IPython syntax such as ``%time``."""

    def __init__(
        self,
        code: str,
        options: TrackOptions,
        *,
        namespace: MutableMapping[str, Any],
        history: Sequence[HistoryCell] = (),
        python: str | None = None,
        notebook: str | None = None,
        magic: str | None = None,
        environment: EnvironmentWatch | None = None,
        inputs: list[tuple[str, str, str, str, str]] | None = None,
    ) -> None:
        self.code = code
        self.python = code if python is None else python  # what is analysed: IPython syntax turned to Python
        self.options = options
        self.namespace = namespace
        self.history = history
        self.notebook = notebook
        self.magic = magic
        self.environment = environment
        self.run: ActiveRun | None = None
        self.facts: CodeFacts | None = None
        self._output = OutputCapture()
        self._input_count = 0
        self._inputs = inputs  # fingerprints taken once for all trials of a sweep

    # -- before the code runs ----------------------------------------------------------------------
    def start(self) -> ActiveRun | None:
        """Create the run; on failure say why on stderr and return None (the code runs untracked)."""
        try:
            self.run = self._create()
        except Exception as err:  # tracking must never stop the user's code
            notify(f"not tracking this run: {mask_text(str(err))}")
            return None
        self._output.start()
        return self.run

    def _create(self) -> ActiveRun:
        try:
            self.facts = analyse(self.python)
        except (SyntaxError, ValueError, RecursionError):
            self.facts = None  # the run is recorded, and fails with the user's own SyntaxError
        reads = sorted(self.facts.reads) if self.facts else []
        if self.options.resume:
            from .resume import reopen

            return reopen(self.options.resume, self.code)
        inputs = self.input_fingerprints() if self.options.data else []
        self._input_count = len(inputs)
        context = {
            "magic": self.magic,
            "cells": [
                {"execution_count": n, "source": mask_text(src)}
                for n, src in context_slice(self.history, reads)
            ],
            # names the code assigns: after it ran, those holding numbers are its final metrics
            "assigned": list(self.facts.assigned) if self.facts else [],
        }
        environment_id = self._environment()
        params = self.options.params
        return api._begin(
            self.options.experiment,
            self.options.name,
            params if params is not None else self.facts.params if self.facts else None,
            self.options.tags,
            self.options.parent,
            source=mask_text(self.code),
            source_hash=hashlib.sha256(self.code.encode()).hexdigest(),
            notebook=self.notebook,
            context=json.dumps(context),
            environment_id=environment_id,
            inputs=inputs,
        )

    def input_fingerprints(self) -> list[tuple[str, str, str, str, str]]:
        """Fingerprints of the data the code reads: (name, id, shape, schema, profile) as JSON."""
        if self._inputs is None:
            self._inputs = self._fingerprints()
        return self._inputs

    def _fingerprints(self) -> list[tuple[str, str, str, str, str]]:
        try:
            names = sorted(analyse(self.python).reads)
        except (SyntaxError, ValueError, RecursionError):
            return []
        found = []
        for name in names:
            value = self.namespace.get(name)
            if kind_of(value) is None:
                continue
            fp = fingerprint(value)
            if fp is not None:
                found.append(
                    (name, fp.id, json.dumps(fp.shape), json.dumps(fp.schema), json.dumps(fp.profile))
                )
        return found

    def _environment(self) -> str | None:
        if self.environment is None:
            return None
        current = self.environment.current()
        if current is None:
            return None
        env_id, content = current
        api._current().store.save_environment(env_id, content)
        return env_id

    # -- after the code ran ------------------------------------------------------------------------
    def finish(
        self, error: BaseException | None, figures: Sequence[tuple[str, bytes]] = ()
    ) -> Summary | None:
        """Record what the code left behind and its status; print the summary line unless quiet."""
        run = self.run
        if run is None:
            return None
        output = self._output.stop()
        summary = Summary(run.id, run.name, run.experiment, ent.RUNNING)
        facts = self.facts
        if facts:
            summary.params = len(facts.params)
        summary.inputs = self._input_count
        steps: list[tuple[str, Callable[[], None]]] = []
        if error is None and facts is not None and self.options.values:
            steps.append(("final metrics", lambda: self._final_metrics(run, facts, summary)))
            if self.options.models:
                steps.append(("models", lambda: self._models(run, facts, summary)))
        if figures:
            steps.append(("figures", lambda: self._figures(run, figures)))
            summary.figures = len(figures)
        steps.append(("output", lambda: self._outputs(run, output)))
        for what, step in steps:
            try:
                step()
            except Exception as err:  # one missing part must not lose the others or the status
                summary.problems.append(f"{what}: {mask_text(str(err))}")
        status, text = _status(error)
        try:
            run.end(status, text)
        except Exception as err:  # reported in the summary; the cell already ran
            summary.problems.append(f"status: {mask_text(str(err))}")
        summary.status = status
        if summary.problems:
            notify(f"run {run.id[:8]} is missing " + "; ".join(summary.problems))
        if not self.options.quiet:
            print(summary.line())
        return summary

    def _final_metrics(self, run: ActiveRun, facts: CodeFacts, summary: Summary) -> None:
        # a variable whose value the cell just logged (``loss`` in a training loop) is not appended once
        # more: it is already the series' last point
        metrics = {
            k: v for k, v in final_metrics(facts.assigned, self.namespace).items() if run._last_logged(k) != v
        }
        if metrics:
            run.log_metrics(metrics)
        summary.metrics = len(metrics)

    def _models(self, run: ActiveRun, facts: CodeFacts, summary: Summary) -> None:
        for variable, flavor, model in candidate_models(facts.assigned, self.namespace):
            data, suffix = serialise_model(flavor, model)
            cls = type(model)
            run._store_artifact(f"models/{variable}{suffix}", data, f"model.{flavor}")
            about: dict[str, Any] = {
                "variable": variable,
                "flavor": flavor,
                "class": f"{cls.__module__}.{cls.__qualname__}",
                "file": f"models/{variable}{suffix}",
                "format": "state_dict" if flavor == "torch" else "pickle",
                "library_version": _version_of(cls.__module__),
            }
            if flavor == "torch":
                about["init"] = init_arguments(model)
            api._remember_model(model, run.id, variable)
            run._store_artifact(f"models/{variable}.json", json.dumps(about, indent=2).encode(), "model.meta")
            summary.models += 1

    def _figures(self, run: ActiveRun, figures: Sequence[tuple[str, bytes]]) -> None:
        for i, (mime, data) in enumerate(figures, start=1):
            run._store_artifact(f"figures/figure-{i}{_FIGURE_SUFFIX.get(mime, '.bin')}", data, "figure")

    def _outputs(self, run: ActiveRun, output: Mapping[str, str]) -> None:
        for channel, text in output.items():
            if text:
                if self._output.truncated[channel]:
                    text += f"\n[... cut at {self._output.limit:,} characters]\n"
                run._store_artifact(f"{channel}.txt", mask_text(text).encode(), "log")


def _status(error: BaseException | None) -> tuple[str, str | None]:
    if error is None:
        return ent.FINISHED, None
    if isinstance(error, KeyboardInterrupt):
        return ent.KILLED, "KeyboardInterrupt"
    if isinstance(error, SystemExit) and error.code in (0, None):
        return ent.FINISHED, None
    return ent.FAILED, user_traceback(error)


def user_traceback(error: BaseException) -> str:
    """The traceback of ``error`` from the user's first frame on (the shell's own frames left out)."""
    tb = error.__traceback__
    while tb is not None and _is_machinery(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))


def _is_machinery(filename: str) -> bool:
    return any(part in filename for part in ("/IPython/", "/jupyter_mlops/tracking/"))


def _version_of(module: str) -> str | None:
    from importlib import metadata

    package = {"sklearn": "scikit-learn"}.get(module.split(".", 1)[0], module.split(".", 1)[0])
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
