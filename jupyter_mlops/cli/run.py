"""``jupyter mlops run SCRIPT.py [-p k=v]...``: a script as a tracked run."""

from __future__ import annotations

from pathlib import Path

from ..config import resolve_settings
from ..errors import InvalidValue
from ..tracking.capture.code import parse_value
from ..tracking.script import run_script
from ..tracking.tracked import TrackOptions


def run_command(
    script: str,
    params: list[str],
    experiment: str | None,
    name: str | None,
    tags: list[str],
    no_models: bool,
    quiet: bool,
    argv: list[str],
) -> int:
    options = TrackOptions(
        experiment=experiment or resolve_settings().experiment,
        name=name,
        tags={k: str(v) for k, v in _pairs(tags, "--tag").items()},
        models=not no_models,
        quiet=quiet,
    )
    return run_script(Path(script), _pairs(params, "-p"), options, argv)


def _pairs(items: list[str], flag: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidValue(f"{flag} takes KEY=VALUE, e.g. {flag} lr=0.1; got {item!r}")
        found[key.strip()] = parse_value(value) if flag == "-p" else value
    return found
