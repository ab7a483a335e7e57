"""``%mlops register NAME [--run RUN] [--var VAR] [--alias A] [--require "acc>=0.9"]``.

Without ``--run``, the model comes from the run that ended last in this kernel; with ``--var`` and no
run at all, from the notebook variable of that name.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from ...registry.api import register_model
from ...tracking import api
from . import parse, parser

_parser = parser("register", "Register a model version from a run's candidate model or a notebook variable.")
_parser.add_argument("name", help="the model name, e.g. churn")
_parser.add_argument("--run", help="run id or prefix (default: the run that ended last in this kernel)")
_parser.add_argument("--var", help="which candidate model of the run (the variable name)")
_parser.add_argument("--alias", help="point this alias at the new version, e.g. champion")
_parser.add_argument("--require", help='a gate the version must pass, e.g. "accuracy>=0.9, loss<0.3"')
_parser.add_argument("--description", help="a line about this version")


def run(magics: Any, line: str) -> Any:
    args = parse(_parser, line, values=("--require",))
    source: Any = args.run or api.last_run_id()
    if source is None:
        if not args.var:
            raise UsageError(
                "no run ended in this kernel yet: give --run RUN, or --var VAR for a notebook variable"
            )
        if args.var not in magics.shell.user_ns:
            raise UsageError(f"no variable {args.var!r} in the notebook: train the model first")
        source, args.var = magics.shell.user_ns[args.var], None
    version = register_model(
        source,
        args.name,
        alias=args.alias,
        require=args.require,
        var=args.var,
        description=args.description,
    )
    aliases = " ".join(f"@{a}" for a in version.aliases)
    origin = f" from run {version.run_id[:8]}" if version.run_id else ""
    print(f"registered {version.ref}{origin} ({version.flavor}, {version.format}) {aliases}".rstrip())
    return None
