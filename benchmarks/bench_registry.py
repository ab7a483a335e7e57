"""Register and load a small scikit-learn model; ours beside MLflow's log_model + registration.

MLflow is timed twice: with its default settings (it infers the pip requirements of the model) and
with the requirements given explicitly, which skips that step. Both register the model by name, as
``register_model`` does, into a SQLite store in a fresh folder.
"""

from __future__ import annotations

import numpy as np
from common import has_mlflow, median_seconds, mlflow_experiment, quiet_mlflow, result, workdir


def small_model():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), X


def ours() -> tuple[float, float, float]:
    import jupyter_mlops as mlops

    model, _ = small_model()
    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    mlops.register_model(model, "warmup")
    mlops.load_model("warmup")
    register = median_seconds(lambda: mlops.register_model(model, "churn"), repeats=21)
    load = median_seconds(lambda: mlops.load_model("churn"), repeats=21)
    rng = np.random.default_rng(1)
    X_test = rng.normal(size=(1_000, 5))
    y_test = (X_test[:, 0] > 0).astype(int)
    reported = median_seconds(
        lambda: mlops.register_model(model, "churn", eval_data=(X_test, y_test), input_example=X_test[:5]),
        repeats=7,
    )
    return register, load, reported


def mlflow_times() -> tuple[float, float, float]:
    import mlflow
    import mlflow.sklearn

    quiet_mlflow()
    model, _ = small_model()
    folder = workdir()
    mlflow_experiment(folder)
    versions = iter(range(1, 1_000))

    def log(**kwargs):
        with mlflow.start_run():
            mlflow.sklearn.log_model(model, name="model", registered_model_name="churn", **kwargs)
        return next(versions)

    log(pip_requirements=["scikit-learn"])  # warm-up: imports, store creation
    default = median_seconds(log, repeats=3)
    explicit = median_seconds(lambda: log(pip_requirements=["scikit-learn"]), repeats=11)
    load = median_seconds(lambda: mlflow.sklearn.load_model("models:/churn/1"), repeats=11)
    return default, explicit, load


if __name__ == "__main__":
    register, load, reported = ours()
    default = explicit = mlflow_load = None
    if has_mlflow():
        default, explicit, mlflow_load = mlflow_times()
    ms = 1_000
    result(
        "register a small sklearn model",
        register * ms,
        "ms",
        default * ms if default else None,
        target="< 100 ms",
        higher_is_better=False,
        note="MLflow log_model, default settings",
    )
    result(
        "register a small sklearn model",
        register * ms,
        "ms",
        explicit * ms if explicit else None,
        target="< 100 ms",
        higher_is_better=False,
        note="MLflow with explicit requirements",
    )
    result(
        "load it back (sha256 checked, skops)",
        load * ms,
        "ms",
        mlflow_load * ms if mlflow_load else None,
        target="< 100 ms",
        higher_is_better=False,
    )
    result(
        "register with report on 1,000 held-out rows",
        reported * ms,
        "ms",
        higher_is_better=False,
        note="evaluation, permutation importance, SHAP (when installed), signature",
    )
