"""The daemon's scheduler on a controlled clock: late runs, missed jobs, restarts, quiet hours, reloads.

The clock starts at a chosen instant of 2024 and ticks in real time (as `laba run --now` does); APScheduler fires
for real. Tests wait for the scheduler's own "job done" signal, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, ShiftedClock
from bot.config.campaign import Sources, load
from bot.pipeline import Pipeline, RetryPolicy
from bot.scheduler import CampaignHolder, CampaignScheduler
from bot.store.base import DeliveryStatus
from bot.store.sql import SqlStore
from tests.helpers import no_sleep

ROOT = Path(__file__).resolve().parents[1]
ADMINS = {"admin-ran", "admin-tan"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOWN_ZONE)


@pytest.fixture
def sources(tmp_path: Path) -> Sources:
    shutil.copytree(ROOT / "schedules" / "jinxi", tmp_path / "jinxi")
    shutil.copytree(ROOT / "messages", tmp_path / "messages")
    return Sources(tmp_path / "jinxi", tmp_path / "messages")


class Harness:
    """One daemon's worth of parts, started at `now` on a ticking clock."""

    def __init__(self, sources: Sources, store: SqlStore, now: datetime, channel: MemoryChannel | None = None) -> None:
        self.clock = ShiftedClock(now)
        self.holder = CampaignHolder(load(sources))
        self.channel = channel or MemoryChannel()
        self.pipeline = Pipeline(
            self.holder.get, store, self.channel, self.clock, f"runner-{id(self)}", RetryPolicy(2, 0), no_sleep
        )
        self.scheduler = CampaignScheduler(self.holder, self.pipeline, self.clock, load, reload_seconds=3600)
        self.done: asyncio.Queue[str] = asyncio.Queue()
        self.after_edit: list[str] = []
        self.scheduler.on_job_done(self.done.put_nowait)

    async def __aenter__(self) -> Harness:
        await self.scheduler.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.pending_at_exit = self.scheduler.pending()
        self.scheduler.shutdown()

    async def ran(self, key: str) -> None:
        while (await asyncio.wait_for(self.done.get(), timeout=20)) != key:
            pass

    def sent_to(self, ids: set[str]) -> list[str]:
        return [m.text for m in self.channel.sent if m.target.id in ids]


