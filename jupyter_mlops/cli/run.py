"""``jupyter mlops run SCRIPT.py [-p k=v]...``: a script as a tracked run."""

from __future__ import annotations

from pathlib import Path

from ..config import resolve_settings
from ..tracking.capture.code import parse_pairs
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
        tags=parse_pairs(tags, "--tag", literal=False),
        models=not no_models,
        quiet=quiet,
    )
    return run_script(Path(script), parse_pairs(params, "-p"), options, argv)
