"""Validation gates: ``require={"acc": ">=0.9"}`` or ``"acc>=0.9, loss<0.3"``.

>>> failures(parse_require("acc>=0.9"), {"acc": 0.85})
['acc=0.85 is not >= 0.9']
>>> failures(parse_require({"acc": ">=0.9"}), {"acc": 0.93})
[]
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidValue

Requirement = tuple[str, str, float]  # metric, operator, threshold

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_CONDITION = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*")
_EXAMPLE = 'write require={"acc": ">=0.9"} or --require "acc>=0.9, loss<0.3"'


def parse_require(require: Mapping[str, Any] | str | None) -> list[Requirement]:
    """Parse a gate into (metric, operator, threshold) triples, or raise InvalidValue with an example."""
    if require is None:
        return []
    if isinstance(require, str):
        pairs = []
        for clause in filter(str.strip, require.split(",")):
            match = re.fullmatch(r"\s*([A-Za-z_][\w.\-/]*?)\s*((?:>=|<=|==|!=|>|<).*)", clause)
            if match is None:
                raise InvalidValue(f"gate {clause.strip()!r} is not METRIC OP NUMBER: {_EXAMPLE}")
            pairs.append((match[1], match[2]))
    elif isinstance(require, Mapping):
        pairs = [(str(k), v) for k, v in require.items()]
    else:
        raise InvalidValue(f"require must be a dict or a string, got {type(require).__name__}: {_EXAMPLE}")
    parsed = []
    for metric, condition in pairs:
        if isinstance(condition, int | float) and not isinstance(condition, bool):
            condition = f">={condition}"  # {"acc": 0.9} reads as at least 0.9
        match = _CONDITION.fullmatch(str(condition)) if isinstance(condition, str) else None
        if match is None:
            raise InvalidValue(
                f"gate on {metric!r}: {condition!r} is not OP NUMBER such as '>=0.9': {_EXAMPLE}"
            )
        parsed.append((metric, match[1], float(match[2])))
    return parsed


def failures(requirements: list[Requirement], metrics: Mapping[str, float]) -> list[str]:
    """One line per requirement ``metrics`` misses (a missing or NaN metric misses)."""
    missed = []
    for metric, op, threshold in requirements:
        value = metrics.get(metric)
        if value is None:
            known = ", ".join(sorted(metrics)) or "none"
            missed.append(f"{metric} is not among the version's metrics ({known})")
        elif isinstance(value, float) and math.isnan(value):
            missed.append(f"{metric} is NaN")
        elif not _OPS[op](value, threshold):
            missed.append(f"{metric}={value:.6g} is not {op} {threshold:g}")
    return missed


def describe(requirements: list[Requirement]) -> str:
    return ", ".join(f"{metric}{op}{threshold:g}" for metric, op, threshold in requirements)
