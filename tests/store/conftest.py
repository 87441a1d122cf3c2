"""Backends for the store tests: an SQLite file in tmp_path, and a fresh schema on the PostgreSQL server
named by BOT_TEST_POSTGRES_URL (skipped, with the reason, when that server cannot be reached)."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from bot.store.sql import SqlStore, open_store

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    s = open_store(store_url, ZONE)
    try:
        yield s
    finally:
        s.close()
