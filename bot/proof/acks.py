"""Acknowledgements of proof: one message per burst of photos, saying what was received, counted, flagged or refused.

WeChat sends each photo of a multi-photo post as its own message, so photos are answered per burst: the items a
sender posts in one room for one unit and activity (refused files included) are held until the quiet window passes
without another one, then answered in ONE message under `proof/ack/<the burst's first message id>`. Its wording is
`messages/proof_ack.j2`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from bot.channels.pacing import SendPriority
from bot.config.campaign import LoadedCampaign
from bot.core.model import Unit
from bot.core.planner import Target
from bot.pipeline import Pipeline
from bot.proof.windows import ActivityWindow, example_reply
from bot.reply_limits import ReplyKind
from bot.store.base import DeliveryStatus
from bot.store.evidence import Evidence, EvidenceStatus, EvidenceStore, Flag

log = logging.getLogger(__name__)

TEMPLATE: Final = "proof_ack"


def numbers(ids: Iterable[int]) -> str:
    """ "3", "3、4", "3～6、9": ascending ids, runs of three or more as a range."""
    runs: list[list[int]] = []
    for i in sorted(set(ids)):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    parts = [f"{r[0]}～{r[-1]}" if len(r) > 2 else "、".join(str(i) for i in r) for r in runs]
    return "、".join(parts)


# Whose items a burst gathers: (sender, reply target id, unit id, activity id); None while unknown.
BurstKey = tuple[str, str, str | None, str | None]


@dataclass
class Burst:
    """Items one sender posted in a row, waiting for their one acknowledgement."""

    key: str  # the acknowledgement's delivery key: proof/ack/<first message id>
    target: Target
    sender_name: str
    unit: Unit | None
    ask: tuple[ActivityWindow, ...] = ()  # the open activities to ask between when the activity is not known
    items: list[Evidence] = field(default_factory=list)
    count: int | None = None  # the unit's running count as of the last accepted photo
    timer: asyncio.TimerHandle | None = None
    sender: str = ""  # the network's contact id, for the strangers' reply limit


class Acknowledgements:
    """Holds bursts until their quiet window closes and answers each once (never raises into the intake)."""

    def __init__(
        self,
        current: Callable[[], LoadedCampaign],
        pipeline: Pipeline,
        evidence: EvidenceStore,
        windows: Callable[[], tuple[ActivityWindow, ...]],
        ack_window: Callable[[], timedelta],
    ) -> None:
        self._current = current
        self._pipeline = pipeline
        self.evidence = evidence
        self._windows = windows
        self._ack_window = ack_window  # read at each burst: the intake's settings may be changed
        self._bursts: dict[BurstKey, Burst] = {}
        self._sending: set[asyncio.Task[None]] = set()  # acknowledgements whose window closed, on their way
        self._closing = False

    async def flush(self, sender: str | None = None) -> None:
        """Send the acknowledgements still waiting for their quiet window now (all, or only `sender`'s), and wait
        for those already on their way."""
        for bkey in [k for k in self._bursts if sender is None or k[0] == sender]:
            burst = self._bursts.pop(bkey, None)  # None: its window closed while an earlier one was being sent
            if burst is None:
                continue
            if burst.timer is not None:
                burst.timer.cancel()
            await self._acknowledge(burst)
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def close(self) -> None:
        """Before the channel closes: flush, and from now on answer every message at once (nothing is held)."""
        self._closing = True
        await self.flush()

    @property
    def waiting(self) -> int:
        """How many bursts wait for their acknowledgement."""
        return len(self._bursts)

    async def hold(
        self,
        bkey: BurstKey,
        new: Callable[[], Burst],
        filed: list[tuple[Evidence, int]],
    ) -> None:
        """Add freshly filed items to the burst `bkey` (made by `new` if none is open) and restart its window."""
        burst = self._bursts.get(bkey)
        if burst is None:
            burst = self._bursts[bkey] = new()
        for record, count in filed:
            burst.items.append(record)
            if record.status is EvidenceStatus.ACCEPTED and record.unit_id and record.activity_id:
                burst.count = count
        if burst.timer is not None:
            burst.timer.cancel()
            burst.timer = None
        seconds = self._ack_window().total_seconds()
        if seconds <= 0 or self._closing:
            del self._bursts[bkey]
            await self._acknowledge(burst)
        else:
            burst.timer = asyncio.get_running_loop().call_later(seconds, self._window_closed, bkey)

    def unhold(self, sender: str, ids: set[int]) -> set[int]:
        """Take items a text of `sender` just filed or moved out of their held bursts (the text's reply answers
        them); the ids of those that were held, not yet acknowledged."""
        held: set[int] = set()
        for bkey, burst in list(self._bursts.items()):
            if bkey[0] != sender or not any(r.id in ids for r in burst.items):
                continue
            held.update(r.id for r in burst.items if r.id in ids)
            burst.items = [r for r in burst.items if r.id not in ids]
            burst.count = None  # the running count changed with the move
            if not burst.items:
                if burst.timer is not None:
                    burst.timer.cancel()
                del self._bursts[bkey]
        return held

    def _window_closed(self, bkey: BurstKey) -> None:
        burst = self._bursts.pop(bkey, None)
        if burst is None:
            return
        task = asyncio.get_running_loop().create_task(self._acknowledge(burst))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _acknowledge(self, burst: Burst) -> None:
        """Send the burst's one message (never raises: a failure is in the delivery record and the log)."""
        try:
            lines = self._burst_lines(burst)
            if (
                lines
                and burst.unit is None
                and not self._pipeline.limits.allow(ReplyKind.ANSWER, burst.sender, burst.target.id)
            ):
                return  # a stranger's photos: recorded (with any reason), answered enough this hour
            if lines:
                text = "\n".join(lines)
                outcome = await self._pipeline.send_now(burst.target, text, burst.key, priority=SendPriority.REPLY)
                if outcome.fresh and outcome.status is not DeliveryStatus.SENT:  # failed, or maybe not delivered
                    log.error(
                        "给 %s 的收到回复（%s）没发成：%s，%s",
                        burst.target.name,
                        burst.key,
                        outcome.status.value,
                        outcome.detail,
                    )
        except Exception:
            log.exception("给 %s 的回执 %s 没能发出", burst.target.name, burst.key)

    def _burst_lines(self, burst: Burst) -> list[str]:
        items = burst.items
        if any(r.status is EvidenceStatus.PENDING for r in items):
            # Pending photos may have been filed meanwhile (the sender named the activity, a binding was approved):
            # those were answered then.
            waiting = EvidenceStatus.PENDING
            still = {
                r.id
                for r in items
                if r.status is waiting and (now := self.evidence.get(r.id)) and now.status is waiting
            }
            items = [r for r in items if r.status is not waiting or r.id in still]
        facts = self.facts(items, burst.unit, burst.count)
        if any(r.status is EvidenceStatus.PENDING for r in items):
            if burst.unit is None:
                example = self._current().campaign.units[0].name
                facts["stranger"] = {"name": burst.sender_name, "example": example}
            elif burst.ask:
                example = example_reply(burst.ask, burst.ask[0])
                facts["ask"] = {"options": [w.label for w in burst.ask], "example": example}
        return self.render(facts)

    def acknowledge(self, items: Sequence[Evidence], unit: Unit | None, count: int | None = None) -> list[str]:
        """What the sender is told about `items` (a burst, or the photos a text just filed), as lines of
        `messages/proof_ack.j2`; see `facts`."""
        return self.render(self.facts(items, unit, count))

    def render(self, facts: Mapping[str, Any]) -> list[str]:
        """`messages/proof_ack.j2` with `facts`, line by line (no lines: nothing to say)."""
        return self._current().renderer.render_named(TEMPLATE, facts).splitlines()

    def facts(self, items: Sequence[Evidence], unit: Unit | None, count: int | None = None) -> dict[str, Any]:
        """The acknowledgement's variables for `items`: per activity the photos received and the unit's running
        count (`count` if already known) with each flagged photo, each refused file (numbered by its place among
        `items`), the photos kept pending; no note, stranger or question (the caller adds those)."""
        filed: dict[str, list[Evidence]] = {}
        for r in items:
            if r.status is EvidenceStatus.ACCEPTED and unit is not None and r.activity_id is not None:
                filed.setdefault(r.activity_id, []).append(r)
        activities = []
        for activity_id, records in filed.items():
            assert unit is not None
            n = count if count is not None and len(filed) == 1 else self.evidence.count(activity_id, unit.id)
            activities.append(self._filed(unit, activity_id, records, n))
        refused = [(place, r) for place, r in enumerate(items, start=1) if r.status is EvidenceStatus.REFUSED]
        kept = [
            r
            for r in items
            if r.status is EvidenceStatus.PENDING
            or (r.status is EvidenceStatus.ACCEPTED and (unit is None or r.activity_id is None))
        ]
        return {
            "filed": activities,
            "refused": [{"place": place, "reason": r.reason} for place, r in refused],
            # Not a photo we could take (a photo not stored: send again).
            "not_photo": any(r.kind == "file" for _, r in refused),
            "kept": {"count": len(kept), "ids": numbers(r.id for r in kept)} if kept else None,
            "note": None,
            "moved": None,
            "stranger": None,
            "ask": None,
        }

    def _filed(self, unit: Unit, activity_id: str, records: list[Evidence], n: int) -> dict[str, Any]:
        """The photos filed under one activity: received and counted, and each flagged photo."""
        window = next((w for w in self._windows() if w.activity.id == activity_id), None)
        flagged = []
        for r in records:
            duplicate, near = Flag.DUPLICATE in r.flags, Flag.NEAR_DUPLICATE in r.flags
            exif_at = r.exif_at if Flag.EXIF_OUTSIDE in r.flags else None
            if duplicate or near or exif_at is not None:
                flagged.append(
                    {
                        "id": r.id,
                        "duplicate": duplicate,
                        "near": near,
                        "duplicate_of": r.duplicate_of,
                        "exif_at": exif_at,
                    }
                )
        return {
            "unit": unit.name,
            "label": window.label if window else activity_id,
            "photos": len(records),
            "ids": numbers(r.id for r in records),
            "total": n,
            "missing": window.min_photos - n if window and n < window.min_photos else 0,
            "flagged": flagged,
        }
