"""Resume: ``mlops.checkpoint(**state)`` inside ``for step in mlops.resumable(...)``, and ``--resume``.

    model, optimizer = MLP(), torch.optim.Adam(...)
    for epoch in mlops.resumable(range(20)):
        loss = train_one_epoch(model, optimizer)
        mlops.log_metric("loss", loss)
        mlops.checkpoint(model=model, optimizer=optimizer, best=best)

After the cell failed or its kernel died, ``%%experiment --resume`` runs the same cell in the same run:
``resumable`` loads the last checkpoint into the objects the cell just built (``load_state_dict`` for
torch modules and optimizers, ``set_state`` for generators; other values are assigned back to their
variables), restores the random generators (Python, NumPy, torch) and skips the steps already done.
Metric points logged after the checkpoint are dropped, so the run's history reads as if it never stopped.

A checkpoint is one file per run in its artifacts (the previous one is deleted once the new one is
recorded). It is written with ``torch.save`` when torch is in use, else with pickle, and read back only
after its sha256 matches the database, through an unpickler that builds nothing but containers, numbers,
strings, arrays and tensors: a checkpoint file cannot run code.
"""

from __future__ import annotations

import io
import itertools
import pickle
import random
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from .. import entities as ent
from ..errors import InvalidValue, MlopsError, ModelIntegrityError, NotFound
from . import api
from .run import ActiveRun

CHECKPOINT_KIND = "checkpoint"
_TORCH_MAGIC = b"PK"  # torch.save writes a zip file; pickle starts with b"\x80"
_SCALARS = (type(None), bool, int, float, complex, str, bytes)


@dataclass
class Checkpoint:
    """What ``checkpoint`` saved: the loop position, each metric's last step and the state."""

    step: int
    series: dict[str, int]
    names: dict[str, str]  # state key -> the variable it was taken from
    kinds: dict[str, str]  # state key -> "state_dict", "get_state" or "value"
    state: dict[str, Any]
    rng: dict[str, Any] = field(default_factory=dict)


# -- saving ----------------------------------------------------------------------------------------


def checkpoint(**state: Any) -> None:
    """Save ``state`` and the position of the ``resumable`` loop with the active run, so that
    ``%%experiment --resume`` continues from here. Torch modules, optimizers and schedulers are saved as
    state dicts; numbers, strings, arrays, tensors and lists/dicts of them as they are.

        mlops.checkpoint(model=model, optimizer=optimizer, best_loss=best_loss)
    """
    run = api._require_run()
    loop = _loops[-1] if _loops else None
    caller = sys._getframe(1)
    saved: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for key, value in state.items():
        if hasattr(value, "state_dict") and hasattr(value, "load_state_dict"):
            saved[key], kinds[key] = value.state_dict(), "state_dict"
        elif hasattr(value, "get_state") and hasattr(value, "set_state"):
            saved[key], kinds[key] = value.get_state(), "get_state"
        else:
            _check_plain(key, value)
            saved[key], kinds[key] = value, "value"
    run._writer.flush()  # the points before the checkpoint are stored before it is
    point = Checkpoint(
        step=loop.position + 1 if loop is not None else 0,
        series={key: series[1] for key, series in run._series.items()},
        names={key: _variable(caller, key, value) for key, value in state.items()},
        kinds=kinds,
        state=saved,
        rng=_rng_states(),
    )
    blob = _dump(point)
    name = f"checkpoints/step-{point.step:09d}-{time.time_ns()}.ckpt"
    run._store_artifact(name, blob, CHECKPOINT_KIND)
    _drop_older(run, keep=name)


