"""Backends for the store tests: an SQLite file in tmp_path, and a fresh schema on the PostgreSQL server
named by BOT_TEST_POSTGRES_URL (skipped, with the reason, when that server cannot be reached)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.store.sql import SqlStore, open_store

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database of each backend."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_schema_url")
        return url
    # A folder that does not exist yet: the store must create it.
    return f"sqlite:///{tmp_path / 'data' / 'laba.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    s = open_store(store_url, ZONE)
    try:
        yield s
    finally:
        s.close()
