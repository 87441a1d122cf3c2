"""`simulate` rides out a database outage as the daemon does: a job cut off part-way is tried again on the virtual
clock (15 s, 30 s, 1 min, then every 2 min) and each target ends sent once; an outage outlasting the grace period
ends with the targets left recorded missed and the admins told. The outage is real: another connection holds the
SQLite write lock, and the store (`?timeout=0`) fails at once instead of waiting in wall-clock time."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App, build, simulate
from bot.channels.memory import MemoryChannel
from bot.clock import VirtualClock
from bot.config.campaign import Sources, load
from bot.core.planner import PlannedJob, Target
from bot.settings import Settings
from bot.store.base import DeliveryStatus

JOB = "2024-05/remind/xuanchuanzhou/units"


class Outage:
    """Another program holding the database's write lock from the `at_send`-th message of the job until the
    virtual clock reaches `until`."""

    def __init__(self, database: Path, at_send: int) -> None:
        self.database = database
        self.at_send = at_send
        self.sends = 0
        self.until: datetime | None = None
        self.holder: sqlite3.Connection | None = None
        self.began: datetime | None = None

    async def before_wire(self, target: Target) -> None:
        self.sends += 1
        if self.sends == self.at_send:
            self.holder = sqlite3.connect(self.database, isolation_level=None)
            self.holder.execute("BEGIN IMMEDIATE")

    def passed(self, now: datetime) -> None:
        if self.holder is not None and self.until is not None and now >= self.until:
            self.holder.execute("COMMIT")
            self.holder.close()
            self.holder = None


class OutageClock(VirtualClock):
    """The simulation's clock, telling the outage when it moves (so that it ends at a campaign instant)."""

    def __init__(self, start: datetime, outage: Outage) -> None:
        super().__init__(start)
        self.outage = outage

    def set(self, instant: datetime) -> None:
        super().set(instant)
        self.outage.passed(self.now())


def _app(jinxi: Sources, tmp_path: Path, outage: Outage, clock: VirtualClock, channel: MemoryChannel) -> App:
    url = f"sqlite:///{outage.database}?timeout=0"
    settings = Settings(tmp_path / "data", url, "outbox", tmp_path / "audio", "none")
    return build(jinxi, settings, clock, channel=channel, echo=None, sleep=clock.sleep)


def _outage(
    jinxi: Sources, tmp_path: Path, lasting: timedelta, at_send: int = 3
) -> tuple[Outage, OutageClock, PlannedJob]:
    job = load(jinxi).plan.by_key()[JOB]
    outage = Outage(tmp_path / "laba.db", at_send)
    outage.until = job.at + lasting
    return outage, OutageClock(job.at, outage), job


