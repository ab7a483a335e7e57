"""``%mlops models [NAME]``: the registry browser (a widget in a notebook, text in a terminal)."""

from __future__ import annotations

from typing import Any

from ...widgets import models
from . import parse, parser

_parser = parser("models", "Browse registered models, their versions, aliases and alias history.")
_parser.add_argument("name", nargs="?", help="open on this model")


def run(magics: Any, line: str) -> Any:
    return models(parse(_parser, line).name)
