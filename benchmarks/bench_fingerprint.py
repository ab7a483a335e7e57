"""Input fingerprint of a 1,000,000-row x 10-column DataFrame (content hash, schema, profile)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import median_seconds, result

from jupyter_mlops.tracking.capture.fingerprint import fingerprint

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    numeric = pd.DataFrame(rng.random((1_000_000, 10)), columns=[f"f{i}" for i in range(10)])
    fingerprint(numeric)  # warm up imports and the hashing threads
    seconds = median_seconds(lambda: fingerprint(numeric), repeats=7)
    result(
        "fingerprint, 1M rows x 10 float columns",
        seconds * 1000,
        "ms",
        target="< 150 ms",
        higher_is_better=False,
    )
    mixed = numeric.iloc[:, :8].assign(
        city=rng.choice(["paris", "lyon", "nice"], 1_000_000), day=pd.Timestamp("2024-01-01")
    )
    seconds = median_seconds(lambda: fingerprint(mixed), repeats=7)
    result(
        "fingerprint, 1M rows x 10 columns (8 float, 1 text, 1 date)",
        seconds * 1000,
        "ms",
        higher_is_better=False,
    )
