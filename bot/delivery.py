"""The one claim → send → record path every message takes once it is claimed.

A claim is sent by `Sender.attempts`: up to a number of tries with backoff, each outcome recorded in the store
(SENT, RELAYED, FAILED or UNCONFIRMED). Whether a message may have left is known from the channel's handoff (an
`Attempt` records it in the store), never guessed from an exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.channels.relay import is_relayed
from bot.clock import Clock
from bot.core.model import JobKind
from bot.core.planner import PlannedJob, Target
from bot.errors import DeliveryError, LabaError
from bot.store.base import Claim, DeliveryStatus, Store

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Send = Callable[[], Awaitable[str]]
# Where a delivery goes when every attempt failed (certainly not posted): the relay queue; returns its id.
RelayFailed = Callable[[Target, str, str], Awaitable[str]]


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
    # The message id once it left (or was queued for the relay people), the error or reason otherwise. For an
    # outcome found recorded (`fresh` False): the record's detail as kept, the note (if any) in front.
    detail: str = ""
    # How the target was served when not as planned (a broadcast's script instead of its clip), "" otherwise. The
    # record keeps it in front of the message id, as it always has (`confirm`).
    note: str = ""
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
    # A month's summary, announcement or arrangement covering several activities names them all.
    acts = job.covers if len(job.covers) > 1 else ((job.activity,) if job.activity else ())
    what = job.event.name if job.event else "、".join(a.title for a in acts)
    return f"{job.month}月{names[job.kind]}：{what}"


class Stopping(LabaError):
    """The pipeline is shutting down: the delivery was not claimed."""


@dataclass
class Wire:
    """Attempts whose message is on the wire (handed to the network, not yet answered): a stop waits for them."""

    attempts: set[Attempt] = field(default_factory=set)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def mark(self, attempt: Attempt, on: bool) -> None:
        if on:
            self.attempts.add(attempt)
        else:
            self.attempts.discard(attempt)
            if not self.attempts:
                self._idle.set()

    async def drained(self) -> None:
        while self.attempts:
            self._idle.clear()
            await self._idle.wait()


class Attempt:
    """One claim on its way out: records in the store when the message is handed to the network."""

    def __init__(self, store: Store, clock: Clock, wire: Wire, claim: Claim) -> None:
        self.store = store
        self.clock = clock
        self.wire = wire
        self.claim = claim
        self.handed = False
        self.partly_sent = False  # a part (the clip before its play sheet) certainly left
        self.left_as: str | None = None  # the message id once the channel confirmed it left
        self.note = ""  # how the target is served when not as planned: see `Outcome.note`
        self.episode = ""  # the last refusal's episode (a full disk): see `Alerter.failed`

    async def handoff(self, handed: bool) -> None:
        if handed == self.handed:
            return
        self.store.mark_handed(self.claim, self.clock.now() if handed else None)
        self.handed = handed
        self.wire.mark(self, handed)

    def done(self) -> None:
        """Its outcome is recorded (or will be by `Interrupted.recover`): no longer on the wire."""
        self.wire.mark(self, False)


def confirm(store: Store, clock: Clock, claim: Claim, message_id: str, note: str = "") -> DeliveryStatus:
    """Record a handed-over message: SENT, or RELAYED when the channel queued it for the relay people. The record's
    detail is `note` (see `Outcome.note`) followed by the message id: the stored text is what it always was."""
    detail = note + message_id
    if is_relayed(message_id):
        store.mark_relayed(claim, clock.now(), detail)
        return DeliveryStatus.RELAYED
    store.mark_sent(claim, clock.now(), detail)
    return DeliveryStatus.SENT


@dataclass(frozen=True)
class Sender:
    """Sends one claimed message and records its outcome."""

    store: Store
    clock: Clock
    retry: RetryPolicy
    sleep: Sleep
    relay_failed: RelayFailed | None = None

    async def attempts(
        self,
        attempt: Attempt,
        send: Send,
        what: str,
        *,
        tries: int | None = None,
        relay: tuple[Target, str] | None = None,
    ) -> tuple[DeliveryStatus, str]:
        """The one claim → send → record path: up to `tries` attempts with backoff; records the outcome (SENT,
        RELAYED, FAILED or UNCONFIRMED) and returns it with the message id (without `attempt.note`, which the record
        keeps in front of it) or the error. When every attempt failed
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

    async def _try_sends(self, attempt: Attempt, send: Send, what: str, tries: int) -> tuple[DeliveryStatus, str]:
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
                return confirm(self.store, self.clock, attempt.claim, message_id, attempt.note), message_id
            if attempt.handed and not attempt.partly_sent:
                await attempt.handoff(False)  # the refusal is certain: nothing left in this attempt
            if permanent or number == tries:
                break
            await self.sleep(self.retry.backoff(number))
        return DeliveryStatus.FAILED, error  # recorded by `attempts`: failed, or handed to the relay
