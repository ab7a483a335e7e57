"""The Ray cluster this process is connected to: sweeps (``--backend ray``) and deployments
(``backend="ray"``) send their work there, and refuse with the line to run when there is none."""

from __future__ import annotations

from typing import Any

from .errors import InvalidValue


def connected_ray(purpose: str) -> Any:
    """``ray``, once this process is connected to a cluster. ``purpose`` opens the error messages."""
    try:
        import ray
    except ImportError:
        raise InvalidValue(f"{purpose} needs Ray: pip install 'jupyter_mlops[ray]'") from None
    if not ray.is_initialized():
        raise InvalidValue(
            f"{purpose} uses the Ray cluster this kernel is connected to, and there is none: "
            "run `import ray; ray.init(address='auto')` (or ray.init() for one here) first"
        )
    return ray
