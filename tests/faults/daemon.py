"""Running `laba run` as a process against the loopback gateway, for the fault tests."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

from bot.channels.wechaty import LoopbackPuppet
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources
from bot.core.planner import PlannedJob
from bot.store.base import DeliveryStatus
from bot.store.sql import open_store

WAIT = 60.0


def daemon_env(puppet: LoopbackPuppet, store_url: str, jinxi: Sources, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        **puppet.env(),
        "BOT_SEND_GAP_SECONDS": "0.15",  # paced: most of a job's time is spent waiting for the next gap
        "BOT_CHANNEL": "wechaty",
        "BOT_DATABASE_URL": store_url,
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "BOT_SCHEDULES_DIR": str(jinxi.schedules),
        "BOT_MESSAGES_DIR": str(jinxi.messages),
        "BOT_TTS_ENGINE": "none",
        "BOT_AUDIO_DIR": str(tmp_path / "audio"),
        "BOT_WEB_LISTEN": "off",  # the console is not under test here
    }


async def start_daemon(env: dict[str, str], now: datetime, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--now",
            now.isoformat(),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )


async def stop_daemon(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, and wait for the daemon to finish what is on the wire and exit."""
    if process.returncode is None:
        process.terminate()
    await asyncio.wait_for(process.wait(), WAIT)


def print_log(log: Path) -> None:
    """The end of the daemon's log, for a failing test's report."""
    if log.exists():
        print(log.read_text(encoding="utf-8", errors="replace")[-6000:])


def arrived(puppet: LoopbackPuppet, mark: str) -> list[str]:
    """The rooms that received the job's message (its text holds `mark`), once per message the gateway took."""
    return [m.room_id for m in puppet.sent_by_bot() if m.room_id and mark in m.text]


def assert_each_target_once(
    puppet: LoopbackPuppet, rooms: dict[str, str], job: PlannedJob, store_url: str, mark: str
) -> None:
    """Every group of the job got its message exactly once (none lost, none twice), and the store says so: SENT, or
    UNCONFIRMED only where the message really did reach the gateway (never "possibly sent" for one that never left)."""
    got = arrived(puppet, mark)
    assert sorted(got) == sorted(rooms[t.id] for t in job.targets)
    with open_store(store_url, TOWN_ZONE) as store:
        records = {r.target: r for r in store.deliveries(frozenset({job.key}))}
    assert set(records) == {t.id for t in job.targets}
    for target in job.targets:
        record = records[target.id]
        assert record.status in (DeliveryStatus.SENT, DeliveryStatus.UNCONFIRMED), record
        if record.status is DeliveryStatus.UNCONFIRMED:
            assert rooms[target.id] in got
