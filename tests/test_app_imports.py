"""The daemon starts lean: what `laba run` imports on its way to running the scheduler loads none of the heavy
modules only some commands need (photos, spreadsheets, speech, gRPC, the browser-facing sandbox)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

HEAVY: tuple[str, ...] = (
    *("PIL", "imagehash", "numpy", "openpyxl", "edge_tts", "aiohttp", "pypinyin", "grpclib", "wechaty_grpc"),
    *("betterproto", "qrcode", "playwright", "sqlalchemy.dialects.postgresql", "bot.sandbox"),
    # The console (off in these tests), the sorting dictionary (built with the first question) and Alembic (run
    # only for a database at an older revision).
    *("argon2", "bot.web.server", "zhconv", "pkg_resources", "alembic", "mako"),
)


def loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of `heavy` a fresh interpreter has in sys.modules after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return list(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", ["bot.app", "bot.cli", "bot.scheduler", "bot.pipeline"])
def test_importing_the_daemon_loads_nothing_heavy(module: str) -> None:
    assert loaded_after(f"import {module}") == []


def test_building_and_running_the_daemon_on_the_outbox_loads_nothing_heavy(tmp_path: Path) -> None:
    # What `laba run` does, twice: on a new database (made and stamped without Alembic), then on the same one
    # (at the newest revision already); the daemon runs with the console off, and stops at once.
    code = f"""
import asyncio, os
os.environ.update(
    BOT_DATA_DIR={str(tmp_path)!r}, BOT_CHANNEL="outbox", BOT_TTS_ENGINE="edge", BOT_WEB_LISTEN="off"
)
from pathlib import Path
from bot.app import run_daemon
from bot.cli.base import build_app
from bot.clock import SystemClock
from bot.store.migrate import HEAD, current_revision

async def run_and_stop(app):
    stop = asyncio.Event()
    stop.set()
    await run_daemon(app, SystemClock(), stop)

for _ in range(2):
    app = build_app(
        Path({str(ROOT / "schedules" / "jinxi")!r}), Path({str(ROOT / "messages")!r}), None, SystemClock(), daemon=True
    )
    with app.store.engine.connect() as conn:
        assert current_revision(conn) == HEAD
    asyncio.run(run_and_stop(app))
    app.close()
"""
    assert loaded_after(code) == []


def test_the_guard_sees_what_it_guards() -> None:
    # The probe is not blind: the console and the sorting dictionary load the modules the daemon goes without.
    code = "import bot.web.server\nfrom bot.sorting.normalize import light, pinyin\nlight('塑膠袋'), pinyin('袋')"
    assert set(loaded_after(code)) >= {"aiohttp", "argon2", "zhconv", "pypinyin"}


def test_finding_the_run_command_loads_no_other_commands_module() -> None:
    code = "import click\nfrom bot.cli import main\nassert main.get_command(click.Context(main), 'run') is not None"
    others = (
        "bot.cli.ledger",
        "bot.cli.web",
        "bot.cli.sorting",
        "bot.cli.wechat",
        "bot.cli.importer",
        "bot.proof.report",
    )
    assert loaded_after(code, others) == []
    assert set(loaded_after(f"{code}\nmain.list_commands(click.Context(main))", others)) == set(others)


def test_the_command_line_leaves_what_its_import_made_to_no_collection() -> None:
    # `laba` imports with the collector paused and freezes the result (bot.__main__): the collector is on again
    # and none of its passes walks the ~100,000 objects of the import (40-60 ms of start-up when one did).
    code = "import gc\nfrom bot.__main__ import import_cli\nimport_cli()\nprint(gc.isenabled(), gc.get_freeze_count())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    enabled, frozen = result.stdout.split()
    assert enabled == "True"
    assert int(frozen) > 50_000
