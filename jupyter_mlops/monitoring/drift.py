"""Drift of a window of production data against a reference sample, one test per column.

The test is chosen the way Evidently chooses by default:

- reference of 1,000 rows or fewer: Kolmogorov-Smirnov for numeric columns (more than 5 distinct
  values), chi-squared for categorical ones, a z-test of proportions for binary ones; drift when
  p < 0.05;
- larger references: Wasserstein distance divided by the reference's standard deviation for numeric
  columns, Jensen-Shannon distance for categorical ones; drift at 0.1 or more;
- ``method="psi"``: the population stability index for every column; drift at 0.1 or more.

The dataset drifts when at least half of its columns drift. Missing values are left out of the tests
and reported apart (their share in each), as are categories the reference never had. A window under
MIN_ROWS rows gets "insufficient data" instead of a verdict.

    frame = drift_table(reference, current)      # one row per column
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidValue

MIN_ROWS = 100
SMALL_REFERENCE = 1_000
P_VALUE = 0.05
DISTANCE = 0.1
DATASET_SHARE = 0.5
PSI_BINS = 10
COLUMNS = [
    "column",
    "kind",
    "test",
    "statistic",
    "threshold",
    "drift",
    "verdict",
    "reference_rows",
    "current_rows",
    "reference_missing",
    "current_missing",
    "unseen_categories",
]


def column_kind(values: Any) -> str:
    """'numeric' (numbers with more than 5 distinct values), 'binary' (2 or fewer), or 'categorical'."""
    import pandas as pd

    present = values.dropna()
    distinct = present.nunique()
    if distinct <= 2:
        return "binary"
    if pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present) and distinct > 5:
        return "numeric"
    return "categorical"


def drift_table(reference: Any, current: Any, method: str | None = None) -> Any:
    """A DataFrame with one row per column of ``reference`` (see COLUMNS); its ``attrs`` carry the
    dataset verdict: ``dataset_drift``, ``drifted_share``."""
    import pandas as pd

    if method not in (None, "psi"):
        raise InvalidValue(f"method is None (tests chosen per column) or 'psi', got {method!r}")
    rows = []
    for name in reference.columns:
        if name not in current.columns:
            rows.append(
                _row(
                    name,
                    "-",
                    "missing in current data",
                    None,
                    None,
                    None,
                    "column missing",
                    reference[name],
                    None,
                )
            )
            continue
        rows.append(column_drift(str(name), reference[name], current[name], method))
    table = pd.DataFrame(rows, columns=COLUMNS)
    judged = table[table.drift.notna()]
    share = float(judged.drift.astype(bool).mean()) if len(judged) else math.nan
    table.attrs["drifted_share"] = share
    table.attrs["dataset_drift"] = bool(len(judged) and share >= DATASET_SHARE)
    table.attrs["insufficient_data"] = len(current) < MIN_ROWS
    return table


def column_drift(name: str, reference: Any, current: Any, method: str | None = None) -> dict[str, Any]:
    import pandas as pd

    ref, cur = reference.dropna(), current.dropna()
    both = ref
    if len(ref) < MIN_ROWS and len(cur) and ref.dtype == cur.dtype:
        both = pd.concat([ref, cur], ignore_index=True)  # a tiny reference borrows the window's variety
    kind = column_kind(both) if len(both) else "categorical"
    if len(current) < MIN_ROWS:
        return _row(name, kind, "-", None, None, None, "insufficient data", reference, current)
    if len(ref) == 0 or len(cur) == 0:
        return _row(name, kind, "-", None, None, None, "no values to compare", reference, current)
    if kind == "numeric" and not pd.api.types.is_numeric_dtype(cur):
        return _row(name, kind, "-", None, None, True, "drift: numbers became text", reference, current)
    if method == "psi":
        statistic = psi(ref, cur, kind)
        return _judged(name, kind, "psi", statistic, DISTANCE, statistic >= DISTANCE, reference, current)
    if len(ref) <= SMALL_REFERENCE:
        test, p = _small_reference_test(ref, cur, kind)
        return _judged(name, kind, test, p, P_VALUE, p < P_VALUE, reference, current)
    if kind == "numeric":
        statistic = normalised_wasserstein(ref, cur)
        return _judged(
            name, kind, "wasserstein (normed)", statistic, DISTANCE, statistic >= DISTANCE, reference, current
        )
    statistic = jensen_shannon(ref, cur)
    return _judged(
        name, kind, "jensen-shannon", statistic, DISTANCE, statistic >= DISTANCE, reference, current
    )


def _small_reference_test(ref: Any, cur: Any, kind: str) -> tuple[str, float]:
    from scipy import stats

    if kind == "numeric":
        return "ks", float(stats.ks_2samp(ref.to_numpy(float), cur.to_numpy(float)).pvalue)
    if kind == "binary":
        return "z-test", _proportions_z(ref, cur)
    ref_values, cur_values = ref.astype(str).value_counts(), cur.astype(str).value_counts()
    categories = sorted(set(ref_values.index) | set(cur_values.index))
    table = [
        ref_values.reindex(categories, fill_value=0).to_numpy(float),
        cur_values.reindex(categories, fill_value=0).to_numpy(float),
    ]
    if min(len(categories), 2) < 2:
        return "chi-squared", 1.0
    return "chi-squared", float(stats.chi2_contingency(table)[1])


def _proportions_z(ref: Any, cur: Any) -> float:
    """Two-sided z-test that the share of the reference's first value is the same in both samples."""
    from scipy import stats

    value = sorted(ref.astype(str).unique())[0]
    a, b = (ref.astype(str) == value), (cur.astype(str) == value)
    n1, n2 = len(a), len(b)
    p1, p2 = a.mean(), b.mean()
    pooled = (a.sum() + b.sum()) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0 if p1 == p2 else 0.0
    return float(2 * stats.norm.sf(abs((p1 - p2) / spread)))


