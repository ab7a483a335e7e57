"""jupyter_mlops: MLOps from inside the notebook.

    import jupyter_mlops as mlops
    with mlops.start_run("churn", params={"C": 1.0}) as run:
        run.log_metric("acc", 0.91)
    mlops.runs(filter="metrics.acc > 0.9")

Importing is cheap: SQLAlchemy and pandas load on first use.
"""

from ._version import __version__
from .config import Settings
from .entities import Artifact, DatasetInput, Experiment, Run
from .errors import (
    AlreadyExists,
    AmbiguousRef,
    ArtifactPathError,
    ConfigError,
    FilterSyntaxError,
    InvalidValue,
    MlopsError,
    MlopsWarning,
    NoActiveRun,
    NotFound,
    SchemaOutOfDate,
    StoreError,
    UnserialisableWarning,
    ValueTruncatedWarning,
)
from .tracking.api import (
    active_run,
    connect,
    diff,
    experiments,
    flush,
    get_run,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    reproduce,
    runs,
    set_tag,
    show,
    start_run,
    tracking_settings,
)
from .tracking.run import ActiveRun
from .widgets import compare

__all__ = [
    "ActiveRun",
    "AlreadyExists",
    "AmbiguousRef",
    "Artifact",
    "ArtifactPathError",
    "ConfigError",
    "DatasetInput",
    "Experiment",
    "FilterSyntaxError",
    "InvalidValue",
    "MlopsError",
    "MlopsWarning",
    "NoActiveRun",
    "NotFound",
    "Run",
    "SchemaOutOfDate",
    "Settings",
    "StoreError",
    "UnserialisableWarning",
    "ValueTruncatedWarning",
    "__version__",
    "active_run",
    "compare",
    "connect",
    "diff",
    "experiments",
    "flush",
    "get_run",
    "load_ipython_extension",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "reproduce",
    "runs",
    "set_tag",
    "show",
    "start_run",
    "tracking_settings",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jupyter_mlops``: register ``%%experiment`` and ``%mlops`` (IPython loads lazily)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext jupyter_mlops``: remove the hooks; runs already tracked stay."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
