"""``jupyter mlops models`` and ``jupyter mlops check MODEL_REF --require "acc>=0.9"``."""

from __future__ import annotations

from ..registry import api


def models_command() -> int:
    frame = api.list_models()
    if frame.empty:
        print("no registered models")
        return 0
    frame["updated_time"] = frame["updated_time"].dt.strftime("%Y-%m-%d %H:%M")
    print(frame.to_string(index=False))
    return 0


def check_command(model_ref: str, require: str) -> int:
    """0 when the version passes, 1 when it does not; one line saying why either way."""
    passed, line = api.check(model_ref, require)
    print(("PASS " if passed else "FAIL ") + line)
    return 0 if passed else 1
