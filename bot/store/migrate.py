"""Bringing a database to the newest schema, importing Alembic only when a migration has to run.

Every start of every command opens the store, and Alembic (with Mako and the DDL of every dialect it knows) costs
the daemon a fifth of its start-up and several MB it keeps. Most starts find the database at the newest revision
already: that is one SELECT. A new, empty database gets the tables straight from `metadata` and is stamped with
the newest revision, which is Alembic's own recipe for creating a database
(https://alembic.sqlalchemy.org/en/latest/cookbook.html#building-an-up-to-date-database-from-scratch).
Only a database at an older revision runs the migrations. Tests hold `HEAD` to Alembic's head and the tables
`metadata` makes to those the migrations make, so a new migration can't be forgotten here.

The caller holds the migration lock and the transaction (`SqlStore.migrate`); nothing here commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, select
from sqlalchemy.engine import Connection

from bot.store.db import MIGRATIONS_DIR
from bot.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions (tests/store/test_migrate.py checks it against Alembic's head).
HEAD: Final = "0010"

# Alembic's own version table, as `alembic stamp` creates it.
_versions = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def current_revision(conn: Connection) -> str | None:
    """The revision the database is stamped with; None for a database Alembic never touched (or stamped with
    several heads, which only Alembic can sort out)."""
    if not inspect(conn).has_table(_versions.name):
        return None
    stamped = conn.execute(select(_versions.c.version_num)).scalars().all()
    return stamped[0] if len(stamped) == 1 else None


def upgrade(conn: Connection) -> None:
    """Bring the database on `conn` to `HEAD` (see the module doc for the three cases)."""
    revision = current_revision(conn)
    if revision == HEAD:
        return
    if revision is None and not inspect(conn).get_table_names():
        create_at_head(conn)
        return
    run_migrations(conn)


def create_at_head(conn: Connection) -> None:
    """An empty database: every table from `metadata`, stamped with `HEAD`."""
    # The tables of every store module, so `metadata` describes the whole live schema (as in migrations/env.py);
    # imported here because a database at `HEAD` needs none of them to start.
    from bot.store import quiz, relay, rooms, sorting, web

    _ = (quiz, relay, rooms, sorting, web)
    # The database was just found empty: no table needs to be looked for first (a query per table saved).
    metadata.create_all(conn, checkfirst=False)
    _versions.create(conn)
    conn.execute(_versions.insert().values(version_num=HEAD))


def run_migrations(conn: Connection) -> None:
    """Alembic's `upgrade head` on `conn` (whose transaction migrations/env.py joins)."""
    from alembic import command

    command.upgrade(alembic_config(conn), "head")


def alembic_config(conn: Connection | None = None) -> Config:
    """Alembic's configuration for our migrations, handing over `conn` to migrations/env.py."""
    from alembic.config import Config

    config = Config()
    # Config options go through configparser interpolation.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if conn is not None:
        config.attributes["connection"] = conn
    return config
