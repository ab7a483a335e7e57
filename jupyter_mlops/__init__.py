"""jupyter_mlops: MLOps from inside the notebook.

    import jupyter_mlops as mlops
    with mlops.start_run("churn", params={"C": 1.0}) as run:
        run.log_metric("acc", 0.91)
    mlops.runs(filter="metrics.acc > 0.9")

Importing is cheap: SQLAlchemy and pandas load on first use, and so do the registry, serving and
monitoring.
"""

import typing as _typing

from ._version import __version__
from .config import Settings
from .entities import AliasEvent, Artifact, DatasetInput, Experiment, ModelVersion, RegisteredModel, Run
from .errors import (
    AlreadyExists,
    AmbiguousRef,
    ArtifactPathError,
    ConfigError,
    DeployError,
    FilterSyntaxError,
    GateFailed,
    InvalidValue,
    MlopsError,
    MlopsWarning,
    ModelIntegrityError,
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
    start_run,
    tracking_settings,
)
from .tracking.run import ActiveRun
from .widgets import compare, models, monitor

__all__ = [
    "ActiveRun",
    "AliasEvent",
    "AlreadyExists",
    "AmbiguousRef",
    "Artifact",
    "ArtifactPathError",
    "ConfigError",
    "DatasetInput",
    "DeployError",
    "Deployment",
    "Experiment",
    "FilterSyntaxError",
    "GateFailed",
    "InvalidValue",
    "MlopsError",
    "MlopsWarning",
    "ModelIntegrityError",
    "ModelVersion",
    "NoActiveRun",
    "NotFound",
    "RegisteredModel",
    "Run",
    "SchemaOutOfDate",
    "Settings",
    "StoreError",
    "UnserialisableWarning",
    "ValueTruncatedWarning",
    "__version__",
    "ab_report",
    "active_run",
    "add_alert",
    "alerts",
    "alias_history",
    "check_alerts",
    "checkpoint",
    "compare",
    "connect",
    "deploy",
    "deployments",
    "diff",
    "drift",
    "experiments",
    "flush",
    "get_deployment",
    "get_model_version",
    "get_run",
    "list_models",
    "load_ipython_extension",
    "load_model",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "model_versions",
    "models",
    "monitor",
    "predictions",
    "register_model",
    "remove_alias",
    "reproduce",
    "resumable",
    "runs",
    "service_metrics",
    "set_alias",
    "set_reference",
    "set_tag",
    "show",
    "start_run",
    "tracking_settings",
    "unload_ipython_extension",
]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension (the sidebar's REST API), found by ``jupyter server``."""
    return [{"module": "jupyter_mlops.server_ext"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (the sidebar) shipped in the package."""
    return [{"src": "labextension", "dest": "jupyter-mlops"}]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jupyter_mlops``: register ``%%experiment`` and ``%mlops`` (IPython loads lazily)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext jupyter_mlops``: remove the hooks; runs already tracked stay."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)


# The registry, serving, monitoring and resume load on first use (PEP 562), so `import jupyter_mlops`
# and `%load_ext` pay only for tracking.
_LAZY = {
    **dict.fromkeys(("add_alert", "alerts", "check_alerts"), ".monitoring.alerts"),
    **dict.fromkeys(("ab_report", "drift", "service_metrics"), ".monitoring.api"),
    **dict.fromkeys(
        (
            "alias_history",
            "get_model_version",
            "list_models",
            "load_model",
            "model_versions",
            "register_model",
            "remove_alias",
            "set_alias",
            "set_reference",
            "show",
        ),
        ".registry.api",
    ),
    **dict.fromkeys(("Deployment", "deploy", "deployments", "get_deployment", "predictions"), ".serving.api"),
    **dict.fromkeys(("checkpoint", "resumable"), ".tracking.resume"),
}

if _typing.TYPE_CHECKING:
    from .monitoring.alerts import add_alert, alerts, check_alerts
    from .monitoring.api import ab_report, drift, service_metrics
    from .registry.api import (
        alias_history,
        get_model_version,
        list_models,
        load_model,
        model_versions,
        register_model,
        remove_alias,
        set_alias,
        set_reference,
        show,
    )
    from .serving.api import Deployment, deploy, deployments, get_deployment, predictions
    from .tracking.resume import checkpoint, resumable


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
