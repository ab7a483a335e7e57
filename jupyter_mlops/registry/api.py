"""The registry's Python API: register, load, aliases with gates, and the registry as tables.

v = mlops.register_model(clf, "churn", alias="champion", require={"accuracy": ">=0.9"},
                         input_example=X_test[:5], eval_data=(X_test, y_test), groups="gender")
model = mlops.load_model("churn@champion")
mlops.set_alias("churn", "production", v.version)
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..entities import ModelVersion, Run
from ..errors import GateFailed, InvalidValue, ModelIntegrityError, NotFound
from ..tracking import api as tracking
from ..tracking.run import ActiveRun
from . import flavors, gates
from .reference import build as build_reference
from .refs import check_model_name, is_model_ref, parse_ref
from .report import split_eval_data

if TYPE_CHECKING:
    import pandas as pd

    from ..store.registry_store import RegistryStore


def _registry() -> RegistryStore:
    from ..store.registry_store import RegistryStore

    current = tracking._current()
    current.writer.flush()  # a run's metrics are what the snapshot reads
    return RegistryStore(current.store.db)


class _Source:
    """What is being registered: the bytes to store (or the object to save) and where it came from."""

    def __init__(self) -> None:
        self.model: Any = None
        self.saved: flavors.Saved | None = None
        self.flavor = ""
        self.run_id: str | None = None
        self.variable: str | None = None
        self.metrics: dict[str, float] = {}
        self.from_ref: str | None = None

    def loaded(self) -> Any:
        if self.model is None:
            assert self.saved is not None
            self.model = flavors.load(self.saved.data, self.flavor, self.saved.format, self.saved.meta)
        return self.model


def register_model(
    model_or_run_or_ref: Any,
    name: str,
    alias: str | None = None,
    require: Mapping[str, Any] | str | None = None,
    input_example: Any = None,
    eval_data: Any = None,
    groups: Any = None,
    reference: Any = None,
    *,
    var: str | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register a model as the next version of ``name`` and return that version.

    ``model_or_run_or_ref`` is a live model (a fitted scikit-learn estimator, a torch module, or any
    object with ``predict``), a run (id, prefix, or run object: its candidate model ``var``, needed when
    the run saved several), or a model reference (``churn:3``) to copy. A live object that a tracked
    cell produced is linked to that run.

    ``require={"accuracy": ">=0.9"}`` refuses the registration (GateFailed, nothing stored) unless the
    version's metrics pass; they are the run's metrics, then the evaluation on ``eval_data=(X, y)``.
    ``alias`` points an alias at the new version (its stored gate must pass too). ``input_example``
    gives the signature; ``groups`` names a sensitive column of ``eval_data``'s X (or gives one label
    per row) for metrics per group. ``reference`` (rows like the training inputs; ``eval_data``'s X
    when not given; else rows rebuilt from the fingerprint of the run's training data) is kept, with
    the model's predictions on it, to measure drift against.
    """
    check_model_name("model name", name)
    if alias is not None:
        check_model_name("alias", alias)
    requirements = gates.parse_require(require)
    if groups is not None and eval_data is None:
        raise InvalidValue(
            "groups= needs eval_data=(X_test, y_test): the per-group metrics are computed on it"
        )
    source = _source(model_or_run_or_ref, var)
    if source.saved is None:
        source.saved = flavors.save(source.model, source.flavor)
    signature, report = _describe(source, input_example, eval_data, groups)
    metrics = {**source.metrics, **(report["metrics"] if report else {})}
    registry = _registry()
    _check_gate(name, requirements, metrics, "not registered")
    if alias is not None:
        _check_gate(name, _stored_gate(registry, name, alias), metrics, f"not registered as @{alias}")
    saved = source.saved
    meta = dict(saved.meta)
    meta.update({k: v for k, v in (("variable", source.variable), ("copied_from", source.from_ref)) if v})
    # The files first: a version row never points at a file that was not written.
    folder = f"registry/{uuid.uuid4().hex}"
    artifacts = tracking._current().artifacts
    sample = (
        reference
        if reference is not None
        else (split_eval_data(eval_data)[0] if eval_data is not None else None)
    )
    rebuilt_from = None
    if sample is None and source.run_id:
        sample, rebuilt_from = _reference_from_run(source.run_id, signature)
    if sample is not None:
        try:
            data, summary = build_reference(sample, predictor(source.loaded(), source.flavor), signature)
        except Exception:
            if not rebuilt_from:
                raise
            data = None  # rebuilt rows the model cannot predict on: the version is kept without them
        if data is not None:
            kept = artifacts.put_in(folder, "reference.json", data)
            meta["reference"] = {"uri": kept.uri, "sha256": kept.sha256, **summary}
            if rebuilt_from:
                meta["reference"]["rebuilt_from"] = rebuilt_from
    stored = artifacts.put_in(folder, f"model{saved.suffix}", saved.data)
    record = {
        "run_id": source.run_id,
        "uri": stored.uri,
        "sha256": stored.sha256,
        "size": stored.size,
        "flavor": source.flavor,
        "format": saved.format,
        "meta": json.dumps(meta, default=str),
        "signature": json.dumps(signature, default=str) if signature else None,
        "metrics": json.dumps(_finite(metrics)),
        "report": json.dumps(report, default=_plain) if report else None,
        "author": tracking._user(),
        "description": description,
    }
    version = registry.create_version(name, record, alias=alias, user=tracking._user())
    return registry.version(name, version)


