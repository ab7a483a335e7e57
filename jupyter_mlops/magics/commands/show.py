"""``%mlops show RUN | MODEL_REF``: a run card or a model version card (HTML in a notebook, text in a
terminal)."""

from __future__ import annotations

from typing import Any

from ...registry.api import show
from . import parse, parser

_parser = parser(
    "show", "Show a run (code, params, metrics, inputs...) or a model version (report, lineage)."
)
_parser.add_argument(
    "ref", help="run id or unique prefix, or a model reference: churn, churn:3, churn@champion"
)


def run(magics: Any, line: str) -> Any:
    return show(parse(_parser, line).ref)
