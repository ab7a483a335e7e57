"""IPython face: ``%load_ext jupyter_mlops`` registers ``%%experiment`` and ``%mlops``.

Parsing and display only; what a tracked cell records is decided in ``jupyter_mlops.tracking``.
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(shell: Any) -> None:
    """Register the magics and hooks on ``shell`` and print where runs go. Loading twice is harmless."""
    from .magics import load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    """Remove the hooks and the input transformer; already tracked runs are untouched."""
    from .magics import unload

    unload(shell)
