"""``%mlops diff RUN RUN``: params, metrics, code and packages of two runs side by side."""

from __future__ import annotations

from typing import Any

from ...tracking.api import diff
from . import parse, parser

_parser = parser("diff", "Compare two runs: params, metrics, code, packages.")
_parser.add_argument("a", help="run id or unique prefix")
_parser.add_argument("b", help="run id or unique prefix")


def run(magics: Any, line: str) -> Any:
    args = parse(_parser, line)
    return diff(args.a, args.b)
