"""``%mlops show RUN``: a run card (HTML in a notebook, text in a terminal)."""

from __future__ import annotations

from typing import Any

from ...tracking.api import show
from . import parse, parser

_parser = parser("show", "Show a run: code, params, metrics, inputs, environment, artifacts.")
_parser.add_argument("run", help="run id or unique prefix")


def run(magics: Any, line: str) -> Any:
    return show(parse(_parser, line).run)
