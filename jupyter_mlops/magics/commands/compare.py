"""``%mlops compare [EXP] [--filter F]``: the compare widget (a text table outside a notebook)."""

from __future__ import annotations

from typing import Any

from ...widgets import compare
from . import parse, parser

_parser = parser("compare", "Compare runs: table, parallel coordinates, curves, diff of two runs.")
_parser.add_argument("experiment", nargs="?", help="experiment name (default: all)")
_parser.add_argument("--filter", "-f", help='e.g. "metrics.acc > 0.9"')


def run(magics: Any, line: str) -> Any:
    args = parse(_parser, line, values=("--filter", "-f"))
    return compare(args.experiment, filter=args.filter)
