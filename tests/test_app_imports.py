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


# What an idle daemon needs only when a message arrives, a job of that kind fires, or a command other than `run`
# asks: the inbound handlers (proof, quiz replies, sorting answers) and their repositories, broadcast production,
# the robots (the 金溪 files have no robots.yaml), the sorting dictionary's file schema, and `check`'s reports.
FIRST_USE: tuple[str, ...] = (
    *("bot.proof", "bot.proof.intake", "bot.proof.admin", "bot.proof.attribution", "bot.proof.windows"),
    *("bot.proof.filing", "bot.proof.acks", "bot.proof.binding", "bot.proof.bind_caps", "bot.proof.images"),
    *("bot.store.evidence", "bot.store.bindings", "bot.store.files", "bot.store.photo_hashes", "bot.store.ledger_log"),
    *("bot.sorting.answers", "bot.sorting.question", "bot.sorting.quiz_replies", "bot.sorting.quiz_report"),
    *("bot.sorting.dictionary", "bot.sorting.schema", "bot.sorting.normalize", "bot.sorting.quiz", "bot.sorting.tips"),
    *("bot.broadcasting", "bot.audio.base", "bot.audio.studio", "bot.audio.produce", "bot.audio.media"),
    *("bot.channels.robots.channel", "bot.channels.robots.http", "bot.channels.robots.config"),
    *("bot.channels.robots.file", "bot.channels.robots.dingtalk", "bot.channels.robots.wecom", "bot.robots_reload"),
    *("bot.cli.audio", "bot.cli.robots"),
)
# The tables' modules: a new database is made from every table, so only a start on an existing one goes without.
TABLES_ONLY: tuple[str, ...] = ("bot.store.quiz", "bot.store.sorting", "bot.store.rooms")


def loaded_at_ready(data_dir: Path, watched: tuple[str, ...]) -> list[str]:
    """`laba run` in a fresh interpreter, as the command line runs it, stopped at its "运行中" line: which of
    `watched` it had imported by then."""
    code = f"""
import logging, os, sys
os.environ.update(BOT_DATA_DIR={str(data_dir)!r}, BOT_CHANNEL="outbox", BOT_TTS_ENGINE="edge", BOT_WEB_LISTEN="off")

class AtReady(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("运行中"):
            print("LOADED", " ".join(m for m in {watched!r} if m in sys.modules), flush=True)
            os._exit(0)

logging.getLogger().addHandler(AtReady())
from bot.__main__ import import_cli
sys.argv = ["laba", "run", "--now", "2024-05-19T09:00"]
import_cli()()
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True, cwd=ROOT
    )
    [line] = [line for line in result.stdout.splitlines() if line.startswith("LOADED")]
    return line.split()[1:]


def test_laba_run_reaches_ready_without_what_only_first_use_needs(tmp_path: Path) -> None:
    assert loaded_at_ready(tmp_path, FIRST_USE + TABLES_ONLY) == list(TABLES_ONLY)  # a new database
    assert loaded_at_ready(tmp_path, FIRST_USE + TABLES_ONLY) == []  # the same database, at the newest revision


def test_the_ready_probe_reports_what_is_loaded(tmp_path: Path) -> None:
    # Not blind: the scheduler is loaded by then, and the modules it watches are loaded by their first use.
    assert loaded_at_ready(tmp_path, ("bot.scheduler", "bot.proof.intake")) == ["bot.scheduler"]
    code = "import bot.proof, bot.sorting.answers, bot.broadcasting, bot.channels.robots.file, bot.robots_reload"
    assert set(loaded_after(code, FIRST_USE)) >= {
        "bot.proof.intake",
        "bot.sorting.answers",
        "bot.broadcasting",
        "bot.channels.robots.http",
    }
