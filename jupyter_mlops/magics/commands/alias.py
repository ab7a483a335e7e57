"""``%mlops alias NAME@ALIAS VERSION [--require "acc>=0.9"]`` moves an alias; ``--remove`` takes it off."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from ...registry.api import remove_alias, set_alias
from ...registry.refs import parse_ref
from . import parse, parser

_parser = parser("alias", "Point an alias of a model at a version (through the alias' gate), or remove it.")
_parser.add_argument("ref", help="NAME@ALIAS, e.g. churn@champion")
_parser.add_argument("version", nargs="?", help="the version number, e.g. 3")
_parser.add_argument("--require", help='set the gate of this alias, e.g. "accuracy>=0.9"')
_parser.add_argument("--remove", action="store_true", help="take the alias off")


def run(magics: Any, line: str) -> Any:
    args = parse(_parser, line, values=("--require",))
    ref = parse_ref(args.ref)
    if ref.alias is None:
        raise UsageError(f"write NAME@ALIAS VERSION, e.g. %mlops alias churn@champion 3 (got {args.ref!r})")
    if args.remove:
        before = remove_alias(ref.name, ref.alias)
        print(f"removed @{ref.alias} from {ref.name} (it pointed at version {before})")
        return None
    if args.version is None:
        raise UsageError(f"which version? e.g. %mlops alias {args.ref} 3 (or --remove)")
    moved = set_alias(ref.name, ref.alias, args.version, require=args.require)
    print(f"{ref.name}@{ref.alias} -> version {moved.version}")
    return None
