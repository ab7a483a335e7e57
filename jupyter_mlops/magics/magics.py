"""``MLOpsMagics``: the ``%%experiment`` cell magic and the ``%mlops`` line magic, configurable with
``%config MLOpsMagics.quiet = True`` or ``[tool.jupyter_mlops]`` in pyproject.toml."""

from __future__ import annotations

import importlib
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Unicode

from ..config import resolve_settings, tool_section
from ..errors import MlopsError
from ..masking import mask_url
from .cell import HOOKS_ATTRIBUTE, ExperimentHooks
from .commands import COMMANDS, usage


@magics_class
class MLOpsMagics(Magics):
    """Track notebook cells as runs and query them.

    Settings (``%config MLOpsMagics.<name> = value``, or the same keys in ``[tool.jupyter_mlops]``):
    ``experiment``, ``quiet``, ``capture_models``, ``capture_data``.
    """

    experiment = Unicode("", help="Experiment for cells that name none (default: the settings').").tag(
        config=True
    )
    quiet = Bool(False, help="Do not print the one-line run summary under tracked cells.").tag(config=True)
    capture_models = Bool(True, help="Save fitted estimators and torch modules the cell assigns.").tag(
        config=True
    )
    capture_data = Bool(True, help="Fingerprint DataFrames, arrays and tensors the cell reads.").tag(
        config=True
    )
    live = Bool(True, help="Draw step metrics live under the cell (in a Jupyter kernel).").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        section = tool_section()
        keys = ("quiet", "capture_models", "capture_data", "live")
        defaults = {k: section[k] for k in keys if k in section}
        super().__init__(shell=shell, **defaults, **kwargs)

    def default_experiment(self) -> str:
        return self.experiment or resolve_settings().experiment

    @magic_arguments()
    @argument("experiment", nargs="?", default=None, help="Experiment name (default: configured one).")
    @argument("-n", "--name", help="Run name (default: run-<id>).")
    @argument("-p", "--param", action="append", metavar="KEY=VALUE", help="Override a parameter.")
    @argument("--tag", action="append", metavar="KEY=VALUE", help="Set a tag on the run.")
    @argument("--grid", action="append", metavar="KEY=[V1,V2,...]", help="Sweep: try each value (crossed).")
    @argument("--random", action="append", metavar="KEY=DIST", help="Sweep: draw from uniform(a,b), ...")
    @argument("--trials", type=int, help="Sweep: --random draws per grid point (default 10).")
    @argument("--seed", type=int, help="Sweep: seed of the random draws (default: a fresh one, recorded).")
    @argument("--jobs", type=int, default=1, help="Sweep: trials in parallel processes (-1: all cores).")
    @argument("--backend", default="loky", help="Sweep with --jobs: loky (here), dask or ray (your cluster).")
    @argument("--objective", metavar="METRIC", help="Sweep: the best trial has the highest METRIC.")
    @argument("--minimize", metavar="METRIC", help="Sweep: the best trial has the lowest METRIC.")
    @argument(
        "--resume", nargs="?", const="", metavar="RUN", help="Continue a failed run (default: the last)."
    )
    @argument("--no-models", action="store_true", help="Do not save fitted models.")
    @argument("--no-data", action="store_true", help="Do not fingerprint input data.")
    @argument("--no-live", action="store_true", help="No live chart of step metrics.")
    @argument("--quiet", action="store_true", help="No summary line under the cell.")
    @cell_magic("experiment")  # type: ignore[arg-type]  # IPython's decorator types are too narrow
    def experiment_cell(self, line: str, cell: str) -> None:
        """Track this cell as a run: code, parameters, inputs, metrics, models, outputs, environment.

        %%experiment churn -n baseline -p lr=0.1 --tag team=risk
        lr = 0.01              # a parameter (-p lr=0.1 rewrites it before the cell runs)
        model = LogisticRegression(C=1 / lr).fit(X, y)    # saved as a candidate model
        acc = model.score(X_test, y_test)                 # a final metric
        """
        # Reached only when something runs the magic by hand: on a cell's first line the extension
        # takes the cell before IPython's magic machinery sees it.
        raise UsageError("%%experiment must be the first line of the cell (other cell magics go below it)")

    @line_magic
    def mlops(self, line: str) -> Any:
        """Query and manage tracked runs: %mlops status | connect URL | experiments | runs [EXP] |
        show RUN | diff RUN RUN | reproduce RUN. `%mlops SUBCOMMAND --help` for each."""
        name, _, rest = line.strip().partition(" ")
        if name not in COMMANDS:
            raise UsageError(usage(name))
        module = importlib.import_module(f".commands.{COMMANDS[name]}", __package__)
        try:
            return module.run(self, rest.strip())
        except MlopsError as err:  # a user mistake or an unreachable database: no traceback needed
            raise UsageError(str(err)) from None


def parse_experiment_args(line: str) -> Any:
    """The ``%%experiment`` arguments as a namespace; UsageError when they do not parse."""
    return MLOpsMagics.experiment_cell.parser.parse_args(split_arguments(line))


def split_arguments(line: str) -> list[str]:
    """Split on spaces outside quotes and brackets, so ``--grid C=[0.1, 1]`` and
    ``--random k=choice(['a', 'b'])`` are one argument each; quotes around a whole argument go."""
    tokens: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in line:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif char.isspace() and depth == 0:
            if current:
                tokens.append("".join(current))
                current = []
            continue
        current.append(char)
    if current:
        tokens.append("".join(current))
    return [t[1:-1] if len(t) > 1 and t[0] == t[-1] and t[0] in "'\"" else t for t in tokens]


def load(shell: Any) -> None:
    if getattr(shell, HOOKS_ATTRIBUTE, None) is not None:
        return
    magics = MLOpsMagics(shell=shell)
    shell.register_magics(magics)
    hooks = ExperimentHooks(shell, magics, parse_experiment_args)
    hooks.install()
    setattr(shell, HOOKS_ATTRIBUTE, hooks)
    settings = resolve_settings()
    print(f"jupyter_mlops: tracking to {mask_url(settings.url)} (artifacts in {settings.artifacts})")


def unload(shell: Any) -> None:
    hooks = getattr(shell, HOOKS_ATTRIBUTE, None)
    if hooks is not None:
        hooks.uninstall()
        setattr(shell, HOOKS_ATTRIBUTE, None)
