"""The database under every repository: the engine, short transactions, migrations, and insert-if-absent.

Each call of a repository is one short transaction (`Database.write` or `Database.read`); no lock is held between
calls. On SQLite, writing transactions take the write lock at BEGIN (IMMEDIATE) and wait for it (busy timeout),
and the file is in WAL mode so readers and the writer never block each other across processes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.sql.dml import Insert

from bot.store.unavailable import BadDatabaseOption

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# Long enough to ride out another process's burst of claims or a migration; a lock held longer is an outage (the
# write fails and the pipeline resumes the job later). A URL's `?timeout=SECONDS` (the sqlite3 driver's own
# parameter, which SQLAlchemy passes through) sets another.
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000

# Any constant works as long as every laba process uses the same one; derived from a name to avoid colliding
# with advisory locks that other applications on a shared server pick by hand.
_MIGRATION_LOCK_KEY: Final = int.from_bytes(hashlib.sha256(b"laba.migrations").digest()[:8], "big", signed=True)

# Execution option read by the SQLite "begin" hook: transactions that will write start with BEGIN IMMEDIATE.
_WRITE_OPTION: Final = "laba_write"


def on_conflict_do_nothing(conn: Connection, table: Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING for the connection's database: the one place that knows the dialects.

    ON CONFLICT DO NOTHING rather than catching the unique violation: the same atomicity, but no aborted statement,
    no rollback, and no error in the server's log for every lost race."""
    # Each dialect's module only when used: PostgreSQL's costs a daemon on SQLite 30 ms of start-up and its memory.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"unsupported database: {conn.dialect.name}")


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """INSERT unless the key exists; True if the row was inserted."""
    stmt = on_conflict_do_nothing(conn, table).values(**values)
    # SQLAlchemy reports an INSERT's row count only when asked to keep it.
    count = conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount
    if count < 0:
        raise RuntimeError(f"{conn.dialect.name}: the driver did not report whether the INSERT took effect")
    return count == 1


_RETURNING: dict[tuple[str, str], Any] = {}


def insert_ignore_returning(conn: Connection, table: Table) -> Any:
    """`on_conflict_do_nothing` RETURNING the row, built once per (database, table) (building SQLAlchemy statements
    costs more than running them on SQLite): executed with the values, a row back means it went in, none means
    the key was there."""
    key = (conn.dialect.name, table.name)
    stmt = _RETURNING.get(key)
    if stmt is None:
        stmt = _RETURNING[key] = on_conflict_do_nothing(conn, table).returning(*table.c)
    return stmt


def normalize_url(url: str | URL) -> URL:
    """The URL as SQLAlchemy should see it: plain PostgreSQL URLs (`postgresql://`, `postgres://`) go through
    psycopg 3, the driver this package depends on. Explicit drivers and other databases are left as given."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


class Database:
    """An engine on `url` (SQLite file or PostgreSQL), handing out short transactions. Datetimes read back are
    shown in `zone`."""

    def __init__(self, url: str | URL, zone: tzinfo) -> None:
        self.url = normalize_url(url)
        self.zone = zone
        if self.url.get_backend_name() == "sqlite":
            timeout_ms = busy_timeout_ms(self.url)  # before SQLAlchemy reads it, which would fail in English
            path = _sqlite_file(self.url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self.url)
            _configure_sqlite(self.engine, timeout_ms)
        else:
            # A daemon outlives server restarts and idle-connection reapers.
            self.engine = create_engine(self.url, pool_pre_ping=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write. On SQLite it takes the write lock at BEGIN, so it waits
        (busy_timeout) instead of failing when a read would have to be upgraded to a write while another
        process writes."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision. Safe to run from several processes at once: on PostgreSQL
        they queue on an advisory lock, on SQLite on the write lock; the later ones find nothing to do."""
        from bot.store.migrate import upgrade  # here: that module builds on this one

        with self.write() as conn:
            if conn.dialect.name == "postgresql":
                # Transaction-scoped: released by the commit (or rollback) that ends the upgrade, and the
                # whole upgrade is one transaction since PostgreSQL DDL is transactional.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            upgrade(conn)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def busy_timeout_ms(url: URL) -> int:
    """How long a SQLite writer waits for another's lock: the URL's `timeout` (seconds), else the default."""
    given = url.query.get("timeout")
    if given is None:
        return SQLITE_BUSY_TIMEOUT_MS
    try:
        seconds = float(given if isinstance(given, str) else given[-1])
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise BadDatabaseOption(f"timeout 应是等锁的秒数，例如 ?timeout=30，现在是“{given}”")
    return round(seconds * 1000)


def _enable_wal(cursor: Any, timeout_ms: int) -> None:
    """Switch the file to WAL (it stays so: the mode is stored in the file). The switch needs an exclusive lock,
    and SQLite answers "database is locked" at once, without the busy handler, while another process holds one
    (two daemons opening a new file together): retry for as long as the busy timeout would have waited."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _configure_sqlite(engine: Engine, timeout_ms: int) -> None:
    """WAL so readers never block the writer (and vice versa) across processes; a busy timeout so writers
    queue for the lock instead of failing; transactions begun by us rather than by the sqlite3 module, whose
    implicit BEGIN comes only before the first write and could not be made IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            _enable_wal(cursor, timeout_ms)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")
