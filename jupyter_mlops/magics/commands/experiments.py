"""``%mlops experiments``: the experiments as a DataFrame."""

from __future__ import annotations

from typing import Any

from ...tracking.api import experiments
from . import parse, parser

_parser = parser("experiments", "List experiments.")


def run(magics: Any, line: str) -> Any:
    parse(_parser, line)
    return experiments()
