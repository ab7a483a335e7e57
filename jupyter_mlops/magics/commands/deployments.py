"""``%mlops deployments``: deployments with their health, as a DataFrame."""

from __future__ import annotations

from typing import Any

from ...serving.api import deployments
from . import parse, parser

_parser = parser("deployments", "List deployments: status (from the heartbeat), url, routes, shadow.")


def run(magics: Any, line: str) -> Any:
    parse(_parser, line)
    return deployments()
