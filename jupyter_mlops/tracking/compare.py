"""Comparing runs: the state behind the compare widget, usable on its own.

    cmp = Comparison("churn", filter="metrics.acc > 0.8")
    cmp.sort_by("metrics.acc", descending=True)
    cmp.select(cmp.view.run_id[:2])
    cmp.columns(differences_only=True)     # params/metrics that differ across the selection
    cmp.diff()                             # RunDiff of the two selected runs
    cmp.curves()                           # step series of the selected runs, downsampled
    print(cmp)                             # a text table, for terminals

Data comes from the Python API: one search for the table, one query for the curves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from . import api

if TYPE_CHECKING:
    import pandas as pd

    from .cards import RunDiff

TEXT_COLUMNS = ["run_id", "run_name", "status"]  # shown before params and metrics in the text table
MAX_CURVE_POINTS = 500


class Comparison:
    """Runs of an experiment (or given runs): filter, sort, select, diff, curves."""

    def __init__(self, experiment_or_runs: Any = None, filter: str | None = None) -> None:
        self.experiment: str | list[str] | None = None
        self.run_ids: list[str] | None = None
        if isinstance(experiment_or_runs, str) or experiment_or_runs is None:
            self.experiment = experiment_or_runs
        elif hasattr(experiment_or_runs, "columns") and "run_id" in experiment_or_runs.columns:
            self.run_ids = list(experiment_or_runs["run_id"])
        elif isinstance(experiment_or_runs, Iterable):
            self.run_ids = [str(getattr(r, "id", r)) for r in experiment_or_runs]
        else:
            raise InvalidValue(
                "compare takes an experiment name, a list of run ids or runs, or a DataFrame from "
                f"mlops.runs(), got {type(experiment_or_runs).__name__}"
            )
        self.filter: str | None = None
        self.sort: tuple[str, bool] = ("start_time", True)
        self.selected: list[str] = []
        self.frame = self._load(filter)
        self.filter = filter or None

    # -- the table ---------------------------------------------------------------------------------
    def _load(self, filter: str | None) -> pd.DataFrame:
        frame = api.runs(self.experiment, filter=filter or None)
        if self.run_ids is not None:
            wanted = [api._current().store.resolve_run_id(r) for r in self.run_ids]
            frame = frame[frame["run_id"].isin(wanted)].reset_index(drop=True)
        return frame

    def set_filter(self, text: str | None) -> None:
        """Filter with the filter language; raises FilterSyntaxError (the table stays as it was)."""
        frame = self._load(text)
        self.frame, self.filter = frame, (text or None)
        self.selected = [r for r in self.selected if r in set(frame["run_id"])]

    def sort_by(self, column: str, descending: bool = False) -> None:
        if column not in self.frame.columns:
            raise InvalidValue(f"no column {column!r} to sort by: use one of {', '.join(self.frame.columns)}")
        self.sort = (column, descending)

    @property
    def view(self) -> pd.DataFrame:
        """The filtered runs in the current sort order (numbers sort as numbers, missing values last)."""
        import pandas as pd

        column, descending = self.sort
        if self.frame.empty:
            return self.frame
        values = self.frame[column]
        numbers = pd.to_numeric(values, errors="coerce")
        key = numbers if numbers.notna().sum() == values.notna().sum() else values.astype("string")
        order = key.sort_values(ascending=not descending, na_position="last", kind="stable").index
        return self.frame.loc[order].reset_index(drop=True)

    def columns(self, differences_only: bool = False) -> list[str]:
        """params.* and metrics.* columns; with ``differences_only`` those whose values differ across
        the selected runs (across all shown runs when fewer than two are selected)."""
        data = [c for c in self.frame.columns if c.startswith(("params.", "metrics."))]
        if not differences_only:
            return data
        rows = self.frame[self.frame["run_id"].isin(self.selected)] if len(self.selected) > 1 else self.frame
        return [c for c in data if rows[c].astype("string").fillna("\x00").nunique() > 1]

    def select(self, run_ids: Iterable[str]) -> None:
        known = set(self.frame["run_id"])
        chosen = list(dict.fromkeys(run_ids))
        unknown = [r for r in chosen if r not in known]
        if unknown:
            raise InvalidValue(f"run {unknown[0]} is not in this comparison")
        self.selected = chosen

    # -- details of the selection ------------------------------------------------------------------
    def diff(self) -> RunDiff | None:
        """The diff of the two selected runs (None unless exactly two are selected)."""
        if len(self.selected) != 2:
            return None
        return api.diff(*self.selected)

    def curves(
        self, run_ids: Sequence[str] | None = None, max_points: int = MAX_CURVE_POINTS
    ) -> dict[str, dict[str, tuple[list[int], list[float | None]]]]:
        """{metric: {run id: (steps, values)}} for metrics with more than one point, at most
        ``max_points`` points per series (evenly spaced steps, the last one always kept)."""
        ids = list(run_ids if run_ids is not None else self.selected)
        keys = [c[len("metrics.") :] for c in self.frame.columns if c.startswith("metrics.")]
        if not ids or not keys:
            return {}
        series = api._current().store.metric_series([(r, k) for r in ids for k in keys])
        curves: dict[str, dict[str, tuple[list[int], list[float | None]]]] = {}
        for (run_id, key), (steps, values) in series.items():
            if len(steps) > 1:
                steps, values = _downsample(steps, values, max_points)
                curves.setdefault(key, {})[run_id] = (steps, values)
        return curves

    def parallel(self, metric: str) -> list[dict[str, Any]]:
        """Dimensions for a parallel-coordinates plot: each param (numbers as they are, text as codes
        with their labels), then ``metric``; rows in ``frame`` order (sorting does not move them)."""
        view = self.frame
        dims = []
        for column in [c for c in self.columns() if c.startswith("params.")] + [f"metrics.{metric}"]:
            if column not in view.columns:
                raise InvalidValue(f"no metric {metric!r} in these runs")
            dims.append(_dimension(column, view[column]))
        return dims

    def export(self) -> pd.DataFrame:
        """The selected runs (all shown runs when none are selected) as a DataFrame."""
        view = self.view
        return view[view["run_id"].isin(self.selected)].reset_index(drop=True) if self.selected else view

    # -- text, for terminals -----------------------------------------------------------------------
    def text(self, limit: int = 50) -> str:
        view = self.view
        if view.empty:
            return "no runs to compare"
        shown = view[TEXT_COLUMNS + self.columns()].head(limit).copy()
        shown["run_id"] = shown["run_id"].str[:8]
        head = f"{len(view)} runs" + (f" matching {self.filter!r}" if self.filter else "")
        more = f"\n... {len(view) - limit} more" if len(view) > limit else ""
        return f"{head}\n{shown.to_string(index=False, max_colwidth=24)}{more}"

    def __repr__(self) -> str:
        return self.text()


def _downsample(steps: list[int], values: list[float | None], limit: int) -> tuple[list[int], list[Any]]:
    if len(steps) <= limit:
        return steps, values
    stride = -(-len(steps) // limit)
    picked = list(range(0, len(steps), stride))
    if picked[-1] != len(steps) - 1:
        picked[-1] = len(steps) - 1
    return [steps[i] for i in picked], [values[i] for i in picked]


def _dimension(column: str, values: Any) -> dict[str, Any]:
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == values.notna().sum():
        return {"label": column, "values": [None if pd.isna(v) else float(v) for v in numbers]}
    labels = sorted({str(v) for v in values.dropna()})
    codes = {label: i for i, label in enumerate(labels)}
    return {
        "label": column,
        "values": [None if pd.isna(v) else codes[str(v)] for v in values],
        "tickvals": list(range(len(labels))),
        "ticktext": labels,
    }
