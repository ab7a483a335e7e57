"""Dataset fingerprints: a content hash, shape, schema and a small profile of DataFrames, Series,
numpy arrays and torch tensors.

    >>> fp = fingerprint(pd.DataFrame({"x": [1.0, 2.0]}))   # doctest: +SKIP
    >>> fp.id[:12], fp.shape, fp.schema                     # doctest: +SKIP
    ('5b1d0c9a7e44', [2, 1], {'x': 'float64'})

The hash covers values, index, column names and dtypes, so equal data gives the same id in any process.
Columns are hashed with sha256 straight from their memory (in threads: hashlib releases the GIL), text
columns through pandas' vectorised hashing. The profile is computed on at most PROFILE_ROWS evenly
spaced rows, so its cost does not grow with the data.
"""

from __future__ import annotations

import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

PROFILE_ROWS = 10_000
QUANTILES = 51  # 0%, 2%, ..., 100% of each number column: enough to rebuild its distribution for drift
TOP_VALUES = 20  # the most common values of each other column, with their counts
_THREADED_BYTES = 8 * 1024 * 1024  # below this, threads cost more than they save
_pool: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class Fingerprint:
    """What is recorded about one input: ``id`` is the sha256 of its content."""

    id: str
    kind: str  # dataframe, series, ndarray, tensor
    shape: list[int]
    schema: dict[str, str]
    profile: dict[str, Any]


def kind_of(obj: Any) -> str | None:
    """'dataframe', 'series', 'ndarray' or 'tensor' for data worth fingerprinting, else None.

    Decided by type name and module, so checking a value never imports pandas, numpy or torch."""
    cls = type(obj)
    module = cls.__module__.split(".", 1)[0]
    if module == "pandas" and cls.__name__ in ("DataFrame", "Series"):
        return cls.__name__.lower()
    if module == "numpy" and cls.__name__ == "ndarray":
        return "ndarray"
    if module == "torch" and cls.__name__ in ("Tensor", "Parameter"):
        return "tensor"
    return None


def fingerprint(obj: Any) -> Fingerprint | None:
    """The fingerprint of a DataFrame, Series, ndarray or tensor; None for anything else."""
    kind = kind_of(obj)
    if kind == "dataframe":
        return _frame(obj, kind)
    if kind == "series":
        return _frame(obj.to_frame(name=obj.name if obj.name is not None else 0), kind, [len(obj)])
    if kind == "ndarray":
        return _array(obj, kind)
    if kind == "tensor":
        return _tensor(obj)
    return None


def _frame(frame: Any, kind: str, shape: list[int] | None = None) -> Fingerprint:
    import numpy as np
    import pandas as pd

    shape = shape or list(frame.shape)
    schema = {str(col): str(dtype) for col, dtype in frame.dtypes.items()}
    header = json.dumps([kind, shape, list(schema.items())]).encode()
    parts: list[Any] = [header, _index_bytes(frame.index)]
    for _, column in frame.items():
        values = column.to_numpy() if column.dtype.kind in "biufcmM" else None
        if values is not None and values.dtype.kind in "biufcmM":
            parts.append(np.ascontiguousarray(values).view(np.uint8))
        else:  # text, categories, objects, extension types: pandas hashes them by value
            parts.append(pd.util.hash_pandas_object(column, index=False).to_numpy())
    return Fingerprint(_digest(parts), kind, shape, schema, _profile(frame))


def _index_bytes(index: Any) -> bytes:
    import pandas as pd

    if isinstance(index, pd.RangeIndex):
        return f"range:{index.start}:{index.stop}:{index.step}".encode()
    return pd.util.hash_pandas_object(index, index=False).to_numpy().tobytes()


def _array(array: Any, kind: str) -> Fingerprint:
    import numpy as np

    shape = list(array.shape)
    schema = {"dtype": str(array.dtype)}
    header = json.dumps([kind, shape, schema]).encode()
    if array.dtype.kind == "O":
        body: Any = repr(array.tolist()).encode()
    else:
        body = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return Fingerprint(_digest([header, body]), kind, shape, schema, _array_profile(array))


def _tensor(tensor: Any) -> Fingerprint:
    import torch

    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    shape = list(tensor.shape)
    schema = {"dtype": str(tensor.dtype).replace("torch.", ""), "device": str(tensor.device)}
    header = json.dumps(["tensor", shape, schema["dtype"]]).encode()
    body = flat.view(torch.uint8).numpy() if flat.numel() else b""
    profile: dict[str, Any] = {}
    if flat.is_floating_point() or not flat.dtype.is_complex:
        sample = flat[:: max(1, flat.numel() // PROFILE_ROWS)].to(torch.float64).numpy()
        profile = _array_profile(sample)
    return Fingerprint(_digest([header, body]), "tensor", shape, schema, profile)


def _digest(parts: list[Any]) -> str:
    """sha256 over the sha256 of each part; big parts are hashed in parallel threads."""
    views = [memoryview(p).cast("B") if not isinstance(p, bytes) else memoryview(p) for p in parts]
    if sum(v.nbytes for v in views) > _THREADED_BYTES and len(views) > 2:
        digests = list(_threads().map(_sha, views))
    else:
        digests = [_sha(v) for v in views]
    return hashlib.sha256(b"".join(digests)).hexdigest()


def _sha(view: memoryview) -> bytes:
    return hashlib.sha256(view).digest()


def _threads() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        import os

        _pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="mlops-hash")
    return _pool


def _profile(frame: Any) -> dict[str, Any]:
    """Per column, on a sample: null share, min/mean/std/max and QUANTILES quantiles for numbers,
    distinct count and the TOP_VALUES most common values for the rest."""
    import numpy as np

    rows = len(frame)
    sample = frame.iloc[:: max(1, rows // PROFILE_ROWS)] if rows > PROFILE_ROWS else frame
    columns: dict[str, Any] = {}
    for name, column in sample.items():
        if column.dtype.kind in "biuf":  # plain numpy from here: pandas' per-call cost dominates small data
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(values)
            present = values[~missing]
            stats: dict[str, Any] = {"null_share": float(missing.mean()) if len(values) else 0.0}
            stats.update(_summary(present))
            if present.size:
                stats["quantiles"] = [_number(q) for q in np.quantile(present, np.linspace(0, 1, QUANTILES))]
        else:
            counts = column.astype("string").value_counts(dropna=True)
            stats = {
                "null_share": float(column.isna().mean()) if len(column) else 0.0,
                "distinct": len(counts),
                "top": {str(k): int(v) for k, v in counts.head(TOP_VALUES).items()},
            }
        columns[str(name)] = stats
    return {"rows": rows, "sampled_rows": len(sample), "columns": columns}


def _array_profile(array: Any) -> dict[str, Any]:
    import numpy as np

    if array.dtype.kind not in "biuf" or array.size == 0:
        return {"size": int(array.size)}
    flat = array.reshape(-1)
    sample = flat[:: max(1, flat.size // PROFILE_ROWS)].astype(np.float64)
    finite = sample[np.isfinite(sample)]
    profile: dict[str, Any] = {
        "size": int(array.size),
        "sampled": int(sample.size),
        "nan_share": _number(float(np.isnan(sample).mean())),
    }
    profile.update(_summary(finite))
    return profile


def _summary(values: Any) -> dict[str, float | None]:
    """min, mean, std and max of a float array ({} when it is empty)."""
    if not values.size:
        return {}
    return {
        "min": _number(values.min()),
        "mean": _number(values.mean()),
        "std": _number(values.std()),
        "max": _number(values.max()),
    }


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number
