"""``%mlops reproduce RUN``: run the run's context slice and cell in a fresh kernel, compare metrics."""

from __future__ import annotations

from typing import Any

from ...tracking.api import reproduce
from . import parse, parser

_parser = parser("reproduce", "Re-execute a run in a fresh kernel and check its final metrics.")
_parser.add_argument("run", help="run id or unique prefix")
_parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")


def run(magics: Any, line: str) -> Any:
    args = parse(_parser, line)
    return reproduce(args.run, timeout=args.timeout)
