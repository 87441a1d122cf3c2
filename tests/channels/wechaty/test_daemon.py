"""The daemon itself (`run_daemon`, APScheduler on a shifted real-time clock) against the loopback gateway: a job
fires and reaches its rooms, admin commands see the scheduler, a logout reaches the admins through the outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build, run_daemon
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.clock import ShiftedClock
from bot.config.campaign import Sources, load
from bot.settings import Settings
from tests.channels.wechaty.conftest import WAIT


def test_the_daemon_delivers_hears_admins_and_reports_a_logout(
    jinxi: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = load(jinxi).plan.by_key()["2024-05/remind/xuanchuanzhou"]

    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            rooms = puppet.add_town(load(jinxi).campaign)
            for name, value in puppet.env().items():
                monkeypatch.setenv(name, value)
            settings = Settings(
                tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "wechaty", tmp_path / "audio", "offline"
            )
            # A few seconds ahead: loading the town and starting the store take a second or two on a busy machine.
            clock = ShiftedClock(job.at - timedelta(seconds=5))
            app = build(jinxi, settings, clock, echo=None)
            channel = app.channel
            assert isinstance(channel, WechatyChannel)
            stop = asyncio.Event()
            daemon = asyncio.create_task(run_daemon(app, clock, stop, reload_seconds=3600))
            try:
                # The job fires a few seconds later, on the real-time scheduler.
                await puppet.wait_until(lambda: len(puppet.sent_by_bot()) >= len(job.targets), WAIT)
                assert {m.room_id for m in puppet.sent_by_bot()} == {rooms[t.id] for t in job.targets}
                admin = next(c for c in puppet.contacts.values() if c.weixin == "jinxi-tanzy")
                puppet.post_text(admin.id, "#计划", room_id=rooms["jinxi-office"])
                await puppet.wait_until(lambda: any("接下来要发的" in m.text for m in puppet.sent_by_bot()), WAIT)
                [reply] = [m for m in puppet.sent_by_bot() if "接下来要发的" in m.text]
                assert reply.room_id == rooms["jinxi-office"] and "5月24日（周五）上午10点 5月催交材料" in reply.text
                # Logged out: WeChat can't tell the admins, the outbox does.
                puppet.logout("已在其他设备登录")
                outbox = tmp_path / "data" / "outbox"
                await channel.wait_until(lambda: not channel.online, WAIT)
                for _ in range(int(WAIT * 100)):  # files appearing: nothing to wait on but the disk
                    if len(list(outbox.rglob("*admin-*.txt"))) >= 2:
                        break
                    await asyncio.sleep(0.01)
                texts = [p.read_text(encoding="utf-8") for p in outbox.rglob("*admin-*.txt")]
                assert all("已退出登录：已在其他设备登录" in t for t in texts)
            finally:
                stop.set()
                await asyncio.wait_for(daemon, WAIT)
                app.close()

    asyncio.run(main())
