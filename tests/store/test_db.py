"""The SQLite busy timeout: 30 s by default (another process's burst of writes is waited out), the URL's
`?timeout=SECONDS` when given (0: a held lock fails the write at once, as an outage does), a clear Chinese error
for a value that is no number of seconds."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.clock import TOWN_ZONE
from bot.store.db import SQLITE_BUSY_TIMEOUT_MS, busy_timeout_ms
from bot.store.sql import open_store
from bot.store.unavailable import StoreUnavailable

AT = datetime(2024, 5, 17, 10, 0, tzinfo=TOWN_ZONE)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/laba.db", SQLITE_BUSY_TIMEOUT_MS),
        ("sqlite:///data/laba.db?timeout=0", 0),
        ("sqlite:///data/laba.db?timeout=2.5", 2500),
    ],
)
def test_the_busy_timeout_comes_from_the_url_or_the_default(url: str, expected: int) -> None:
    assert busy_timeout_ms(make_url(url)) == expected


def test_the_timeout_is_set_on_every_connection(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'laba.db'}?timeout=1.5", TOWN_ZONE)
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    finally:
        store.close()


def test_with_no_wait_a_held_lock_fails_the_write_at_once_and_nothing_is_recorded(tmp_path: Path) -> None:
    database = tmp_path / "laba.db"
    store = open_store(f"sqlite:///{database}?timeout=0", TOWN_ZONE)
    other = sqlite3.connect(database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"):
            store.claim("2024-05/remind/x", "changchun-work", AT, AT, "runner")
        other.execute("COMMIT")
        assert store.deliveries() == []
        assert store.claim("2024-05/remind/x", "changchun-work", AT, AT, "runner") is not None
    finally:
        other.close()
        store.close()


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_a_timeout_that_is_no_number_of_seconds_is_named_in_chinese(tmp_path: Path, value: str) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'laba.db'}?timeout={value}"
    with pytest.raises(StoreUnavailable) as caught:
        open_store(url, TOWN_ZONE)
    message = str(caught.value)
    assert "BOT_DATABASE_URL" in message and f"“{value}”" in message and "?timeout=30" in message
    assert not (tmp_path / "data").exists()  # nothing made
