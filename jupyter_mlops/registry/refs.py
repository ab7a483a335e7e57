"""Model references: ``name`` (latest version), ``name:3`` (a version), ``name@champion`` (an alias).

>>> parse_ref("churn@champion")
ModelRef(name='churn', version=None, alias='champion')
>>> parse_ref("churn:3").version
3
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidValue

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_REF = re.compile(rf"(?P<name>{_NAME})(?::(?P<version>\d+)|@(?P<alias>{_NAME}))?")
NAME_RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit"


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: int | None
    alias: str | None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return f"{self.name}@{self.alias}" if self.alias else self.name


def parse_ref(ref: str) -> ModelRef:
    """Split a model reference, or raise InvalidValue saying the three forms."""
    match = _REF.fullmatch(ref.strip()) if isinstance(ref, str) else None
    if match is None or len(match["name"]) > 250:
        raise InvalidValue(
            f"{ref!r} is not a model reference: write NAME (latest), NAME:VERSION (e.g. churn:3) "
            "or NAME@ALIAS (e.g. churn@champion)"
        )
    version = int(match["version"]) if match["version"] else None
    if version == 0:
        raise InvalidValue(f"{ref!r}: versions start at 1")
    return ModelRef(match["name"], version, match["alias"])


def is_model_ref(text: str) -> bool:
    """True for ``name:3`` and ``name@alias`` (a bare word may be a run prefix too)."""
    return isinstance(text, str) and (":" in text or "@" in text)


def check_model_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(_NAME, name) or len(name) > 250:
        raise InvalidValue(f"{what} {name!r} is not valid: use {NAME_RULE} (at most 250)")
    return name
