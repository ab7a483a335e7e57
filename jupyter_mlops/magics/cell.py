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
from typing import Any

from IPython.core.error import UsageError

from ..errors import InvalidValue
from ..masking import is_secret_key, mask_text
from ..tracking import api
from ..tracking.capture.code import parse_pairs, rewrite
from ..tracking.capture.environment import EnvironmentWatch
from ..tracking.tracked import TrackedCode, TrackOptions, notify

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
    return Plan(_masked_header(match[0].rstrip("\n")), args, body, overrides, tags)


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
        if found is None:
            return
        try:
            tracked = self._tracked(found)
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

    def _tracked(self, found: Plan) -> TrackedCode:
        args, magics = found.args, self.magics
        python = self.shell.transform_cell(found.code) if "%" in found.code or "!" in found.code else None
        options = TrackOptions(
            experiment=args.experiment or magics.default_experiment(),
            name=args.name,
            tags=found.tags,
            models=magics.capture_models and not args.no_models,
            data=magics.capture_data and not args.no_data,
            quiet=magics.quiet or args.quiet,
        )
        return TrackedCode(
            found.code,
            options,
            namespace=self.shell.user_ns,
            history=self._history(),
            python=python,
            notebook=notebook_path(self.shell.user_ns),
            magic=found.header,
            environment=self.environment,
        )

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
