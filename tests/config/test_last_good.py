"""A restart with a broken file runs the last good plan and tells the admins; the files win again once fixed."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import build, run_daemon
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, ShiftedClock
from bot.config.campaign import Sources
from bot.core.planner import Target
from bot.errors import ConfigError
from bot.settings import Settings

ADMINS = {"admin-ran", "admin-tan"}


def settings_in(tmp_path: Path) -> Settings:
    return Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "outbox", tmp_path / "audio", "none")


def break_plan(sources: Sources) -> None:
    plan = sources.schedules / "plan-2024.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("start: 5月20日", "start: 4月31日"), encoding="utf-8")


def test_without_a_kept_plan_broken_files_still_refuse_to_start(jinxi: Sources, tmp_path: Path) -> None:
    break_plan(jinxi)
    clock = ShiftedClock(datetime(2024, 5, 10, 12, tzinfo=TOWN_ZONE))
    with pytest.raises(ConfigError, match="4月没有31日"):
        build(jinxi, settings_in(tmp_path), clock, MemoryChannel(), echo=None, daemon=True)


def test_a_restart_with_a_broken_file_runs_the_last_good_plan_and_tells_the_admins(
    jinxi: Sources, tmp_path: Path
) -> None:
    clock = ShiftedClock(datetime(2024, 5, 10, 12, tzinfo=TOWN_ZONE))
    build(jinxi, settings_in(tmp_path), clock, MemoryChannel(), echo=None, daemon=True).close()  # a good start
    break_plan(jinxi)
    told = asyncio.Event()

    async def note(target: Target) -> None:
        if target.id in ADMINS:
            told.set()

    channel = MemoryChannel(on_wire=note)
    app = build(jinxi, settings_in(tmp_path), clock, channel, echo=None, daemon=True)
    assert app.broken is not None and "4月没有31日" in str(app.broken)
    event = next(e for a in app.loaded.campaign.plans[0].activities for e in a.events if e.id == "xuanchuanzhou")
    assert event.start.day == 20  # the kept plan, not the broken file

    async def scenario() -> None:
        stop = asyncio.Event()
        daemon = asyncio.create_task(run_daemon(app, clock, stop, reload_seconds=3600))
        try:
            await asyncio.wait_for(told.wait(), 20)
        finally:
            stop.set()
            await asyncio.wait_for(daemon, 20)

    try:
        asyncio.run(scenario())
    finally:
        app.close()
    alerts = [m.text for m in channel.sent if m.target.id in ADMINS]
    assert len(alerts) == 2 and all("4月没有31日" in t and "plan-2024.yaml" in t for t in alerts)


def test_fixed_files_replace_the_kept_plan(jinxi: Sources, tmp_path: Path) -> None:
    clock = ShiftedClock(datetime(2024, 5, 10, 12, tzinfo=TOWN_ZONE))
    build(jinxi, settings_in(tmp_path), clock, MemoryChannel(), echo=None, daemon=True).close()
    plan = jinxi.schedules / "plan-2024.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("start: 5月20日", "start: 5月21日"), encoding="utf-8")
    build(jinxi, settings_in(tmp_path), clock, MemoryChannel(), echo=None, daemon=True).close()  # kept again
    break_plan(jinxi)  # nothing to replace any more: the edit above already moved the date
    plan.write_text(plan.read_text(encoding="utf-8").replace("start: 5月21日", "start: 4月31日"), encoding="utf-8")
    app = build(jinxi, settings_in(tmp_path), clock, MemoryChannel(), echo=None, daemon=True)
    try:
        event = next(e for a in app.loaded.campaign.plans[0].activities for e in a.events if e.id == "xuanchuanzhou")
        assert event.start.day == 21
    finally:
        app.close()
