"""The public surface: what `import jupyter_mlops` exports, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys
import types

import jupyter_mlops


def test_all_names_are_exported_and_documented():
    public = {
        name
        for name in dir(jupyter_mlops)
        if not name.startswith("_") and not isinstance(getattr(jupyter_mlops, name), types.ModuleType)
    }
    assert public == set(jupyter_mlops.__all__) - {"__version__"}
    for name in public:
        assert getattr(jupyter_mlops, name).__doc__, f"{name} needs a docstring"


def test_import_does_not_load_heavy_libraries():
    heavy = "('pandas', 'sqlalchemy', 'alembic', 'numpy')"
    code = f"import sys, jupyter_mlops; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_errors_form_one_tree():
    for name in (
        "ConfigError",
        "InvalidValue",
        "FilterSyntaxError",
        "NotFound",
        "AmbiguousRef",
        "AlreadyExists",
        "NoActiveRun",
        "ArtifactPathError",
        "StoreError",
        "SchemaOutOfDate",
    ):
        assert issubclass(getattr(jupyter_mlops, name), jupyter_mlops.MlopsError)
    assert issubclass(jupyter_mlops.InvalidValue, ValueError) and issubclass(jupyter_mlops.NotFound, KeyError)
