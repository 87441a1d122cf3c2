"""Riding out a short database outage: connection attempts that fail for a passing reason are tried again (each
attempt logged) within a budget; wrong credentials are not; a real PostgreSQL store behind a proxy that is cut off
comes back by itself."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from itertools import count

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.clock import TOWN_ZONE
from bot.store.sql import SqlStore
from bot.store.transient import RetryPolicy, connect_with_retry, first_line, is_outage, is_passing, retry_connections
from tests.faults.proxy import ThreadedProxy

REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


class FlakyServer:
    """A driver's connect that fails `failures` times with `error`, then connects."""

    def __init__(self, failures: int, error: str) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def connect(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError(self.error)
        return "connection"


def test_a_refused_connection_is_tried_again_with_growing_delays_and_each_attempt_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FlakyServer(3, REFUSED)
    slept: list[float] = []
    with caplog.at_level(logging.INFO, "bot.store.transient"):
        assert connect_with_retry(server.connect, RetryPolicy(), sleep=slept.append) == "connection"
    assert slept == [0.2, 0.4, 0.8]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and all("数据库暂时连不上" in w and "Connection refused" in w for w in warnings)
    assert "又连上了" in caplog.records[-1].getMessage()


def test_a_wrong_password_is_reported_at_once() -> None:
    server = FlakyServer(1, 'FATAL:  password authentication failed for user "laba"')
    with pytest.raises(OSError, match="password"):
        connect_with_retry(server.connect, RetryPolicy(), sleep=lambda _: None)
    assert server.calls == 1 and not is_passing(OSError(server.error))


def test_an_outage_longer_than_the_budget_raises_the_last_error() -> None:
    ticks = count()
    server = FlakyServer(100, REFUSED)
    policy = RetryPolicy(budget_seconds=5.0, first=1.0, factor=1.0)
    with pytest.raises(OSError, match="refused"):
        connect_with_retry(server.connect, policy, monotonic=lambda: float(next(ticks)), sleep=lambda _: None)
    assert 2 <= server.calls <= 6


@pytest.mark.postgres
def test_a_postgres_store_rides_out_the_server_being_cut_off(postgres_schema_url: str) -> None:
    real = make_url(postgres_schema_url)
    with ThreadedProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        store = SqlStore(real.set(host="127.0.0.1", port=proxy.port), TOWN_ZONE)
        try:
            store.migrate()
            waited: list[float] = []

            def bring_back(seconds: float) -> None:  # the server is back while the store waits
                waited.append(seconds)
                proxy.start()

            retry_connections(store.engine, RetryPolicy(), sleep=bring_back)
            proxy.stop()  # open connections cut, new ones refused
            now = datetime(2024, 5, 1, 9, tzinfo=TOWN_ZONE)
            assert store.service_started_at("jinxi", now) == now
        finally:
            store.close()
    assert waited == [0.2]  # one refused attempt, then the server was back


def test_an_outage_is_the_database_being_away_not_a_refused_statement() -> None:
    away = OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    refused = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: deliveries.job_key"))
    assert is_outage(away)
    assert not is_outage(refused)
    assert not is_outage(ValueError("a bug"))
    assert first_line(away) == "database is locked"  # no SQL, no link: what a person reads in the log
