"""``%mlops runs [EXP] [--filter F] [--order-by K] [-n N]``: runs as a DataFrame."""

from __future__ import annotations

from typing import Any

from ...tracking.api import runs
from . import parse, parser

_parser = parser("runs", "List runs, newest first.")
_parser.add_argument("experiment", nargs="?", help="experiment name (default: all)")
_parser.add_argument("--filter", "-f", help="e.g. \"metrics.acc > 0.9 and params.model = 'rf'\"")
_parser.add_argument("--order-by", "-o", action="append", help="e.g. -metrics.acc (repeatable)")
_parser.add_argument("-n", "--limit", type=int, help="at most N runs")


def run(magics: Any, line: str) -> Any:
    args = parse(_parser, line, values=("--order-by", "-o", "--filter", "-f"))
    return runs(args.experiment, filter=args.filter, order_by=args.order_by, limit=args.limit)
