"""The model registry on real SQLite and PostgreSQL: versions, flavors, safe loading, gates, aliases,
alias history, reports, and what happens to tampered or planted files."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rawsql import sql
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jupyter_mlops.errors import GateFailed, InvalidValue, ModelIntegrityError, NotFound
from jupyter_mlops.tracking import api


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=["tenure", "spend", "calls", "noise"])
    y = (X.tenure + 0.5 * X.spend > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def clf(data):
    X, y = data
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


# -- versions and flavors ------------------------------------------------------------------------------
def test_versions_increment_per_name_and_sklearn_round_trips_through_skops(mlops, data, clf):
    X, _ = data
    first = mlops.register_model(clf, "churn")
    second = mlops.register_model(clf, "churn")
    regression = LinearRegression().fit(X, X.spend)
    other = mlops.register_model(regression, "spend")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.flavor == "sklearn" and first.format == "skops"
    assert first.signature["inputs"] == [{"name": c, "dtype": "any"} for c in X.columns]
    loaded = mlops.load_model("churn:1")
    assert loaded is not clf
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_allclose(mlops.load_model("spend").predict(X), regression.predict(X))
    assert mlops.load_model("churn").__class__ is clf.__class__
    assert list(mlops.list_models()[["name", "latest_version", "versions"]].itertuples(index=False)) == [
        ("churn", 2, 2),
        ("spend", 1, 1),
    ]


def passthrough(X, pattern=None):
    return X


def test_an_estimator_skops_cannot_hold_is_pickled_and_says_why(mlops, data):
    import re

    from sklearn.preprocessing import FunctionTransformer

    X, y = data
    odd = make_pipeline(
        FunctionTransformer(passthrough, kw_args={"pattern": re.compile("x")}), LogisticRegression()
    )
    odd.fit(X, y)
    version = mlops.register_model(odd, "odd")
    assert version.format == "pickle" and "re.Pattern" in version.meta["skops_error"]
    np.testing.assert_array_equal(mlops.load_model("odd:1").predict(X), odd.predict(X))


def test_a_model_nothing_can_save_is_refused_with_the_reason(mlops, data):
    from sklearn.preprocessing import FunctionTransformer

    X, y = data
    local = make_pipeline(FunctionTransformer(lambda v: v), LogisticRegression()).fit(X, y)
    with pytest.raises(InvalidValue, match=r"cannot be saved.*module level"):
        mlops.register_model(local, "lambda")
    assert mlops.list_models().empty


class Doubler:
    """Not an estimator: any object with predict() is the generic python-function flavor."""

    def predict(self, X):
        return np.asarray(X).sum(axis=1) * 2


def test_any_object_with_predict_is_a_pyfunc_version(mlops, data):
    X, _ = data
    version = mlops.register_model(Doubler(), "doubler", input_example=X.head(3))
    assert (version.flavor, version.format) == ("pyfunc", "pickle")
    assert version.signature["outputs"] == {"dtype": "float64", "shape": [-1]}
    np.testing.assert_allclose(mlops.load_model("doubler").predict(X), Doubler().predict(X))


def test_an_unfitted_estimator_is_refused(mlops):
    with pytest.raises(InvalidValue, match=r"this LogisticRegression is not fitted: call \.fit\(\)"):
        mlops.register_model(LogisticRegression(), "churn")
    assert mlops.list_models().empty


def test_an_object_without_predict_is_refused_with_what_is_accepted(mlops):
    with pytest.raises(InvalidValue, match="predict"):
        mlops.register_model({"weights": [1, 2]}, "nope")
    assert mlops.list_models().empty


def test_torch_model_trained_on_generated_data_round_trips_weights_only(mlops, tmp_path):
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from torch_models import MLP
    finally:
        sys.path.pop(0)
    torch.manual_seed(0)
    X = torch.randn(256, 6)
    y = (X[:, 0] > 0).long()
    net = MLP(6, hidden=16)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(60):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(X), y)
        loss.backward()
        optimiser.step()
    net.eval()
    frame = pd.DataFrame(X.numpy(), columns=[f"x{i}" for i in range(6)])
    version = mlops.register_model(net, "mlp", eval_data=(frame, y.numpy()), input_example=frame.head())
    assert (version.flavor, version.format) == ("torch", "state_dict")
    assert version.meta["init"] == {"n_in": 6, "hidden": 16}
    assert version.metrics["accuracy"] > 0.9
    loaded = mlops.load_model("mlp:1")
    assert type(loaded) is MLP and not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(X), net(X))
    filled = mlops.load_model("mlp:1", model=MLP(6, hidden=16))
    with torch.no_grad():
        torch.testing.assert_close(filled(X), net(X))


# -- safe loading ----------------------------------------------------------------------------------
def test_a_tampered_file_is_refused_before_loading(mlops, data, clf):
    version = mlops.register_model(clf, "churn")
    Path(version.uri).write_bytes(Path(version.uri).read_bytes()[:-1] + b"x")
    with pytest.raises(ModelIntegrityError, match="changed since it was registered"):
        mlops.load_model("churn:1")


class Boom:
    def __reduce__(self):
        return (os.system, (f"touch {Path.cwd() / 'PWNED'}",))


def test_a_planted_malicious_pickle_is_never_executed(mlops, data, tmp_path):
    """A pickle with a malicious __reduce__ put where a version's file is (a pyfunc version, which is
    pickled): refused on its sha256, and the command in it never runs."""
    version = mlops.register_model(Doubler(), "doubler")
    Path(version.uri).write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ModelIntegrityError):
        mlops.load_model("doubler")
    assert not (tmp_path / "PWNED").exists()


def test_a_planted_pickle_in_a_run_is_not_loaded_when_registering_from_the_run(mlops, data, clf, tmp_path):
    with mlops.start_run("exp") as run:
        run._store_artifact("models/clf.pkl", pickle.dumps(clf), "model.sklearn")
        about = {
            "variable": "clf",
            "flavor": "sklearn",
            "class": "x.y",
            "file": "models/clf.pkl",
            "format": "pickle",
        }
        run._store_artifact("models/clf.json", json.dumps(about).encode(), "model.meta")
    stored = next(a for a in mlops.get_run(run.id).artifacts if a.path == "models/clf.pkl")
    Path(stored.uri).write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ModelIntegrityError, match="changed since it was stored"):
        mlops.register_model(run.id, "churn")
    assert not (tmp_path / "PWNED").exists()
    assert mlops.list_models().empty


def test_a_skops_file_asking_for_untrusted_types_is_refused(mlops, data, clf, db_url):
    """Even with a matching hash (the database row rewritten too), skops only loads the types that
    were recorded as trusted when the version was registered."""
    import skops.io as sio

    version = mlops.register_model(clf, "churn")
    planted = sio.dumps(Doubler())
    Path(version.uri).write_bytes(planted)
    import hashlib

    sql(db_url, "UPDATE model_versions SET sha256 = :h", h=hashlib.sha256(planted).hexdigest())
    with pytest.raises(ModelIntegrityError, match="types nobody trusted"):
        mlops.load_model("churn:1")


def test_a_missing_file_is_reported_not_a_crash(mlops, clf):
    version = mlops.register_model(clf, "churn")
    Path(version.uri).unlink()
    with pytest.raises(NotFound, match=r"the file of churn:1 is missing from the artifact store"):
        mlops.load_model("churn:1")


def test_a_file_outside_the_artifact_root_is_refused(mlops, clf, db_url, tmp_path):
    mlops.register_model(clf, "churn")
    sql(db_url, "UPDATE model_versions SET uri = :u", u=str(tmp_path / "elsewhere.skops"))
    from jupyter_mlops.errors import ArtifactPathError

    with pytest.raises(ArtifactPathError, match="outside the artifact root"):
        mlops.load_model("churn")


# -- references ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ref", "error", "message"),
    [
        ("churn:0", InvalidValue, "versions start at 1"),
        ("churn:x", InvalidValue, "NAME:VERSION"),
        ("churn@", InvalidValue, "NAME@ALIAS"),
        ("../etc", InvalidValue, "not a model reference"),
        ("churn:9", NotFound, "no version 9"),
        ("churn@prod", NotFound, "no alias @prod"),
        ("nope", NotFound, "no registered model named 'nope'"),
    ],
)
def test_bad_model_references_say_what_to_write(mlops, clf, ref, error, message):
    mlops.register_model(clf, "churn")
    with pytest.raises(error, match=message):
        mlops.load_model(ref)


def test_bad_names_are_refused_and_nothing_is_stored(mlops, clf):
    for name in ("", "has space", "a/b", "x" * 300, "@alias"):
        with pytest.raises(InvalidValue):
            mlops.register_model(clf, name)
    with pytest.raises(InvalidValue):
        mlops.register_model(clf, "ok", alias="not ok")
    assert mlops.list_models().empty


# -- gates and aliases -----------------------------------------------------------------------------
def test_gate_failure_registers_nothing_and_leaves_aliases_unchanged(mlops, data, clf, db_url):
    X, y = data
    mlops.register_model(clf, "churn", alias="champion", eval_data=(X, y))
    with pytest.raises(GateFailed, match=r"accuracy=0\.9\d+ is not >= 0\.999"):
        mlops.register_model(
            clf, "churn", alias="champion", require={"accuracy": ">=0.999"}, eval_data=(X, y)
        )
    assert sql(db_url, "SELECT count(*) FROM model_versions")[0][0] == 1
    assert mlops.get_model_version("churn@champion").version == 1
    weak = LogisticRegression().fit(X[["noise"]].assign(tenure=0, spend=0, calls=0)[X.columns], y)
    mlops.register_model(weak, "churn", eval_data=(X, y))
    mlops.set_alias("churn", "champion", 1, require="accuracy>=0.9")
    with pytest.raises(GateFailed, match="churn:2 cannot become @champion"):
        mlops.set_alias("churn", "champion", 2)  # the gate stored with the alias applies
    with pytest.raises(GateFailed):
        mlops.register_model(weak, "churn", alias="champion", eval_data=(X, y))
    assert mlops.get_model_version("churn@champion").version == 1
    assert sql(db_url, "SELECT count(*) FROM model_versions")[0][0] == 2
    assert mlops.alias_history("churn")["to_version"].tolist() == [1]


def test_a_gate_on_a_metric_the_version_lacks_names_the_metrics_it_has(mlops, clf, data):
    X, y = data
    with pytest.raises(GateFailed, match=r"auc is not among the version's metrics \(accuracy, f1"):
        mlops.register_model(clf, "churn", require="auc>=0.9", eval_data=(X, y))


def test_alias_history_answers_which_version_an_alias_was_at_time_t(mlops, clf):
    for _ in range(3):
        mlops.register_model(clf, "churn")
    mlops.set_alias("churn", "production", 1)
    t1 = time.time()
    time.sleep(0.02)
    mlops.set_alias("churn", "production", 2)
    t2 = time.time()
    time.sleep(0.02)
    mlops.set_alias("churn", "production", 3)
    mlops.remove_alias("churn", "production")
    t3 = time.time()
    assert mlops.get_model_version("churn@production", as_of=t1).version == 1
    assert mlops.get_model_version("churn@production", as_of=t2).version == 2
    with pytest.raises(NotFound, match="pointed at no version"):
        mlops.get_model_version("churn@production", as_of=t3)
    with pytest.raises(NotFound, match="pointed at no version"):
        mlops.get_model_version("churn@production", as_of=t1 - 3600)
    history = mlops.alias_history("churn", "production")
    moves = [
        [None if pd.isna(v) else int(v) for v in pair]
        for pair in history[["from_version", "to_version"]].values
    ]
    assert moves == [[None, 1], [1, 2], [2, 3], [3, None]]
    assert set(history.user) == {api._user()}


def test_alias_events_are_append_only_rows(mlops, clf, db_url):
    mlops.register_model(clf, "churn", alias="a")
    mlops.register_model(clf, "churn", alias="a")
    rows = sql(db_url, "SELECT alias, from_version, to_version FROM alias_events ORDER BY id")
    assert [tuple(r) for r in rows] == [("a", None, 1), ("a", 1, 2)]


# -- lineage and the report --------------------------------------------------------------------------
def test_registering_from_a_run_links_its_lineage_and_snapshots_its_metrics(mlops, data, clf):
    X, _ = data
    with mlops.start_run("churn-exp", params={"C": 1.0}) as run:
        run.log_metric("val_acc", 0.93)
        from jupyter_mlops.tracking.capture.outputs import serialise_model

        payload, suffix = serialise_model("sklearn", clf)
        run._store_artifact(f"models/clf{suffix}", payload, "model.sklearn")
        about = {
            "variable": "clf",
            "flavor": "sklearn",
            "class": "sklearn.pipeline.Pipeline",
            "file": f"models/clf{suffix}",
            "format": "pickle",
        }
        run._store_artifact("models/clf.json", json.dumps(about).encode(), "model.meta")
    version = mlops.register_model(run.id[:6], "churn", require={"val_acc": ">=0.9"})
    assert version.run_id == run.id and version.meta["variable"] == "clf"
    assert version.metrics == {"val_acc": 0.93}
    assert version.format == "skops"  # saved again with skops, not copied as a pickle
    np.testing.assert_array_equal(mlops.load_model("churn").predict(X), clf.predict(X))
    card = str(mlops.show(run.id))
    assert "registered as" in card and "churn:1" in card
    with pytest.raises(InvalidValue, match="var= picks"):
        mlops.register_model(clf, "churn", var="clf")
    with pytest.raises(NotFound, match="no candidate model 'other'"):
        mlops.register_model(run.id, "churn", var="other")


def test_copying_a_version_under_another_name_keeps_its_lineage(mlops, clf):
    with mlops.start_run("exp") as run:
        run.log_metric("acc", 0.9)
    # a live object linked to no run
    first = mlops.register_model(clf, "staging-churn")
    copy = mlops.register_model("staging-churn:1", "churn")
    assert (copy.sha256, copy.meta["copied_from"]) == (first.sha256, "staging-churn:1")


def test_report_has_evaluation_importance_and_flagged_group_gap(mlops):
    rng = np.random.default_rng(1)
    n = 600
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})
    gender = rng.choice(["F", "M"], n)
    y = (X.signal > 0).astype(int).to_numpy()
    flip = (gender == "M") & (rng.random(n) < 0.3)  # the labels of one group are noisier
    y_seen = np.where(flip, 1 - y, y)
    model = LogisticRegression().fit(X, y)
    version = mlops.register_model(
        model, "fair", eval_data=(X.assign(gender=gender), y_seen), groups="gender", input_example=X.head()
    )
    report = version.report
    assert report["task"] == "classification" and report["rows"] == n
    assert version.metrics["accuracy"] == pytest.approx(np.mean(model.predict(X) == y_seen))
    assert report["importance"][0]["feature"] == "signal" and report["importance"][0]["mean"] > 0.3
    assert abs(report["importance"][1]["mean"]) < 0.05
    if "shap" in report:  # the shap package is installed (it is in the dev extra)
        assert [f["feature"] for f in report["shap"]] == ["signal", "noise"]
        assert report["shap"][0]["mean_abs"] > 5 * report["shap"][1]["mean_abs"]
    groups = report["groups"]
    assert groups["column"] == "gender" and set(groups["metrics"]) == {"F", "M"}
    assert groups["metrics"]["F"]["rows"] + groups["metrics"]["M"]["rows"] == n
    assert groups["largest_gap"]["best"] == "F" and groups["largest_gap"]["worst"] == "M"
    assert groups["largest_gap"]["gap"] > 0.2 and groups["flagged"] is True
    card = str(mlops.show("fair:1"))
    assert "FLAGGED" in card and "Feature importance" in card and "signal" in card
    assert ("SHAP" in card) == ("shap" in report)


def test_regression_report_and_groups_given_as_labels(mlops):
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=300)})
    y = 3 * X.a + rng.normal(scale=0.1, size=300)
    model = LinearRegression().fit(X, y)
    version = mlops.register_model(model, "reg", eval_data=(X, y), groups=np.repeat(["x", "y", "z"], 100))
    assert version.report["task"] == "regression"
    assert version.metrics["rmse"] == pytest.approx(0.1, rel=0.2) and version.metrics["r2"] > 0.99
    assert version.report["groups"]["flagged"] is False and version.report["groups"]["column"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eval_data": "test.csv"}, r"eval_data must be \(X_test, y_test\)"),
        ({"groups": "gender"}, "groups= needs eval_data"),
        ({"eval_data": "XY", "groups": "nope"}, "'nope' is not a column"),
        ({"eval_data": "short"}, "X has 400 rows but y has 10"),
        ({"require": "accuracy >> 1"}, "is not OP NUMBER"),
    ],
)
def test_bad_report_inputs_are_refused_and_nothing_is_stored(mlops, data, clf, kwargs, message):
    X, y = data
    kwargs = dict(kwargs)
    if kwargs.get("eval_data") == "XY":
        kwargs["eval_data"] = (X, y)
    elif kwargs.get("eval_data") == "short":
        kwargs["eval_data"] = (X, y[:10])
    with pytest.raises(InvalidValue, match=message):
        mlops.register_model(clf, "churn", **kwargs)
    assert mlops.list_models().empty


# -- concurrency -----------------------------------------------------------------------------------
REGISTER = """
import sys, time
import jupyter_mlops as mlops


