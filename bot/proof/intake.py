"""Proof intake: photos and notes from units' contacts become ledger records; each burst of photos is acknowledged once.

An `InboundHandler` (see `bot.inbound`). For each message it decides, in this order:

1. `#绑定 <单位>` from anyone: a pending binding, told to the admins (approved with `#批准`, see `bot.proof.admin`).
2. Photos (image or file attachments) in a configured work or office group, or in a private chat, while at least
   one activity's window is open: the sender is attributed to a unit (the town's contacts by WeChat id, then
   approved bindings); the activity is the only one open for that unit, else the one the caption points at, else
   the one a text the sender sent shortly before named, else the one the sender's last photos went to (within
   `carry_over`), else the bot asks and keeps the photos pending (`bot.proof.attribution` decides).
   Each attachment is verified (`bot.proof.images`); refused ones are recorded with the reason; kept ones are
   checked for exact and near duplicates and for an EXIF time outside the activity's window (flags, not refusals).
3. Text from an attributed sender that names an open activity (`bot.proof.text_filing`): remembered for the photos
   that follow; files their pending photos under it, and moves the photos just before it that only followed the
   sender's last choice or an earlier naming (`bot.proof.attribution.refiled`); kept as a note when it talks about
   proof (照片、材料、签字 …) and says more than the activity's name (`第二轮的照片` is a caption, not a note).

Everything else (villagers' groups, unknown rooms, chat outside any window) is left to later handlers.

Acknowledgements. WeChat sends each photo of a multi-photo post as its own message, so photos are answered per
burst: the items a sender posts in one room for one unit and activity (refused files included) are held until
`IntakeSettings.ack_window` passes without another one, then answered in ONE message (what was received, the
running count, each flagged or refused item on its own line). `flush()` answers all held bursts at once; the
daemon and the sandbox call `close()` (flush, then answer at once) before the channel closes. A text, `#绑定` or
other reply to the same sender first flushes that sender's bursts, so answers keep the order of the posts.

Idempotent per inbound message: records are keyed by (message id, attachment index); a burst's acknowledgement is
sent through `Pipeline.send_now` under `proof/ack/<the burst's first message id>` and other replies under
`proof/reply/<message id>`. A message delivered again finds its records already filed and joins no burst, so it is
filed and answered once. (A hard crash inside a burst's window loses that burst's acknowledgement, not its records:
the ledger shows them.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.channels.base import Attachment, InboundMessage
from bot.channels.pacing import SendPriority
from bot.commands import reply_target, sender_is, strip_mentions
from bot.config.campaign import LoadedCampaign
from bot.core.model import Campaign, GroupKind, Unit
from bot.core.planner import Target
from bot.pipeline import Pipeline
from bot.proof.acks import Acknowledgements, Burst, BurstKey
from bot.proof.attribution import Decision, Photo, for_photo
from bot.proof.binding import BIND, BindRequests
from bot.proof.filing import PhotoFiling
from bot.proof.intake_settings import IntakeSettings
from bot.proof.recall import SenderRecall
from bot.proof.text_filing import TextFiling
from bot.proof.windows import ActivityWindow, open_for, pick, windows
from bot.reply_limits import ReplyKind
from bot.store.evidence import Evidence, EvidenceStatus, EvidenceStore

# Re-exported: the intake's settings are part of its API.
__all__ = ["IntakeSettings", "ProofIntake", "room_takes_proof"]

log = logging.getLogger(__name__)


class ProofIntake:
    """The handler: routes each message to binding, photo filing or a note, and answers through the acknowledgements
    (`bot.proof.acks`), the ledger filing (`bot.proof.filing`) and binding requests (`bot.proof.binding`)."""

    def __init__(
        self,
        current: Callable[[], LoadedCampaign],
        pipeline: Pipeline,
        evidence: EvidenceStore,
        settings: IntakeSettings | None = None,
    ) -> None:
        self._current = current
        self._pipeline = pipeline
        self.evidence = evidence
        settings = settings or IntakeSettings()
        self._settings = settings
        self._windows_for: tuple[int, tuple[ActivityWindow, ...]] | None = None
        self.acks = Acknowledgements(current, pipeline, evidence, self.windows, lambda: self._settings.ack_window)
        self.filing = PhotoFiling(evidence, lambda: self._settings, pipeline.clock.zone, self.windows)
        self.binding = BindRequests(current, pipeline, evidence, lambda: self._settings.bind_caps, self.unit_of)
        # What senders said matters as long as a naming applies or a burst follows the last choice.
        self.recall = SenderRecall(lambda: max(self._settings.timing.named_for, self._settings.carry_over))
        self.text = TextFiling(evidence, self.windows, self.acks, self.recall, lambda: self._settings)

    @property
    def settings(self) -> IntakeSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: IntakeSettings) -> None:
        self._settings = settings  # its parts read it from here

    # -- what the handler knows about the town -------------------------------------------------------------

    def windows(self) -> tuple[ActivityWindow, ...]:
        loaded = self._current()
        # Recomputed only when the daemon swapped in a reloaded plan.
        if self._windows_for is None or self._windows_for[0] != id(loaded):
            self._windows_for = (id(loaded), windows(loaded.campaign, loaded.plan))
        return self._windows_for[1]

    def unit_of(self, message: InboundMessage) -> Unit | None:
        """The unit the sender speaks for: a contact in units.yaml, else an approved binding."""
        campaign = self._current().campaign
        for u in campaign.units:
            if any(sender_is(c.wechat, message) for c in u.contacts):
                return u
        unit_id = self.evidence.approved_unit(message.sender, message.sender_wechat)
        if unit_id is not None:
            try:
                return campaign.unit(unit_id)
            except KeyError:
                log.warning("%s 的绑定指向单位 %s，units.yaml 里已经没有这个单位", message.sender, unit_id)
        return None

    def reply_target(self, message: InboundMessage) -> Target | None:
        return reply_target(self._current().campaign, message)

    def accepts_room(self, message: InboundMessage) -> bool:
        """A private chat, or a configured group that is not a villagers' group."""
        return room_takes_proof(self._current().campaign, message.group, message.room_id)

    # -- the handler ---------------------------------------------------------------------------------------

    async def handle(self, message: InboundMessage) -> bool:
        if not self.accepts_room(message):
            return False
        target = self.reply_target(message)
        if target is None:
            return False
        bind = BIND.match(strip_mentions(message.text)) if message.kind == "text" else None
        if bind:

            async def reply(lines: list[str]) -> None:
                await self._reply(message, target, lines)

            await self.binding.request(message, bind.group(1), reply)
            return True
        if message.attachments or message.kind in ("image", "file"):
            return await self._photos(message, target)
        if (
            message.kind == "text"
            and message.text.strip()
            and not strip_mentions(message.text).lstrip().startswith(("#", "＃"))
        ):
            return await self._text(message, target)
        return False

    async def _reply(self, message: InboundMessage, target: Target, lines: list[str]) -> None:
        if lines:
            await self.flush(message.sender)  # the sender's photos are answered before what they said next
            if self.unit_of(message) is None and not self._pipeline.limits.allow(
                ReplyKind.ANSWER, message.sender, target.id
            ):
                return  # a stranger repeating himself: answered enough this hour (units' contacts always are)
            key = f"proof/reply/{message.message_id}"
            await self._pipeline.send_now(target, "\n".join(lines), key, priority=SendPriority.REPLY)

    # -- acknowledgements, one per burst (`bot.proof.acks`) ----------------------------------------------------

    async def flush(self, sender: str | None = None) -> None:
        """Send the acknowledgements still waiting for their quiet window now (all, or only `sender`'s), and wait
        for those already on their way."""
        await self.acks.flush(sender)

    async def close(self) -> None:
        """Before the channel closes: flush, and from now on answer every message at once (nothing is held)."""
        await self.acks.close()

    @property
    def waiting(self) -> int:
        """How many bursts wait for their acknowledgement."""
        return self.acks.waiting

    def acknowledge(self, items: Sequence[Evidence], unit: Unit | None, count: int | None = None) -> list[str]:
        """What the sender is told about `items`; see `Acknowledgements.acknowledge`."""
        return self.acks.acknowledge(items, unit, count)

    # -- photos --------------------------------------------------------------------------------------------

    def choose(self, message: InboundMessage, candidates: list[ActivityWindow]) -> Decision:
        """Which open activity the message is for (see `bot.proof.attribution`); activity None means ask."""
        ids = [w.activity.id for w in candidates]
        caption = pick(candidates, message.text) if len(candidates) > 1 else None
        last = None
        if len(candidates) > 1:
            last = self.evidence.last_filed(message.sender, message.received_at - self.settings.carry_over)
        return for_photo(
            ids,
            message.received_at,
            caption=caption.activity.id if caption else None,
            namings=self.recall.namings(message.sender),
            memory=last.activity_id if last else None,
            timing=self.settings.timing,
        )

    async def _photos(self, message: InboundMessage, target: Target) -> bool:
        unit = self.unit_of(message)
        at = message.received_at
        candidates = open_for(self.windows(), unit.id if unit else None, at)
        if not candidates:
            return False  # outside every window: ordinary chat, not proof
        decision = self.choose(message, candidates) if unit is not None else Decision(None, None)
        chosen = next((w for w in candidates if w.activity.id == decision.activity_id), None)
        filed: list[tuple[Evidence, int]] = []
        attachments = message.attachments or (Attachment("", b""),)
        for part, attachment in enumerate(attachments, start=1):
            checked = await asyncio.to_thread(self.filing.verify, attachment)
            record, count, fresh = self.filing.file_one(message, part, attachment, unit, chosen, checked)
            if fresh:  # else a message delivered again: filed and answered with its first delivery
                filed.append((record, count))
        if filed:
            kept = [r for r, _ in filed if unit and r.status in (EvidenceStatus.ACCEPTED, EvidenceStatus.PENDING)]
            photos = (Photo(r.id, at, r.activity_id, decision.basis, decision.named_at) for r in kept)
            self.recall.remember(message.sender, at, None, *photos)
            bkey: BurstKey = (
                message.sender,
                target.id,
                unit.id if unit else None,
                chosen.activity.id if chosen else None,
            )

            def new() -> Burst:
                ask = tuple(candidates) if unit is not None and chosen is None else ()
                burst = Burst(f"proof/ack/{message.message_id}", target, message.sender_name, unit, ask)
                burst.sender = message.sender
                return burst

            await self.acks.hold(bkey, new, filed)
        return True

    def file_upload(
        self, message: InboundMessage, unit: Unit, window: ActivityWindow
    ) -> list[tuple[Evidence, int, bool]]:
        """Photos handed in on the upload page, for a unit and activity the link fixes: each attachment filed exactly
        as a chat photo is (verification, limits, duplicate and EXIF flags); (record, running count, fresh) each.
        Idempotent per (message id, attachment) like chat intake. Blocking (decode, database): not on the loop."""
        attachments = message.attachments or (Attachment("", b""),)
        return [
            self.filing.file_one(message, part, a, unit, window, self.filing.verify(a))
            for part, a in enumerate(attachments, start=1)
        ]

    async def expire_strangers(self, now: datetime) -> int:
        """Refuse the photos of people who are no unit's contact that nobody approved before the activity's
        window (due + grace) closed; how many. Called once a minute by the daemon."""
        return await asyncio.to_thread(self.filing.expire_strangers, now)

    # -- text ----------------------------------------------------------------------------------------------

    async def _text(self, message: InboundMessage, target: Target) -> bool:
        unit = self.unit_of(message)
        if unit is None:
            return False
        lines = self.text.handle(message, unit)
        if lines is None:
            return False
        await self._reply(message, target, lines)
        return True


def room_takes_proof(campaign: Campaign, group_id: str | None, room_id: str | None) -> bool:
    """May a photo posted here be proof? A private chat (no room), or a configured group that is not a villagers'
    group. The channel asks this before fetching an image, so villagers' photos are never downloaded."""
    if group_id is None:
        return room_id is None
    try:
        group, _ = campaign.group(group_id)
    except KeyError:
        return False
    return group.kind is not GroupKind.VILLAGERS
