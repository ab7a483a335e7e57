"""``jupyter mlops ...``: the command line face. Parses arguments and calls the Python API.

jupyter mlops db upgrade sqlite:///mlops.db
jupyter mlops runs --experiment churn --filter "metrics.acc > 0.9" -n 20
"""

from __future__ import annotations

import argparse
import sys

from ..errors import MlopsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter mlops", description="MLOps from inside the notebook.")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="upgrade the database schema to this version's revision")
    upgrade.add_argument("url", nargs="?", help="database URL (default: the configured tracking URL)")

    runs = commands.add_parser("runs", help="list runs")
    runs.add_argument("--experiment", "-e", help="only this experiment")
    runs.add_argument("--filter", "-f", help="e.g. \"metrics.acc > 0.9 and params.model = 'lr'\"")
    runs.add_argument("--order-by", "-o", help="e.g. '-metrics.acc'")
    runs.add_argument("-n", type=int, default=20, help="at most this many runs (default 20)")

    args = parser.parse_args(argv)
    try:
        if args.command == "db":
            from .db import upgrade_command

            return upgrade_command(args.url)
        from .runs import runs_command

        return runs_command(args.experiment, args.filter, args.order_by, args.n)
    except MlopsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