def _reference_from_run(run_id: str, signature: Any) -> tuple[Any, str | None]:
    """Reference rows rebuilt from the fingerprint of the run's input that has every column of the
    signature (the one with most rows when several do), and which input that was; (None, None) when none
    fits or the signature names no columns."""
    from .reference import from_profile

    if not (signature or {}).get("named"):
        return None, None
    columns = [str(i["name"]) for i in signature.get("inputs", [])]
    fits = [
        i
        for i in tracking.get_run(run_id).inputs
        if isinstance(i.profile, dict) and all(c in (i.profile.get("columns") or {}) for c in columns)
    ]
    for data in sorted(fits, key=lambda i: -int((i.profile or {}).get("rows") or 0)):
        rows = from_profile(data.profile, columns)
        if rows is not None:
            return rows, f"the fingerprint of {data.name} in run {run_id[:8]}"
    return None, None


def _describe(
    source: _Source, input_example: Any, eval_data: Any, groups: Any
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The signature (from the example, the copied version or the estimator) and the report."""
    from .signature import infer

    predict = None
    if input_example is not None or eval_data is not None:
        predict = predictor(source.loaded(), source.flavor)
    if input_example is not None:
        signature = infer(input_example, source.model, predict)
    elif source.from_ref:
        signature = get_model_version(source.from_ref).signature
    else:
        signature = infer(None, source.model, None)
    report = None
    if eval_data is not None:
        report = _report(source.loaded(), predict, eval_data, groups, signature)
    return signature, report


def _source(obj: Any, var: str | None) -> _Source:
    source = _Source()
    if isinstance(obj, ActiveRun | Run):
        obj = obj.id
    if isinstance(obj, str):
        if is_model_ref(obj):
            return _from_version(obj, source)
        return _from_run(obj, var, source)
    if var is not None:
        raise InvalidValue("var= picks a run's candidate model: give a run id with it, not a live object")
    source.model = obj
    source.flavor = flavors.detect(obj)
    produced = tracking.producer(obj)
    if produced is not None:
        source.run_id, source.variable = produced
        source.metrics = tracking.get_run(source.run_id).metrics
    return source


def _from_run(ref: str, var: str | None, source: _Source) -> _Source:
    run = tracking.get_run(ref)
    files = {a.path: a for a in run.artifacts}
    candidates = _candidates(run)
    if var is None:
        if len(candidates) != 1:
            listed = ", ".join(candidates) or "none"
            raise InvalidValue(
                f"run {run.id[:8]} saved {len(candidates)} candidate models ({listed}): name one with var="
                if candidates
                else f"run {run.id[:8]} saved no candidate model: register the live object instead"
            )
        var = candidates[0]
    if var not in candidates:
        raise NotFound(
            f"run {run.id[:8]} has no candidate model {var!r} (it has: {', '.join(candidates) or 'none'})"
        )
    about = json.loads(_checked(files[f"models/{var}.json"]))
    model_file = files.get(about.get("file", ""))
    if model_file is None:
        raise NotFound(f"run {run.id[:8]}: the file of candidate model {var!r} is missing")
    data = _checked(model_file)
    source.flavor = about["flavor"]
    module, _, qualname = about.get("class", "").rpartition(".")
    meta = {"class": f"{module}:{qualname}", "library_version": about.get("library_version")}
    if source.flavor == "torch":
        meta["init"] = about.get("init")
        source.saved = flavors.Saved(data, "state_dict", meta)
    else:
        source.saved = flavors.Saved(data, about.get("format", "pickle"), meta)
        source.model = source.loaded()
        source.saved = None  # saved again: with skops where the estimator allows
    source.run_id, source.variable, source.metrics = run.id, var, run.metrics
    return source


def candidate_models(run_ref: str) -> list[str]:
    """The variables of the models a run saved (what ``var=`` can name when registering from it)."""
    return _candidates(tracking.get_run(run_ref))


def _candidates(run: Run) -> list[str]:
    return sorted(a.path[len("models/") : -len(".json")] for a in run.artifacts if a.kind == "model.meta")


def _from_version(ref: str, source: _Source) -> _Source:
    version = get_model_version(ref)
    data = _read_version(version)
    source.flavor = version.flavor
    source.saved = flavors.Saved(data, version.format, dict(version.meta))
    source.run_id, source.metrics = version.run_id, dict(version.metrics)
    source.variable = version.meta.get("variable")
    source.from_ref = version.ref
    return source


def _read(uri: str, what: str) -> bytes:
    try:
        return tracking._current().artifacts.read_uri(uri)
    except FileNotFoundError:
        raise NotFound(f"the file of {what} is missing from the artifact store ({uri})") from None


def _checked(artifact: Any) -> bytes:
    """A run artifact's bytes, refused unless they still match the sha256 recorded when it was stored."""
    data = _read(artifact.uri, f"artifact {artifact.path}")
    if hashlib.sha256(data).hexdigest() != artifact.sha256:
        raise ModelIntegrityError(
            f"artifact {artifact.path} changed since it was stored (sha256 differs): refused, not loaded"
        )
    return data


def _report(model: Any, predict: Any, eval_data: Any, groups: Any, signature: Any) -> dict[str, Any]:
    from .report import build, is_classification, split_eval_data

    X, y = split_eval_data(eval_data)
    column = None
    if isinstance(groups, str):
        column = groups
        if not hasattr(X, "columns") or column not in X.columns:
            raise InvalidValue(
                f"groups={column!r} is not a column of eval_data's X: give its name, or one label per row"
            )
        groups = X[column].to_numpy()
    inputs = [i["name"] for i in (signature or {}).get("inputs", [])]
    if hasattr(X, "columns") and (signature or {}).get("named"):
        missing = [c for c in inputs if c not in X.columns]
        if missing:
            raise InvalidValue(f"eval_data's X lacks the model's input columns {', '.join(missing)}")
        X = X[inputs]  # extra columns (the sensitive one too, unless the model reads it) are left out
    classification = is_classification(y, model)
    proba = _positive_proba(model) if classification else None
    return build(predict, X, y, classification, groups=groups, group_column=column, proba=proba)


def _positive_proba(model: Any) -> Any:
    """The greater class' probability of a binary classifier with ``predict_proba``, else None."""
    classes = getattr(model, "classes_", None)
    if not callable(getattr(model, "predict_proba", None)) or classes is None or len(classes) != 2:
        return None
    return lambda X: model.predict_proba(X)[:, 1]


def predictor(model: Any, flavor: str) -> Any:
    """A function from a table to predictions: ``predict`` for most models, a forward pass for torch
    (class indices when it returns one score per class)."""
    if flavor != "torch":
        return model.predict

    def predict(X: Any) -> Any:
        import numpy as np
        import torch

        values = np.array(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=np.float32)  # a writable copy
        weights = next(model.parameters(), None)
        device = weights.device if weights is not None else "cpu"  # a module trained on a GPU stays there
        with torch.no_grad():
            out = model(torch.as_tensor(values, device=device)).cpu().numpy()
        return out.argmax(axis=1) if out.ndim == 2 and out.shape[1] > 1 else out.reshape(-1)

    return predict


def _check_gate(
    name: str, requirements: list[gates.Requirement], metrics: Mapping[str, float], what: str
) -> None:
    missed = gates.failures(requirements, metrics)
    if missed:
        raise GateFailed(f"{name} {what}: gate {gates.describe(requirements)} failed: {'; '.join(missed)}")


def _stored_gate(registry: RegistryStore, name: str, alias: str) -> list[gates.Requirement]:
    try:
        stored = registry.alias_require(name, alias)
    except NotFound:  # a new model has no alias yet
        return []
    return gates.parse_require(json.loads(stored)) if stored else []


def _finite(metrics: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


# -- reading and loading -----------------------------------------------------------------------------
def get_model_version(model_ref: str, as_of: float | None = None) -> ModelVersion:
    """The version ``model_ref`` names (``churn``, ``churn:3``, ``churn@champion``).

    ``as_of`` (a Unix time) with an alias gives the version the alias pointed at then."""
    ref = parse_ref(model_ref)
    registry = _registry()
    if as_of is not None:
        if ref.alias is None:
            raise InvalidValue("as_of= applies to an alias: write NAME@ALIAS, e.g. churn@production")
        number = registry.alias_as_of(ref.name, ref.alias, float(as_of))
        if number is None:
            raise NotFound(f"{model_ref} pointed at no version at that time")
        return registry.version(ref.name, number)
    return registry.version(ref.name, ref.version, ref.alias)


def set_reference(model_ref: str, data: Any) -> ModelVersion:
    """Keep ``data`` (rows like the training inputs) as the reference sample of an existing version,
    with the model's predictions on it, replacing the one it had."""
    version = get_model_version(model_ref)
    model = load_model(version.ref)
    sample, summary = build_reference(data, predictor(model, version.flavor), version.signature)
    kept = tracking._current().artifacts.put_in(f"registry/{uuid.uuid4().hex}", "reference.json", sample)
    meta = {**version.meta, "reference": {"uri": kept.uri, "sha256": kept.sha256, **summary}}
    registry = _registry()
    registry.update_meta(version.name, version.version, meta)
    return registry.version(version.name, version.version)


def load_reference(model_ref: str) -> Any:
    """The reference sample kept with a version (sha256 checked), with its ``prediction`` column."""
    from .reference import load

    version = get_model_version(model_ref)
    kept = version.meta.get("reference")
    if not kept:
        raise NotFound(
            f"{version.ref} has no reference sample: mlops.set_reference({version.ref!r}, training_inputs)"
        )
    data = _read(kept["uri"], f"the reference of {version.ref}")
    if hashlib.sha256(data).hexdigest() != kept["sha256"]:
        raise ModelIntegrityError(f"the reference of {version.ref} changed since it was registered: refused")
    return load(data)


def load_model(model_ref: str, model: Any = None) -> Any:
    """Load a registered version, after checking its file against the sha256 recorded at registration.

    A changed file is refused (ModelIntegrityError), never loaded; scikit-learn models load through
    skops with only the types recorded at registration; torch state dicts load weights-only
    (``model=`` gives the module to fill when its class cannot be rebuilt here).
    """
    version = get_model_version(model_ref)
    data = _read_version(version)
    return flavors.load(data, version.flavor, version.format, version.meta, model=model)


def _read_version(version: ModelVersion) -> bytes:
    data = _read(version.uri, version.ref)
    if hashlib.sha256(data).hexdigest() != version.sha256:
        raise ModelIntegrityError(
            f"the file of {version.ref} changed since it was registered (sha256 differs): refused, not loaded"
        )
    return data


def set_alias(
    name: str, alias: str, version: int, require: Mapping[str, Any] | str | None = None
) -> ModelVersion:
    """Point ``alias`` of ``name`` at ``version``. ``require`` sets the gate every version must pass
    to get this alias (kept for later moves); a version that fails the gate is refused (GateFailed)
    and the alias stays where it was."""
    check_model_name("alias", alias)
    number = _version_number(version)
    registry = _registry()
    target = registry.version(name, number)
    requirements = (
        gates.parse_require(require) if require is not None else _stored_gate(registry, name, alias)
    )
    _check_gate(f"{name}:{number}", requirements, target.metrics, f"cannot become @{alias}")
    stored = json.dumps({m: f"{op}{t!r}" for m, op, t in requirements}) if require is not None else None
    registry.set_alias(name, alias, number, stored, tracking._user())
    return registry.version(name, number)


def remove_alias(name: str, alias: str) -> int:
    """Take ``alias`` off ``name``; returns the version it pointed at. The move is kept in the history."""
    return _registry().remove_alias(name, alias, tracking._user())


def _version_number(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise InvalidValue(f"version must be a whole number such as 3, got {version!r}")
    try:
        number = int(str(version).lstrip("v"))
    except ValueError:
        raise InvalidValue(f"version must be a whole number such as 3, got {version!r}") from None
    if number < 1:
        raise InvalidValue(f"versions start at 1, got {version!r}")
    return number


def list_models() -> pd.DataFrame:
    """The registered models: name, latest_version, versions, aliases (``champion:3``), updated_time."""
    import pandas as pd

    rows = [
        (
            m.name,
            m.latest_version,
            m.versions,
            ", ".join(f"{a}:{v}" for a, v in m.aliases.items()),
            m.updated_time,
        )
        for m in _registry().models()
    ]
    frame = pd.DataFrame(rows, columns=["name", "latest_version", "versions", "aliases", "updated_time"])
    frame["updated_time"] = pd.to_datetime(frame["updated_time"], unit="s", utc=True)
    return frame


def model_versions(name: str) -> list[ModelVersion]:
    """Every version of ``name``, newest first."""
    return _registry().versions(name)


def alias_history(name: str, alias: str | None = None) -> pd.DataFrame:
    """Every move of the aliases of ``name``: alias, from_version, to_version, user, time (oldest first)."""
    import pandas as pd

    events = _registry().alias_history(name, alias)
    frame = pd.DataFrame(
        [(e.alias, e.from_version, e.to_version, e.user, e.time) for e in events],
        columns=["alias", "from_version", "to_version", "user", "time"],
    )
    for column in ("from_version", "to_version"):
        frame[column] = frame[column].astype("Int64")
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame


def show(ref: str) -> Any:
    """A readable card: of a model version for ``churn:3`` / ``churn@champion``, else of a run (id or
    prefix), else of a registered model's latest version.

    mlops.show("3f2a"); mlops.show("churn@champion")
    """
    from .cards import ModelCard

    if is_model_ref(ref):
        return ModelCard(get_model_version(ref))
    try:
        return tracking.show(ref)
    except (NotFound, InvalidValue) as err:
        try:
            return ModelCard(get_model_version(ref))
        except (NotFound, InvalidValue):
            raise err from None


def check(model_ref: str, require: Mapping[str, Any] | str) -> tuple[bool, str]:
    """(passed, one line): does ``model_ref`` meet ``require``? For CI gates."""
    requirements = gates.parse_require(require)
    if not requirements:
        raise InvalidValue('give a gate to check, e.g. --require "accuracy>=0.9"')
    version = get_model_version(model_ref)
    missed = gates.failures(requirements, version.metrics)
    if missed:
        return False, f"{version.ref} fails {gates.describe(requirements)}: {'; '.join(missed)}"
    shown = ", ".join(f"{m}={version.metrics[m]:.6g}" for m, _, _ in requirements)
    return True, f"{version.ref} passes {gates.describe(requirements)} ({shown})"
