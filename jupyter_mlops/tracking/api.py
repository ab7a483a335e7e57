"""The Python API: connect, start runs, log to the active run, search and fetch runs.

    import jupyter_mlops as mlops
    mlops.connect("sqlite:///mlops.db")
    with mlops.start_run("churn", params={"lr": 0.01}) as run:
        mlops.log_metric("loss", 0.3)
    mlops.runs("churn", filter="metrics.loss < 0.5", order_by="-metrics.loss")

Heavy modules (SQLAlchemy, pandas) load on first use, not on import.
"""

from __future__ import annotations

import contextlib
import getpass
import socket
import threading
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_EXPERIMENT, Settings, resolve_settings
from ..errors import MlopsError, MlopsWarning, NoActiveRun
from .run import ActiveRun
from .values import check_name

if TYPE_CHECKING:
    import pandas as pd

    from ..entities import Run
    from ..store.artifacts import ArtifactStore
    from ..store.tracking_store import TrackingStore
    from .cards import RunCard, RunDiff
    from .reproduce import Reproduction
    from .writer import MetricWriter


class _Tracking:
    """What ``connect`` sets up: the store, its writer and the artifact store."""

    def __init__(self, settings: Settings) -> None:
        from ..store.artifacts import ArtifactStore
        from ..store.tracking_store import TrackingStore
        from .spool import replay
        from .writer import MetricWriter

        self.settings = settings
        self.store: TrackingStore = TrackingStore(settings.url)
        self.artifacts: ArtifactStore = ArtifactStore(settings.artifacts)
        self.writer: MetricWriter = MetricWriter(
            self.store, settings.flush_seconds, settings.heartbeat_seconds
        )
        try:
            replayed = replay(settings.url, self.store)
        except MlopsError as err:  # the spool file is kept for the next connect
            warnings.warn(f"could not write spooled metric points yet: {err}", MlopsWarning, stacklevel=3)
        else:
            if replayed:
                warnings.warn(
                    f"wrote {replayed} spooled metric points from an earlier session",
                    MlopsWarning,
                    stacklevel=3,
                )

    def close(self) -> None:
        self.writer.close()
        self.store.db.dispose()


_lock = threading.Lock()
_tracking: _Tracking | None = None
_active: list[ActiveRun] = []
#: Called with each run just started (the notebook extension draws live charts from here); a listener
#: that fails is skipped, never failing start_run.
_on_start: list[Callable[[ActiveRun], None]] = []
_last_run_id: str | None = None
_produced: dict[int, tuple[weakref.ref[Any], str, str]] = {}


def connect(url: str | None = None, artifacts: str | None = None) -> Settings:
    """Track to ``url`` (a SQLAlchemy URL) and store files under ``artifacts`` (a folder or fsspec URL).

    Without arguments: ``JUPYTER_MLOPS_URL``/``JUPYTER_MLOPS_ARTIFACTS``, then ``[tool.jupyter_mlops]`` in
    the nearest pyproject.toml, then ``sqlite:///mlops.db`` and ``mlops-artifacts`` in the current folder.
    A new database is created; one at an older schema is refused with the command that upgrades it.

        >>> mlops.connect("postgresql+psycopg://me@db.example/mlops")  # doctest: +SKIP
    """
    global _tracking
    settings = resolve_settings(url, artifacts)
    tracking = _Tracking(settings)
    with _lock:
        previous, _tracking = _tracking, tracking
    if previous is not None:
        previous.close()
    return settings


def disconnect() -> None:
    """Write buffered metrics and close the database; the next call connects again."""
    global _tracking
    with _lock:
        previous, _tracking = _tracking, None
    if previous is not None:
        previous.close()


def _current() -> _Tracking:
    global _tracking
    if _tracking is None:
        with _lock:
            if _tracking is None:
                _tracking = _Tracking(resolve_settings())
    return _tracking


def tracking_settings() -> Settings:
    """The settings in use (connecting with the defaults if ``connect`` was not called)."""
    return _current().settings


def start_run(
    experiment: str = DEFAULT_EXPERIMENT,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    parent: str | None = None,
) -> ActiveRun:
    """Start a run; use it as a context manager, or call ``run.end()`` yourself.

    with mlops.start_run("churn", name="baseline", params={"C": 1.0}) as run:
        run.log_metric("acc", 0.91)
    """
    return _begin(experiment, name, params, tags, parent)


def _begin(
    experiment: str,
    name: str | None,
    params: Mapping[str, Any] | None,
    tags: Mapping[str, Any] | None,
    parent: str | None,
    **record: Any,
) -> ActiveRun:
    """Start a run; ``record`` carries what a tracked cell captured (see TrackingStore.create_run)."""
    from .values import param_value, tag_value

    tracking = _current()
    check_name("experiment", experiment)
    if name is not None:
        check_name("run", name)
    param_items = [(check_name("param", k), *param_value(k, v)) for k, v in (params or {}).items()]
    tag_items = [(check_name("tag", k), tag_value(k, v)) for k, v in (tags or {}).items()]
    parent_id = tracking.store.resolve_run_id(parent) if parent else None
    run_id, run_name = tracking.store.create_run(
        experiment,
        name,
        user=_user(),
        host=socket.gethostname(),
        heartbeat_interval=tracking.settings.heartbeat_seconds,
        parent_id=parent_id,
        params=param_items,
        tags=tag_items,
        **record,
    )
    return _attach(run_id, run_name, experiment)


