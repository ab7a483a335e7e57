"""What a cell leaves behind: final metrics, candidate models, and its stdout/stderr.

>>> final_metrics(["acc", "name", "n"], {"acc": 0.93, "name": "rf", "n": True})
{'acc': 0.93}
"""

from __future__ import annotations

import io
import numbers
import sys
from collections.abc import Iterable, Mapping
from typing import Any

MAX_OUTPUT = 100_000  # characters of stdout and of stderr kept per run


def final_metrics(names: Iterable[str], namespace: Mapping[str, Any]) -> dict[str, float]:
    """The names bound to real numbers (not bools): Python and numpy numbers, 0-d arrays and tensors."""
    found = {}
    for name in names:
        if name.startswith("_") or name not in namespace:
            continue
        number = _real(namespace[name])
        if number is not None:
            found[name] = number
    return found


def _real(value: Any) -> float | None:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    kind = type(value).__module__.split(".", 1)[0]
    if kind in ("numpy", "torch") and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        item = value.item()
        if isinstance(item, numbers.Real) and not isinstance(item, bool):
            return float(item)
    return None


def model_flavor(value: Any) -> str | None:
    """'sklearn' for a fitted scikit-learn estimator, 'torch' for a torch module, else None."""
    cls = type(value)
    root = cls.__module__.split(".", 1)[0]
    if root == "sklearn" or (hasattr(value, "fit") and hasattr(value, "get_params")):
        if hasattr(value, "fit") and _fitted(value):
            return "sklearn"
        return None
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return "torch"
    return None


def _fitted(estimator: Any) -> bool:
    """scikit-learn's own rule: a fitted estimator has attributes ending in one underscore; pipelines
    and other meta-estimators answer through ``__sklearn_is_fitted__``."""
    if hasattr(estimator, "__sklearn_is_fitted__"):
        try:
            return bool(estimator.__sklearn_is_fitted__())
        except Exception:  # a third-party estimator whose check fails: not sure, so not saved
            return False
    try:
        names = vars(estimator)
    except TypeError:
        return False
    return any(k.endswith("_") and not k.startswith("__") for k in names)


def candidate_models(names: Iterable[str], namespace: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(variable, flavor, object) for each fitted estimator or torch module bound to ``names``."""
    found = []
    for name in names:
        if name.startswith("_") or name not in namespace:
            continue
        flavor = model_flavor(namespace[name])
        if flavor:
            found.append((name, flavor, namespace[name]))
    return found


def init_arguments(model: Any) -> dict[str, Any] | None:
    """A torch module's constructor arguments read back from same-named attributes (``self.hidden =
    hidden``), so the module can be rebuilt to load its state dict; None when a required one is not
    found that way.

    >>> class MLP:
    ...     def __init__(self, width, depth=2): self.width = width
    >>> init_arguments(MLP(64))
    {'width': 64}
    """
    import inspect

    try:
        params = inspect.signature(type(model).__init__).parameters
    except (TypeError, ValueError):
        return None
    found: dict[str, Any] = {}
    for name, param in list(params.items())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        value = getattr(model, name, inspect.Parameter.empty)
        if _plain(value):
            found[name] = list(value) if isinstance(value, tuple) else value
        elif param.default is inspect.Parameter.empty:
            return None
    return found


def _plain(value: Any) -> bool:
    scalar = (int, float, str, bool, type(None))
    if isinstance(value, list | tuple):
        return all(isinstance(v, scalar) for v in value)
    return isinstance(value, scalar)


def serialise_model(flavor: str, model: Any) -> tuple[bytes, str]:
    """(bytes, file suffix): a pickle for scikit-learn, the state dict for torch (loaded weights-only)."""
    buffer = io.BytesIO()
    if flavor == "torch":
        import torch

        torch.save(model.state_dict(), buffer)
        return buffer.getvalue(), ".pt"
    import pickle

    pickle.dump(model, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue(), ".pkl"


class OutputCapture:
    """Keeps a copy of what is written to stdout and stderr while it is on, up to MAX_OUTPUT each.

    Output still goes where it went before: the stream's own ``write`` is wrapped, not the stream
    replaced, because Jupyter kernels check the type of ``sys.stdout``.
    """

    def __init__(self, limit: int = MAX_OUTPUT) -> None:
        self.limit = limit
        self.text = {"stdout": io.StringIO(), "stderr": io.StringIO()}
        self.truncated = {"stdout": False, "stderr": False}
        self._patched: list[tuple[Any, Any, bool]] = []

    def start(self) -> None:
        for channel in ("stdout", "stderr"):
            stream = getattr(sys, channel)
            try:
                original = stream.write
                had_own = "write" in getattr(stream, "__dict__", {})
                stream.write = self._tee(channel, original)
            except (AttributeError, TypeError):  # a stream whose write cannot be wrapped: not captured
                continue
            self._patched.append((stream, original, had_own))

    def stop(self) -> dict[str, str]:
        """Restore the streams; return what was captured per channel."""
        while self._patched:
            stream, original, had_own = self._patched.pop()
            try:
                if had_own:
                    stream.write = original
                else:
                    del stream.write
            except AttributeError:
                pass
        return {k: v.getvalue() for k, v in self.text.items()}

    def _tee(self, channel: str, original: Any) -> Any:
        kept = self.text[channel]

        def write(data: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(data, *args, **kwargs)
            if isinstance(data, str) and not self.truncated[channel]:
                room = self.limit - kept.tell()
                kept.write(data[:room])
                if len(data) > room:
                    self.truncated[channel] = True
            return result

        return write
