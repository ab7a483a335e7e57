"""``jupyter mlops db upgrade [URL]``."""

from __future__ import annotations

from ..config import resolve_settings
from ..store.db import Database
from ..store.schema import upgrade


def upgrade_command(url: str | None) -> int:
    settings = resolve_settings(url)
    db = Database(settings.url)
    before, after = upgrade(db)
    if before == after:
        print(f"{db.safe_url} is already at revision {after}")
    else:
        print(f"upgraded {db.safe_url} from revision {before or '(empty)'} to {after}")
    return 0
