"""A version's reference sample: rows like its training inputs, with the model's predictions on them,
kept with the version so drift in production has something to be measured against.

Up to REFERENCE_ROWS rows (a seeded random sample of larger data), as JSON with the column dtypes.
When no rows are given, ``from_profile`` rebuilds PROFILE_ROWS of them from the fingerprint of the
training data that the run recorded: each number column from its quantiles, each other column from its
value counts. Columns are rebuilt independently, which is all per-column drift tests look at.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

REFERENCE_ROWS = 5_000
PROFILE_ROWS = 1_000  # rows rebuilt from a fingerprint: the small-reference tests (KS, chi-squared) apply
PREDICTION = "prediction"


def build(data: Any, predict: Any, signature: Any) -> tuple[bytes, dict[str, Any]]:
    """(file bytes, summary) of a reference sample of ``data`` with ``predict``'s answers."""
    import numpy as np

    from .signature import as_frame

    frame = as_frame(data)
    inputs = [i["name"] for i in (signature or {}).get("inputs", [])]
    if (signature or {}).get("named") and all(c in frame.columns for c in inputs):
        frame = frame[inputs]
    if len(frame) > REFERENCE_ROWS:
        frame = frame.sample(REFERENCE_ROWS, random_state=0)
    predictions = np.asarray(predict(frame if (signature or {}).get("named", True) else frame.to_numpy()))
    if predictions.ndim > 1 and predictions.shape[-1] == 1:
        predictions = predictions.reshape(-1)
    document = {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "data": json.loads(frame.to_json(orient="values", double_precision=15)),
        PREDICTION: predictions.tolist() if predictions.ndim == 1 else None,
    }
    summary = {"rows": len(frame), "columns": document["columns"]}
    return json.dumps(document).encode(), summary


def load(data: bytes) -> Any:
    """The reference as a DataFrame (its dtypes restored), with a ``prediction`` column when it has one."""
    import pandas as pd

    document = json.loads(data)
    frame = pd.DataFrame(document["data"], columns=document["columns"])
    for column, dtype in zip(document["columns"], document["dtypes"], strict=True):
        # a dtype this pandas does not know: keep what JSON gave
        with contextlib.suppress(TypeError, ValueError):
            frame[column] = frame[column].astype(dtype)
    if document.get(PREDICTION) is not None:
        frame[PREDICTION] = document[PREDICTION]
    return frame


def from_profile(profile: Any, columns: list[str], rows: int = PROFILE_ROWS) -> Any:
    """``rows`` rows with ``columns`` distributed as a fingerprint's profile says; None when the profile
    lacks a column or its distribution (a fingerprint taken before quantiles were recorded)."""
    import numpy as np
    import pandas as pd

    described = (profile or {}).get("columns") or {}
    if not columns or any(c not in described for c in columns):
        return None
    rng = np.random.default_rng(0)
    built: dict[str, Any] = {}
    for column in columns:
        stats = described[column]
        missing = round(rows * float(stats.get("null_share") or 0.0))
        present = rows - missing
        if "quantiles" in stats:
            quantiles = np.array([np.nan if q is None else q for q in stats["quantiles"]], dtype=float)
            levels = np.linspace(0, 1, len(quantiles))
            values: Any = np.interp((np.arange(present) + 0.5) / present, levels, quantiles)
            values = np.concatenate([values, np.full(missing, np.nan)])
        elif stats.get("top"):
            counts = pd.Series(stats["top"], dtype=float)
            shares = counts / counts.sum()  # values outside the top ones are left out
            repeats = np.floor(shares * present).astype(int)
            short = present - int(repeats.sum())
            repeats.iloc[np.argsort(-(shares * present - repeats).to_numpy())[:short]] += 1
            values = np.concatenate(
                [np.repeat(np.array(counts.index, dtype=object), repeats), [None] * missing]
            )
        else:
            return None
        built[column] = rng.permutation(values)
    return pd.DataFrame(built)