def test_on_start_a_job_within_grace_runs_late_and_older_ones_are_missed_and_reported(
    sources: Sources, store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.service_started_at("jinxi", at("2024-04-01T00:00:00.669885"))
    caplog.set_level(logging.INFO, logger="bot.scheduler")

    async def scenario() -> Harness:
        async with Harness(sources, store, at("2024-05-06T09:30")) as h:
            await h.ran("2024-05/announce")
            return h

    h = asyncio.run(scenario())

    announce = h.holder.get().plan.by_key()["2024-05/announce"]
    assert {m.target.id for m in h.channel.sent} - ADMINS == {t.id for t in announce.targets}
    # April's jobs since the service started (April's clip went to the operators on 31 March: history).
    april = [j for j in h.holder.get().plan.jobs if j.year == 2024 and j.month == 4 and j.at >= at("2024-04-01T00:00")]
    for job in april:
        for t in job.targets:
            record = store.get(job.key, t.id)
            assert record is not None and record.status is DeliveryStatus.MISSED, (job.key, t.id)
    [report_ran, report_tan] = [h.sent_to({a}) for a in sorted(ADMINS)]
    assert len(report_ran) == len(report_tan) == 1
    assert "错过了发送时间" in report_ran[0] and "4月活动通知" in report_ran[0]
    # The jobs before the service began, said in the town's words: no ISO timestamp with microseconds (L14).
    [before] = [r.getMessage() for r in caplog.records if "早于本数据库第一次启动" in r.getMessage()]
    assert "（4月1日（周一）凌晨0点）" in before and "669885" not in before, before


def test_restart_sends_nothing_twice_and_reports_missed_jobs_once(sources: Sources, store: SqlStore) -> None:
    store.service_started_at("jinxi", at("2024-04-01T00:00"))

    async def first() -> Harness:
        async with Harness(sources, store, at("2024-05-06T09:30")) as h:
            await h.ran("2024-05/announce")
            return h

    async def second() -> Harness:
        async with Harness(sources, store, at("2024-05-06T09:40")) as h:
            return h

    asyncio.run(first())
    h2 = asyncio.run(second())
    assert h2.channel.sent == []
    assert h2.pending_at_exit[0][0] == "2024-05/proof_request"


def test_first_start_does_not_report_history_as_missed(sources: Sources, store: SqlStore) -> None:
    async def scenario() -> Harness:
        async with Harness(sources, store, at("2024-05-10T12:00")) as h:
            return h

    h = asyncio.run(scenario())
    assert h.channel.sent == []
    assert store.deliveries() == []
    assert h.pending_at_exit[0] == ("2024-05/broadcast/xuanchuanzhou", at("2024-05-17T10:00"))


def test_a_late_job_in_quiet_hours_waits_for_the_morning(sources: Sources, store: SqlStore) -> None:
    town = sources.schedules / "town.yaml"
    town.write_text(town.read_text(encoding="utf-8").replace('time: "16:00"', 'time: "20:45"'), encoding="utf-8")
    store.service_started_at("jinxi", at("2024-05-01T00:00"))

    async def scenario() -> Harness:
        async with Harness(sources, store, at("2024-05-31T21:30")) as h:
            return h

    h = asyncio.run(scenario())
    assert ("2024-05/summary", at("2024-06-01T08:00")) in h.pending_at_exit
    assert h.channel.sent == []


def test_a_stopped_runners_claims_are_resent_if_they_never_left_and_reported_if_they_may_have(
    sources: Sources, store: SqlStore
) -> None:
    store.service_started_at("jinxi", at("2024-05-01T00:00"))
    job_at = at("2024-05-06T09:00")
    # A runner that stopped (no heartbeat for minutes): one claim handed to the network, one still waiting.
    dead = "elsewhere:1:dead"
    store.heartbeat(dead, datetime.now(UTC) - timedelta(minutes=5))
    handed = store.claim("2024-05/announce", "changchun-villagers", job_at, job_at, dead)
    waiting = store.claim("2024-05/announce", "shanling-villagers", job_at, job_at, dead)
    assert handed is not None and waiting is not None
    store.mark_handed(handed, job_at)

    async def scenario() -> Harness:
        async with Harness(sources, store, at("2024-05-06T09:40")) as h:
            await h.ran("2024-05/announce")
            return h

    h = asyncio.run(scenario())
    maybe = store.get("2024-05/announce", "changchun-villagers")
    assert maybe is not None and maybe.status is DeliveryStatus.UNCONFIRMED
    assert "changchun-villagers" not in {m.target.id for m in h.channel.sent}
    assert any("无法确认" in t and "5月活动通知" in t and "长春村村民群" in t for t in h.sent_to(ADMINS))
    # The one that never left is sent, exactly once, and never reported as possibly sent.
    assert [m.target.id for m in h.channel.sent].count("shanling-villagers") == 1
    resent = store.get("2024-05/announce", "shanling-villagers")
    assert resent is not None and (resent.status, resent.attempts) == (DeliveryStatus.SENT, 2)
    assert not any("杉岭" in t and "无法确认" in t for t in h.sent_to(ADMINS))


def test_a_live_runners_waiting_claim_is_left_alone(sources: Sources, store: SqlStore) -> None:
    store.service_started_at("jinxi", at("2024-05-01T00:00"))
    job_at = at("2024-05-06T09:00")
    alive = "elsewhere:1:alive"
    store.heartbeat(alive, datetime.now(UTC))
    claim = store.claim("2024-05/announce", "changchun-villagers", job_at, job_at, alive)
    assert claim is not None

    async def scenario() -> Harness:
        async with Harness(sources, store, at("2024-05-06T09:40")) as h:
            await h.ran("2024-05/announce")
            await h.scheduler.sweep()
            return h

    h = asyncio.run(scenario())
    record = store.get("2024-05/announce", "changchun-villagers")
    assert record is not None and record.status is DeliveryStatus.SENDING
    assert "changchun-villagers" not in {m.target.id for m in h.channel.sent}


def test_an_edit_while_running_reschedules_without_duplicates(sources: Sources, store: SqlStore) -> None:
    plan_file = sources.schedules / "plan-2024.yaml"

    async def scenario() -> tuple[Harness, list[tuple[str, datetime]], list[tuple[str, datetime]]]:
        async with Harness(sources, store, at("2024-05-10T12:00")) as h:
            before = h.scheduler.pending()
            text = plan_file.read_text(encoding="utf-8")
            text = text.replace("start: 5月20日", "start: 5月21日").replace("end: 5月26日", "end: 5月27日")
            text = text.replace("  - month: 12\n", "  - month: 12\n    id: 2024-12-gongong\n")
            plan_file.write_text(text, encoding="utf-8")
            assert await h.scheduler.check_for_edits() is True
            assert await h.scheduler.check_for_edits() is False  # nothing changed since
            return h, before, h.scheduler.pending()

    h, before, after = asyncio.run(scenario())
    assert len(after) == len(before)
    assert len({k for k, _ in after}) == len(after)
    assert ("2024-05/remind/xuanchuanzhou", at("2024-05-20T10:00")) in after
    assert "2024-12/announce" not in dict(after) and "2024-12-gongong/announce" in dict(after)
    assert h.channel.sent == []


def test_a_broken_edit_keeps_the_running_plan_and_is_reported_once(sources: Sources, store: SqlStore) -> None:
    plan_file = sources.schedules / "plan-2024.yaml"

    async def scenario() -> Harness:
        async with Harness(sources, store, at("2024-05-10T12:00")) as h:
            old = h.holder.get()
            plan_file.write_text(
                plan_file.read_text(encoding="utf-8").replace("start: 5月20日", "start: 4月31日"), encoding="utf-8"
            )
            assert await h.scheduler.check_for_edits() is False
            assert h.holder.get() is old
            # Saved again with the same mistake: no second alert.
            plan_file.write_text(plan_file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
            assert await h.scheduler.check_for_edits() is False
            return h

    h = asyncio.run(scenario())
    alerts = h.sent_to({"admin-ran"})
    assert len(alerts) == 1
    assert "没有生效" in alerts[0] and "4月没有31日" in alerts[0] and "plan-2024.yaml" in alerts[0]
    assert h.pending_at_exit[0][0] == "2024-05/broadcast/xuanchuanzhou"


def test_nothing_depends_on_the_servers_time_zone(
    sources: Sources, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:

        async def scenario() -> Harness:
            async with Harness(sources, store, at("2024-05-10T12:00")) as h:
                return h

        h = asyncio.run(scenario())
        key, when = h.pending_at_exit[0]
        assert (key, when) == ("2024-05/broadcast/xuanchuanzhou", at("2024-05-17T10:00"))
        assert when.utcoffset() == timedelta(hours=8)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_unit_added_after_its_job_fired_gets_the_message_within_the_grace(sources: Sources, store: SqlStore) -> None:
    store.service_started_at("jinxi", at("2024-05-01T00:00"))
    units = sources.schedules / "units.yaml"
    new_village = """
  - id: xinmin
    name: 新民村
    kind: village
    groups:
      - {id: xinmin-villagers, name: 新民村村民群, kind: villagers}
      - {id: xinmin-work, name: 新民村两委工作群, kind: work}
    contacts:
      - {id: xinmin-zhang, name: 张明, role: 村党支部书记, wechat: zhangming-xinmin}
    broadcast_operator: {id: xinmin-gb, name: 刘芳, role: 广播员, wechat: liufang-gb}
"""

    async def scenario() -> Harness:
        async with Harness(sources, store, at("2024-05-19T09:59:59")) as h:
            await h.ran("2024-05/remind/xuanchuanzhou")
            before = len(h.channel.sent)
            text = units.read_text(encoding="utf-8")
            units.write_text(text.replace("\n  - id: changchun\n", new_village + "\n  - id: changchun\n"), "utf-8")
            assert await h.scheduler.check_for_edits() is True
            await h.ran("2024-05/remind/xuanchuanzhou")
            h.after_edit = [m.target.id for m in h.channel.sent[before:]]
            return h

    h = asyncio.run(scenario())
    assert "xinmin-villagers" in h.after_edit
    assert len(h.after_edit) == len(set(h.after_edit))  # only the new unit's groups, once each
    assert all(t.startswith("xinmin-") for t in h.after_edit)
