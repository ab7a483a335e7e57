"""``%mlops`` subcommands: one module each, with a ``run(magics, line)`` that parses and displays."""

from __future__ import annotations

import argparse
import shlex
from typing import Any, NoReturn

from IPython.core.error import UsageError

#: subcommand -> module in this package
COMMANDS = {
    "status": "status",
    "connect": "connect",
    "experiments": "experiments",
    "runs": "runs",
    "show": "show",
    "diff": "diff",
    "compare": "compare",
    "reproduce": "reproduce",
    "register": "register",
    "models": "models",
    "alias": "alias",
    "deploy": "deploy",
    "deployments": "deployments",
    "undeploy": "undeploy",
    "monitor": "monitor",
}


def usage(name: str) -> str:
    listed = ", ".join(COMMANDS)
    if not name:
        return f"%mlops needs a subcommand: one of {listed} (e.g. %mlops runs)"
    return f"%mlops has no subcommand {name!r}: use one of {listed}"


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (shown without a traceback) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or self.format_help())


def parser(name: str, description: str) -> argparse.ArgumentParser:
    return _Parser(prog=f"%mlops {name}", description=description, add_help=True)


def parse(p: argparse.ArgumentParser, line: str, values: tuple[str, ...] = ()) -> Any:
    """Parse ``line``; the options in ``values`` take the next word even when it starts with '-'
    (``--order-by -metrics.acc``)."""
    try:
        words = shlex.split(line)
    except ValueError as err:
        raise UsageError(f"{err} in {line!r}: close the quote") from None
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] in values:
            joined[-1] = f"{joined[-1]}={word}"
        else:
            joined.append(word)
    return p.parse_args(joined)
