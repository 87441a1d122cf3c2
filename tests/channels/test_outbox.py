"""The outbox on a full disk: each message a permanent failure at once (no retry waits), no `.tmp-*` file left,
the console told once, and messages written again as soon as the disk has room.

The disk is made full at the standard library's boundary: each temporary file `tempfile.mkstemp` creates (on the
real disk) has its descriptor swapped for one of /dev/full, where the kernel answers every write with ENOSPC."""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

from bot.channels.outbox import OutboxChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign
from bot.errors import DeliveryError
from bot.pipeline import Pipeline, RetryPolicy
from bot.store.base import DeliveryStatus
from bot.store.sql import SqlStore


def fill_the_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tempfile.mkstemp

    def on_a_full_disk(*args: object, **kwargs: object) -> tuple[int, str]:
        fd, path = real(*args, **kwargs)  # type: ignore[call-overload]
        full = os.open("/dev/full", os.O_WRONLY)
        os.dup2(full, fd)
        os.close(full)
        return fd, path

    monkeypatch.setattr(tempfile, "mkstemp", on_a_full_disk)


def test_a_full_disk_fails_each_send_at_once_leaves_no_temporary_files_and_is_said_once(
    loaded: LoadedCampaign, store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = loaded.plan.by_key()["2024-05/announce"]
    clock = VirtualClock(job.at)
    console = io.StringIO()
    outbox = tmp_path / "outbox"
    channel = OutboxChannel(outbox, clock.now, console)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    pipeline = Pipeline(lambda: loaded, store, channel, clock, "test-runner", RetryPolicy(3, 2.0), sleep)
    fill_the_disk(monkeypatch)
    outcomes = asyncio.run(pipeline.run_job(job))

    assert len(outcomes) == len(job.targets) > 1
    assert {o.status for o in outcomes} == {DeliveryStatus.FAILED}
    assert outcomes[0].detail.startswith("发件箱所在的磁盘已满，消息没有写进")
    assert waits == []  # a full disk is not retried: no message waits for nothing
    assert [p for p in outbox.rglob("*") if p.is_file()] == []  # neither messages nor .tmp-* files
    said = [line for line in console.getvalue().splitlines() if "磁盘已满" in line]
    assert said == [f"[发件箱] 磁盘已满，消息写不进 {outbox}，都记为发送失败。请尽快清理磁盘。"]

    monkeypatch.undo()  # room on the disk again: the next job goes out
    summary = loaded.plan.by_key()["2024-05/summary"]
    clock.set(summary.at)
    [sent] = asyncio.run(pipeline.run_job(summary))
    assert sent.status is DeliveryStatus.SENT
    assert console.getvalue().splitlines()[-2] == f"[发件箱] 磁盘又能写了，消息照常写入 {outbox}"
    assert [p.name.startswith(".tmp-") for p in outbox.rglob("*.txt")] == [False]


def test_other_write_errors_stay_transient(loaded: LoadedCampaign, tmp_path: Path) -> None:
    blocked = tmp_path / "outbox"
    blocked.write_text("a file where the folder should be")
    channel = OutboxChannel(blocked, lambda: datetime(2024, 5, 1, 9, tzinfo=TOWN_ZONE), None)
    target = loaded.plan.by_key()["2024-05/summary"].targets[0]
    with pytest.raises(DeliveryError) as info:
        asyncio.run(channel.send_text(target, "测试"))
    assert not info.value.permanent and str(info.value).startswith("写不进发件箱")