def _attach(run_id: str, name: str, experiment: str) -> ActiveRun:
    """Make an existing run (reopened for ``--resume``) the active run of this process."""
    tracking = _current()
    run = ActiveRun(run_id, name, experiment, tracking.store, tracking.writer, tracking.artifacts, _forget)
    _active.append(run)
    for listener in list(_on_start):
        with contextlib.suppress(Exception):
            listener(run)
    return run


def _forget(run: ActiveRun) -> None:
    global _last_run_id
    _last_run_id = run.id
    if run in _active:
        _active.remove(run)


def last_run_id() -> str | None:
    """The id of the run that ended last in this process (what ``%mlops register`` registers from)."""
    return _last_run_id


def _remember_model(model: Any, run_id: str, variable: str) -> None:
    """Note that run ``run_id`` saved ``model`` as its candidate ``variable``, so registering the live
    object later links the version to that run."""
    key = id(model)
    try:
        ref = weakref.ref(model, lambda _: _produced.pop(key, None))
    except TypeError:  # not weak-referenceable: no lineage from the live object
        return
    _produced[key] = (ref, run_id, variable)


def producer(model: Any) -> tuple[str, str] | None:
    """(run id, variable) of the tracked cell that produced this live object, if one did."""
    found = _produced.get(id(model))
    if found is None or found[0]() is not model:
        return None
    return found[1], found[2]


def active_run() -> ActiveRun | None:
    """The innermost run in progress, or None."""
    return _active[-1] if _active else None


def _require_run() -> ActiveRun:
    if not _active:
        raise NoActiveRun("no run in progress: wrap the code in `with mlops.start_run(...):` first")
    return _active[-1]


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log a metric point to the active run (see ActiveRun.log_metric)."""
    _require_run().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log several metrics at one step to the active run."""
    _require_run().log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    """Record a parameter of the active run."""
    _require_run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Record several parameters of the active run."""
    _require_run().log_params(params)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _require_run().set_tag(key, value)


def log_artifact(path_or_obj: Any, name: str | None = None) -> Any:
    """Store a file or object with the active run (see ActiveRun.log_artifact)."""
    return _require_run().log_artifact(path_or_obj, name)


def flush() -> None:
    """Write buffered metric points now (they are also written every second and at run end)."""
    _current().writer.flush()


def runs(
    experiment: str | list[str] | None = None,
    filter: str | None = None,
    order_by: str | list[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Runs as a DataFrame: run_id, experiment, run_name, status, times, then params.*, metrics.*, tags.*.

    mlops.runs("churn", filter="metrics.acc > 0.9 and params.model in ('lr', 'rf')", order_by="-metrics.acc")
    """
    from ..store.search import search_runs

    tracking = _current()
    tracking.writer.flush()  # what was logged is what is found
    return search_runs(tracking.store.db, experiment, filter, order_by, limit)


def get_run(run_ref: str) -> Run:
    """One run by id or unique id prefix, with params, latest metrics, tags, artifacts and inputs."""
    tracking = _current()
    tracking.writer.flush()
    return tracking.store.get_run(run_ref)


def show(run_ref: str) -> RunCard:
    """A readable card of one run (HTML in a notebook, text in a terminal): code, params, metrics,
    inputs, environment and artifacts.

    mlops.show("3f2a")
    """
    from ..store.registry_store import RegistryStore
    from .cards import RunCard

    run = get_run(run_ref)
    registered = RegistryStore(_current().store.db).versions_of_run(run.id)
    return RunCard(run, [f"{name}:{version}" for name, version in registered])


def diff(run_a: str, run_b: str) -> RunDiff:
    """What differs between two runs: params, metrics (with the difference), code and packages.

    mlops.diff("3f2a", "9c1b").params   # [(name, value in a, value in b), ...]
    """
    from .cards import RunDiff

    return RunDiff(get_run(run_a), get_run(run_b))


def reproduce(run_ref: str, timeout: int = 600, rel_tol: float = 1e-9) -> Reproduction:
    """Run a tracked cell again in a fresh kernel (its context slice first) and compare final metrics.

    result = mlops.reproduce("3f2a"); result.matches, result.mismatched_metrics, result.changed_inputs
    """
    from .reproduce import reproduce_run

    return reproduce_run(get_run(run_ref), timeout=timeout, rel_tol=rel_tol)


def experiments() -> pd.DataFrame:
    """The experiments: id, name, created_time."""
    import pandas as pd

    rows = _current().store.experiments()
    frame = pd.DataFrame(
        [(e.id, e.name, e.created_time) for e in rows], columns=["id", "name", "created_time"]
    )
    frame["created_time"] = pd.to_datetime(frame["created_time"], unit="s", utc=True)
    return frame


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return None
