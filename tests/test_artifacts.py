"""Artifact store: local folder and S3 (a real S3-compatible server on loopback), and path safety."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator

import pytest

from jupyter_mlops.errors import ArtifactPathError
from jupyter_mlops.store.artifacts import ArtifactStore, safe_name

RUN = uuid.uuid4().hex
TRAVERSALS = [
    "../escape.txt",
    "a/../../escape.txt",
    "/etc/passwd",
    "%2e%2e/escape.txt",
    "%252e%252e%252fescape.txt",
    "..%2fescape.txt",
    "..\\escape.txt",
    "C:/Windows/x",
    "file:///etc/passwd",
    "a//b",
    "./a",
    "a\x00b",
    "",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_names_that_escape_are_refused(tmp_path, name):
    store = ArtifactStore(str(tmp_path / "root"))
    with pytest.raises(ArtifactPathError):
        store.put(RUN, name, b"x")
    assert not (tmp_path / "escape.txt").exists()


def test_nested_names_are_kept(tmp_path):
    assert safe_name("plots/roc curve.png") == "plots/roc curve.png"
    store = ArtifactStore(str(tmp_path))
    stored = store.put(RUN, "plots/roc.png", b"png-bytes")
    assert stored.uri == str(tmp_path / RUN / "plots" / "roc.png")
    assert stored.sha256 == hashlib.sha256(b"png-bytes").hexdigest() and stored.size == 9
    assert store.read_bytes(RUN, "plots/roc.png") == b"png-bytes"


def test_symlink_out_of_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / RUN).mkdir(parents=True)
    os.symlink(outside, root / RUN / "link")
    store = ArtifactStore(str(root))
    with pytest.raises(ArtifactPathError, match="symlink"):
        store.put(RUN, "link/file.txt", b"x")
    with pytest.raises(ArtifactPathError, match="symlink"):
        store.read_bytes(RUN, "link/file.txt")
    assert list(outside.iterdir()) == []


def test_run_id_must_be_a_full_id(tmp_path):
    from jupyter_mlops.errors import InvalidValue

    with pytest.raises(InvalidValue):
        ArtifactStore(str(tmp_path)).put("../x", "a.txt", b"x")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto) on 127.0.0.1, with a bucket."""
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="mlops")
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_s3_artifacts_through_a_run(s3_server, sqlite_url, tmp_path):
    import boto3

    import jupyter_mlops as mlops
    from jupyter_mlops.tracking import api

    mlops.connect(sqlite_url, artifacts="s3://mlops/team")
    try:
        with mlops.start_run("exp") as run:
            artifact = run.log_artifact(b"model-bytes", name="models/m.bin")
            with pytest.raises(ArtifactPathError):
                run.log_artifact(b"x", name="../../other-bucket.bin")
    finally:
        api.disconnect()
    assert artifact.uri == f"s3://mlops/team/{run.id}/models/m.bin"
    body = boto3.client("s3", endpoint_url=s3_server).get_object(
        Bucket="mlops", Key=f"team/{run.id}/models/m.bin"
    )
    assert body["Body"].read() == b"model-bytes"
    assert artifact.sha256 == hashlib.sha256(b"model-bytes").hexdigest()
    assert ArtifactStore("s3://mlops/team").read_bytes(run.id, "models/m.bin") == b"model-bytes"
    keys = [
        o["Key"]
        for o in boto3.client("s3", endpoint_url=s3_server).list_objects_v2(Bucket="mlops")["Contents"]
    ]
    assert keys == [f"team/{run.id}/models/m.bin"]


def test_registry_versions_round_trip_through_s3_and_tampering_is_refused(s3_server, sqlite_url):
    import boto3
    import numpy as np
    from rawsql import sql
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops
    from jupyter_mlops.errors import ModelIntegrityError
    from jupyter_mlops.tracking import api

    X = np.random.default_rng(0).normal(size=(50, 2))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    mlops.connect(sqlite_url, artifacts="s3://mlops/registry-test")
    try:
        version = mlops.register_model(model, "churn")
        assert version.uri.startswith("s3://mlops/registry-test/registry/") and version.uri.endswith(
            "/model.skops"
        )
        np.testing.assert_array_equal(mlops.load_model("churn:1").predict(X), model.predict(X))
        key = version.uri[len("s3://mlops/") :]
        boto3.client("s3", endpoint_url=s3_server).put_object(Bucket="mlops", Key=key, Body=b"planted")
        with pytest.raises(ModelIntegrityError, match="changed since it was registered"):
            mlops.load_model("churn:1")
        sql(sqlite_url, "UPDATE model_versions SET uri = 's3://other-bucket/x/model.skops'")
        with pytest.raises(ArtifactPathError, match="outside the artifact root"):
            mlops.load_model("churn:1")
    finally:
        api.disconnect()
