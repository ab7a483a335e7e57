"""``%mlops status``: where runs go, the run in progress, the environment capture."""

from __future__ import annotations

from typing import Any

from ... import tracking_settings
from ...masking import mask_url
from ...tracking.api import active_run
from . import parse, parser

_parser = parser("status", "Show the tracking database, artifact root and the run in progress.")


def run(magics: Any, line: str) -> None:
    parse(_parser, line)
    settings = tracking_settings()
    run = active_run()
    print(f"tracking to   {mask_url(settings.url)}")
    print(f"artifacts in  {settings.artifacts}")
    print(f"experiment    {magics.default_experiment()} (cells that name none)")
    print(f"active run    {f'{run.id[:8]} {run.name!r} in {run.experiment!r}' if run else 'none'}")
