"""Model signatures: the input columns and dtypes (and the output) a version expects.

Inferred from ``input_example`` (a DataFrame, a dict of columns, a list of records or an array), else
from what a fitted scikit-learn estimator remembers (``feature_names_in_`` / ``n_features_in_``). Up to
EXAMPLE_ROWS rows of the example are kept with it, for a first test request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import InvalidValue

EXAMPLE_ROWS = 5


def as_frame(data: Any) -> Any:
    """A DataFrame from a DataFrame, a dict of columns, a list of records or a 2-D array."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        return pd.DataFrame({k: v if np.ndim(v) else [v] for k, v in data.items()})
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return pd.DataFrame.from_records(data)
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise InvalidValue(f"input_example must be a table (2-D), got an array of shape {array.shape}")
    return pd.DataFrame(array)


def infer(input_example: Any, model: Any, predict: Callable[[Any], Any] | None) -> dict[str, Any] | None:
    """The signature as a JSON-able dict, or None when nothing tells the inputs."""
    if input_example is None:
        return _from_estimator(model)
    frame = as_frame(input_example)
    named = not all(isinstance(c, int) for c in frame.columns)
    signature: dict[str, Any] = {
        "inputs": [{"name": str(c), "dtype": str(t)} for c, t in frame.dtypes.items()],
        "named": named,
        "from": "input_example",
        "example": json.loads(
            frame.head(EXAMPLE_ROWS).to_json(orient="split", index=False, double_precision=15)
        ),
    }
    if predict is not None:
        try:
            signature["outputs"] = _describe_output(
                predict(frame.head(EXAMPLE_ROWS) if named else frame.to_numpy()[:EXAMPLE_ROWS])
            )
        except Exception as err:  # the signature still names the inputs
            signature["outputs_error"] = f"{type(err).__name__}: {err}"[:300]
    return signature


def _from_estimator(model: Any) -> dict[str, Any] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return {
            "inputs": [{"name": str(n), "dtype": "any"} for n in names],
            "named": True,
            "from": "feature_names_in_",
        }
    count = getattr(model, "n_features_in_", None)
    if isinstance(count, int):
        return {
            "inputs": [{"name": str(i), "dtype": "any"} for i in range(count)],
            "named": False,
            "from": "n_features_in_",
        }
    return None


def _describe_output(output: Any) -> dict[str, Any]:
    import numpy as np

    array = np.asarray(output)
    return {"dtype": str(array.dtype), "shape": [-1, *array.shape[1:]]}
