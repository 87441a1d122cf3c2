"""Running `laba run` as a process against the loopback gateway, for the fault tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.channels.wechaty import LoopbackPuppet
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources
from bot.core.planner import PlannedJob
from bot.store.base import DeliveryStatus
from bot.store.sql import open_store

WAIT = 60.0
# The suite's figures, by database (sqlite, postgresql): stops tried mid-job, and over the messages checked, how many
# were lost, duplicated or falsely reported as possibly sent. Printed at the end of the run (tests/faults/conftest.py).
FIGURES: defaultdict[str, Counter[str]] = defaultdict(Counter)


def backend(store_url: str) -> str:
    return make_url(store_url).get_backend_name()


def stop_mid_job(process: asyncio.subprocess.Process, sig: signal.Signals, store_url: str) -> None:
    """Send `sig` to a daemon in the middle of a job, counted for the suite's figures."""
    process.send_signal(sig)
    FIGURES[backend(store_url)]["SIGKILL" if sig is signal.SIGKILL else "SIGTERM"] += 1


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
    with open_store(store_url, TOWN_ZONE) as store:
        records = {r.target: r for r in store.deliveries(frozenset({job.key}))}
    figures = FIGURES[backend(store_url)]
    figures["messages"] += len(job.targets)
    figures["lost"] += sum(1 for t in job.targets if rooms[t.id] not in got)
    figures["duplicated"] += len(got) - len(set(got))
    figures["falsely possibly sent"] += sum(
        1 for r in records.values() if r.status is DeliveryStatus.UNCONFIRMED and rooms.get(r.target) not in got
    )
    figures["told unconfirmed"] += sum(1 for r in records.values() if r.status is DeliveryStatus.UNCONFIRMED)
    assert sorted(got) == sorted(rooms[t.id] for t in job.targets)
    assert set(records) == {t.id for t in job.targets}
    for target in job.targets:
        record = records[target.id]
        assert record.status in (DeliveryStatus.SENT, DeliveryStatus.UNCONFIRMED), record
        if record.status is DeliveryStatus.UNCONFIRMED:
            assert rooms[target.id] in got
