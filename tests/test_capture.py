"""Capture building blocks, without a shell: code facts, -p rewrites, the context slice,
fingerprints and secret masking of source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.errors import InvalidValue
from jupyter_mlops.masking import mask_text
from jupyter_mlops.tracking.capture.code import analyse, parse_value, rewrite
from jupyter_mlops.tracking.capture.context import context_slice
from jupyter_mlops.tracking.capture.fingerprint import fingerprint
from jupyter_mlops.tracking.capture.outputs import final_metrics


def test_parameters_are_top_level_literal_assignments():
    facts = analyse(
        "lr = 0.01\nlayers = [64, 32]\na, b = 1, 'x'\nneg: float = -2.5\nopts = {'k': (1, None)}\n"
        "computed = lr * 2\nlater = 1\nlater += 1\nimport math\nfor i in range(2):\n    inner = i\n"
        "def f():\n    hidden = 1\n"
    )
    assert facts.params == {
        "lr": 0.01,
        "layers": [64, 32],
        "a": 1,
        "b": "x",
        "neg": -2.5,
        "opts": {"k": (1, None)},
    }
    assert facts.assigned == ("computed", "later", "inner")


def test_reads_are_names_used_before_the_code_binds_them():
    facts = analyse(
        "x = df.a + offset\ny = x * 2\nfor i in range(3):\n    total = i + y\n"
        "def g():\n    return model.predict(X)\nprint(len([v for v in values]))"
    )
    assert facts.reads == {"df", "offset", "model", "X", "values"}


def test_mutations_count_as_definitions():
    facts = analyse("df['b'] = 1\nmodel.fit(X, y)\nitems.append(3)\nobj.attr = 2")
    assert {"df", "model", "items", "obj"} <= facts.defines


def test_rewrite_keeps_line_numbers_comments_and_unicode():
    source = "lr = 0.01  # learning rate\nlayers = [64,\n   32]; z = 1\nname = 'é'; k = 3\nprint(lr)\n"
    new = rewrite(source, {"lr": 0.5, "layers": [1], "k": "ü"})
    assert new.count("\n") == source.count("\n")
    assert new.splitlines()[0] == "lr = 0.5  # learning rate"
    assert new.splitlines()[4] == "print(lr)"
    namespace: dict = {}
    exec(compile(new, "<test>", "exec"), namespace)
    assert (namespace["lr"], namespace["layers"], namespace["k"], namespace["name"]) == (0.5, [1], "ü", "é")


def test_rewrite_refuses_unknown_and_computed_names():
    with pytest.raises(InvalidValue, match="its parameters are: lr"):
        rewrite("lr = 0.1\nacc = lr * 2\n", {"acc": 1})
    with pytest.raises(InvalidValue, match="its parameters are: none"):
        rewrite("x = f()\n", {"x": 1})


def test_parse_value_reads_literals_and_keeps_text():
    assert parse_value("0.1") == 0.1
    assert parse_value("[64, 32]") == [64, 32]
    assert parse_value("rf") == "rf"
    assert parse_value("'quoted'") == "quoted"
    assert parse_value("__import__('os')") == "__import__('os')"  # never evaluated


def test_context_slice_walks_dependencies_back_in_execution_order():
    cells = [
        (1, "import pandas as pd"),
        (2, "raw = pd.read_csv('a.csv')"),
        (3, "other = 1"),
        (4, "%time clean = raw.dropna()"),  # IPython syntax: analysed in its Python form
        (7, "clean['x'] = 2"),
    ]
    history = [(n, "clean = raw.dropna()" if n == 4 else s, s) for n, s in cells]
    picked = context_slice(history, {"clean"})
    assert [n for n, _ in picked] == [1, 2, 4, 7]
    assert picked[2][1] == "%time clean = raw.dropna()"  # kept as the user wrote it
    assert context_slice(history, {"unknown"}) == []
    assert context_slice([(1, "x = (", "x = (")], {"x"}) == []  # a cell that never parsed


def test_fingerprint_follows_content_not_identity():
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, np.nan], "b": ["x", "y", "x"], "t": pd.to_datetime(["2024-01-01"] * 3)}
    )
    fp = fingerprint(frame)
    assert fp.id == fingerprint(frame.copy()).id
    assert fp.shape == [3, 3] and fp.schema == {"a": "float64", "b": "str", "t": "datetime64[us]"}
    assert fp.profile["columns"]["a"] == {
        "null_share": pytest.approx(1 / 3),
        "min": 1.0,
        "mean": 1.5,
        "std": 0.5,
        "max": 2.0,
        "quantiles": pytest.approx([1.0 + i / 50 for i in range(51)]),  # 0%, 2%, ..., 100% of 1.0 and 2.0
    }
    assert fp.profile["columns"]["b"]["top"] == {"x": 2, "y": 1}
    changed = frame.copy()
    changed.loc[0, "a"] = 1.0000001
    assert fingerprint(changed).id != fp.id
    assert fingerprint(frame.rename(columns={"a": "A"})).id != fp.id
    assert fingerprint(frame.set_index(pd.Index([5, 6, 7]))).id != fp.id
    assert fingerprint(frame.astype({"a": "float32"})).id != fp.id


def test_fingerprint_kinds():
    series = fingerprint(pd.Series([1, 2, 3], name="s"))
    assert series.kind == "series" and series.shape == [3]
    array = fingerprint(np.arange(6).reshape(2, 3))
    assert array.kind == "ndarray" and array.shape == [2, 3] and array.profile["max"] == 5.0
    assert fingerprint(np.arange(6).reshape(3, 2)).id != array.id  # same bytes, other shape
    assert (
        fingerprint(np.zeros((4, 3))[:, 1]).id == fingerprint(np.zeros(4)).id
    )  # strided views hashed by value
    assert fingerprint([1, 2, 3]) is None and fingerprint("text") is None
    torch = pytest.importorskip("torch")
    tensor = fingerprint(torch.arange(4, dtype=torch.float32))
    assert tensor.kind == "tensor" and tensor.schema == {"dtype": "float32", "device": "cpu"}
    assert tensor.id == fingerprint(torch.arange(4, dtype=torch.float32).clone()).id
    assert fingerprint(torch.zeros(2, dtype=torch.bfloat16)).id != fingerprint(torch.zeros(2)).id


def test_large_frames_hash_every_row_but_profile_a_sample():
    frame = pd.DataFrame({"a": np.arange(200_000, dtype=float)})
    fp = fingerprint(frame)
    assert fp.profile["rows"] == 200_000 and fp.profile["sampled_rows"] == 10_000
    frame.loc[123_457, "a"] = -1.0  # a row the sample skips still changes the hash
    assert fingerprint(frame).id != fp.id


def test_final_metrics_are_real_numbers_only():
    torch = pytest.importorskip("torch")
    namespace = {
        "acc": 0.9,
        "n": 3,
        "flag": True,
        "np_flag": np.bool_(False),
        "f32": np.float32(0.5),
        "zero_d": np.array(2.0),
        "tensor": torch.tensor(1.5),
        "vector": np.array([1.0, 2.0]),
        "text": "0.9",
        "_private": 1.0,
    }
    assert final_metrics(namespace, namespace) == {
        "acc": 0.9,
        "n": 3.0,
        "f32": 0.5,
        "zero_d": 2.0,
        "tensor": 1.5,
    }


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('API_KEY = "abc123"', 'API_KEY = "***"'),
        ("connect(password='hunter2', user='bob')", "connect(password='***', user='bob')"),
        ('{"api_token": "t0k", "name": "x"}', '{"api_token": "***", "name": "x"}'),
        ('secret: str = "s3"', 'secret: str = "***"'),
        ('author = "me"', 'author = "me"'),
        ("db = 'postgresql://u:pw@h/db'", "db = 'postgresql://u:***@h/db'"),
        ('x == "keep"', 'x == "keep"'),
    ],
)
def test_source_masking(text, masked):
    assert mask_text(text) == masked
