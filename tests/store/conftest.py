"""Backends for the store tests: an SQLite file in tmp_path, and a fresh schema on the PostgreSQL server
named by BOT_TEST_POSTGRES_URL (skipped, with the reason, when that server cannot be reached)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from bot.store.sql import SqlStore, normalize_url, open_store

ZONE = ZoneInfo("Asia/Shanghai")
DEFAULT_POSTGRES_URL = "postgresql://127.0.0.1:5432/test"


def _admin_engine_url() -> URL:
    return normalize_url(os.environ.get("BOT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


@pytest.fixture(scope="session")
def postgres_url() -> URL:
    """The server's URL, or a skip if it does not answer within a few seconds."""
    url = _admin_engine_url()
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.skip(
            f"PostgreSQL not reachable at {url.render_as_string()} (set BOT_TEST_POSTGRES_URL): {exc}"
        )
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: URL) -> Iterator[str]:
    """A URL whose connections see only a new, empty schema; the schema is dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = postgres_url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


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
