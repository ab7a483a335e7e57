"""Artifact files: a local folder by default, any fsspec URL (``s3://bucket/prefix``) for teams.

Every name is checked before use: no absolute paths, no ``..`` (also when %-encoded), no backslashes
or control characters, and locally no symlink that leads outside the root::

    store = ArtifactStore("/data/mlops-artifacts")
    stored = store.put("3f2a...", "plots/roc.png", b"...")   # -> StoredFile(uri, sha256, size)
    store.read_bytes("3f2a...", "plots/roc.png")
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from ..errors import ArtifactPathError, InvalidValue

_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class StoredFile:
    uri: str
    sha256: str
    size: int


def safe_name(name: str) -> str:
    """Normalise an artifact name to a relative POSIX path, or raise ArtifactPathError."""
    if not isinstance(name, str) or not name.strip():
        raise ArtifactPathError("artifact name must be a non-empty relative path such as 'plots/roc.png'")
    decoded = name
    for _ in range(5):  # %252e%252e -> %2e%2e -> ..
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    problem = None
    if _CONTROL.search(decoded):
        problem = "contains control characters"
    elif "\\" in decoded:
        problem = "contains a backslash: use '/' between folders"
    elif decoded.startswith("/") or re.match(r"^[A-Za-z]:", decoded) or "://" in decoded:
        problem = "is absolute: give a path relative to the run's artifact folder"
    elif any(part in ("..", ".") for part in decoded.split("/")) or "//" in decoded:
        problem = "has '.', '..' or empty folder names: it must stay inside the artifact folder"
    if problem:
        raise ArtifactPathError(f"artifact name {name!r} {problem}")
    return str(PurePosixPath(decoded))


class ArtifactStore:
    """Files under one root, one folder per run."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.local = "://" not in root
        if self.local:
            self._local_root = Path(root)
        else:
            import fsspec

            self.fs, self._remote_root = fsspec.core.url_to_fs(root)

    def uri(self, run_id: str, name: str) -> str:
        rel = f"{_run_folder(run_id)}/{safe_name(name)}"
        if self.local:
            return str(self._local_root / rel)
        return f"{self.root.rstrip('/')}/{rel}"

    def put(self, run_id: str, name: str, source: bytes | str | os.PathLike[str]) -> StoredFile:
        """Store ``source`` (bytes, or the path of a local file) as ``name`` in the run's folder."""
        return self.put_in(_run_folder(run_id), name, source)

    def put_in(self, folder: str, name: str, source: bytes | str | os.PathLike[str]) -> StoredFile:
        """Store ``source`` as ``folder/name`` under the root (the registry keeps versions in
        ``registry/<id>/``)."""
        rel = f"{safe_name(folder)}/{safe_name(name)}"
        if isinstance(source, bytes):
            with tempfile.NamedTemporaryFile(delete=False) as tmp:
                tmp.write(source)
            try:
                return self._put_file(rel, Path(tmp.name))
            finally:
                os.unlink(tmp.name)
        path = Path(source)
        if not path.is_file():
            raise InvalidValue(
                f"{path} is not a file: log_artifact takes a file path, bytes, or a DataFrame/dict"
            )
        return self._put_file(rel, path)

    def read_bytes(self, run_id: str, name: str) -> bytes:
        rel = f"{_run_folder(run_id)}/{safe_name(name)}"
        if self.local:
            return self._checked_local(rel).read_bytes()
        with self.fs.open(f"{self._remote_root.rstrip('/')}/{rel}", "rb") as handle:
            return handle.read()

    def read_uri(self, uri: str) -> bytes:
        """The bytes of a file this store handed out the ``uri`` of; a uri outside the root is refused."""
        if self.local:
            root = self._local_root.resolve()
            path = Path(uri).resolve()
            if not path.is_relative_to(root):
                raise ArtifactPathError(f"{uri!r} is outside the artifact root {self.root}")
            return path.read_bytes()
        prefix = self.root.rstrip("/") + "/"
        if not uri.startswith(prefix):
            raise ArtifactPathError(f"{uri!r} is outside the artifact root {self.root}")
        rel = safe_name(uri[len(prefix) :])
        with self.fs.open(f"{self._remote_root.rstrip('/')}/{rel}", "rb") as handle:
            return handle.read()

    def delete_uri(self, uri: str) -> None:
        """Delete a file this store handed out the ``uri`` of (refused outside the root; gone is fine)."""
        if self.local:
            path = Path(uri).resolve()
            if not path.is_relative_to(self._local_root.resolve()):
                raise ArtifactPathError(f"{uri!r} is outside the artifact root {self.root}")
            path.unlink(missing_ok=True)
            return
        prefix = self.root.rstrip("/") + "/"
        if not uri.startswith(prefix):
            raise ArtifactPathError(f"{uri!r} is outside the artifact root {self.root}")
        remote = f"{self._remote_root.rstrip('/')}/{safe_name(uri[len(prefix) :])}"
        if self.fs.exists(remote):
            self.fs.rm_file(remote)

    def _put_file(self, rel: str, path: Path) -> StoredFile:
        digest, size = file_sha256(path)
        if self.local:
            target = self._checked_local(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy then rename, so a reader never sees half a file.
            partial = target.with_name(f".{target.name}.partial")
            shutil.copyfile(path, partial)
            os.replace(partial, target)
            return StoredFile(str(target), digest, size)
        remote = f"{self._remote_root.rstrip('/')}/{rel}"
        self.fs.put_file(str(path), remote)
        return StoredFile(f"{self.root.rstrip('/')}/{rel}", digest, size)

    def _checked_local(self, rel: str) -> Path:
        """The local path for ``rel``, refusing one that resolves outside the root (through a symlink)."""
        root = self._local_root.resolve()
        target = root / rel
        resolved = target.resolve()
        if not resolved.is_relative_to(root):
            raise ArtifactPathError(
                f"artifact path {rel!r} leads outside the artifact root (through a symlink)"
            )
        return target


def _run_folder(run_id: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{32}", run_id):
        raise InvalidValue(f"{run_id!r} is not a full run id")
    return run_id


def file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
