"""``ActiveRun``: one run in progress, from start to its final status.

    with mlops.start_run("churn", params={"lr": 0.01}) as run:
        for step in range(100):
            run.log_metric("loss", loss, step=step)
        run.log_artifact("report.html")

Leaving the block normally marks the run finished; an exception marks it failed with the traceback
(and still propagates); KeyboardInterrupt marks it killed.
"""

from __future__ import annotations

import io
import json
import os
import time
import traceback
import warnings
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .. import entities as ent
from ..config import MAX_TEXT
from ..entities import series_id
from ..errors import InvalidValue, MlopsError, MlopsWarning, StoreError
from ..masking import mask_text
from .values import cap, check_name, metric_value, param_value, tag_value

_now = time.time

if TYPE_CHECKING:
    from ..store.artifacts import ArtifactStore
    from ..store.tracking_store import TrackingStore
    from .writer import MetricWriter


class ActiveRun:
    """A run in progress. Get one from :func:`jupyter_mlops.start_run`."""

    def __init__(
        self,
        run_id: str,
        name: str,
        experiment: str,
        store: TrackingStore,
        writer: MetricWriter,
        artifacts: ArtifactStore,
        on_end: Any = None,
    ) -> None:
        self.id = run_id
        self.name = name
        self.experiment = experiment
        self.status = ent.RUNNING
        self._store = store
        self._writer = writer
        self._artifacts = artifacts
        self._on_end = on_end
        self._series: dict[str, list[Any]] = {}
        self._append = writer.buffer.append
        self._buffer = writer.buffer
        writer.runs.add(run_id)

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id[:8]} {self.name!r} in {self.experiment!r}: {self.status}>"

    # -- params and tags ---------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        """Record one parameter (strings, numbers and JSON values as text; others by repr with a warning)."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record several parameters in one write."""
        items = [(check_name("param", k), *param_value(k, v)) for k, v in _mapping(params, "params").items()]
        self._store.log_params(self.id, items)

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag (a mutable label such as ``stage=prod``)."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._store.set_tags(
            self.id, [(check_name("tag", k), tag_value(k, v)) for k, v in _mapping(tags, "tags").items()]
        )

    # -- metrics -----------------------------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Append one point of metric ``key``; ``step`` defaults to the key's previous step + 1 (from 0).

        Buffered: the call only appends, a background thread writes. NaN and inf are kept as such.
        """
        # The hot path of every training loop: keep it to a few dict and list operations.
        series = self._series.get(key)
        if series is None:
            series = self._new_series(key)
        if step is None:
            step = series[1] = series[1] + 1
        else:
            if type(step) is not int:
                step = _step(key, step)
            if step > series[1]:
                series[1] = step
            elif step < series[1]:
                self._writer.unordered = True  # the batch's last point of this key is not its latest
        number: float | None = value
        if type(value) is not float:
            number = metric_value(key, value)
        elif value != value:
            number = None  # NaN: stored as NULL
        series[2] = number
        self._append((series[0], step, number, _now()))
        if len(self._buffer) >= self._writer.limit:
            self._writer.relieve()

    def _new_series(self, key: str) -> list[Any]:
        check_name("metric", key)
        sid = series_id(self.id, key)
        self._writer.series[sid] = (self.id, key)
        self._series[key] = series = [sid, -1, None]  # [series id, highest step so far, last value]
        return series

    def _last_logged(self, key: str) -> float | None:
        """The value this session last logged for ``key`` (None when it logged none, or NaN)."""
        series = self._series.get(key)
        return series[2] if series is not None else None

    def _continue_series(self, last_steps: Mapping[str, int]) -> None:
        """Go on numbering each metric's steps after ``last_steps[key]`` (a resumed run)."""
        for key, step in last_steps.items():
            self._series.get(key) or self._new_series(key)
            self._series[key][1] = step

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Append one point of each metric, all at ``step``."""
        for key, value in _mapping(metrics, "metrics").items():
            self.log_metric(key, value, step)

    # -- artifacts ---------------------------------------------------------------------------------
    def log_artifact(self, path_or_obj: Any, name: str | None = None) -> ent.Artifact:
        """Store a file (path), bytes, a dict/list (as JSON) or a DataFrame (as CSV) with the run.

        run.log_artifact("confusion.png")
        run.log_artifact({"classes": ["a", "b"]}, name="labels.json")
        """
        kind = "file"
        if isinstance(path_or_obj, str | os.PathLike):
            source: bytes | str | os.PathLike[str] = path_or_obj
            name = name or os.path.basename(os.fspath(path_or_obj))
        elif isinstance(path_or_obj, bytes):
            source = path_or_obj
        elif isinstance(path_or_obj, dict | list):
            source, kind = json.dumps(path_or_obj, indent=2, default=repr).encode(), "json"
        elif hasattr(path_or_obj, "to_csv"):
            source, kind = path_or_obj.to_csv(index=False).encode(), "table"
        else:
            raise InvalidValue(
                "log_artifact takes a file path, bytes, a dict/list or a DataFrame, "
                f"got {type(path_or_obj).__name__}"
            )
        if not name:
            raise InvalidValue("give the artifact a name=, e.g. run.log_artifact(data, name='data.json')")
        return self._store_artifact(name, source, kind)

    def log_figure(self, figure: Any, name: str) -> ent.Artifact:
        """Save a matplotlib figure (any ``savefig`` format, from the name's suffix; PNG by default) or a
        plotly figure (as HTML) as an artifact."""
        buffer = io.BytesIO()
        if hasattr(figure, "savefig"):
            figure.savefig(buffer, format=name.rsplit(".", 1)[-1] if "." in name else "png")
        elif hasattr(figure, "to_html"):
            buffer.write(figure.to_html(include_plotlyjs="cdn").encode())
            name = name if name.endswith(".html") else f"{name}.html"
        else:
            raise InvalidValue(f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}")
        return self._store_artifact(name, buffer.getvalue(), "figure")

    def _store_artifact(self, name: str, source: bytes | str | os.PathLike[str], kind: str) -> ent.Artifact:
        """Put the file in the artifact store, then record it (uri, sha256, size) in the database."""
        stored = self._artifacts.put(self.id, name, source)
        self._store.add_artifact(self.id, name, stored.uri, stored.sha256, stored.size, kind)
        return ent.Artifact(name, stored.uri, stored.sha256, stored.size, kind)

    # -- lifecycle ---------------------------------------------------------------------------------
    def end(self, status: str = ent.FINISHED, error: str | None = None) -> None:
        """Flush buffered metrics and record the final status. Ending twice is harmless."""
        if self.status != ent.RUNNING:
            return
        if status not in (ent.FINISHED, ent.FAILED, ent.KILLED):
            raise InvalidValue(f"a run ends as finished, failed or killed, got {status!r}")
        self._writer.runs.discard(self.id)
        self.status = status
        try:
            self._writer.flush()
        except StoreError as err:  # the points stay buffered: retried, or spooled at exit
            warnings.warn(f"metrics of run {self.id[:8]} not written yet: {err}", MlopsWarning, stacklevel=2)
        try:
            self._store.end_run(self.id, status, cap("error", mask_text(error), MAX_TEXT) if error else None)
        finally:  # no longer the active run, even if the database did not take its end
            if self._on_end:
                self._on_end(self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.end(ent.FINISHED)
            return
        try:
            if issubclass(exc_type, KeyboardInterrupt):
                self.end(ent.KILLED, "KeyboardInterrupt")
            else:
                self.end(ent.FAILED, "".join(traceback.format_exception(exc_type, exc, tb)))
        except MlopsError as err:  # never replace the user's own exception with ours
            warnings.warn(f"could not record how run {self.id[:8]} ended: {err}", MlopsWarning, stacklevel=2)


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{what} must be a dict such as {{'lr': 0.01}}, got {type(value).__name__}")
    return value


def _step(key: str, step: Any) -> int:
    try:
        as_int = int(step)
    except (TypeError, ValueError):
        raise InvalidValue(f"step of metric {key!r} must be a whole number, got {step!r}") from None
    if as_int != step:
        raise InvalidValue(f"step of metric {key!r} must be a whole number, got {step!r}")
    return as_int
