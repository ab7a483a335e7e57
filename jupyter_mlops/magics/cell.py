"""``%%experiment`` cells: the first line is parsed and removed before IPython compiles the cell, and
the cell then runs as an ordinary cell between a pre- and a post-run hook.

Running the user's code as the cell itself, instead of from inside a cell magic, is what keeps the cell
exactly as it was: same execution count, same outputs and ``Out[]``, same traceback display, and a
failing cell still fails ("Run All" stops there). The magic line becomes an empty line so line numbers
in tracebacks match the cell the user sees.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..errors import InvalidValue, MlopsError
from ..masking import is_secret_key, mask_text
from ..tracking import api
from ..tracking.capture.code import parse_pairs, rewrite
from ..tracking.capture.environment import EnvironmentWatch
from ..tracking.tracked import TrackedCode, TrackOptions, notify

if TYPE_CHECKING:  # sweeps and resume load when a cell asks for them, not with the extension
    from ..tracking.space import Space
    from ..tracking.sweep import Sweep

HOOKS_ATTRIBUTE = "_jupyter_mlops_hooks"  # the attribute of the shell holding its hooks
_HEADER = re.compile(r"\A\s*%%experiment(?=\s|\Z)(?P<args>[^\n]*)(?:\n|\Z)")
_FIGURE_MIMES = ("image/png", "image/svg+xml", "application/vnd.plotly.v1+json")


@dataclass(frozen=True)
class Plan:
    """An ``%%experiment`` cell, parsed: its arguments and the code to run (``-p`` applied)."""

    header: str
    args: Any
    code: str
    overrides: dict[str, Any]
    tags: dict[str, Any]
    space: Space | None = None  # a sweep's search space (--grid/--random)


@functools.lru_cache(maxsize=64)
def plan(raw_cell: str, parse: Callable[[str], Any]) -> Plan | None:
    """The plan of ``raw_cell`` if its first line is ``%%experiment ...``, else None.

    ``parse`` turns the argument string into a namespace (raising UsageError); ``-p`` overrides are
    applied here so the transformer and the hooks agree on what runs."""
    match = _HEADER.match(raw_cell)
    if match is None or match["args"].rstrip().endswith("?"):  # `%%experiment?` is a help request
        return None
    args = parse(match["args"])
    try:
        overrides = parse_pairs(args.param, "-p")
        tags = parse_pairs(args.tag, "--tag", literal=False)
    except InvalidValue as err:
        raise UsageError(str(err)) from None
    body = raw_cell[match.end() :]
    if overrides:
        try:
            body = rewrite(body, overrides)
        except InvalidValue as err:
            raise UsageError(str(err)) from None
        except SyntaxError as err:
            raise UsageError(
                f"-p needs the cell to be plain Python so it can rewrite the assignment: line "
                f"{(err.lineno or 1) + 1}: {err.msg}"
            ) from None
    return Plan(_masked_header(match[0].rstrip("\n")), args, body, overrides, tags, _space(args))


_SWEEP_ONLY = ("trials", "seed", "objective", "minimize")


def _space(args: Any) -> Space | None:
    """The sweep's search space, or None when the cell is not a sweep; UsageError on bad arguments."""
    if not (args.grid or args.random):
        stray = [f"--{k}" for k in _SWEEP_ONLY if getattr(args, k) is not None]
        stray += ["--jobs"] if args.jobs != 1 else []
        if stray:
            raise UsageError(f"{stray[0]} belongs to a sweep: add --grid KEY=[...] or --random KEY=DIST")
        return None
    if args.resume is not None:
        raise UsageError("--resume continues one run; it cannot be combined with --grid or --random")
    if args.objective and args.minimize:
        raise UsageError(
            "give --objective METRIC (highest wins) or --minimize METRIC (lowest wins), not both"
        )
    from ..tracking.space import parse_space

    try:
        return parse_space(args.grid, args.random)
    except InvalidValue as err:
        raise UsageError(str(err)) from None


_ARG_PAIR = re.compile(r"(?P<key>[A-Za-z_][\w.-]{0,100})=(?P<value>'[^']*'|\"[^\"]*\"|\S+)")


def _masked_header(header: str) -> str:
    """The magic line as stored: values of secret-named ``-p``/``--tag`` pairs masked."""
    return mask_text(_ARG_PAIR.sub(lambda m: f"{m['key']}=***" if is_secret_key(m["key"]) else m[0], header))


