"""The one path a message takes across the adapters: render -> claim -> deliver -> record.

Exactly-once comes from the store: a (job key, target) pair is claimed in a transaction before anything is sent,
and only the claimant sends it. Every target of every job ends in a recorded outcome (sent, failed, missed,
skipped, unconfirmed): nothing is dropped without a trace.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.audio.base import AudioError, Clip, ClipProducer
from bot.audio.studio import clip_request
from bot.channels.base import Channel, OutgoingFile
from bot.channels.pacing import SendPriority, send_priority
from bot.channels.relay import is_relayed
from bot.clock import Clock
from bot.config.campaign import LoadedCampaign
from bot.core.model import JobKind
from bot.core.planner import PlannedJob, Target, admin_targets
from bot.core.render import ProofFacts, TemplateError, job_context, required_photos
from bot.errors import DeliveryError, LabaError
from bot.recovery import HEARTBEAT_SECONDS
from bot.reply_limits import ReplyLimits
from bot.store.base import Claim, DeliveryStatus, Store

log = logging.getLogger(__name__)
# Ends the one alert of an episode (a full disk): the later failures of the same episode are not told one by one.
EPISODE_NOTE = "。在这个问题解决之前，后面的消息也会同样失败，都记为发送失败，不再逐条提醒"

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
        JobKind.QUIZ: "每周一题",
        JobKind.QUIZ_ANSWER: "每周一题答案",
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
    # Called after each batch (a job's targets, a one-off send): the relay's digest to the relay people.
    batch_done: Callable[[], Awaitable[None]] | None = None
    # Where a delivery goes when every attempt failed (certainly not posted): the relay queue; returns its id.
    relay_failed: Callable[[Target, str, str], Awaitable[str]] | None = None
    # Appended to a message for its target (the web console's upload link in proof requests and chases), or "".
    links: Callable[[PlannedJob, Target], str] | None = None
    # The weekly quiz's counts for a job (`bot.sorting.quiz_replies.quiz_facts`): ProofFacts.quiz.
    quiz_facts: Callable[[PlannedJob], Mapping[str, Any]] | None = None
    # Whether a group's replies reach the bot (False: a robot group); quiz jobs skip the groups that can't answer.
    takes_replies: Callable[[Target], bool] | None = None
    # The public lookup page (BOT_PUBLIC_URL/q) the monthly announcement links to; "" without a public address.
    lookup_url: str = ""
    # Set while sending is allowed; an admin's #暂停 clears it. Jobs that fire meanwhile wait, they are not missed.
    _open: asyncio.Event = field(default_factory=asyncio.Event)
    # Shutting down: nothing more is claimed (SIGTERM).
    _stopping: bool = False
    # Attempts whose message is on the wire (handed to the network, not yet answered): a stop waits for them.
    _wire: set[_Attempt] = field(default_factory=set)
    _wire_idle: asyncio.Event = field(default_factory=asyncio.Event)
    # Interrupted deliveries not yet recorded (the database was down), and unconfirmed ones still to report.
    _orphans: list[_Attempt] = field(default_factory=list)
    _unconfirmed_later: list[tuple[str, str]] = field(default_factory=list)
    # Wall-clock time for heartbeats (the campaign clock may be shifted or virtual; liveness is about this process).
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _last_beat: float = -HEARTBEAT_SECONDS
    # How often people who are not admins are answered; shared by every chat-command handler (issue 13).
    limits: ReplyLimits = field(init=False)

    def __post_init__(self) -> None:
        self._open.set()
        self.limits = ReplyLimits(self.clock.now)

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
        quiz = self.quiz_facts(job) if self.quiz_facts is not None else {}
        return ProofFacts(
            {a.id: self.store.units_with_proof(a.id, required_photos(loaded.campaign, a)) for a in acts},
            quiz,
            self.lookup_url if job.kind is JobKind.ANNOUNCE else "",
        )

    async def run_job(self, job: PlannedJob) -> list[Outcome]:
        """Deliver `job` to each of its targets, in order. Safe to call again: settled pairs are left alone.

        Each target is settled on its own: an error on one (a database outage, a channel's transport error) is
        logged and leaves that target unsettled, and the others go on; `unsettled` tells the caller what is left.
        Stops early (without claiming more) once `stop` has begun."""
        await self._recover_orphans()
        facts = self.facts_for(job)
        outcomes = []
        for target in job.targets:
            if self._stopping:
                break
            try:
                outcomes.append(await self._deliver(job, target, facts))
            except Stopping:
                break
            except Exception:
                log.exception("delivery %s → %s interrupted; it will be resumed", job.key, target.id)
        if self.batch_done is not None:
            await self.batch_done()
        return outcomes

    def heartbeat(self, *, force: bool = False) -> None:
        """Tell the store this runner is alive (at most every few seconds unless `force`), so that its claims are
        never taken for a stopped runner's."""
        tick = time.monotonic()
        if force or tick - self._last_beat >= HEARTBEAT_SECONDS / 2:
            self.store.heartbeat(self.runner, self.wall())
            self._last_beat = tick

    def unsettled(self, job: PlannedJob) -> list[Target]:
        """Targets of `job` with no outcome yet (no record, or one released by a runner that stopped before the
        message left). Raises the store's error when the database can't be read."""
        open_statuses = (DeliveryStatus.RELEASED,)
        records = {r.target: r for r in self.store.deliveries(frozenset({job.key}))}
        return [t for t in job.targets if t.id not in records or records[t.id].status in open_statuses]

    async def _deliver(self, job: PlannedJob, target: Target, facts: ProofFacts) -> Outcome:
        if job.kind is JobKind.CHASE and job.activity and target.unit in facts.of(job.activity.id):
            return self._settle(job, target, DeliveryStatus.SKIPPED, "该单位已提交材料，不再催交")
        quiz = job.kind in (JobKind.QUIZ, JobKind.QUIZ_ANSWER)
        if quiz and self.takes_replies is not None and not self.takes_replies(target):
            return self._settle(job, target, DeliveryStatus.SKIPPED, "这个群由机器人发送，收不到回复，不发每周一题")
        try:
            text = self.current().renderer.render(job, target, facts)
        except TemplateError as exc:
            # check/reload render every job before a plan goes live, so this is a bug, not a clerk's typo.
            log.exception("消息生成失败：%s → %s", job_label(job), target.name)
            return await self._fail_unclaimed(job, target, f"模板渲染失败: {exc}")
        if self.links is not None:
            text += self.links(job, target)
        await self._wait_open(job, target)
        self.heartbeat()
        claim = self.store.claim(job.key, target.id, job.at, self.clock.now(), self.runner)
        if claim is None:
            return self._existing(job, target)
        attempt = _Attempt(self, claim)
        try:
            return await self._send_claimed(job, target, facts, text, attempt)
        except BaseException as exc:
            self._abandon(attempt, exc)
            raise

    async def _wait_open(self, job: PlannedJob, target: Target) -> None:
        if self._stopping:
            raise Stopping
        if self.held:
            log.info("sending is held: %s → %s waits", job.key, target.id)
            await self._open.wait()
        if self._stopping:
            raise Stopping

    async def _send_claimed(
        self, job: PlannedJob, target: Target, facts: ProofFacts, text: str, attempt: _Attempt
    ) -> Outcome:
        async def send_message() -> str:
            return await self.channel.send_text(target, text, handoff=attempt.handoff)

        send: Callable[[], Awaitable[str]] = send_message
        if job.broadcast is not None:
            produced, note = await self._broadcast(job, target, facts, attempt)

            async def send_noted() -> str:
                # The record says how the operator was served when it was not the clip.
                return note + await produced()

            send = send_noted
        status, detail = await self._attempts(attempt, send, f"{job.key} → {target.id}", relay=(target, text))
        if status in (DeliveryStatus.SENT, DeliveryStatus.RELAYED):
            log.info("%s %s → %s (%s)", status.value, job.key, target.name, detail)
            return Outcome(job.key, target.id, target.name, job.at, status, detail)
        if status is DeliveryStatus.UNCONFIRMED:
            await self.report_unconfirmed([(job_label(job), target.name)])
        elif attempt.episode:
            # A condition that fails every message alike (a full disk): one alert per episode, naming the first
            # message it stopped, instead of one per failed message. Each failure is still recorded FAILED.
            await self.alert(
                "alert_failed",
                f"alert/episode/{attempt.episode}",
                {"attempts": 0, "label": job_label(job), "target": target.name, "error": detail + EPISODE_NOTE},
            )
        else:
            await self.alert(
                "alert_failed",
                f"alert/failed/{job.key}/{target.id}/{attempt.claim.attempt}",
                {"attempts": self.retry.attempts, "label": job_label(job), "target": target.name, "error": detail},
            )
        return Outcome(job.key, target.id, target.name, job.at, status, detail)

    async def _attempts(
        self,
        attempt: _Attempt,
        send: Callable[[], Awaitable[str]],
        what: str,
        *,
        tries: int | None = None,
        relay: tuple[Target, str] | None = None,
    ) -> tuple[DeliveryStatus, str]:
        """The one claim → send → record path: up to `tries` attempts with backoff; records the outcome (SENT,
        RELAYED, FAILED or UNCONFIRMED) and returns it with the message id or the error. When every attempt failed
        (certainly not posted) and `relay` gives the message, it goes to the relay people instead of failing."""
        try:
            status, detail = await self._try_sends(attempt, send, what, tries or self.retry.attempts)
        finally:
            attempt.done()
        if status is not DeliveryStatus.FAILED:
            return status, detail
        if relay is not None and self.relay_failed is not None:
            message_id = await self.relay_failed(relay[0], relay[1], f"自动发送失败：{detail}")
            self.store.mark_relayed(attempt.claim, self.clock.now(), message_id)
            return DeliveryStatus.RELAYED, message_id
        self.store.mark_failed(attempt.claim, self.clock.now(), detail)
        return status, detail

    async def _try_sends(
        self, attempt: _Attempt, send: Callable[[], Awaitable[str]], what: str, tries: int
    ) -> tuple[DeliveryStatus, str]:
        error = ""
        for number in range(1, tries + 1):
            try:
                message_id = await send()
            except DeliveryError as exc:
                error, permanent = str(exc), exc.permanent
                attempt.episode = exc.episode
                log.warning("发送 %s 失败（第 %d 次）：%s", what, number, error)
                if exc.uncertain:
                    self.store.mark_unconfirmed(attempt.claim, self.clock.now(), error)
                    return DeliveryStatus.UNCONFIRMED, error
            except Exception as exc:
                # Not a channel's own refusal: a look-up or transport error it did not map. Whether the message may
                # have left is known from the handoff, not guessed from the exception.
                log.exception("发送 %s 出错 %s（第 %d 次）", what, type(exc).__name__, number)
                error, permanent = f"{type(exc).__name__}: {exc}", False
                if attempt.handed:
                    detail = f"发送途中出错，可能已发出（{error}）"
                    self.store.mark_unconfirmed(attempt.claim, self.clock.now(), detail)
                    return DeliveryStatus.UNCONFIRMED, detail
            else:
                attempt.left_as = message_id  # known to have left, even if recording it fails now
                return self._confirm(attempt.claim, message_id), message_id
            if attempt.handed and not attempt.partly_sent:
                await attempt.handoff(False)  # the refusal is certain: nothing left in this attempt
            if permanent or number == tries:
                break
            await self.sleep(self.retry.backoff(number))
        return DeliveryStatus.FAILED, error  # recorded by `_attempts`: failed, or handed to the relay

    def _confirm(self, claim: Claim, message_id: str) -> DeliveryStatus:
        """Record a handed-over message: SENT, or RELAYED when the channel queued it for the relay people."""
        if is_relayed(message_id.rsplit("：", 1)[-1]):
            self.store.mark_relayed(claim, self.clock.now(), message_id)
            return DeliveryStatus.RELAYED
        self.store.mark_sent(claim, self.clock.now(), message_id)
        return DeliveryStatus.SENT

    def _abandon(self, attempt: _Attempt, exc: BaseException) -> None:
        """The delivery was cut off (cancelled on shutdown, or an error outside the send, e.g. the database): record
        it as RELEASED if nothing left, UNCONFIRMED if something may have. If the store can't be written now, the
        claim is kept and recorded on the next run (`_recover_orphans`)."""
        claim = attempt.claim
        attempt.done()
        log.warning("delivery %s → %s interrupted (%s)", claim.job_key, claim.target, type(exc).__name__)
        try:
            self._settle_abandoned(attempt)
        except Exception:
            log.exception("could not record the interrupted delivery %s → %s now", claim.job_key, claim.target)
            self._orphans.append(attempt)

    def _settle_abandoned(self, attempt: _Attempt) -> None:
        now = self.clock.now()
        claim = attempt.claim
        if attempt.left_as is not None:
            # The gateway took it and answered; only the record failed (the database went away): sent, not "maybe".
            # The failed write may have committed before the connection broke: then it is recorded already.
            record = self.store.get(claim.job_key, claim.target)
            if record is None or record.status is DeliveryStatus.SENDING:
                self._confirm(claim, attempt.left_as)
        elif attempt.handed:
            self.store.mark_unconfirmed(claim, now, "发送途中程序中断，无法确认是否送达")
            self._unconfirmed_later.append((claim.job_key, claim.target))
        elif not self.store.release(
            claim.job_key, claim.target, claim.runner, now, DeliveryStatus.RELEASED, "发出前程序中断，尚未发出"
        ):
            log.error("interrupted delivery %s → %s was no longer ours to release", claim.job_key, claim.target)

    async def _recover_orphans(self) -> None:
        """Record interrupted deliveries that could not be recorded when they happened (the database was down)."""
        orphans, self._orphans = self._orphans, []
        for attempt in orphans:
            try:
                self._settle_abandoned(attempt)
            except Exception:
                log.exception("still cannot record %s → %s", attempt.claim.job_key, attempt.claim.target)
                self._orphans.append(attempt)
        if self._unconfirmed_later:
            keys, self._unconfirmed_later = self._unconfirmed_later, []
            await self.report_unconfirmed([self.describe(k, t) for k, t in keys])

    def describe(self, key: str, target_id: str) -> tuple[str, str]:
        """(what, to whom) as the admins say it, for a delivery known only by its keys."""
        job = self.current().plan.by_key().get(key)
        if job is None:
            return key, target_id
        names = {t.id: t.name for t in job.targets}
        return job_label(job), names.get(target_id, target_id)

    async def _broadcast(
        self, job: PlannedJob, target: Target, facts: ProofFacts, attempt: _Attempt
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
            return await self.channel.send_text(target, text, handoff=attempt.handoff)

        if clip is None and self.producer is None:
            return send_text, f"{error}，改发广播稿："
        if clip is None:
            log.error("广播音频没做成，改发广播稿：%s → %s：%s", job_label(job), target.name, error)
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
                file_id = await self.channel.send_file(
                    target, OutgoingFile(clip.path, clip.path.name), handoff=attempt.handoff
                )
                attempt.partly_sent = True
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
                log.warning("提前制作广播音频失败，到发送时再做：%s → %s：%s", job_label(job), target.name, exc)
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
        logged; it never raises into the caller (an alert about a failed alert would loop, and a failure must never
        end a job for the other targets)."""
        try:
            await self._alert(template, key, variables)
        except (asyncio.CancelledError, Stopping):
            raise
        except Exception:
            log.exception("给管理员的提醒 %s 没能发出", key)

    async def _alert(self, template: str, key: str, variables: Mapping[str, Any]) -> None:
        loaded = self.current()
        if loaded.campaign.rules.quiet_hours.contains(self.clock.now().time()):
            self.deferred_alerts.append((template, key, variables))
            log.warning("免打扰时段，给管理员的提醒等到早上再发：%s", key)
            return
        try:
            text = loaded.renderer.render_named(template, variables)
        except TemplateError:
            log.exception("提醒模板 %s 出错", template)
            return
        for admin in admin_targets(loaded.campaign):
            outcome = await self.send_now(admin, text, key, tries=1, priority=SendPriority.ALERT)
            if outcome.fresh and outcome.status is not DeliveryStatus.SENT:
                log.error("没能提醒 %s：%s\n%s", admin.name, outcome.detail, text)
        log.warning("已提醒管理员：%s", text.splitlines()[0])

    async def flush_alerts(self) -> None:
        pending, self.deferred_alerts = self.deferred_alerts, []
        for template, key, variables in pending:
            await self.alert(template, key, variables)

    async def report_missed(self, missed: Iterable[tuple[PlannedJob, list[Outcome]]], grace: timedelta) -> None:
        """Tell the admins which deliveries were recorded MISSED just now (`record_missed`'s fresh outcomes), by job,
        naming the groups and people that did not get them."""
        rows: list[dict[str, Any]] = []
        keys: list[str] = []
        for job, outcomes in missed:
            names = [o.target_name for o in outcomes if o.fresh and o.status is DeliveryStatus.MISSED]
            if names:
                rows.append({"at": job.at, "label": job_label(job), "targets": len(names), "names": names})
                keys.extend(f"{job.key}>{o.target}" for o in outcomes if o.fresh)
        if not rows:
            return
        key = "alert/missed/" + hashlib.sha256(",".join(sorted(keys)).encode()).hexdigest()[:16]
        await self.alert("alert_missed", key, {"jobs": rows, "grace_minutes": int(grace.total_seconds() // 60)})

    async def report_unconfirmed(self, rows: list[tuple[str, str]]) -> None:
        if not rows:
            return
        key = "alert/unconfirmed/" + ",".join(sorted(f"{k}>{t}" for k, t in rows))
        await self.alert("alert_unconfirmed", key, {"deliveries": [{"label": k, "target": t} for k, t in rows]})

    async def send_now(
        self,
        target: Target,
        text: str,
        key: str,
        file: OutgoingFile | None = None,
        *,
        tries: int = 1,
        priority: SendPriority = SendPriority.PLANNED,
    ) -> Outcome:
        """A one-off message (`laba send`, replies, alerts): claimed under its own key like any other and sent by the
        same claim → send → record path, so it goes out once. With a file, the file goes first, then the text (if
        any). `priority` tells a paced channel whose budget the send spends (replies: `SendPriority.REPLY`)."""
        now = self.clock.now()
        self.heartbeat()
        claim = self.store.claim(key, target.id, now, now, self.runner)
        if claim is None:
            record = self.store.get(key, target.id)
            status = record.status if record else DeliveryStatus.SENDING
            return Outcome(key, target.id, target.name, now, status, record.detail if record else "", fresh=False)
        attempt = _Attempt(self, claim)

        async def send() -> str:
            message_id = ""
            if file is not None:
                message_id = await self.channel.send_file(target, file, handoff=attempt.handoff)
                attempt.partly_sent = True
            if text:
                message_id = await self.channel.send_text(target, text, handoff=attempt.handoff)
            return message_id

        token = send_priority.set(priority)
        try:
            status, detail = await self._attempts(attempt, send, f"{key} → {target.id}", tries=tries)
        except BaseException as exc:
            self._abandon(attempt, exc)
            raise
        finally:
            send_priority.reset(token)
        if self.batch_done is not None:
            await self.batch_done()
        return Outcome(key, target.id, target.name, now, status, detail)

    # --- stopping ---------------------------------------------------------------------------------------------

    async def stop(self, wait_seconds: float) -> None:
        """Begin shutting down: claim nothing more, and wait (at most `wait_seconds`) for the messages already
        handed to the network to be answered. Deliveries still waiting before the network (pacing) are then
        cancelled by the caller and recorded RELEASED, to be sent by the next start."""
        self._stopping = True
        self._open.set()  # wake deliveries waiting on #暂停, so they see the stop instead of hanging
        try:
            async with asyncio.timeout(wait_seconds):
                while self._wire:
                    self._wire_idle.clear()
                    await self._wire_idle.wait()
        except TimeoutError:
            log.warning("停止时还有 %d 条消息在发送途中，等了 %.0f 秒", len(self._wire), wait_seconds)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _on_wire(self, attempt: _Attempt, on: bool) -> None:
        if on:
            self._wire.add(attempt)
        else:
            self._wire.discard(attempt)
            if not self._wire:
                self._wire_idle.set()


class Stopping(LabaError):
    """The pipeline is shutting down: the delivery was not claimed."""


class _Attempt:
    """One claim on its way out: records in the store when the message is handed to the network."""

    def __init__(self, pipeline: Pipeline, claim: Claim) -> None:
        self.pipeline = pipeline
        self.claim = claim
        self.handed = False
        self.partly_sent = False  # a part (the clip before its play sheet) certainly left
        self.left_as: str | None = None  # the message id once the channel confirmed it left
        self.episode = ""  # the last refusal's episode (a full disk): see `Pipeline._send_claimed`

    async def handoff(self, handed: bool) -> None:
        if handed == self.handed:
            return
        pipeline = self.pipeline
        pipeline.store.mark_handed(self.claim, pipeline.clock.now() if handed else None)
        self.handed = handed
        pipeline._on_wire(self, handed)

    def done(self) -> None:
        """Its outcome is recorded (or will be by `_recover_orphans`): no longer on the wire."""
        self.pipeline._on_wire(self, False)
