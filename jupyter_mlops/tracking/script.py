"""Track a plain Python script as a run, the way ``%%experiment`` tracks a cell.

    code = run_script(Path("train.py"), {"lr": 0.1}, TrackOptions("churn"), argv=["--fast"])

The script runs as ``__main__`` in this process with ``-p`` overrides applied to its top-level literal
assignments; its source, parameters, final metrics, models, open matplotlib figures, output and
environment are recorded. Returns the exit status: 0, 1 on an exception, 130 on Ctrl-C.
"""

from __future__ import annotations

import io
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidValue
from .capture.code import rewrite
from .capture.environment import EnvironmentWatch
from .tracked import TrackedCode, TrackOptions


def run_script(
    path: Path, overrides: Mapping[str, Any], options: TrackOptions, argv: Sequence[str] = ()
) -> int:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidValue(f"cannot read script {path}: {err}") from None
    try:
        code = rewrite(source, overrides)
    except SyntaxError as err:
        raise InvalidValue(f"{path} does not parse (line {err.lineno}: {err.msg})") from None
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path), "__builtins__": __builtins__}
    environment = EnvironmentWatch(folder=path.parent)
    environment.start()
    tracked = TrackedCode(code, options, namespace=namespace, environment=environment)
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(path), *argv]
    sys.path.insert(0, str(path.parent))
    error: BaseException | None = None
    tracked.start()
    try:
        exec(compile(code, str(path), "exec"), namespace)
    except BaseException as exc:
        error = exc
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    tracked.finish(error, _open_figures())
    if error is None or (isinstance(error, SystemExit) and error.code in (0, None)):
        return 0
    if isinstance(error, SystemExit):
        return error.code if isinstance(error.code, int) else 1
    traceback.print_exception(
        type(error), error, error.__traceback__.tb_next if error.__traceback__ else None
    )
    return 130 if isinstance(error, KeyboardInterrupt) else 1


def _open_figures() -> list[tuple[str, bytes]]:
    """PNGs of the matplotlib figures the script left open (a script shows no inline plots)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    figures = []
    for number in pyplot.get_fignums():
        buffer = io.BytesIO()
        pyplot.figure(number).savefig(buffer, format="png")
        figures.append(("image/png", buffer.getvalue()))
    return figures
