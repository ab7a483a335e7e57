"""Routes (as stored in a deployment's config) to a ``Router`` of loaded, warmed-up versions.

config = {"routes": [{"model": "churn:3", "weight": 90}, {"model": "churn:4", "weight": 10}],
          "shadow": "churn:5" or None, "sticky": "x-user-id" or None, "log_sample": 1.0}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import DeployError
from ..registry import api as registry
from .payload import conform
from .routing import Router, Served


def load_version(ref: str) -> Served:
    """Load a version (sha256 checked), and run one warm-up prediction on its example or a zero row."""
    version = registry.get_model_version(ref)
    model = registry.load_model(version.ref)
    served = Served(version.ref, registry.predictor(model, version.flavor), version.signature)
    warm = warm_up_rows(version.signature)
    if warm is not None:
        try:
            served.predict(conform(warm, version.signature))
        except Exception as err:  # not healthy: the deployment reports why instead of serving it
            raise DeployError(
                f"{version.ref} failed its warm-up prediction: {type(err).__name__}: {err}"
            ) from None
    return served


def warm_up_rows(signature: Mapping[str, Any] | None) -> Any:
    """The signature's example, or one row of zeros for its inputs, or None without a signature."""
    import pandas as pd

    if not signature or not signature.get("inputs"):
        return None
    example = signature.get("example")
    if example:
        return pd.DataFrame(example["data"], columns=example["columns"]).head(1)
    return pd.DataFrame([[0] * len(signature["inputs"])], columns=[i["name"] for i in signature["inputs"]])


def build_router(config: Mapping[str, Any]) -> Router:
    loaded: dict[str, Served] = {}

    def served(ref: str) -> Served:
        if ref not in loaded:
            loaded[ref] = load_version(ref)
        return loaded[ref]

    routes = [(served(r["model"]), float(r["weight"])) for r in config["routes"]]
    shadow = served(config["shadow"]) if config.get("shadow") else None
    return Router(routes, shadow, config.get("sticky"))
