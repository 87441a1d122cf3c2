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
)


def loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of `heavy` a fresh interpreter has in sys.modules after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return list(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", ["bot.app", "bot.cli", "bot.scheduler", "bot.pipeline"])
def test_importing_the_daemon_loads_nothing_heavy(module: str) -> None:
    assert loaded_after(f"import {module}") == []


def test_building_the_daemon_on_the_outbox_loads_nothing_heavy(tmp_path: Path) -> None:
    # What `laba run` does before the scheduler starts: build the app (store migrated, channel, pipeline, handlers).
    code = f"""
import os
os.environ.update(BOT_DATA_DIR={str(tmp_path)!r}, BOT_CHANNEL="outbox", BOT_TTS_ENGINE="edge")
from pathlib import Path
from bot.cli.base import build_app
from bot.clock import SystemClock
app = build_app(Path({str(ROOT / "schedules" / "jinxi")!r}), Path({str(ROOT / "messages")!r}), None, SystemClock())
app.close()
"""
    # Migrating a new database runs Alembic, which loads every dialect it knows (PostgreSQL's among them).
    assert loaded_after(code, tuple(m for m in HEAVY if m != "sqlalchemy.dialects.postgresql")) == []