def test_an_outage_mid_job_is_ridden_out_and_each_target_is_sent_once(
    jinxi: Sources, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outage, clock, job = _outage(jinxi, tmp_path, timedelta(minutes=5))
    channel = MemoryChannel(before_wire=outage.before_wire)
    app = _app(jinxi, tmp_path, outage, clock, channel)
    span = (job.at, job.at + timedelta(seconds=1))
    try:
        outcomes = asyncio.run(simulate(app, clock, *span))
        jobs = list(app.loaded.plan.between(*span))  # the job, and the loudspeaker clips due at the same minute
        records = {(r.job_key, r.target): r for r in app.store.deliveries(frozenset(j.key for j in jobs))}
    finally:
        app.close()
    assert len(job.targets) > 10 and len(jobs) > 1
    planned = [(j.key, t.id) for j in jobs for t in j.targets]
    assert set(records) == set(planned)
    assert {r.status for r in records.values()} == {DeliveryStatus.SENT}
    assert Counter(m.target.id for m in channel.sent) == Counter(target for _, target in planned)
    # One outcome per delivery, each from the run that sent it.
    assert [(o.job_key, o.target) for o in outcomes] == planned
    assert all(o.fresh and o.status is DeliveryStatus.SENT for o in outcomes)
    # The first two before the outage (the third was stopped before the network); the rest by the retries once it
    # was over (15 s, 30 s, 1 min, then 2 min).
    # Each run that met the outage stopped at it (one line), rather than trying every group left in vain.
    met = [r.getMessage() for r in caplog.records if r.getMessage().startswith("数据库暂时用不了")]
    resumed = [r.getMessage() for r in caplog.records if "没发完" in r.getMessage()]
    assert 3 <= len(met) == len(resumed), (met, resumed)
    late = sorted(r.updated_at for r in records.values())[2:]
    assert min(late) >= job.at + timedelta(minutes=5)
    assert max(late) <= job.at + timedelta(minutes=8)


def test_a_delivery_cut_off_last_in_its_job_is_tried_again_with_it(jinxi: Sources, tmp_path: Path) -> None:
    """The outage begins at the job's last delivery: no other target is left open, and that one's record could not
    be written (it stays with the pipeline, not the store). The job is still tried again, and it ends sent."""
    plan = load(jinxi).plan
    job = plan.by_key()[JOB]
    span = (job.at, job.at + timedelta(seconds=1))
    planned = [(j.key, t.id) for j in plan.between(*span) for t in j.targets]
    outage, clock, job = _outage(jinxi, tmp_path, timedelta(minutes=1), at_send=len(planned))
    channel = MemoryChannel(before_wire=outage.before_wire)
    app = _app(jinxi, tmp_path, outage, clock, channel)
    try:
        asyncio.run(simulate(app, clock, *span))
        records = {(r.job_key, r.target): r for r in app.store.deliveries(frozenset(k for k, _ in planned))}
    finally:
        app.close()
    assert outage.holder is None
    assert {key: r.status for key, r in records.items()} == dict.fromkeys(planned, DeliveryStatus.SENT)
    assert Counter(m.target.id for m in channel.sent) == Counter(target for _, target in planned)
    assert records[planned[-1]].updated_at >= job.at + timedelta(minutes=1)


def test_an_outage_beyond_the_grace_sends_nothing_late_and_the_rest_are_recorded_missed(
    jinxi: Sources, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    grace = load(jinxi).campaign.rules.misfire_grace
    outage, clock, job = _outage(jinxi, tmp_path, grace + timedelta(minutes=10))
    channel = MemoryChannel(before_wire=outage.before_wire)
    app = _app(jinxi, tmp_path, outage, clock, channel)
    span = (job.at, job.at + timedelta(seconds=1))
    try:
        asyncio.run(simulate(app, clock, *span))
        assert outage.holder is not None  # still down when the retries gave up: nothing could be recorded
        assert "现在记不下任务" in caplog.text
        assert clock.now() - job.at <= grace
        before = list(channel.sent)
        # Later, the database back: the same range again, as the next start would.
        assert outage.until is not None
        clock.set(outage.until)
        asyncio.run(simulate(app, clock, *span))
        jobs = list(app.loaded.plan.between(*span))
        records = {(r.job_key, r.target): r for r in app.store.deliveries(frozenset(j.key for j in jobs))}
    finally:
        app.close()
    assert outage.holder is None
    planned = [(j.key, t.id) for j in jobs for t in j.targets]
    assert set(records) == set(planned)
    # The first two left before the outage; the third was stopped before the network (its record could not be
    # made), and nothing else went to a group, then or later: past the grace the rest are recorded missed.
    assert [m.target.id for m in before] == [target for _, target in planned[:2]]
    statuses = Counter(r.status for r in records.values())
    assert statuses == Counter({DeliveryStatus.SENT: 2, DeliveryStatus.MISSED: len(planned) - 2})
    later = channel.sent[len(before) :]
    groups = {target for _, target in planned}
    assert later and not any(m.target.id in groups for m in later)
    assert all("错过了发送时间" in m.text and "没有补发" in m.text for m in later), [m.text for m in later]
