"""``%mlops undeploy NAME``: stop a deployment's server (its logged predictions stay)."""

from __future__ import annotations

from typing import Any

from ...serving.api import undeploy
from . import parse, parser

_parser = parser("undeploy", "Stop a deployment.")
_parser.add_argument("name", help="the deployment name (see %%mlops deployments)")


def run(magics: Any, line: str) -> Any:
    name = parse(_parser, line).name
    undeploy(name)
    print(f"stopped {name}")
    return None
