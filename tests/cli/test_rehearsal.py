"""A rehearsal never silently takes messages from the daemon: `laba simulate` refuses the database the daemon has
run on (it would record messages not yet due as sent), and the daemon, started on a database a rehearsal has
written, says at once how many messages it will not send and why."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app import build, run_daemon
from bot.channels.memory import MemoryChannel
from bot.cli import main
from bot.clock import TOWN_ZONE, ShiftedClock
from bot.config.campaign import Sources
from bot.settings import Settings
from bot.store.sql import open_store

BEFORE_THE_REMINDER = datetime(2024, 5, 19, 9, 59, tzinfo=TOWN_ZONE)


def test_a_rehearsal_refuses_the_database_the_daemon_runs_on(env: dict[str, str]) -> None:
    with open_store(env["BOT_DATABASE_URL"], TOWN_ZONE) as store:
        store.service_started_at("jinxi", BEFORE_THE_REMINDER)  # what the daemon's first start records
    result = CliRunner().invoke(main, ["simulate", "--from", "2024-05-19", "--to", "2024-05-31"], env=env)
    assert result.exit_code == 2, result.output
    assert "正式运行过，不能在上面预演" in result.output
    assert "BOT_DATA_DIR=/tmp/试跑 laba simulate" in result.output
    with open_store(env["BOT_DATABASE_URL"], TOWN_ZONE) as store:
        assert store.deliveries() == []  # nothing recorded
    assert not (Path(env["BOT_DATA_DIR"]) / "outbox").exists()  # nothing written either


def test_a_rehearsal_on_its_own_database_runs(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["simulate", "--from", "2024-05-19", "--to", "2024-05-19"], env=env)
    assert result.exit_code == 0, result.output


def test_the_daemon_says_what_a_rehearsal_on_its_database_left_recorded(
    env: dict[str, str], jinxi: Sources, caplog: pytest.LogCaptureFixture
) -> None:
    rehearsal = CliRunner().invoke(main, ["simulate", "--from", "2024-05-19", "--to", "2024-05-31"], env=env)
    assert rehearsal.exit_code == 0, rehearsal.output
    clock = ShiftedClock(BEFORE_THE_REMINDER)
    app = build(jinxi, Settings.from_env(env), clock, MemoryChannel(), echo=None, daemon=True)

    async def start_and_stop() -> None:
        stop = asyncio.Event()
        stop.set()  # through start (where it speaks) and straight to a clean stop
        await run_daemon(app, clock, stop, reload_seconds=3600)

    try:
        with caplog.at_level(logging.ERROR, logger="bot.app"):
            asyncio.run(start_and_stop())
        recorded = len(app.store.deliveries())
    finally:
        app.close()
    said = [r.getMessage() for r in caplog.records if "还没到时间的消息" in r.getMessage()]
    assert len(said) == 1, said
    assert f"已经记着 {recorded} 条" in said[0] and "5月19日（周日）上午10点" in said[0]
    assert "预演" in said[0] and "换一个新的数据目录" in said[0]
