"""``%mlops deploy MODEL_REF [--traffic REF=W ...] [--shadow REF] [--sticky H] [--port P] [--name N]
[--backend local|ray] [--replicas R]``."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from ...serving.api import deploy
from . import parse, parser

_parser = parser(
    "deploy", "Serve a model version over HTTP on 127.0.0.1 (a process that outlives the kernel)."
)
_parser.add_argument("model_ref", help="churn, churn:3 or churn@champion")
_parser.add_argument(
    "--traffic", nargs="+", metavar="REF=WEIGHT", help="e.g. churn@champion=90 churn@challenger=10"
)
_parser.add_argument(
    "--shadow", help="a version that gets a copy of every request (answers logged, never returned)"
)
_parser.add_argument("--sticky", help="a header whose value always picks the same version, e.g. x-user-id")
_parser.add_argument("--port", type=int, help="the port (default: a free one)")
_parser.add_argument("--name", help="the deployment name (default: the model name)")
_parser.add_argument(
    "--backend", default="local", help="local (a process here) or ray (the Ray cluster this kernel is on)"
)
_parser.add_argument("--replicas", type=int, default=1, help="copies of the server (--backend ray)")


def run(magics: Any, line: str) -> Any:
    args = parse(_parser, line)
    traffic = None
    if args.traffic:
        traffic = {}
        for item in args.traffic:
            ref, _, weight = item.rpartition("=")
            try:
                traffic[ref] = float(weight)
            except ValueError:
                raise UsageError(
                    f"--traffic takes REF=WEIGHT, e.g. churn@champion=90 (got {item!r})"
                ) from None
            if not ref:
                raise UsageError(f"--traffic takes REF=WEIGHT, e.g. churn@champion=90 (got {item!r})")
    deployment = deploy(
        args.model_ref,
        traffic=traffic,
        shadow=args.shadow,
        port=args.port,
        name=args.name,
        sticky=args.sticky,
        backend=args.backend,
        replicas=args.replicas,
    )
    print(f"deployed {deployment.name} at {deployment.url}  (POST {deployment.url}/invocations)")
    return deployment
