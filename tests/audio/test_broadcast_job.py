"""The broadcast job through the one pipeline: clip as a file and play sheet as text to each operator, exactly once;
the script to read aloud when production fails; the admins told."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.audio.edge import EdgeTts
from bot.audio.loopback import LoopbackEdgeTts
from bot.audio.offline import OfflineTts
from bot.audio.studio import Studio
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.planner import PlannedJob
from bot.pipeline import Pipeline, RetryPolicy
from bot.store.base import DeliveryStatus
from bot.store.sql import SqlStore, open_store
from tests.audio.conftest import assert_broadcast_ready, no_sleep

ADMINS = {"admin-ran", "admin-tan"}


@pytest.fixture
def loaded(jinxi: Sources) -> LoadedCampaign:
    return load(jinxi)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'laba.db'}", TOWN_ZONE)
    yield s
    s.close()


def two_villages(loaded: LoadedCampaign) -> PlannedJob:
    job = loaded.plan.by_key()["2024-05/broadcast/xuanchuanzhou"]
    assert [t.id for t in job.targets][:2] == ["jinxi-shequ-gb", "changchun-gb"]
    return replace(job, targets=job.targets[:2])


def pipeline(loaded: LoadedCampaign, store: SqlStore, channel: MemoryChannel, studio: Studio | None) -> Pipeline:
    clock = VirtualClock(loaded.plan.by_key()["2024-05/broadcast/xuanchuanzhou"].at)
    return Pipeline(lambda: loaded, store, channel, clock, "test", RetryPolicy(2, 0), no_sleep, producer=studio)


def edge_studio(
    tmp_path: Path, server: LoopbackEdgeTts, offline: OfflineTts | None = None, *, stall: bool = False
) -> Studio:
    # A short timeout only where the stall is the point; generous otherwise, for loaded machines.
    edge = EdgeTts(server.url, timeout=0.5 if stall else 10.0, attempts=2, sleep=no_sleep)
    return Studio(tmp_path / "audio_out", [edge, offline or OfflineTts()])


def test_each_operator_gets_the_clip_and_the_play_sheet_once(
    loaded: LoadedCampaign, store: SqlStore, tmp_path: Path, edge_server: LoopbackEdgeTts
) -> None:
    job = two_villages(loaded)
    channel = MemoryChannel()
    p = pipeline(loaded, store, channel, edge_studio(tmp_path, edge_server))

    first = asyncio.run(p.run_job(job))
    again = asyncio.run(p.run_job(job))

    assert [o.status for o in first] == [DeliveryStatus.SENT] * 2
    assert all(not o.fresh for o in again)
    assert [(m.target.id, m.file is not None) for m in channel.sent] == [
        ("jinxi-shequ-gb", True),
        ("jinxi-shequ-gb", False),
        ("changchun-gb", True),
        ("changchun-gb", False),
    ]
    clip = channel.sent[2].file
    assert clip is not None and clip.name == "2024-05.xuanchuanzhou.changchun.mp3"
    assert_broadcast_ready(clip.path, min_seconds=20, max_seconds=200)
    sheet = channel.sent[3].text
    assert sheet.startswith("【广播通知】王强您好！") and clip.name in sheet
    assert "· 5月19日（周日）上午7点30分" in sheet and "广播稿" not in sheet
    record = store.get(job.key, "changchun-gb")
    assert record is not None and record.status is DeliveryStatus.SENT and record.detail.startswith("mem-")
    assert not ADMINS & {m.target.id for m in channel.sent}


def test_when_production_fails_the_operator_and_the_admins_get_the_script(
    loaded: LoadedCampaign, store: SqlStore, tmp_path: Path, edge_server: LoopbackEdgeTts
) -> None:
    edge_server.default = "unavailable"
    job = replace(two_villages(loaded), targets=two_villages(loaded).targets[1:])
    channel = MemoryChannel()
    studio = edge_studio(tmp_path, edge_server, OfflineTts("/nonexistent/espeak-ng"))

    [outcome] = asyncio.run(pipeline(loaded, store, channel, studio).run_job(job))

    assert all(m.file is None for m in channel.sent)
    [to_operator] = channel.texts_to("changchun-gb")
    assert "没能做好" in to_operator and "广播稿：" in to_operator
    assert "长春村的村民朋友们，大家好！" in to_operator and "每次念2遍" in to_operator
    for admin in ADMINS:
        [alert] = channel.texts_to(admin)
        assert "广播音频制作失败" in alert and "王强" in alert and "长春村的村民朋友们" in alert
    # Recorded: delivered (the script went out), with the production failure in the record.
    record = store.get(job.key, "changchun-gb")
    assert record is not None and record.status is DeliveryStatus.SENT
    assert record.detail.startswith("音频制作失败") and "HTTP 503" in record.detail
    # The outcome keeps the note apart from the message id; the record keeps them together, as it always has.
    assert outcome.note.startswith("音频制作失败") and "HTTP 503" in outcome.note
    assert outcome.detail.startswith("mem-")
    assert record.detail == outcome.note + outcome.detail


def test_falling_back_to_the_offline_voice_tells_the_admins_once(
    loaded: LoadedCampaign, store: SqlStore, tmp_path: Path, edge_server: LoopbackEdgeTts
) -> None:
    edge_server.default = "stall"
    channel = MemoryChannel()
    studio = edge_studio(tmp_path, edge_server, stall=True)
    asyncio.run(pipeline(loaded, store, channel, studio).run_job(two_villages(loaded)))
    assert sum(1 for m in channel.sent if m.file is not None) == 2
    for admin in ADMINS:
        [alert] = channel.texts_to(admin)
        assert "已改用离线语音（espeak-ng）" in alert and "卡住" in alert


def test_the_admins_hear_of_a_fallback_once_per_episode_not_once_per_clip_or_day(
    loaded: LoadedCampaign,
    store: SqlStore,
    tmp_path: Path,
    edge_server: LoopbackEdgeTts,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 10 M5: while edge-tts is down, days of clips fall back and the admins get one alert, in Chinese;
    once it speaks again, the next outage is a new episode with its own alert."""
    edge_server.default = "unavailable"
    channel = MemoryChannel()
    studio = Studio(tmp_path / "audio_out", [EdgeTts(edge_server.url, attempts=1), OfflineTts()], rest_seconds=0)
    p = pipeline(loaded, store, channel, studio)
    job = two_villages(loaded)
    by_key = loaded.plan.by_key()
    later = [by_key["2024-06/broadcast/liuyi"], by_key["2024-06/broadcast/huanjingri"]]
    asyncio.run(p.run_job(job))
    for other in later:  # days later, still down
        p.clock.set(other.at)  # type: ignore[attr-defined]
        asyncio.run(p.run_job(replace(other, targets=job.targets)))
    alerts = {admin: channel.texts_to(admin) for admin in ADMINS}
    assert all(len(texts) == 1 for texts in alerts.values()), alerts
    assert all("HTTP 503" in texts[0] and "不再逐条提醒" in texts[0] for texts in alerts.values())
    told = [r.getMessage() for r in caplog.records if r.getMessage().startswith("已提醒管理员")]
    assert len(told) == 1, told  # and the log says it once too

    edge_server.default = "ok"  # back: the next clip is spoken online, which ends the episode
    recovered = by_key["2024-07/broadcast"]
    p.clock.set(recovered.at)  # type: ignore[attr-defined]
    asyncio.run(p.run_job(replace(recovered, targets=job.targets[:1])))
    assert all(len(channel.texts_to(admin)) == 1 for admin in ADMINS)
    edge_server.default = "unavailable"  # down again: a new episode, told once more
    again = by_key["2024-08/broadcast"]
    p.clock.set(again.at)  # type: ignore[attr-defined]
    asyncio.run(p.run_job(replace(again, targets=job.targets)))
    assert all(len(channel.texts_to(admin)) == 2 for admin in ADMINS)


