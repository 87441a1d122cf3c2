"""Running `laba run` as a process against the loopback gateway, for the fault tests."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

from bot.channels.wechaty import LoopbackPuppet
from bot.config.campaign import Sources

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
