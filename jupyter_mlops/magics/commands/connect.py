"""``%mlops connect URL [--artifacts LOCATION]``: track to another database."""

from __future__ import annotations

from typing import Any

from ...masking import mask_url
from ...tracking.api import connect
from . import parse, parser

_parser = parser("connect", "Track to another database (created if new).")
_parser.add_argument("url", help="sqlite:///path/mlops.db or postgresql+psycopg://user@host/db")
_parser.add_argument("--artifacts", help="artifact folder or fsspec URL")


def run(magics: Any, line: str) -> None:
    args = parse(_parser, line)
    settings = connect(args.url, args.artifacts)
    print(f"jupyter_mlops: tracking to {mask_url(settings.url)} (artifacts in {settings.artifacts})")
