"""Drift tests against known distributions: each test-selection rule, its thresholds, its false
alarm rate, and the edge cases (short window, all-NaN, constant, unseen category, tiny reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.errors import InvalidValue
from jupyter_mlops.monitoring.drift import column_kind, drift_table

rng = np.random.default_rng(0)


def frame(n, shift=0.0, share_a=0.5, p_one=0.3, seed=None):
    r = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": r.normal(shift, 1.0, n),
            "plan": r.choice(["a", "b", "c"], n, p=[share_a, (1 - share_a) / 2, (1 - share_a) / 2]),
            "churned": (r.random(n) < p_one).astype(int),
        }
    )


def verdicts(table):
    return dict(zip(table.column, table.verdict, strict=True))


def test_small_reference_uses_ks_chi_squared_and_z_test():
    table = drift_table(frame(500, seed=1), frame(500, seed=2))
    assert dict(zip(table.column, table.test, strict=True)) == {
        "amount": "ks",
        "plan": "chi-squared",
        "churned": "z-test",
    }
    assert verdicts(table) == {"amount": "no drift", "plan": "no drift", "churned": "no drift"}
    assert table.attrs["dataset_drift"] is False and (table.threshold == 0.05).all()


def test_small_reference_detects_each_planted_shift():
    table = drift_table(frame(500, seed=1), frame(500, shift=0.5, share_a=0.8, p_one=0.6, seed=2))
    assert verdicts(table) == {"amount": "drift", "plan": "drift", "churned": "drift"}
    assert (table.statistic < 0.05).all() and table.attrs["dataset_drift"] is True
    assert table.attrs["drifted_share"] == 1.0


def test_large_reference_uses_normed_wasserstein_and_jensen_shannon():
    same = drift_table(frame(5_000, seed=1), frame(2_000, seed=2))
    tests = dict(zip(same.column, same.test, strict=True))
    assert tests["amount"] == "wasserstein (normed)" and tests["plan"] == "jensen-shannon"
    assert verdicts(same)["amount"] == "no drift" and verdicts(same)["plan"] == "no drift"
    moved = drift_table(frame(5_000, seed=1), frame(2_000, shift=0.3, share_a=0.9, seed=2))
    row = moved.set_index("column")
    assert row.loc["amount", "statistic"] == pytest.approx(0.3, abs=0.06) and row.loc["amount", "drift"]
    assert row.loc["plan", "drift"] and (moved.threshold[moved.column != "churned"] == 0.1).all()


def test_psi_on_request():
    table = drift_table(frame(5_000, seed=1), frame(2_000, shift=0.5, seed=2), method="psi")
    assert set(table.test) == {"psi"}
    assert verdicts(table)["amount"] == "drift" and verdicts(table)["plan"] == "no drift"
    with pytest.raises(InvalidValue, match="'psi'"):
        drift_table(frame(200), frame(200), method="kl")


def test_no_drift_raises_false_alarms_at_about_the_stated_rate():
    alarms = sum(
        bool(drift_table(frame(300, seed=2 * i)[["amount"]], frame(300, seed=2 * i + 1)[["amount"]]).drift[0])
        for i in range(200)
    )
    assert alarms <= 20  # p < 0.05: about 10 of 200


def test_dataset_drift_needs_half_of_the_columns():
    reference = frame(500, seed=1)
    current = frame(500, seed=2).assign(amount=lambda f: f.amount + 1)
    table = drift_table(reference, current)
    assert table.attrs["drifted_share"] == pytest.approx(1 / 3) and table.attrs["dataset_drift"] is False


def test_a_window_under_100_rows_has_no_verdict():
    table = drift_table(frame(500, seed=1), frame(99, shift=5, seed=2))
    assert set(table.verdict) == {"insufficient data"} and table.drift.isna().all()
    assert table.attrs["insufficient_data"] is True and table.attrs["dataset_drift"] is False
    assert set(drift_table(frame(500), frame(0)).verdict) == {"insufficient data"}


def test_missing_values_constant_columns_unseen_categories_and_a_tiny_reference():
    reference = frame(500, seed=1).assign(constant=7.0, empty=np.nan)
    current = frame(500, seed=2).assign(constant=7.0, empty=np.nan)
    current.loc[:99, "amount"] = np.nan
    current.loc[:9, "plan"] = "z"
    table = drift_table(reference, current).set_index("column")
    assert table.loc["amount", "current_missing"] == pytest.approx(0.2)
    assert table.loc["amount", "reference_missing"] == 0 and table.loc["amount", "verdict"] == "no drift"
    assert table.loc["plan", "unseen_categories"] == ["z"]
    assert table.loc["constant", "kind"] == "binary" and table.loc["constant", "verdict"] == "no drift"
    assert (
        table.loc["empty", "verdict"] == "no values to compare" and table.loc["empty", "current_missing"] == 1
    )
    tiny = drift_table(frame(5, seed=1)[["amount"]], frame(300, shift=3, seed=2)[["amount"]])
    assert tiny.test[0] in ("ks", "chi-squared", "z-test") and tiny.drift[0]
    gone = drift_table(frame(500), frame(500).drop(columns=["plan"])).set_index("column")
    assert gone.loc["plan", "verdict"] == "column missing"


def test_column_kinds():
    assert column_kind(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])) == "numeric"
    assert column_kind(pd.Series([1, 2, 3, 1, 2])) == "categorical"
    assert column_kind(pd.Series([0, 1, 1, np.nan])) == "binary"
    assert column_kind(pd.Series(["x", "y", "z"])) == "categorical"


TRAIN = """%%experiment refs -n forest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