def _check_plain(key: str, value: Any, depth: int = 0) -> None:
    """Refuse, at save time, a value the safe loader could not read back."""
    if depth > 20:
        raise InvalidValue(f"checkpoint({key}=...) is nested too deeply")
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_plain(key, item, depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _check_plain(key, k, depth + 1)
            _check_plain(key, v, depth + 1)
        return
    module = type(value).__module__.split(".", 1)[0]
    if module in ("numpy", "torch") and type(value).__name__ != "object":
        return
    raise InvalidValue(
        f"checkpoint({key}=...): a {type(value).__name__} cannot be saved safely. Pass objects with "
        "state_dict() (torch modules, optimizers, schedulers), or numbers, strings, arrays, tensors and "
        "lists or dicts of them"
    )


def _variable(frame: FrameType, key: str, value: Any) -> str:
    """The caller's variable holding ``value`` (``key`` when that is it, or none is found)."""
    scopes = (frame.f_locals, frame.f_globals)
    if any(scope.get(key) is value for scope in scopes):
        return key
    for scope in scopes:
        for name, held in scope.items():
            if held is value and not name.startswith("_"):
                return name
    return key


def _rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {"python": random.getstate()}
    if "numpy" in sys.modules:
        states["numpy"] = sys.modules["numpy"].random.get_state()
    torch = sys.modules.get("torch")
    if torch is not None:
        states["torch"] = torch.get_rng_state()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _drop_older(run: ActiveRun, keep: str) -> None:
    tracking = api._current()
    older = [
        a for a in tracking.store.get_run(run.id).artifacts if a.kind == CHECKPOINT_KIND and a.path != keep
    ]
    tracking.store.remove_artifacts(run.id, [a.path for a in older])
    for artifact in older:
        tracking.artifacts.delete_uri(artifact.uri)


# -- resuming --------------------------------------------------------------------------------------


class Resumable:
    """The iterator ``resumable`` returns; ``.state`` holds the values restored from the checkpoint."""

    def __init__(self, iterable: Iterable[Any], start: int, state: dict[str, Any]) -> None:
        self.iterable = iterable
        self.start = start
        self.state = state
        self.position = start - 1  # the index of the item being worked on

    def __iter__(self) -> Iterator[Any]:
        _loops.append(self)
        try:
            for position, item in enumerate(itertools.islice(self.iterable, self.start, None), self.start):
                self.position = position
                yield item
        finally:
            _loops.remove(self)


_loops: list[Resumable] = []
_pending: dict[str, Checkpoint | None] = {}  # run id -> its checkpoint, until a resumable loop uses it


def resumable(iterable: Iterable[Any]) -> Resumable:
    """Iterate ``iterable``; in a resumed run, start after the last checkpoint with its state restored.

    for epoch in mlops.resumable(range(20)):
        ...
        mlops.checkpoint(model=model, optimizer=optimizer)
    """
    run = api.active_run()
    point = _pending.pop(run.id, None) if run is not None else None
    if run is None or point is None:
        return Resumable(iterable, 0, {})
    _restore(point, sys._getframe(1))
    run._continue_series(point.series)
    return Resumable(iterable, point.step, dict(point.state))


def _restore(point: Checkpoint, frame: FrameType) -> None:
    at_top = frame.f_locals is frame.f_globals
    for key, kind in point.kinds.items():
        name = point.names.get(key, key)
        value = point.state[key]
        if kind == "value":
            if at_top:
                frame.f_globals[name] = value
            continue
        target = frame.f_locals.get(name, frame.f_globals.get(name))
        method = "load_state_dict" if kind == "state_dict" else "set_state"
        if not hasattr(target, method):
            raise MlopsError(
                f"the checkpoint holds the state of `{name}` ({kind}), but `{name}` here has no {method}(): "
                f"create `{name}` before the resumable loop, as the cell did when it was checkpointed"
            )
        getattr(target, method)(value)
    _set_rng_states(point.rng)


def _set_rng_states(states: Mapping[str, Any]) -> None:
    if "python" in states:
        random.setstate(_tuples(states["python"]))
    if "numpy" in states:
        import numpy as np

        np.random.set_state(states["numpy"])
    if "torch" in states:
        import torch

        torch.set_rng_state(states["torch"])
        if "cuda" in states and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(states["cuda"])


def _tuples(value: Any) -> Any:
    """``random.setstate`` wants tuples, and a round trip through some formats gives lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list | tuple) else value


def check(run_ref: str, code: str) -> ent.Run:
    """The run ``--resume`` would continue; MlopsError saying why when it cannot be resumed."""
    import hashlib

    run = api.get_run(run_ref)
    if run.status == ent.FINISHED:
        raise MlopsError(
            f"run {run.id[:8]} finished: there is nothing to resume. Drop --resume to start a new run"
        )
    if run.status == ent.RUNNING:
        raise MlopsError(
            f"run {run.id[:8]} is still running (its heartbeat is fresh): resume it once it failed or its "
            "kernel died"
        )
    # IPython hands input transformers the cell with a newline at its end, whether or not it had one
    same = {hashlib.sha256(c.encode()).hexdigest() for c in (code, code.removesuffix("\n"))}
    if run.source_hash not in same:
        raise MlopsError(
            f"the cell's code changed since run {run.id[:8]}: resuming would mix two versions of the code. "
            "Undo the change to resume, or drop --resume to start a new run"
            + _first_change(run.code or "", code)
        )
    return run


def _first_change(old: str, new: str) -> str:
    for number, (a, b) in enumerate(
        itertools.zip_longest(old.splitlines(), new.splitlines(), fillvalue=""), 1
    ):
        if a != b:
            return f" (line {number} was {a.strip()!r}, is {b.strip()!r})"
    return ""


def last_unfinished(experiment: str) -> str:
    """The newest run of ``experiment`` that did not finish: what ``--resume`` with no RUN continues."""
    frame = api.runs(experiment, order_by="-start_time", filter="status != 'finished'", limit=1)
    if frame.empty:
        raise NotFound(f"no run in {experiment!r} failed or crashed: there is nothing to resume")
    return str(frame.run_id.iloc[0])


def prepare(run_ref: str, code: str) -> str:
    """Check that run ``run_ref`` can be resumed with ``code`` and load its checkpoint (verified) for
    ``reopen``; the run's id. MlopsError says why not, before anything runs or changes."""
    run = check(run_ref, code)
    _pending[run.id] = load_checkpoint(run)
    return run.id


def reopen(run_ref: str, code: str) -> ActiveRun:
    """Continue run ``run_ref`` as the active run, from its last checkpoint (see the module docstring)."""
    run = check(run_ref, code)
    point = _pending[run.id] if run.id in _pending else load_checkpoint(run)
    tracking = api._current()
    tracking.store.rewind_metrics(run.id, point.series if point else {})
    tracking.store.reopen_run(run.id)
    resumed = int(run.tags.get("resumed", "0") or 0) + 1
    tracking.store.set_tags(run.id, [("resumed", str(resumed))])
    active = api._attach(run.id, run.name, run.experiment)
    _pending[run.id] = point
    return active


def load_checkpoint(run: ent.Run) -> Checkpoint | None:
    """The run's checkpoint, checked against its sha256 in the database; None when it has none."""
    found = [a for a in run.artifacts if a.kind == CHECKPOINT_KIND]
    if not found:
        return None
    artifact = max(found, key=lambda a: a.path)
    import hashlib

    data = api._current().artifacts.read_uri(artifact.uri)
    if hashlib.sha256(data).hexdigest() != artifact.sha256:
        raise ModelIntegrityError(
            f"the checkpoint of run {run.id[:8]} ({artifact.path}) does not match the sha256 recorded "
            "when it was saved: it was changed or damaged, and is not loaded"
        )
    try:
        return _load(data)
    except Exception as err:  # refused by the safe loader, or not a checkpoint at all
        raise ModelIntegrityError(
            f"the checkpoint of run {run.id[:8]} ({artifact.path}) could not be loaded safely: {err}"
        ) from None


# -- the file --------------------------------------------------------------------------------------


def _dump(point: Checkpoint) -> bytes:
    payload = point.__dict__
    buffer = io.BytesIO()
    if "torch" in sys.modules:
        sys.modules["torch"].save(payload, buffer)
    else:
        pickle.dump(payload, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


def _load(data: bytes) -> Checkpoint:
    if data[:2] == _TORCH_MAGIC:
        import torch

        with torch.serialization.safe_globals(_numpy_globals()):
            payload = torch.load(io.BytesIO(data), weights_only=True, map_location=None)
    else:
        payload = _SafeUnpickler(io.BytesIO(data)).load()
    return Checkpoint(**payload)


def _numpy_globals() -> list[Any]:
    """The NumPy functions and types torch's safe loader may build (the same as ``_SafeUnpickler``)."""
    np = sys.modules.get("numpy")
    if np is None:
        return []
    internals = "numpy._core." if hasattr(np, "_core") else "numpy.core."  # NumPy 2 renamed it
    wanted = [(m, n) for m, n in _NUMPY if m == "numpy" or m.startswith(internals)]
    return [_SafeUnpickler.find_safe(module, name) for module, name in wanted] + [
        type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDGUS"
    ]


_BUILTINS = {"set", "frozenset", "complex", "slice", "range", "bytearray"}
_NUMPY = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _SafeUnpickler(pickle.Unpickler):
    """Builds containers, numbers, strings and NumPy arrays; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        return self.find_safe(module, name)

    @staticmethod
    def find_safe(module: str, name: str) -> Any:
        if module == "builtins" and name in _BUILTINS:
            return getattr(__import__("builtins"), name)
        if module == "collections" and name == "OrderedDict":
            from collections import OrderedDict

            return OrderedDict
        if (module, name) in _NUMPY or (module == "numpy.dtypes" and name.endswith("DType")):
            import importlib

            return getattr(importlib.import_module(module), name)
        raise pickle.UnpicklingError(f"a checkpoint may not build {module}.{name}: refused")
