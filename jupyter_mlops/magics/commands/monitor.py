"""``%mlops monitor NAME [--window 1h]``: the monitor widget of a deployment (text in a terminal)."""

from __future__ import annotations

from typing import Any

from ...widgets import monitor
from . import parse, parser

_parser = parser("monitor", "Watch a deployment: traffic, latency, errors, accuracy, drift and alerts.")
_parser.add_argument("name", help="the deployment name (see %%mlops deployments)")
_parser.add_argument("--window", default="1h", help="how far back to look: 15m, 1h, 2d (default 1h)")


def run(magics: Any, line: str) -> Any:
    args = parse(_parser, line)
    return monitor(args.name, window=args.window)
