"""Riding out a short database outage: new connections that fail for a reason that passes (PostgreSQL restarting or
unreachable for a moment) are tried again with backoff, each attempt logged, for a bounded time.

The retry sits where SQLAlchemy opens a DBAPI connection (the `do_connect` event), so every store module sharing
the engine gets it, and only a connection that was never made is retried: nothing had been sent to the database,
so trying again can't apply anything twice. A connection dropped inside a transaction is not retried here (its
commit may or may not have happened); the pipeline settles that target on its own and the scheduler resumes it.
SQLite needs none of this: a write lock held by another connection is waited out by its busy timeout.

The wait blocks the calling thread, as the store's calls do; it is bounded by `budget_seconds`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

# What libpq and the server say when the server is down, restarting or cut off for a moment: worth another try.
# Wrong passwords, roles and databases are not here: they stay wrong, and are reported at once.
_PASSING = (
    "connection refused",
    "could not connect",
    "server closed the connection",
    "connection reset",
    "timeout expired",
    "could not receive data",
    "could not send data",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "数据库系统启动中",
    "数据库系统正在关闭",
)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: delays grow from `first` by `factor` up to `longest`, within `budget_seconds`."""

    budget_seconds: float = 20.0
    first: float = 0.2
    factor: float = 2.0
    longest: float = 2.0

    def delay(self, attempt: int) -> float:
        return float(min(self.longest, self.first * self.factor ** (attempt - 1)))


def is_passing(exc: BaseException) -> bool:
    """True when a failed connection attempt is of the kind that ends by itself (see `_PASSING`)."""
    text = str(exc).lower()
    return any(words in text for words in _PASSING)


def connect_with_retry(
    connect: Callable[[], Any],
    policy: RetryPolicy,
    *,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """`connect()`, tried again after each passing failure until `policy.budget_seconds` are spent; then the last
    error is raised. Each failed attempt is logged as a warning, the recovery as info."""
    deadline = monotonic() + policy.budget_seconds
    attempt = 1
    while True:
        try:
            connection = connect()
        except Exception as exc:
            delay = policy.delay(attempt)
            if not is_passing(exc) or monotonic() + delay > deadline:
                if attempt > 1:
                    log.error("数据库第 %d 次仍连不上，放弃这次操作：%s", attempt, _first_line(exc))
                raise
            log.warning("数据库暂时连不上（第 %d 次）：%s；%.1f 秒后重试", attempt, _first_line(exc), delay)
            sleep(delay)
            attempt += 1
            continue
        if attempt > 1:
            log.info("数据库又连上了（第 %d 次尝试）", attempt)
        return connection


def retry_connections(engine: Engine, policy: RetryPolicy, *, sleep: Callable[[float], None] = time.sleep) -> None:
    """From now on, every new connection of `engine` is made with `connect_with_retry`."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return connect_with_retry(lambda: dialect.connect(*cargs, **cparams), policy, sleep=sleep)


def is_outage(exc: BaseException) -> bool:
    """True when `exc` is the database being away (unreachable, cut off, locked by another program): every other
    statement would fail alike until it is back. Not a refused statement (a constraint, a bug)."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def first_line(exc: BaseException) -> str:
    """The error's first line, for a log line a person reads (SQLAlchemy appends its SQL and a link)."""
    return _first_line(exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