def normalised_wasserstein(ref: Any, cur: Any) -> float:
    from scipy import stats

    std = float(ref.std())
    distance = float(stats.wasserstein_distance(ref.to_numpy(float), cur.to_numpy(float)))
    if std == 0 or math.isnan(std):  # a constant reference: any move is the whole distance
        return 0.0 if distance == 0 else math.inf
    return distance / std


def jensen_shannon(ref: Any, cur: Any) -> float:
    from scipy.spatial import distance

    p, q = _shares(ref, cur)
    return float(distance.jensenshannon(p, q, base=2))


def psi(ref: Any, cur: Any, kind: str) -> float:
    """Population stability index over reference quantile bins (numbers) or categories."""
    import numpy as np

    if kind == "numeric":
        edges = np.unique(np.quantile(ref.to_numpy(float), np.linspace(0, 1, PSI_BINS + 1)))
        edges[0], edges[-1] = -np.inf, np.inf
        p = np.histogram(ref.to_numpy(float), edges)[0] / len(ref)
        q = np.histogram(cur.to_numpy(float), edges)[0] / len(cur)
    else:
        p, q = _shares(ref, cur)
    p, q = np.clip(p, 1e-4, None), np.clip(q, 1e-4, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _shares(ref: Any, cur: Any) -> tuple[Any, Any]:
    p_counts = ref.astype(str).value_counts(normalize=True)
    q_counts = cur.astype(str).value_counts(normalize=True)
    categories = sorted(set(p_counts.index) | set(q_counts.index))
    return (
        p_counts.reindex(categories, fill_value=0).to_numpy(float),
        q_counts.reindex(categories, fill_value=0).to_numpy(float),
    )


def _judged(
    name: str,
    kind: str,
    test: str,
    statistic: float,
    threshold: float,
    drift: bool,
    reference: Any,
    current: Any,
) -> dict[str, Any]:
    verdict = "drift" if drift else "no drift"
    return _row(name, kind, test, statistic, threshold, bool(drift), verdict, reference, current)


def _row(
    name: Any,
    kind: str,
    test: str,
    statistic: float | None,
    threshold: float | None,
    drift: bool | None,
    verdict: str,
    reference: Any,
    current: Any,
) -> dict[str, Any]:
    unseen: list[str] = []
    if current is not None and kind in ("categorical", "binary"):
        known = set(reference.dropna().astype(str).unique())
        unseen = sorted(set(current.dropna().astype(str).unique()) - known)[:20]
    return {
        "column": str(name),
        "kind": kind,
        "test": test,
        "statistic": statistic,
        "threshold": threshold,
        "drift": drift,
        "verdict": verdict,
        "reference_rows": len(reference),
        "current_rows": 0 if current is None else len(current),
        "reference_missing": float(reference.isna().mean()) if len(reference) else math.nan,
        "current_missing": float(current.isna().mean()) if current is not None and len(current) else math.nan,
        "unseen_categories": unseen,
    }