C = 1.0
encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder="passthrough")
model = make_pipeline(encode, LogisticRegression(C=C)).fit(X_train, y_train)
accuracy = model.score(X_train, y_train)
"""


def customers(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50 + shift, 12, n),
            "tenure": rng.exponential(24, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
        }
    )


def test_a_version_registered_from_a_run_gets_a_reference_rebuilt_from_its_fingerprint(shell):
    """No reference= and no eval_data: the reference comes from the fingerprint of the training data
    the tracked cell read, and drift measured against it behaves like drift against the data itself."""
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.api import load_reference

    shell.user_ns["X_train"] = X = customers(8_000, 0)
    shell.user_ns["y_train"] = (X.income > 50).astype(int)
    shell.run_cell(TRAIN, store_history=True).raise_error()
    run_id = mlops.runs("refs").run_id[0]
    version = mlops.register_model(run_id, "churn-ref", var="model")
    assert version.meta["reference"]["rebuilt_from"] == f"the fingerprint of X_train in run {run_id[:8]}"
    reference = load_reference("churn-ref:1")
    assert len(reference) == 1_000 and list(reference.columns) == ["income", "tenure", "plan", "prediction"]
    for column in ("income", "tenure"):  # the distribution, not the rows, is rebuilt
        for q in (0.1, 0.5, 0.9):
            assert reference[column].quantile(q) == pytest.approx(
                X[column].quantile(q), abs=0.05 * X[column].std()
            )
    shares = reference.plan.value_counts(normalize=True)
    assert shares.to_dict() == pytest.approx(X.plan.value_counts(normalize=True).to_dict(), abs=0.01)
    assert set(reference.prediction) <= {0, 1}

    inputs = reference.drop(columns="prediction")
    same = drift_table(inputs, customers(5_000, 1)[inputs.columns])
    assert not same["drift"].astype(bool).any(), same
    shifted = drift_table(inputs, customers(5_000, 2, shift=6.0)[inputs.columns])
    assert shifted.set_index("column")["drift"].to_dict() == {"plan": False, "income": True, "tenure": False}
    # given rows win over the fingerprint
    explicit = mlops.register_model(run_id, "churn-ref", var="model", reference=X.head(300))
    assert "rebuilt_from" not in explicit.meta["reference"] and explicit.meta["reference"]["rows"] == 300
