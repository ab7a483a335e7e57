"""Flavors: how a model becomes bytes and back.

- ``sklearn``: skops (loads without running code; the types it needs beyond skops' safe list are
  recorded at registration and nothing else is accepted on load); pickle when skops cannot round-trip
  the estimator, recorded as such.
- ``torch``: the state dict (loaded with ``weights_only=True``) plus the class and the constructor
  arguments read back from the module's attributes.
- ``pyfunc``: any other object with ``predict``, pickled.

Callers check the file's sha256 before ``load``: a pickle is only ever read from a file whose hash the
registry recorded when this store wrote it.
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidValue, ModelIntegrityError
from ..tracking.capture.outputs import init_arguments, model_flavor

FLAVORS = ("sklearn", "torch", "pyfunc")
SUFFIX = {"skops": ".skops", "pickle": ".pkl", "state_dict": ".pt"}


@dataclass
class Saved:
    data: bytes
    format: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def suffix(self) -> str:
        return SUFFIX[self.format]


def detect(model: Any) -> str:
    """The flavor of a live object, or InvalidValue naming what is accepted."""
    root = type(model).__module__.split(".", 1)[0]
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    if root == "sklearn" or (
        hasattr(model, "fit") and hasattr(model, "get_params") and hasattr(model, "predict")
    ):
        if model_flavor(model) != "sklearn":
            raise InvalidValue(
                f"this {type(model).__name__} is not fitted: call .fit() before registering it"
            )
        return "sklearn"
    if callable(getattr(model, "predict", None)):
        return "pyfunc"
    raise InvalidValue(
        f"cannot register a {type(model).__name__}: give a fitted scikit-learn estimator, a torch module, "
        "any object with a predict() method, a run (id or prefix) or a model reference such as churn:3"
    )


def class_ref(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}:{cls.__qualname__}"


def save(model: Any, flavor: str) -> Saved:
    meta: dict[str, Any] = {"class": class_ref(model), "python": sys.version.split()[0]}
    if flavor == "torch":
        return _save_torch(model, meta)
    if flavor == "sklearn":
        meta["library_version"] = _version("scikit-learn")
        try:
            return _save_skops(model, meta)
        except Exception as err:  # skops cannot represent it (a lambda, a C object): pickle, recorded
            meta["skops_error"] = f"{type(err).__name__}: {err}"[:500]
    try:
        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise InvalidValue(
            f"the model cannot be saved ({err}): define its functions and classes at module level "
            "(no lambdas or local functions), or register a run that saved it"
        ) from None
    return Saved(data, "pickle", meta)


def _save_skops(model: Any, meta: dict[str, Any]) -> Saved:
    sio = skops_io()
    data = sio.dumps(model)
    trusted = sorted(sio.get_untrusted_types(data=data))
    sio.loads(data, trusted=trusted)  # only formats that load back are kept
    meta["trusted_types"] = trusted
    meta["skops_version"] = _version("skops")
    return Saved(data, "skops", meta)


_ARRAY_API_TORCH = "sklearn.externals.array_api_compat.torch"
_list_estimators = True  # a model server turns this off: see load_without_listing
# scikit-learn's listing skips these modules; so does the check that stands in for it
_NOT_ESTIMATOR_MODULES = {"tests", "externals", "setup", "conftest", "experimental", "estimator_checks"}


def load_without_listing() -> None:
    """In a process that only loads models (a model server), import skops without its listing of
    scikit-learn's estimators: that listing imports every scikit-learn module (0.5 s and more). The
    scikit-learn estimators a file needs are then checked one by one (``_is_sklearn_estimator``).
    Not for a notebook: there ``skops.io``'s own trusted list must stay as skops documents it."""
    global _list_estimators
    _list_estimators = False


