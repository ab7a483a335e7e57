"""Settings precedence and masking rules."""

from __future__ import annotations

import pytest

from jupyter_mlops.config import resolve_settings
from jupyter_mlops.errors import ConfigError
from jupyter_mlops.masking import is_secret_key, mask_text, mask_url


def write_pyproject(folder, body: str) -> None:
    (folder / "pyproject.toml").write_text(body)


def test_defaults_are_in_the_current_folder(tmp_path):
    settings = resolve_settings(cwd=tmp_path)
    assert settings.url == f"sqlite:///{tmp_path / 'mlops.db'}"
    assert settings.artifacts == str(tmp_path / "mlops-artifacts")


def test_pyproject_of_a_parent_folder_is_used_relative_to_itself(tmp_path):
    write_pyproject(tmp_path, '[tool.jupyter_mlops]\nurl = "sqlite:///data/team.db"\nartifacts = "files"\n')
    notebook_dir = tmp_path / "notebooks" / "deep"
    notebook_dir.mkdir(parents=True)
    settings = resolve_settings(cwd=notebook_dir)
    assert settings.url == f"sqlite:///{tmp_path / 'data' / 'team.db'}"
    assert settings.artifacts == str(tmp_path / "files")


def test_environment_beats_pyproject_and_arguments_beat_both(tmp_path, monkeypatch):
    write_pyproject(tmp_path, '[tool.jupyter_mlops]\nurl = "sqlite:///from-pyproject.db"\n')
    monkeypatch.setenv("JUPYTER_MLOPS_URL", "sqlite:////srv/from-env.db")
    monkeypatch.setenv("JUPYTER_MLOPS_ARTIFACTS", "s3://bucket/prefix")
    settings = resolve_settings(cwd=tmp_path)
    assert settings.url == "sqlite:////srv/from-env.db" and settings.artifacts == "s3://bucket/prefix"
    settings = resolve_settings(url="postgresql+psycopg://u@h/db", artifacts="/abs/files", cwd=tmp_path)
    assert settings.url == "postgresql+psycopg://u@h/db" and settings.artifacts == "/abs/files"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool.jupyter_mlops]\nurl = 3\n", "must be a string"),
        ("[tool.jupyter_mlops\n", "cannot read"),
        ("[tool]\njupyter_mlops = 1\n", "must be a table"),
    ],
)
def test_bad_pyproject_is_a_clear_error(tmp_path, body, message):
    write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError, match=message):
        resolve_settings(cwd=tmp_path)


def test_url_without_scheme_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="sqlite:///"):
        resolve_settings(url="mlops.db", cwd=tmp_path)


def test_bad_timer_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_FLUSH_SECONDS", "soon")
    with pytest.raises(ConfigError, match="JUPYTER_MLOPS_FLUSH_SECONDS"):
        resolve_settings(cwd=tmp_path)


def test_unsupported_database_is_refused(tmp_path):
    import jupyter_mlops as mlops

    with pytest.raises(ConfigError):
        mlops.connect("mysql+nosuchdriver://u@h/db")


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("API_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("dbPassword", True),
        ("GITHUB_TOKEN", True),
        ("SENTRY_DSN", True),
        ("auth", True),
        ("author", False),
        ("n_passes", False),
        ("lr", False),
        ("PATH", False),
    ],
)
def test_secret_key_names(key, secret):
    assert is_secret_key(key) is secret


def test_secret_values_are_masked_in_text():
    text = (
        "url postgresql://me:p%40ss@host/db key AKIAIOSFODNN7EXAMPLE "
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U "
        "gh ghp_abcdefghijklmnopqrstuvwxyz0123"
    )
    masked = mask_text(text)
    for secret in ("p%40ss", "AKIAIOSFODNN7EXAMPLE", "eyJhbGciOiJIUzI1NiJ9", "ghp_abcdefghijklmnop"):
        assert secret not in masked
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
