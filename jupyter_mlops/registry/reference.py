"""A version's reference sample: rows like its training inputs, with the model's predictions on them,
kept with the version so drift in production has something to be measured against.

Up to REFERENCE_ROWS rows (a seeded random sample of larger data), as JSON with the column dtypes.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

REFERENCE_ROWS = 5_000
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
