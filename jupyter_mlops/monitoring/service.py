"""Service metrics of a deployment per version, from its logged requests and the feedback sent later:
requests, error rate, latency percentiles, the predictions' distribution, and live accuracy (or RMSE)
where ground truth arrived; plus an A/B comparison of two versions with a significance test."""

from __future__ import annotations

import json
import math
from typing import Any

SERVICE_COLUMNS = [
    "model",
    "requests",
    "errors",
    "error_rate",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "prediction_mean",
    "labelled",
    "accuracy",
    "rmse",
]


def service_table(logged: Any, feedback: Any) -> Any:
    """One row per version: ``logged`` has model, request_id, latency_ms, status, outputs (JSON text);
    ``feedback`` has request_id, value (JSON text)."""
    import numpy as np
    import pandas as pd

    truth = {r: json.loads(v) for r, v in zip(feedback.request_id, feedback.value, strict=True)}
    rows = []
    for model, group in logged.groupby("model", sort=True):
        answered = group[group.status == 200]
        predictions = [_first(json.loads(o)) for o in answered.outputs if o]
        numeric = [p for p in predictions if isinstance(p, int | float) and not isinstance(p, bool)]
        pairs = [
            (_first(json.loads(o)), _first(truth[r]))
            for r, o in zip(answered.request_id, answered.outputs, strict=True)
            if o and r in truth
        ]
        accuracy = rmse = math.nan
        if pairs:
            if all(_is_class(p) and _is_class(t) for p, t in pairs):
                accuracy = float(np.mean([p == t for p, t in pairs]))
            else:
                rmse = float(np.sqrt(np.mean([(float(p) - float(t)) ** 2 for p, t in pairs])))
        latency = group.latency_ms.to_numpy(float)
        rows.append(
            {
                "model": model,
                "requests": len(group),
                "errors": int((group.status >= 500).sum()),
                "error_rate": float((group.status >= 500).mean()),
                "p50_ms": float(np.percentile(latency, 50)),
                "p95_ms": float(np.percentile(latency, 95)),
                "p99_ms": float(np.percentile(latency, 99)),
                "prediction_mean": float(np.mean(numeric)) if numeric else math.nan,
                "labelled": len(pairs),
                "accuracy": accuracy,
                "rmse": rmse,
            }
        )
    return pd.DataFrame(rows, columns=SERVICE_COLUMNS)


def ab_test(table: Any, a: str, b: str) -> dict[str, Any]:
    """Compare the live accuracy of versions ``a`` and ``b``: a two-proportion z-test."""
    from scipy import stats

    rows = table.set_index("model")
    pa, na = rows.loc[a, "accuracy"], int(rows.loc[a, "labelled"])
    pb, nb = rows.loc[b, "accuracy"], int(rows.loc[b, "labelled"])
    if not na or not nb or math.isnan(pa) or math.isnan(pb):
        return {"a": a, "b": b, "verdict": "not enough labelled requests", "p_value": math.nan}
    pooled = (pa * na + pb * nb) / (na + nb)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    p_value = 1.0 if spread == 0 else float(2 * stats.norm.sf(abs(pa - pb) / spread))
    better = a if pa > pb else b
    verdict = (
        f"{better} is more accurate (p={p_value:.3g})" if p_value < 0.05 else "no significant difference"
    )
    return {
        "a": a,
        "b": b,
        "accuracy_a": pa,
        "accuracy_b": pb,
        "labelled_a": na,
        "labelled_b": nb,
        "p_value": p_value,
        "verdict": verdict,
    }


def _first(value: Any) -> Any:
    while isinstance(value, list) and value:
        value = value[0]
    return value


def _is_class(value: Any) -> bool:
    return isinstance(value, str | bool) or (isinstance(value, int | float) and float(value).is_integer())