class Model:
    def predict(self, X):
        return X


mlops.connect(sys.argv[1], artifacts=sys.argv[2])
start = float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
print(" ".join(str(mlops.register_model(Model(), "shared").version) for _ in range(5)))
"""


def test_two_processes_registering_one_name_at_once_get_distinct_versions(db_url, tmp_path):
    script = tmp_path / "register.py"
    script.write_text(REGISTER)
    start = str(time.time() + 3)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), db_url, str(tmp_path / "artifacts"), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    numbers = [int(v) for out, _ in outputs for v in out.split()]
    assert sorted(numbers) == list(range(1, 11))


def test_loading_skops_does_not_import_torch():
    """A model server for a scikit-learn model starts without paying for torch's import (1.3 s here),
    and scikit-learn's torch support still imports for real afterwards."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from jupyter_mlops.registry.flavors import skops_io\n"
        "sio = skops_io()\n"
        "print('torch' in sys.modules, hasattr(sio, 'loads'))\n"
        "import sklearn.externals.array_api_compat.torch as compat\n"
        "print(hasattr(compat, 'asarray'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "True"]


def test_a_model_server_loads_skops_files_without_listing_every_estimator(mlops, data, clf, db_url, tmp_path):
    """A model server skips skops' listing of scikit-learn's estimators (it imports every scikit-learn
    module): the estimators a file needs are checked one by one instead. The same models load and
    answer alike, and a planted type is refused as before."""
    import hashlib
    import subprocess
    import sys

    from sklearn.ensemble import HistGradientBoostingClassifier

    from jupyter_mlops.registry.flavors import _is_sklearn_estimator

    X, y = data
    mlops.register_model(clf, "churn")
    mlops.register_model(HistGradientBoostingClassifier(max_iter=5).fit(X, y), "boosted")
    planted = mlops.register_model(clf, "planted")
    import skops.io as sio

    Path(planted.uri).write_bytes(sio.dumps(Doubler()))
    sql(
        db_url,
        "UPDATE model_versions SET sha256 = :h WHERE uri = :u",
        h=hashlib.sha256(Path(planted.uri).read_bytes()).hexdigest(),
        u=planted.uri,
    )
    X.to_csv(tmp_path / "X.csv", index=False)
    code = (
        "import sys\n"
        "import pandas as pd\n"
        "from jupyter_mlops.registry import flavors\n"
        "flavors.load_without_listing()\n"
        "import jupyter_mlops as mlops\n"
        f"mlops.connect({db_url!r}, artifacts={str(tmp_path / 'artifacts')!r})\n"
        f"X = pd.read_csv({str(tmp_path / 'X.csv')!r})\n"
        "for name in ('churn', 'boosted'):\n"
        "    print(','.join(str(v) for v in mlops.load_model(name).predict(X)))\n"
        "print('sklearn.gaussian_process' in sys.modules, 'sklearn.feature_extraction' in sys.modules)\n"
        "try:\n"
        "    mlops.load_model('planted')\n"
        "except mlops.ModelIntegrityError as err:\n"
        "    print('refused:', err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    churn, boosted, modules, refused = done.stdout.strip().splitlines()
    assert churn == ",".join(str(v) for v in clf.predict(X))
    assert boosted == ",".join(str(v) for v in mlops.load_model("boosted").predict(X))
    assert modules == "False False"  # modules only the listing imports were not imported
    assert refused.startswith("refused:") and "Doubler" in refused and "nobody trusted" in refused

    assert _is_sklearn_estimator("sklearn.linear_model._logistic.LogisticRegression")
    assert _is_sklearn_estimator("sklearn.pipeline.Pipeline")
    for name in [
        "sklearn.base.BaseEstimator",  # not an estimator of its own
        "sklearn.linear_model._base.LinearModel",  # abstract
        "sklearn.linear_model.LogisticRegression",  # not where it is defined: skops never writes that
        "sklearn.utils._bunch.Bunch",  # not an estimator
        "sklearn.utils._testing._private",
        "os.system",
        "sklearn.nowhere.Thing",
        "sklearn.externals.array_api_compat.Thing",
    ]:
        assert not _is_sklearn_estimator(name), name