def skops_io() -> Any:
    """``skops.io``, imported without importing torch as a side effect.

    On import skops lists scikit-learn's estimators, and the package walk behind that list imports
    every subpackage of scikit-learn, ``externals.array_api_compat.torch`` included, which imports
    torch: 1.3 s of a model server's start for a model that never uses it. While skops loads, that one
    subpackage is a placeholder (it holds no estimator); it is removed afterwards, so a later real
    import of it works. Nothing changes when torch is already imported. After ``load_without_listing``
    the listing is skipped altogether."""
    import types

    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    if not _list_estimators:
        import sklearn.utils

        listing = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = lambda *args, **kwargs: []
        try:
            import skops.io
        finally:
            sklearn.utils.all_estimators = listing
        return skops.io
    placeholder = None
    if "torch" not in sys.modules and _ARRAY_API_TORCH not in sys.modules:
        placeholder = sys.modules[_ARRAY_API_TORCH] = types.ModuleType(_ARRAY_API_TORCH)
    try:
        import skops.io
    finally:
        if placeholder is not None and sys.modules.get(_ARRAY_API_TORCH) is placeholder:
            del sys.modules[_ARRAY_API_TORCH]
    return skops.io


def _is_sklearn_estimator(type_name: str) -> bool:
    """What skops' own list trusts: a public, concrete scikit-learn estimator class, named where it is
    defined. Only ``sklearn.*`` modules are ever imported to find out."""
    import inspect

    module_name, _, class_name = type_name.rpartition(".")
    parts = module_name.split(".")
    if parts[0] != "sklearn" or class_name.startswith("_") or _NOT_ESTIMATOR_MODULES & set(parts):
        return False
    try:
        from sklearn.base import BaseEstimator

        cls = getattr(importlib.import_module(module_name), class_name, None)
    except ImportError:
        return False
    return (
        inspect.isclass(cls)
        and issubclass(cls, BaseEstimator)
        and cls is not BaseEstimator
        and not inspect.isabstract(cls)
        and f"{cls.__module__}.{cls.__name__}" == type_name
    )


def _save_torch(model: Any, meta: dict[str, Any]) -> Saved:
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    meta["library_version"] = torch.__version__
    meta["init"] = init_arguments(model)
    return Saved(buffer.getvalue(), "state_dict", meta)


def load(data: bytes, flavor: str, fmt: str, meta: dict[str, Any], model: Any = None) -> Any:
    """The model object from bytes whose sha256 the caller has checked. Never falls back to another
    format: a skops file that cannot load safely is an error, not a reason to unpickle."""
    if fmt == "skops":
        return _load_skops(data, meta)
    if fmt == "state_dict":
        return _load_torch(data, meta, model)
    if fmt == "pickle":
        return pickle.loads(data)  # trusted: written by this store, hash checked by the caller
    raise ModelIntegrityError(f"unknown model format {fmt!r}: this file was written by a newer jupyter_mlops")


def _load_skops(data: bytes, meta: dict[str, Any]) -> Any:
    try:
        sio = skops_io()
    except ImportError:
        raise InvalidValue("this model was saved with skops: pip install skops") from None
    untrusted = set(sio.get_untrusted_types(data=data))
    recorded = set(meta.get("trusted_types", []))
    unexpected = sorted(t for t in untrusted - recorded if not _is_sklearn_estimator(t))
    if unexpected:
        raise ModelIntegrityError(
            f"the model file asks for types nobody trusted when it was registered ({', '.join(unexpected)}): "
            "refused; register the model again from its source"
        )
    return sio.loads(data, trusted=sorted(untrusted))


def _load_torch(data: bytes, meta: dict[str, Any], model: Any) -> Any:
    import torch

    try:
        state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as err:
        raise ModelIntegrityError(f"the state dict does not load weights-only: {err}") from None
    if model is None:
        model = _rebuild(meta)
    model.load_state_dict(state)
    model.eval()
    return model


def _rebuild(meta: dict[str, Any]) -> Any:
    ref = meta.get("class", "")
    module_name, _, qualname = ref.partition(":")
    how = f"pass the module to fill: mlops.load_model(ref, model={qualname.rsplit('.', 1)[-1]}(...))"
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise InvalidValue(
            f"the model class {qualname} ({module_name}) cannot be imported here: {how}"
        ) from None
    init = meta.get("init")
    if init is None:
        raise InvalidValue(f"the constructor arguments of {qualname} were not recorded: {how}")
    try:
        return target(**init)
    except Exception as err:
        raise InvalidValue(f"{qualname}(**{init}) failed ({err}): {how}") from None


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
