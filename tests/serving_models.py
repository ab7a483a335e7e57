"""Models for the serving tests, in a module the server process can import (tests/ is on its path)."""

from __future__ import annotations

import time

import numpy as np


class Faulty:
    """Answers 0 per row; raises on a row whose first value is -1; hangs 5 s on 999."""

    def predict(self, X):
        values = np.asarray(X, dtype=float)
        if (values[:, 0] == -1).any():
            raise ValueError("cannot score a negative account")
        if (values[:, 0] == 999).any():
            time.sleep(5)
        return np.zeros(len(values))


class SlowFailingShadow:
    """A shadow that takes 0.5 s and then fails on requests of several rows (its one-row warm-up
    passes): the primary must notice neither."""

    def predict(self, X):
        if len(X) == 1:
            return np.zeros(1)
        time.sleep(0.5)
        raise RuntimeError("shadow broke")
