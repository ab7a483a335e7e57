"""Raw SQL against a test database, the way another tool would read or damage it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text


def sql(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run one statement in its own transaction; return its rows (empty for statements without rows)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()