class ExperimentHooks:
    """The input transformer and pre/post-run hooks that track ``%%experiment`` cells in one shell."""

    def __init__(self, shell: Any, magics: Any, parse: Callable[[str], Any]) -> None:
        self.shell = shell
        self.magics = magics
        self.parse = parse
        self.environment = EnvironmentWatch()
        self.tracked: TrackedCode | None = None
        self.figures: list[tuple[str, bytes]] = []
        self.live: list[Any] = []  # live charts of the cell in progress
        self._in_cell = False
        self._tracking_cell = False
        self._restore: list[Callable[[], None]] = []
        self._sweep: Sweep | None = None  # the sweep the transformed cell runs
        self._resume: str | None = None  # the run the cell continues (--resume)

    # -- installation ------------------------------------------------------------------------------
    def install(self) -> None:
        self.shell.input_transformers_cleanup.append(self.transform)
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        api._on_start.append(self.run_started)
        self.environment.start()

    def uninstall(self) -> None:
        if self.transform in self.shell.input_transformers_cleanup:
            self.shell.input_transformers_cleanup.remove(self.transform)
        for event, hook in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            with contextlib.suppress(ValueError):  # already gone
                self.shell.events.unregister(event, hook)
        with contextlib.suppress(ValueError):
            api._on_start.remove(self.run_started)

    # -- the cell ----------------------------------------------------------------------------------
    def transform(self, lines: list[str]) -> list[str]:
        """Replace the magic line by an empty line and apply ``-p``; other cells pass unchanged."""
        if not lines or not lines[0].lstrip().startswith("%%experiment"):
            return lines
        found = plan("".join(lines), self.parse)
        if found is None:
            return lines
        self._sweep, self._resume = None, None
        try:
            if found.space is not None:
                self._sweep = self._new_sweep(found)
                return [f"get_ipython().{HOOKS_ATTRIBUTE}.run_sweep()\n"]
            if found.args.resume is not None:
                from ..tracking import resume

                ref = found.args.resume or resume.last_unfinished(self._options(found).experiment)
                self._resume = resume.prepare(ref, found.code)
        except MlopsError as err:  # shown as a usage error: the cell does not run, nothing is stored
            raise UsageError(str(err)) from None
        body = found.code.splitlines(keepends=True)
        if body and body[0].startswith("%%"):  # another cell magic must stay first to be recognised
            return body
        return ["\n", *body]

    def run_started(self, run: Any) -> None:
        """A run started with ``mlops.start_run`` inside a cell gets a live chart too."""
        if self._in_cell and not self._tracking_cell and self.magics.live:
            chart = _live_chart(run)
            if chart is not None:
                self.live.append(chart)

    def pre_run_cell(self, info: Any) -> None:
        self.tracked = None
        self._in_cell = True
        raw = info.raw_cell or ""
        if "%%experiment" not in raw[:4096]:
            return
        try:
            found = plan(raw, self.parse)
        except UsageError:
            return  # the transformer shows it; the cell does not run
        if found is None or found.space is not None:
            return  # a sweep tracks its own runs
        if found.args.resume is not None and self._resume is None:
            return  # the transformer refused to resume: the cell does not run
        try:
            tracked = self._tracked(found, self._resume)
        except Exception as err:  # never stop the user's cell
            notify(f"not tracking this cell: {err}")
            return
        self.figures = []
        self._capture_displays()
        self._tracking_cell = True
        try:
            run = tracked.start()
        finally:
            self._tracking_cell = False
        if run is None:
            self._release_displays()
            return
        self.tracked = tracked
        if self.magics.live and not found.args.no_live and "log_metric" in found.code:
            chart = _live_chart(run)
            if chart is not None:
                self.live.append(chart)

    def post_run_cell(self, result: Any) -> None:
        self._in_cell = False
        tracked, self.tracked = self.tracked, None
        if tracked is not None:
            self._finish(tracked, result)
        charts, self.live = self.live, []
        for chart in charts:
            try:
                chart.close()
            except Exception as err:  # the run is recorded; only the chart is missing
                notify(f"live chart: {err}")

    def _finish(self, tracked: TrackedCode, result: Any) -> None:
        self._release_displays()
        error = result.error_in_exec or result.error_before_exec if result is not None else None
        try:
            tracked.finish(error, self.figures)
        except Exception as err:  # the cell already ran; say what is missing
            notify(f"could not finish run: {err}")
        self.figures = []

    def _options(self, found: Plan, resume_run: str | None = None) -> TrackOptions:
        args, magics = found.args, self.magics
        return TrackOptions(
            experiment=args.experiment or magics.default_experiment(),
            name=args.name,
            tags=found.tags,
            models=magics.capture_models and not args.no_models,
            data=magics.capture_data and not args.no_data,
            quiet=magics.quiet or args.quiet,
            resume=resume_run,
        )

    def _python(self, code: str) -> str:
        """The cell as Python: IPython syntax (``%time``, ``!ls``) turned into calls."""
        return self.shell.transform_cell(code) if "%" in code or "!" in code else code

    def _tracked(self, found: Plan, resume_run: str | None = None) -> TrackedCode:
        return TrackedCode(
            found.code,
            self._options(found, resume_run),
            namespace=self.shell.user_ns,
            history=self._history(),
            python=self._python(found.code),
            notebook=notebook_path(self.shell.user_ns),
            magic=found.header,
            environment=self.environment,
        )

    # -- sweeps ------------------------------------------------------------------------------------
    def _new_sweep(self, found: Plan) -> Sweep:
        from ..tracking.sweep import Sweep, SweepOptions

        args = found.args
        options = SweepOptions(
            trials=args.trials,
            seed=args.seed,
            objective=args.objective or args.minimize,
            minimize=bool(args.minimize),
            jobs=args.jobs,
            backend=args.backend,
        )
        return Sweep(
            found.code,
            found.space,  # type: ignore[arg-type]  # a sweep's plan has a space
            options,
            self._options(found),
            namespace=self.shell.user_ns,
            history=self._history(),
            to_python=self._python,
            notebook=notebook_path(self.shell.user_ns),
            magic=found.header,
            environment=self.environment,
        )

    def run_sweep(self) -> Any:
        """What a sweep cell runs: every trial, drawn live, then the summary as the cell's result."""
        from ..tracking.sweep import describe_trial

        sweep, self._sweep = self._sweep, None
        if sweep is None:
            raise UsageError("run a sweep by running its %%experiment --grid/--random cell")
        total = len(sweep.configurations)
        view = _sweep_view(sweep) if self.magics.live and not sweep.track.quiet else None

        def on_trial(trial: Any) -> None:
            if view is not None:
                view.add(trial)
            elif not sweep.track.quiet:
                print(describe_trial(trial, total))

        self._tracking_cell = True  # the trials' runs get no live chart each
        try:
            result = sweep.run(on_trial)
        except MlopsError as err:
            raise UsageError(str(err)) from None
        finally:
            self._tracking_cell = False
        if view is not None:
            view.finish(result)
        return result

    def _history(self) -> list[tuple[int, str, str]]:
        """Executed cells in execution order: (count, Python source, source the user wrote)."""
        manager = self.shell.history_manager
        raw, parsed = manager.input_hist_raw, manager.input_hist_parsed
        cells = []
        for count in range(1, min(len(raw), len(parsed))):
            source = raw[count]
            try:
                found = plan(source, self.parse)
            except UsageError:
                continue  # that cell never ran
            cells.append((count, parsed[count], found.code if found else source))
        return cells

    # -- figures -----------------------------------------------------------------------------------
    def _capture_displays(self) -> None:
        """Keep a copy of figures the cell displays (display() and Out[] values)."""
        targets = ((self.shell.display_pub, "publish"), (self.shell.displayhook, "write_format_data"))
        for owner, attr in targets:
            original = getattr(owner, attr, None)
            if original is None:
                continue
            previous = owner.__dict__.get(attr, _ABSENT)
            setattr(owner, attr, self._keeping(original))
            self._restore.append(functools.partial(_restore, owner, attr, previous))

    def _release_displays(self) -> None:
        while self._restore:
            self._restore.pop()()

    def _keeping(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            data = kwargs.get("data", kwargs.get("format_dict", args[0] if args else None))
            with contextlib.suppress(Exception):  # a figure we cannot read is not worth an error
                self._keep(data)
            return original(*args, **kwargs)

        return wrapper

    def _keep(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        for mime in _FIGURE_MIMES:
            if mime in data:
                value = data[mime]
                if mime == "image/png" and isinstance(value, str):
                    blob = base64.b64decode(value)
                elif isinstance(value, str):
                    blob = value.encode()
                elif isinstance(value, bytes):
                    blob = value
                else:
                    blob = json.dumps(value).encode()
                self.figures.append((mime, blob))
                return


# IPython skips transforms with side effects when it only checks whether input is complete: parsing
# arguments there would show errors while the user is still typing.
ExperimentHooks.transform.has_side_effects = True  # type: ignore[attr-defined]
_ABSENT = object()


def _restore(owner: Any, attr: str, previous: Any) -> None:
    """Put back what ``owner.attr`` was before the cell: the class method, or an earlier wrapper."""
    if previous is _ABSENT:
        owner.__dict__.pop(attr, None)
    else:
        setattr(owner, attr, previous)


def _sweep_view(sweep: Sweep) -> Any:
    """The live parallel-coordinates view of a sweep when widgets can show one, else None."""
    from ..widgets import available

    if not available():
        return None
    try:
        from ..widgets.sweep_view import SweepView

        view = SweepView(sweep.space.keys, len(sweep.configurations), sweep.options.objective)
        view.show()
        return view
    except Exception as err:  # widgets broken in this environment: sweep with printed lines
        notify(f"no live sweep view: {err}")
        return None


def _live_chart(run: Any) -> Any:
    """A live chart under the cell when widgets can show one (a Jupyter kernel), else None."""
    from ..widgets import available

    if not available():
        return None
    try:
        from ..widgets.live import LiveChart

        return LiveChart(run)
    except Exception as err:  # widgets broken in this environment: track without the chart
        notify(f"no live chart: {err}")
        return None


def notebook_path(user_ns: Any) -> str | None:
    """The notebook's path when the front end tells it (Jupyter server, VS Code), else None."""
    for value in (user_ns.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if value:
            return str(value)
    return None
