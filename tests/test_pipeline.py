"""The pipeline end to end on the real 金溪 plan: render -> claim -> deliver -> record, with the in-memory store
(the SQLite/PostgreSQL exactly-once tests are in tests/test_exactly_once.py and tests/store)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign
from bot.core.alert_kinds import FAILED
from bot.pipeline import Pipeline, RetryPolicy
from bot.store.base import DeliveryStatus
from bot.store.memory import MemoryStore
from tests.helpers import no_sleep


@pytest.fixture
def store() -> MemoryStore:
    """Overrides the SQLite `store` of tests/conftest.py: these tests are about the pipeline, not the database."""
    return MemoryStore(TOWN_ZONE)


ROOT = Path(__file__).resolve().parents[1]


def make_pipeline(loaded: LoadedCampaign, store: MemoryStore, channel: MemoryChannel, at: datetime) -> Pipeline:
    return Pipeline(lambda: loaded, store, channel, VirtualClock(at), "test-runner", RetryPolicy(3, 1.0), no_sleep)


def test_each_target_gets_its_message_once(loaded: LoadedCampaign, store: MemoryStore) -> None:
    job = loaded.plan.by_key()["2024-05/announce"]
    channel = MemoryChannel()
    pipeline = make_pipeline(loaded, store, channel, job.at)

    first = asyncio.run(pipeline.run_job(job))
    again = asyncio.run(pipeline.run_job(job))

    assert [o.status for o in first] == [DeliveryStatus.SENT] * len(job.targets)
    assert len(channel.sent) == len(job.targets) == 7
    assert [m.target.id for m in channel.sent] == [t.id for t in job.targets]
    assert all(not o.fresh and o.status is DeliveryStatus.SENT for o in again)
    villagers = channel.texts_to("changchun-villagers")[0]
    assert "村民朋友们好" in villagers and "践行新时尚 分类志愿行" in villagers
    assert "居民朋友们好" in channel.texts_to("jinxi-shequ-villagers")[0]
    request = loaded.plan.by_key()["2024-05/proof_request"]
    asyncio.run(pipeline.run_job(request))
    assert "5月28日（周二）下午6点前" in channel.texts_to("changchun-work")[0]
    record = store.get(job.key, "changchun-villagers")
    assert record is not None and record.status is DeliveryStatus.SENT and record.detail.startswith("mem-")


def test_transient_failure_is_retried_and_counted(loaded: LoadedCampaign, store: MemoryStore) -> None:
    job = loaded.plan.by_key()["2024-05/summary"]
    channel = MemoryChannel(fail_next=2)
    outcomes = asyncio.run(make_pipeline(loaded, store, channel, job.at).run_job(job))
    assert [o.status for o in outcomes] == [DeliveryStatus.SENT]
    assert len(channel.sent) == 1


def test_permanent_failure_is_recorded_alerted_and_retried_on_a_later_run(
    loaded: LoadedCampaign, store: MemoryStore
) -> None:
    job = loaded.plan.by_key()["2024-05/summary"]
    channel = MemoryChannel(refuse={"jinxi-office"})
    pipeline = make_pipeline(loaded, store, channel, job.at)

    [failed] = asyncio.run(pipeline.run_job(job))

    assert failed.status is DeliveryStatus.FAILED and "refuses" in failed.detail
    record = store.get(job.key, "jinxi-office")
    assert record is not None and record.status is DeliveryStatus.FAILED
    alerts = [m for m in channel.sent if m.target.id in ("admin-ran", "admin-tan")]
    assert len(alerts) == 2 and "发送失败" in alerts[0].text and "金溪镇垃圾分类工作专班群" in alerts[0].text

    channel.refuse.clear()
    [retried] = asyncio.run(pipeline.run_job(job))
    assert retried.status is DeliveryStatus.SENT
    record = store.get(job.key, "jinxi-office")
    assert record is not None and record.attempts == 2


def test_chase_goes_only_to_units_still_missing(loaded: LoadedCampaign, store: MemoryStore) -> None:
    job = loaded.plan.by_key()["2024-05/chase"]
    store.record_proof("2024-05", "changchun", datetime(2024, 5, 21, 15, tzinfo=TOWN_ZONE), "宣传周照片 3 张")
    store.record_proof("2024-05", "wenhuazhan", datetime(2024, 5, 22, 9, tzinfo=TOWN_ZONE))
    channel = MemoryChannel()

    outcomes = asyncio.run(make_pipeline(loaded, store, channel, job.at).run_job(job))

    skipped = {o.target for o in outcomes if o.status is DeliveryStatus.SKIPPED}
    assert skipped == {"changchun-work", "wenhuazhan-work"}
    sent_to = {m.target.id for m in channel.sent}
    assert "changchun-work" not in sent_to and "wenhuazhan-work" not in sent_to
    assert len(sent_to) == len(job.targets) - 2
    record = store.get(job.key, "changchun-work")
    assert record is not None and record.status is DeliveryStatus.SKIPPED and "已提交" in record.detail


def test_summary_names_the_missing_units(loaded: LoadedCampaign, store: MemoryStore) -> None:
    job = loaded.plan.by_key()["2024-05/summary"]
    for unit in loaded.campaign.responsible_units(job.activity):  # type: ignore[arg-type]
        if unit.id != "taiping":
            store.record_proof("2024-05", unit.id, job.at)
    channel = MemoryChannel()
    asyncio.run(make_pipeline(loaded, store, channel, job.at).run_job(job))
    [text] = channel.texts_to("jinxi-office")
    assert "已交材料 15 个，未交 1 个" in text
    assert "未交：太平村。" in text


def test_alerts_wait_for_the_end_of_quiet_hours(loaded: LoadedCampaign, store: MemoryStore) -> None:
    channel = MemoryChannel()
    clock = VirtualClock(datetime(2024, 5, 6, 23, 0, tzinfo=TOWN_ZONE))
    pipeline = Pipeline(lambda: loaded, store, channel, clock, "r", sleep=no_sleep)
    asyncio.run(pipeline.alert(FAILED("alert/test", attempts=1, label="x", target="y", error="z")))
    assert channel.sent == []

    clock.set(datetime(2024, 5, 7, 8, 0, tzinfo=TOWN_ZONE))
    asyncio.run(pipeline.flush_alerts())
    asyncio.run(pipeline.flush_alerts())
    assert sorted(m.target.id for m in channel.sent) == ["admin-ran", "admin-tan"]


def test_held_sending_waits_and_resumes_without_losing_a_message(loaded: LoadedCampaign, store: MemoryStore) -> None:
    job = loaded.plan.by_key()["2024-05/summary"]
    channel = MemoryChannel()
    pipeline = make_pipeline(loaded, store, channel, job.at)
    pipeline.hold()

    async def scenario() -> list[DeliveryStatus]:
        running = asyncio.create_task(pipeline.run_job(job))
        for _ in range(5):
            await asyncio.sleep(0)  # let the job reach the hold
        assert channel.sent == [] and store.get(job.key, "jinxi-office") is None
        pipeline.resume()
        return [o.status for o in await running]

    assert asyncio.run(scenario()) == [DeliveryStatus.SENT]
    assert len(channel.sent) == 1


def test_proof_requests_mention_the_units_contacts(loaded: LoadedCampaign) -> None:
    job = loaded.plan.by_key()["2024-05/proof_request"]
    target = next(t for t in job.targets if t.id == "changchun-work")
    assert [(m.name, m.wechat) for m in target.mentions] == [("李德华", "lidehua-changchun")]
    announce = loaded.plan.by_key()["2024-05/announce"]
    assert all(t.mentions == () for t in announce.targets)


def test_a_send_that_broke_midway_is_unconfirmed_reported_and_never_resent(
    loaded: LoadedCampaign, store: MemoryStore
) -> None:
    job = loaded.plan.by_key()["2024-05/summary"]
    channel = MemoryChannel(break_midway={"jinxi-office"})
    pipeline = make_pipeline(loaded, store, channel, job.at)

    [outcome] = asyncio.run(pipeline.run_job(job))
    channel.break_midway.clear()
    [again] = asyncio.run(pipeline.run_job(job))

    assert outcome.status is DeliveryStatus.UNCONFIRMED
    assert again.status is DeliveryStatus.UNCONFIRMED and not again.fresh
    assert channel.texts_to("jinxi-office") == []
    record = store.get(job.key, "jinxi-office")
    assert record is not None and record.status is DeliveryStatus.UNCONFIRMED and record.attempts == 1
    alerts = channel.texts_to("admin-ran")
    assert len(alerts) == 1 and "无法确认" in alerts[0] and "金溪镇垃圾分类工作专班群" in alerts[0]
