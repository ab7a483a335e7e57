"""``jupyter mlops runs``: a text table of runs."""

from __future__ import annotations

from ..tracking import api


def runs_command(experiment: str | None, filter: str | None, order_by: str | None, limit: int) -> int:
    frame = api.runs(experiment, filter=filter, order_by=order_by, limit=limit)
    if frame.empty:
        print("no runs")
        return 0
    frame = frame.assign(
        run_id=frame["run_id"].str[:8], start_time=frame["start_time"].dt.strftime("%Y-%m-%d %H:%M")
    )
    print(
        frame.drop(columns=["end_time", "parent_id", "user", "host"]).to_string(index=False, max_colwidth=30)
    )
    return 0