def test_clips_produced_ahead_are_delivered_from_the_cache(
    loaded: LoadedCampaign, store: SqlStore, tmp_path: Path, edge_server: LoopbackEdgeTts
) -> None:
    job = two_villages(loaded)
    studio = edge_studio(tmp_path, edge_server)
    channel = MemoryChannel()
    p = pipeline(loaded, store, channel, studio)
    ahead = asyncio.run(p.prepare(job))
    assert [c.cached for c in ahead] == [False, False] and channel.sent == [] and store.deliveries() == []
    asyncio.run(p.run_job(job))
    assert studio.synthesised == 2 and len(edge_server.requests) == 2
    assert sum(1 for m in channel.sent if m.file is not None) == 2


def test_without_a_producer_operators_get_the_script(loaded: LoadedCampaign, store: SqlStore) -> None:
    channel = MemoryChannel()
    job = two_villages(loaded)
    asyncio.run(pipeline(loaded, store, channel, None).run_job(job))
    assert "广播稿：" in channel.texts_to("changchun-gb")[0]
    assert not ADMINS & {m.target.id for m in channel.sent}  # BOT_TTS_ENGINE=none is a choice, not a failure
    record = store.get(job.key, "changchun-gb")
    assert record is not None and record.detail.startswith("没有开启广播音频制作，改发广播稿")


def test_the_daemon_produces_the_clips_ahead_at_their_time(
    loaded: LoadedCampaign, store: SqlStore, tmp_path: Path, edge_server: LoopbackEdgeTts
) -> None:
    """The scheduler fires a broadcast job's `prepare` at `produce_at` (three days before the first play)."""
    from bot.audio.base import Clip, ClipRequest
    from bot.clock import ShiftedClock
    from bot.config.campaign import load as load_sources
    from bot.scheduler import CampaignHolder, CampaignScheduler

    job = loaded.plan.by_key()["2024-05/broadcast/xuanchuanzhou"]
    assert job.broadcast is not None
    studio = edge_studio(tmp_path, edge_server)
    done = asyncio.Event()
    made: list[Clip] = []

    class Counting:
        async def produce(self, request: ClipRequest) -> Clip:
            clip = await studio.produce(request)
            made.append(clip)
            if len(made) == len(job.targets):
                done.set()
            return clip

    async def scenario() -> None:
        clock = ShiftedClock(job.broadcast.produce_at - timedelta(seconds=1))  # type: ignore[union-attr]
        holder = CampaignHolder(loaded)
        p = Pipeline(
            holder.get, store, MemoryChannel(), clock, "test", RetryPolicy(2, 0), no_sleep, producer=Counting()
        )
        scheduler = CampaignScheduler(holder, p, clock, load_sources, reload_seconds=3600)
        await scheduler.start()
        try:
            await asyncio.wait_for(done.wait(), timeout=30)
        finally:
            scheduler.shutdown()

    asyncio.run(scenario())
    assert sorted(c.path.name for c in made) == sorted(f"2024-05.xuanchuanzhou.{t.unit}.mp3" for t in job.targets)
    assert store.deliveries() == []  # produced, nothing sent yet
