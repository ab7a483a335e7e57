"""``jupyter mlops ...``: the command line face. Parses arguments and calls the Python API.

jupyter mlops db upgrade sqlite:///mlops.db
jupyter mlops runs --experiment churn --filter "metrics.acc > 0.9" -n 20
jupyter mlops run train.py -p lr=0.1 -e churn -- --script-arg
jupyter mlops models
jupyter mlops check churn@champion --require "accuracy>=0.9"     # exit 0 pass, 1 fail, 2 error
jupyter mlops serve churn@champion --port 8080
jupyter mlops ui --port 8888                                      # JupyterLab with the MLOps sidebar open
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

    run = commands.add_parser("run", help="run a Python script as a tracked run")
    run.add_argument("script", help="path of the script")
    run.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a top-level literal assignment of the script (repeatable)",
    )
    run.add_argument("-e", "--experiment", help="experiment (default: the configured one)")
    run.add_argument("-n", "--name", help="run name")
    run.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="tag (repeatable)")
    run.add_argument("--no-models", action="store_true", help="do not save fitted models")
    run.add_argument("--quiet", action="store_true", help="no summary line")
    run.epilog = "Arguments after -- go to the script: jupyter mlops run train.py -p lr=0.1 -- --fast"

    commands.add_parser("models", help="list registered models and their aliases")
    serve = commands.add_parser("serve", help="serve a model version over HTTP in the foreground")
    serve.add_argument("model_ref", help="churn, churn:3 or churn@champion")
    serve.add_argument("--port", type=int, help="default: a free port (printed)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="default 127.0.0.1; any other address needs --token"
    )
    serve.add_argument("--token", help="clients must send Authorization: Bearer TOKEN")
    serve.add_argument("--name", help="deployment name (default: the model name)")
    check = commands.add_parser("check", help="exit 0 if a model version passes a gate, 1 if not (for CI)")
    check.add_argument("model_ref", help="churn, churn:3 or churn@champion")
    check.add_argument("--require", required=True, help='e.g. "accuracy>=0.9, loss<0.3"')

    ui = commands.add_parser("ui", help="open JupyterLab (on 127.0.0.1) with the MLOps sidebar shown")
    ui.add_argument("--port", type=int, help="default: 8888, or the next free one")
    ui.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser")
    ui.epilog = "Arguments after -- go to JupyterLab: jupyter mlops ui -- --ServerApp.root_dir=~/work"

    argv = sys.argv[1:] if argv is None else list(argv)
    script_args: list[str] = []
    if "--" in argv:  # everything after -- belongs to the script (or JupyterLab), not to us
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    try:
        if args.command == "db":
            from .db import upgrade_command

            return upgrade_command(args.url)
        if args.command == "run":
            from .run import run_command

            return run_command(
                args.script,
                args.param,
                args.experiment,
                args.name,
                args.tag,
                args.no_models,
                args.quiet,
                script_args,
            )
        if args.command == "ui":
            from .ui import ui_command

            return ui_command(args.port, args.no_browser, script_args)
        if args.command == "serve":
            from ..serving.api import serve_foreground

            return serve_foreground(args.model_ref, args.name, args.host, args.port, args.token)
        if args.command in ("models", "check"):
            from . import models

            if args.command == "models":
                return models.models_command()
            return models.check_command(args.model_ref, args.require)
        from .runs import runs_command

        return runs_command(args.experiment, args.filter, args.order_by, args.n)
    except MlopsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
