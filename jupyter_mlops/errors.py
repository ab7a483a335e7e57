"""Errors and warnings raised by jupyter_mlops.

Every error a user can cause derives from :class:`MlopsError` and says what to do next::

    MlopsError
    ├── ConfigError            bad URL, unknown setting, unreadable pyproject.toml
    ├── InvalidValue           (also a ValueError) a bad name, value or argument
    │   └── FilterSyntaxError  a filter or order_by that does not parse; says where
    ├── NotFound               (also a KeyError) no run / experiment with that id or prefix
    │   └── AmbiguousRef       a prefix that matches several runs
    ├── AlreadyExists          a name that must be unique is taken
    ├── NoActiveRun            a module-level log call with no run started
    ├── ArtifactPathError      an artifact name that would escape the artifact root
    ├── GateFailed             a model version misses a required metric (registration or alias move)
    ├── ModelIntegrityError    a model file differs from its sha256, or holds types nobody trusted
    ├── DeployError            a deployment did not start, or did not take its new routes
    └── StoreError             the database refused or could not be reached
        └── SchemaOutOfDate    the database is at an older (or newer) schema revision

    MlopsWarning               side effects that degrade instead of failing
    ├── ValueTruncatedWarning  an oversize value was cut to the limit
    └── UnserialisableWarning  a value was stored by its repr()
"""

from __future__ import annotations


class MlopsError(Exception):
    """Base class of every error jupyter_mlops raises on purpose."""


class ConfigError(MlopsError):
    """A setting (URL, artifact location, pyproject section) is wrong."""


class InvalidValue(MlopsError, ValueError):
    """A name, value or argument is not acceptable; the message says what is."""


class FilterSyntaxError(InvalidValue):
    """A filter or order_by string does not parse."""


class NotFound(MlopsError, KeyError):
    """No object matches the given id, prefix or name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class AmbiguousRef(NotFound):
    """A run id prefix matches more than one run."""


class AlreadyExists(MlopsError):
    """A unique name is already taken."""


class NoActiveRun(MlopsError):
    """A module-level logging call was made with no active run."""


class ArtifactPathError(MlopsError):
    """An artifact name would leave the artifact root."""


class GateFailed(MlopsError):
    """A model version does not meet a ``require`` gate; nothing was registered or moved."""


class ModelIntegrityError(MlopsError):
    """A model file does not match what was registered, or would load code nobody trusted."""


class DeployError(MlopsError):
    """A deployment did not start, answer, or take its new routes; the message says why."""


class StoreError(MlopsError):
    """The database refused an operation or could not be reached."""


class SchemaOutOfDate(StoreError):
    """The database schema revision differs from the one this code expects."""


class MlopsWarning(UserWarning):
    """Base class of the warnings jupyter_mlops emits."""


class ValueTruncatedWarning(MlopsWarning):
    """An oversize value was truncated to the limit."""


class UnserialisableWarning(MlopsWarning):
    """A value that could not be serialised was stored by repr()."""
