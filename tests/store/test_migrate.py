"""A new database is made from `metadata` and stamped, without Alembic; it must be the very database the
migrations make, stamped with the migrations' real head, so neither can drift from the other unnoticed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot.store import migrate
from bot.store.sql import MIGRATIONS_DIR, SqlStore, open_store

ZONE = ZoneInfo("Asia/Shanghai")


def _reflected(conn: Connection) -> dict[str, Any]:
    """Every table as the database itself describes it: columns, keys, indexes, constraints."""
    insp = inspect(conn)
    tables: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        tables[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in insp.get_columns(name)],
            "primary_key": insp.get_pk_constraint(name),
            "indexes": sorted(
                (i["name"] or "", tuple(c or "" for c in i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(name)
            ),
            "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in insp.get_unique_constraints(name)),
            "foreign_keys": sorted(
                (f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(name)
            ),
            "checks": sorted((c["name"] or "", c["sqltext"]) for c in insp.get_check_constraints(name)),
        }
    tables["alembic_version rows"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return tables


def _made_by(store_url: str, make: Callable[[Connection], None]) -> dict[str, Any]:
    """The schema `make` builds in the empty database at `store_url`, rolled back afterwards (DDL is
    transactional on both backends through the store's engine)."""
    with SqlStore(store_url, ZONE) as store, store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            assert inspect(conn).get_table_names() == []
            make(conn)
            return _reflected(conn)
        finally:
            transaction.rollback()


def test_head_is_the_migrations_head() -> None:
    assert ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() == migrate.HEAD


def test_a_new_database_made_from_metadata_equals_the_one_the_migrations_make(store_url: str) -> None:
    made = _made_by(store_url, migrate.create_at_head)
    migrated = _made_by(store_url, migrate.run_migrations)
    assert {"deliveries", "evidence", "quiz_answers", "alembic_version"} <= set(made)
    assert made["alembic_version rows"] == [migrate.HEAD]
    assert made == migrated


def test_opening_a_new_database_stamps_it_at_head(store_url: str) -> None:
    with open_store(store_url, ZONE) as store, store.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD


def test_a_database_at_an_older_revision_is_migrated_to_head(store_url: str) -> None:
    with SqlStore(store_url, ZONE) as store, store.engine.connect() as conn, conn.begin():
        command.upgrade(migrate.alembic_config(conn), "0005")
    with SqlStore(store_url, ZONE) as store, store.engine.connect() as conn:
        assert migrate.current_revision(conn) == "0005"
        assert "quiz_answers" not in inspect(conn).get_table_names()
    with open_store(store_url, ZONE) as store, store.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD
        assert "quiz_answers" in inspect(conn).get_table_names()
