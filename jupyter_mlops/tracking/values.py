"""Check names and turn user values into what the store keeps, with warnings instead of failures.

>>> param_value("layers", [64, 32])
('[64, 32]', None)
>>> param_value("lr", 0.01)
('0.01', 0.01)
"""

from __future__ import annotations

import json
import math
import numbers
import re
import warnings

from ..config import MAX_NAME_LENGTH, MAX_PARAM_VALUE, MAX_TAG_VALUE
from ..errors import InvalidValue, UnserialisableWarning, ValueTruncatedWarning
from ..masking import mask_value

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(kind: str, name: object) -> str:
    """Return ``name`` if it is a valid param/metric/tag/experiment name, else raise InvalidValue."""
    problem = None
    if not isinstance(name, str):
        problem = f"must be a string, got {type(name).__name__}"
    elif not name.strip():
        problem = "is empty"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"is {len(name)} characters long, the limit is {MAX_NAME_LENGTH}"
    elif _CONTROL.search(name):
        problem = "contains control characters (newline, tab, ...)"
    elif name != name.strip():
        problem = "starts or ends with spaces"
    elif name.startswith("/") or ".." in name.split("/"):
        problem = "starts with '/' or has a '..' segment; use names like 'train/loss'"
    if problem:
        raise InvalidValue(f"{kind} name {name!r} {problem}")
    return name  # type: ignore[return-value]


def param_value(key: str, value: object) -> tuple[str, float | None]:
    """The stored text of a param (secrets masked, size capped) and its numeric value, if it is a number."""
    number: float | None = None
    if isinstance(value, str):
        text = value
    elif value is None or isinstance(value, bool):
        text = str(value)
    elif isinstance(value, numbers.Real):
        text, number = str(value), float(value)
    elif isinstance(value, list | tuple | dict):
        try:
            text = json.dumps(value, allow_nan=True, default=_refuse)
        except (TypeError, ValueError):
            text = _by_repr(key, value)
    else:
        text = _by_repr(key, value)
    if isinstance(value, str):
        number = _as_number(text)
    text = cap(f"param {key!r}", text, MAX_PARAM_VALUE)
    masked = mask_value(key, text)[:MAX_PARAM_VALUE]
    if masked != text or (number is not None and math.isnan(number)):
        number = None
    return masked, number


def tag_value(key: str, value: object) -> str:
    """The stored text of a tag: secrets masked, size capped."""
    text = cap(f"tag {key!r}", value if isinstance(value, str) else str(value), MAX_TAG_VALUE)
    return mask_value(key, text)[:MAX_TAG_VALUE]


def metric_value(key: str, value: object) -> float | None:
    """A metric as float; NaN becomes None (stored as NULL). Raises InvalidValue for non-numbers."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValue(
            f"metric {key!r} must be a real number, got {type(value).__name__} {value!r:.60}"
        ) from None
    return None if number != number else number


def cap(what: str, text: str, limit: int) -> str:
    if len(text) > limit:
        warnings.warn(
            f"{what} is {len(text):,} characters; stored the first {limit:,}. "
            "Log large values with log_artifact.",
            ValueTruncatedWarning,
            stacklevel=4,
        )
        return text[:limit]
    return text


def _refuse(obj: object) -> object:
    raise TypeError(type(obj).__name__)


def _by_repr(key: str, value: object) -> str:
    warnings.warn(
        f"param {key!r} ({type(value).__name__}) is not a string, number or JSON value; stored its repr()",
        UnserialisableWarning,
        stacklevel=4,
    )
    return repr(value)


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
