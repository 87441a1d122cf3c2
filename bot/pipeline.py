"""The one path a message takes across the adapters: render -> claim -> deliver -> record.

Exactly-once comes from the store: a (job key, target) pair is claimed in a transaction before anything is sent,
and only the claimant sends it. Every target of every job ends in a recorded outcome (sent, failed, missed,
skipped, unconfirmed): nothing is dropped without a trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.audio.base import AudioError, Clip, ClipProducer
from bot.audio.studio import clip_request
from bot.channels.base import Channel, OutgoingFile
from bot.clock import Clock
from bot.config.campaign import LoadedCampaign
from bot.core.model import JobKind
from bot.core.planner import PlannedJob, Target, admin_targets
from bot.core.render import ProofFacts, TemplateError, job_context, required_photos
from bot.errors import DeliveryError
from bot.store.base import DeliveryStatus, Store

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_backoff_seconds: float = 2.0

    def backoff(self, attempt: int) -> float:
        return self.first_backoff_seconds * float(2 ** (attempt - 1))


@dataclass(frozen=True)
class Outcome:
    job_key: str
    target: str
    target_name: str
    scheduled_at: datetime
    status: DeliveryStatus
    detail: str = ""
    fresh: bool = True  # False when this run found an earlier record and did nothing


def job_label(job: PlannedJob) -> str:
    names = {
        JobKind.ANNOUNCE: "活动通知",
        JobKind.REMIND: "活动提醒",
        JobKind.PROOF_REQUEST: "请交佐证材料",
        JobKind.CHASE: "催交材料",
        JobKind.SUMMARY: "月度汇总",
        JobKind.BROADCAST: "广播音频",
    }
    what = job.event.name if job.event else (job.activity.title if job.activity else "")
    return f"{job.month}月{names[job.kind]}：{what}"


@dataclass
class Pipeline:
    current: Callable[[], LoadedCampaign]
    store: Store
    channel: Channel
    clock: Clock
    runner: str
    retry: RetryPolicy = RetryPolicy()
    sleep: Sleep = asyncio.sleep
    deferred_alerts: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)
    # Makes the loudspeaker clips of broadcast jobs; without one, operators get the script to read aloud.
    producer: ClipProducer | None = None
    # Appended to a message for its target (the web console's upload link in proof requests and chases), or "".
    links: Callable[[PlannedJob, Target], str] | None = None
    # Set while sending is allowed; an admin's #暂停 clears it. Jobs that fire meanwhile wait, they are not missed.
    _open: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._open.set()

    @property
    def held(self) -> bool:
        return not self._open.is_set()

    def hold(self) -> None:
        """Stop sending planned messages until `resume` (alerts to the admins still go out)."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def facts_for(self, job: PlannedJob) -> ProofFacts:
        loaded = self.current()
        if job.kind is JobKind.SUMMARY:
            acts = [
                a for p in loaded.campaign.plans if p.year == job.year for a in p.activities if a.month == job.month
            ]
        else:
            acts = [job.activity] if job.activity else []
        return ProofFacts({a.id: self.store.units_with_proof(a.id, required_photos(loaded.campaign, a)) for a in acts})

    async def run_job(self, job: PlannedJob) -> list[Outcome]:
        """Deliver `job` to each of its targets, in order. Safe to call again: settled pairs are left alone."""
        facts = self.facts_for(job)
        outcomes = []
        for target in job.targets:
            outcomes.append(await self._deliver(job, target, facts))
        return outcomes

    async def _deliver(self, job: PlannedJob, target: Target, facts: ProofFacts) -> Outcome:
        if job.kind is JobKind.CHASE and job.activity and target.unit in facts.of(job.activity.id):
            return self._settle(job, target, DeliveryStatus.SKIPPED, "该单位已提交材料，不再催交")
        try:
            text = self.current().renderer.render(job, target, facts)
        except TemplateError as exc:
            # check/reload render every job before a plan goes live, so this is a bug, not a clerk's typo.
            log.exception("render failed for %s → %s", job.key, target.id)
            return await self._fail_unclaimed(job, target, f"模板渲染失败: {exc}")
        if self.links is not None:
            text += self.links(job, target)
        if self.held:
            log.info("sending is held: %s → %s waits", job.key, target.id)
            await self._open.wait()
        claim = self.store.claim(job.key, target.id, job.at, self.clock.now(), self.runner)
        if claim is None:
            return self._existing(job, target)

        async def send_message() -> str:
            return await self.channel.send_text(target, text)

        send: Callable[[], Awaitable[str]] = send_message
        note = ""
        if job.broadcast is not None:
            send, note = await self._broadcast(job, target, facts)
        error = ""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                message_id = note + await send()
            except DeliveryError as exc:
                error = str(exc)
                log.warning("send %s → %s failed (attempt %d): %s", job.key, target.id, attempt, error)
                if exc.uncertain:
                    self.store.mark_unconfirmed(claim, self.clock.now(), error)
                    await self.report_unconfirmed([(job_label(job), target.name)])
                    return Outcome(job.key, target.id, target.name, job.at, DeliveryStatus.UNCONFIRMED, error)
                if exc.permanent or attempt == self.retry.attempts:
                    break
                await self.sleep(self.retry.backoff(attempt))
                continue
            self.store.mark_sent(claim, self.clock.now(), message_id)
            log.info("sent %s → %s (%s)", job.key, target.name, message_id)
            return Outcome(job.key, target.id, target.name, job.at, DeliveryStatus.SENT, message_id)
        self.store.mark_failed(claim, self.clock.now(), error)
        await self.alert(
            "alert_failed",
            f"alert/failed/{job.key}/{target.id}/{claim.attempt}",
            {"attempts": self.retry.attempts, "label": job_label(job), "target": target.name, "error": error},
        )
        return Outcome(job.key, target.id, target.name, job.at, DeliveryStatus.FAILED, error)

    async def _broadcast(
        self, job: PlannedJob, target: Target, facts: ProofFacts
    ) -> tuple[Callable[[], Awaitable[str]], str]:
        """Produce one operator's clip (after the claim: only the claimant works). Returns how to send it and a note
        for the record. The clip goes as a file, then the play sheet as text; if production fails, the play sheet
        carries the script to read aloud, the admins get the script too, and the note records the failure."""
        loaded = self.current()
        script = loaded.renderer.script(job, target, facts)
        clip: Clip | None = None
        error = "没有开启广播音频制作"  # BOT_TTS_ENGINE=none: a choice, not a failure, so no alert
        if self.producer is not None:
            try:
                clip = await self.producer.produce(clip_request(loaded, job, target, script))
            except AudioError as exc:
                error = str(exc)
        sheet = {"title": clip.title, "file": clip.path.name, "seconds": round(clip.seconds)} if clip else None
        ctx = {**job_context(loaded.campaign, job, target, facts), "script": script, "clip": sheet}
        text = loaded.renderer.render_named(job.kind.value, {**ctx, "error": "" if clip else error})

        async def send_text() -> str:
            return await self.channel.send_text(target, text)

        if clip is None and self.producer is None:
            return send_text, f"{error}，改发广播稿："
        if clip is None:
            log.error("no clip for %s → %s, sending the script instead: %s", job.key, target.id, error)
            await self.alert(
                "alert_audio_failed",
                f"alert/audio_failed/{job.key}/{target.id}",
                {"label": job_label(job), "target": target.name, "error": error, "script": script},
            )
            return send_text, f"音频制作失败，改发广播稿（{error}）："
        if clip.fallback:
            await self._tell_fallback(job, clip)
        file_id = ""

        async def send_clip() -> str:
            nonlocal file_id
            if not file_id:  # a retry after the play sheet failed must not send the clip twice
                file_id = await self.channel.send_file(target, OutgoingFile(clip.path, clip.path.name))
                log.info("clip %s → %s (%s)", clip.path.name, target.name, file_id)
            return await send_text()

        return send_clip, ""

    async def _tell_fallback(self, job: PlannedJob, clip: Clip) -> None:
        # Once a day is enough: while edge-tts is down every clip falls back.
        await self.alert(
            "alert_tts_fallback",
            f"alert/tts_fallback/{self.clock.now():%Y-%m-%d}",
            {"engine": clip.engine, "error": clip.fallback, "label": job_label(job)},
        )

    async def prepare(self, job: PlannedJob) -> list[Clip]:
        """Produce a broadcast job's clips ahead of delivery (into the producer's cache); sends nothing, claims
        nothing. A failure here is logged and tried again at delivery, which falls back to the script."""
        if job.broadcast is None or self.producer is None:
            return []
        loaded = self.current()
        facts = self.facts_for(job)
        clips = []
        for target in job.targets:
            script = loaded.renderer.script(job, target, facts)
            try:
                clip = await self.producer.produce(clip_request(loaded, job, target, script))
            except AudioError as exc:
                log.warning("could not produce %s → %s ahead: %s", job.key, target.id, exc)
                continue
            if clip.fallback:
                await self._tell_fallback(job, clip)
            clips.append(clip)
        return clips

    async def _fail_unclaimed(self, job: PlannedJob, target: Target, error: str) -> Outcome:
        claim = self.store.claim(job.key, target.id, job.at, self.clock.now(), self.runner)
        if claim is None:
            return self._existing(job, target)
        self.store.mark_failed(claim, self.clock.now(), error)
        await self.alert(
            "alert_failed",
            f"alert/failed/{job.key}/{target.id}/{claim.attempt}",
            {"attempts": 0, "label": job_label(job), "target": target.name, "error": error},
        )
        return Outcome(job.key, target.id, target.name, job.at, DeliveryStatus.FAILED, error)

    def _settle(self, job: PlannedJob, target: Target, status: DeliveryStatus, detail: str) -> Outcome:
        if self.store.settle(job.key, target.id, status, job.at, self.clock.now(), detail):
            return Outcome(job.key, target.id, target.name, job.at, status, detail)
        return self._existing(job, target)

    def _existing(self, job: PlannedJob, target: Target) -> Outcome:
        record = self.store.get(job.key, target.id)
        status = record.status if record else DeliveryStatus.SENDING
        detail = record.detail if record else ""
        return Outcome(job.key, target.id, target.name, job.at, status, detail, fresh=False)

    def record_missed(self, job: PlannedJob, why: str) -> list[Outcome]:
        """Its time passed beyond the grace period: record each unsettled target as MISSED (never sent late)."""
        return [self._settle(job, t, DeliveryStatus.MISSED, why) for t in job.targets]

    def unsettled_targets(self, job: PlannedJob) -> list[Target]:
        return [t for t in job.targets if self.store.get(job.key, t.id) is None]

    # --- alerts to the admins ------------------------------------------------------------------------------

    async def alert(self, template: str, key: str, variables: Mapping[str, Any]) -> None:
        """Tell every admin, once per key (the store dedups across restarts and runners).

        In quiet hours the alert waits for `flush_alerts` at the end of them. An alert that can't be delivered is
        logged; it never raises into the caller (an alert about a failed alert would loop)."""
        loaded = self.current()
        if loaded.campaign.rules.quiet_hours.contains(self.clock.now().time()):
            self.deferred_alerts.append((template, key, variables))
            log.warning("alert %s deferred to the end of quiet hours", key)
            return
        try:
            text = loaded.renderer.render_named(template, variables)
        except TemplateError:
            log.exception("alert template %s failed", template)
            return
        now = self.clock.now()
        for admin in admin_targets(loaded.campaign):
            claim = self.store.claim(key, admin.id, now, now, self.runner)
            if claim is None:
                continue
            try:
                message_id = await self.channel.send_text(admin, text)
            except DeliveryError as exc:
                self.store.mark_failed(claim, self.clock.now(), str(exc))
                log.error("could not alert %s: %s\n%s", admin.name, exc, text)
                continue
            self.store.mark_sent(claim, self.clock.now(), message_id)
        log.warning("alert to admins: %s", text.splitlines()[0])

    async def flush_alerts(self) -> None:
        pending, self.deferred_alerts = self.deferred_alerts, []
        for template, key, variables in pending:
            await self.alert(template, key, variables)

    async def report_missed(self, jobs: Iterable[PlannedJob], grace: timedelta) -> None:
        jobs = list(jobs)
        if not jobs:
            return
        key = "alert/missed/" + ",".join(sorted(j.key for j in jobs))
        rows = [{"at": j.at, "label": job_label(j), "targets": len(j.targets)} for j in jobs]
        await self.alert("alert_missed", key, {"jobs": rows, "grace_minutes": int(grace.total_seconds() // 60)})

    async def report_unconfirmed(self, rows: list[tuple[str, str]]) -> None:
        if not rows:
            return
        key = "alert/unconfirmed/" + ",".join(sorted(f"{k}>{t}" for k, t in rows))
        await self.alert("alert_unconfirmed", key, {"deliveries": [{"label": k, "target": t} for k, t in rows]})

    async def send_now(self, target: Target, text: str, key: str) -> Outcome:
        """A one-off message (`laba send`): claimed under its own key like any other, so it goes out once."""
        now = self.clock.now()
        claim = self.store.claim(key, target.id, now, now, self.runner)
        if claim is None:
            record = self.store.get(key, target.id)
            return Outcome(
                key, target.id, target.name, now, record.status if record else DeliveryStatus.SENDING, fresh=False
            )
        try:
            message_id = await self.channel.send_text(target, text)
        except DeliveryError as exc:
            if exc.uncertain:
                self.store.mark_unconfirmed(claim, self.clock.now(), str(exc))
                return Outcome(key, target.id, target.name, now, DeliveryStatus.UNCONFIRMED, str(exc))
            self.store.mark_failed(claim, self.clock.now(), str(exc))
            return Outcome(key, target.id, target.name, now, DeliveryStatus.FAILED, str(exc))
        self.store.mark_sent(claim, self.clock.now(), message_id)
        return Outcome(key, target.id, target.name, now, DeliveryStatus.SENT, message_id)
