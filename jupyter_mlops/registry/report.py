"""The model report stored with a version: evaluation on held-out data, permutation feature importance
and metrics per group of a sensitive column, with the largest gap flagged.

    report = build(predict, X_test, y_test, classifier=True, groups="gender")
    report["metrics"]["accuracy"], report["importance"][0], report["groups"]["largest_gap"]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import InvalidValue

IMPORTANCE_REPEATS = 5
IMPORTANCE_ROWS = 2_000  # rows used to permute; more only makes it slower
TOP_FEATURES = 20
SHAP_ROWS = 50
#: A per-group gap in a rate metric (accuracy, recall...) this large or larger is flagged.
RATE_GAP = 0.05
#: A per-group gap in an error metric (rmse, mae) this large relative to the overall value is flagged.
ERROR_GAP = 0.25

Predict = Callable[[Any], Any]


def split_eval_data(eval_data: Any) -> tuple[Any, Any]:
    if isinstance(eval_data, tuple | list) and len(eval_data) == 2:
        return eval_data[0], eval_data[1]
    raise InvalidValue("eval_data must be (X_test, y_test): the held-out inputs and their true values")


def is_classification(y: Any, model: Any) -> bool:
    import numpy as np

    estimator_type = getattr(model, "_estimator_type", None)
    if estimator_type in ("classifier", "regressor"):
        return estimator_type == "classifier"
    values = np.asarray(y)
    if values.dtype.kind in "biuOSU":
        return values.dtype.kind != "f" and len(np.unique(values)) <= 50
    return False


def scores(y_true: Any, y_pred: Any, classification: bool) -> dict[str, float]:
    """accuracy, precision, recall, f1 (of the greater label with two classes, macro-averaged with more)
    or rmse, mae, r2."""
    import numpy as np

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if not classification:
        error = y_pred.astype(float) - y_true.astype(float)
        spread = float(np.sum((y_true - y_true.mean()) ** 2)) if len(y_true) else 0.0
        return {
            "rmse": float(np.sqrt(np.mean(error**2))),
            "mae": float(np.mean(np.abs(error))),
            "r2": 1 - float(np.sum(error**2)) / spread if spread > 0 else float("nan"),
        }
    labels = np.unique(np.concatenate([y_true, y_pred]))
    scored = labels[-1:] if len(labels) <= 2 else labels
    precision, recall, f1 = [], [], []
    for label in scored:
        hit = float(np.sum((y_pred == label) & (y_true == label)))
        predicted, actual = float(np.sum(y_pred == label)), float(np.sum(y_true == label))
        p = hit / predicted if predicted else 0.0
        r = hit / actual if actual else 0.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "precision": float(np.mean(precision)),
        "recall": float(np.mean(recall)),
        "f1": float(np.mean(f1)),
    }


def build(
    predict: Predict,
    X: Any,
    y: Any,
    classification: bool,
    groups: Any = None,
    group_column: str | None = None,
    proba: Predict | None = None,
) -> dict[str, Any]:
    """Evaluate ``predict`` on (X, y). ``groups`` holds one group label per row (already taken out of X);
    ``proba`` (the positive class' probability of a binary classifier) is what SHAP explains when given."""
    import numpy as np

    y = np.asarray(y)
    if len(y) != len(X):
        raise InvalidValue(f"eval_data: X has {len(X)} rows but y has {len(y)}")
    if len(y) == 0:
        raise InvalidValue("eval_data is empty: give held-out rows to evaluate on")
    y_pred = np.asarray(predict(X))
    if y_pred.ndim > 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.reshape(-1)
    metrics = scores(y, y_pred, classification)
    primary = "accuracy" if classification else "rmse"
    report: dict[str, Any] = {
        "task": "classification" if classification else "regression",
        "rows": len(y),
        "metrics": metrics,
        "importance": importance(predict, X, y, classification, metrics[primary]),
        "importance_method": f"permutation ({IMPORTANCE_REPEATS} repeats, drop in {primary})",
    }
    explained = shap_importance(predict, proba, X)
    if explained is not None:
        report["shap"] = explained
        report["shap_method"] = (
            f"mean |SHAP value| over {min(len(X), SHAP_ROWS)} rows ({SHAP_ROWS} background rows)"
        )
    if groups is not None:
        report["groups"] = by_group(y, y_pred, np.asarray(groups), classification, group_column, metrics)
    return report


def importance(
    predict: Predict, X: Any, y: Any, classification: bool, baseline: float
) -> list[dict[str, Any]]:
    """Permutation importance: how much the primary metric gets worse when one column is shuffled."""
    import numpy as np
    import pandas as pd

    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    rng = np.random.default_rng(0)
    if len(frame) > IMPORTANCE_ROWS:
        rows = rng.choice(len(frame), IMPORTANCE_ROWS, replace=False)
        frame, y = frame.iloc[rows], y[rows]
        baseline = _primary(y, np.asarray(predict(_like(X, frame))), classification)
    found: list[dict[str, Any]] = []
    for position, column in enumerate(frame.columns):
        drops = []
        for _ in range(IMPORTANCE_REPEATS):
            shuffled = frame.copy()
            shuffled.iloc[:, position] = rng.permutation(shuffled.iloc[:, position].to_numpy())
            score = _primary(y, np.asarray(predict(_like(X, shuffled))), classification)
            drops.append(baseline - score if classification else score - baseline)
        found.append({"feature": str(column), "mean": float(np.mean(drops)), "std": float(np.std(drops))})
    found.sort(key=lambda item: -item["mean"])
    return found[:TOP_FEATURES]


def shap_importance(predict: Predict, proba: Predict | None, X: Any) -> list[dict[str, Any]] | None:
    """Mean absolute SHAP value per feature when the ``shap`` package is installed, else None.

    Model-agnostic (shap picks an exact or permutation explainer), on SHAP_ROWS rows against SHAP_ROWS
    background rows: a few seconds for 30 features, so it stays bounded on large tables."""
    import warnings

    try:
        with warnings.catch_warnings():  # shap's own deprecation notices on import are not the user's
            warnings.simplefilter("ignore")
            import shap
    except ImportError:
        return None
    import numpy as np
    import pandas as pd

    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    target = proba or predict

    def explained(rows: Any) -> Any:
        return np.asarray(target(_like(X, pd.DataFrame(rows, columns=frame.columns))), dtype=float)

    background = frame.sample(min(len(frame), SHAP_ROWS), random_state=0)
    explainer = shap.Explainer(explained, background, seed=0)
    values = explainer(frame.head(SHAP_ROWS), silent=True).values
    means = np.abs(np.asarray(values)).mean(axis=0)
    found: list[dict[str, Any]] = [
        {"feature": str(c), "mean_abs": float(v)} for c, v in zip(frame.columns, means, strict=True)
    ]
    found.sort(key=lambda item: -item["mean_abs"])
    return found[:TOP_FEATURES]


def _like(original: Any, frame: Any) -> Any:
    """``frame`` in the type the model was given (a DataFrame, or an array)."""
    import pandas as pd

    return frame if isinstance(original, pd.DataFrame) else frame.to_numpy()


def _primary(y: Any, y_pred: Any, classification: bool) -> float:
    import numpy as np

    if y_pred.ndim > 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.reshape(-1)
    if classification:
        return float(np.mean(y_pred == y))
    return float(math.sqrt(np.mean((y_pred.astype(float) - y.astype(float)) ** 2)))


def by_group(
    y: Any, y_pred: Any, groups: Any, classification: bool, column: str | None, overall: dict[str, float]
) -> dict[str, Any]:
    """Metrics per group value and each metric's gap (best group minus worst); the largest gap of the
    primary metric is flagged when it reaches RATE_GAP (rates) or ERROR_GAP of the overall (errors)."""

    if len(groups) != len(y):
        raise InvalidValue(f"groups has {len(groups)} values but eval_data has {len(y)} rows")
    per_group: dict[str, dict[str, float]] = {}
    for value in sorted(set(groups.tolist()), key=str):
        mask = groups == value
        per_group[str(value)] = {**scores(y[mask], y_pred[mask], classification), "rows": int(mask.sum())}
    gaps: dict[str, dict[str, Any]] = {}
    for metric in overall:
        values = {g: s[metric] for g, s in per_group.items() if not math.isnan(s[metric])}
        if len(values) >= 2:
            best = max(values, key=lambda g: values[g])
            worst = min(values, key=lambda g: values[g])
            if metric in ("rmse", "mae"):
                best, worst = worst, best
            gaps[metric] = {"gap": abs(values[best] - values[worst]), "best": best, "worst": worst}
    primary = "accuracy" if classification else "rmse"
    largest = gaps.get(primary)
    flagged = False
    if largest is not None:
        limit = RATE_GAP if classification else ERROR_GAP * abs(overall[primary])
        flagged = largest["gap"] >= limit
    return {
        "column": column,
        "metrics": per_group,
        "gaps": gaps,
        "largest_gap": {"metric": primary, **largest} if largest else None,
        "flagged": bool(flagged),
    }
