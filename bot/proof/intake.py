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
3. Text from an attributed sender that names an open activity: remembered for the photos that follow; files
   their pending photos under it, and moves the photos just before it that only followed the sender's last choice
   or an earlier naming (`bot.proof.attribution.refiled`); kept as a note when it talks about proof (照片、材料、签字
   …) and says more than the activity's name (`第二轮的照片` is a caption, not a note).

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
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from bot.channels.base import Attachment, InboundMessage
from bot.channels.pacing import SendPriority
from bot.commands import reply_target, sender_is, strip_mentions
from bot.config.campaign import LoadedCampaign
from bot.core.model import Campaign, GroupKind, Unit
from bot.core.planner import Target, person_target
from bot.core.render import quoted
from bot.pipeline import Pipeline
from bot.proof import attribution
from bot.proof.attribution import Basis, Naming
from bot.proof.bind_caps import BindCaps, BindVerdict, judge_request
from bot.proof.images import ImageRefused, Limits, VerifiedImage, verify
from bot.proof.windows import ActivityWindow, example_reply, open_for, pick, windows
from bot.reply_limits import ReplyKind
from bot.store.base import DeliveryStatus
from bot.store.evidence import (
    Evidence,
    EvidenceStatus,
    EvidenceStore,
    Flag,
    NewEvidence,
)

log = logging.getLogger(__name__)

BIND = re.compile(r"^\s*[#＃]\s*绑定\s*(.*)$")
BIND_REFUSALS: Final = {
    BindVerdict.ALREADY_PENDING: "{name}，您申请绑定到{unit}的请求已经收到，正在等镇里管理员确认，不用再发。",
    BindVerdict.PERSON_CAP: "{name}，您今天申请绑定的次数太多了，请明天再试，或直接联系镇里管理员。",
    BindVerdict.UNIT_CAP: "{name}，{unit}已有多个绑定申请在等管理员确认，请先联系镇里管理员。",
}
PROOF_WORDS: Final = ("照片", "图片", "材料", "佐证", "签字", "台账", "资料", "说明", "记录", "提交")


@dataclass(frozen=True)
class IntakeSettings:
    limits: Limits = field(default_factory=Limits)
    near_distance: int = 6  # perceptual-hash bits that may differ for two photos to count as the same picture
    carry_over: timedelta = timedelta(hours=2)  # a sender's burst of photos follows their last choice this long
    # One acknowledgement per burst: sent once a sender has posted nothing more for this long (0: every message
    # answered at once). WeChat delivers a 9-photo post as 9 messages, about a second apart on a village network.
    ack_window: timedelta = timedelta(seconds=5)
    bind_caps: BindCaps = field(default_factory=BindCaps)
    # Photos kept in a day for someone who is no unit's contact and has no approved binding (issue 13): beyond
    # this they are refused with the reason, so a stranger can't fill the disk and the ledger.
    stranger_photos_per_day: int = 20
    # How long a text naming an activity applies to the sender's photos, and how soon after a photo a text may be its
    # caption (see `bot.proof.attribution`).
    timing: attribution.Timing = field(default_factory=attribution.Timing)


def exif_flags(flags: tuple[Flag, ...], exif_at: datetime | None, window: ActivityWindow | None) -> tuple[Flag, ...]:
    """`flags` with EXIF_OUTSIDE set or cleared for the item's (new) activity window."""
    kept = tuple(f for f in flags if f is not Flag.EXIF_OUTSIDE)
    if window is not None and exif_at is not None and not window.taken_in(exif_at):
        return (*kept, Flag.EXIF_OUTSIDE)
    return kept


def find_unit(campaign: Campaign, words: str) -> Unit | None:
    """A unit by id or name as a person types it: 长春村, 长春, changchun. None if unknown or ambiguous."""
    w = words.strip()
    if not w:
        return None
    for u in campaign.units:
        if w in (u.id, u.name):
            return u
    near = [u for u in campaign.units if u.name.startswith(w) or w.startswith(u.name)]
    return near[0] if len(near) == 1 else None


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


class ProofIntake:
    def __init__(
        self,
        current: Callable[[], LoadedCampaign],
        pipeline: Pipeline,
        evidence: EvidenceStore,
        settings: IntakeSettings = IntakeSettings(),
    ) -> None:
        self._current = current
        self._pipeline = pipeline
        self.evidence = evidence
        self.settings = settings
        self._windows_for: tuple[int, tuple[ActivityWindow, ...]] | None = None
        self._bursts: dict[BurstKey, Burst] = {}
        self._sending: set[asyncio.Task[None]] = set()  # acknowledgements whose window closed, on their way
        self._decoding = threading.Lock()  # one photo decoded at a time: the memory budget is per photo
        self._closing = False
        # What each sender recently said and how their photos were filed (in memory: after a restart photos follow
        # the last filed activity, or the bot asks).
        self._namings: dict[str, list[Naming]] = {}
        self._photos_of: dict[str, list[attribution.Photo]] = {}

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
            await self._bind(message, target, bind.group(1))
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

    # -- acknowledgements, one per burst -------------------------------------------------------------------

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

    async def _hold(
        self,
        message: InboundMessage,
        target: Target,
        unit: Unit | None,
        chosen: ActivityWindow | None,
        candidates: list[ActivityWindow],
        filed: list[tuple[Evidence, int]],
    ) -> None:
        bkey: BurstKey = (message.sender, target.id, unit.id if unit else None, chosen.activity.id if chosen else None)
        burst = self._bursts.get(bkey)
        if burst is None:
            ask = tuple(candidates) if unit is not None and chosen is None else ()
            burst = Burst(f"proof/ack/{message.message_id}", target, message.sender_name, unit, ask)
            burst.sender = message.sender
            self._bursts[bkey] = burst
        for record, count in filed:
            burst.items.append(record)
            if record.status is EvidenceStatus.ACCEPTED and record.unit_id and record.activity_id:
                burst.count = count
        if burst.timer is not None:
            burst.timer.cancel()
            burst.timer = None
        seconds = self.settings.ack_window.total_seconds()
        if seconds <= 0 or self._closing:
            del self._bursts[bkey]
            await self._acknowledge(burst)
        else:
            burst.timer = asyncio.get_running_loop().call_later(seconds, self._window_closed, bkey)

    def _unhold(self, sender: str, ids: set[int]) -> set[int]:
        """Take items a text of `sender` just filed or moved out of their held bursts (the text's reply answers them);
        the ids of those that were held, not yet acknowledged."""
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
                        "acknowledgement %s to %s %s: %s",
                        burst.key,
                        burst.target.name,
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
        lines = self.acknowledge(items, burst.unit, burst.count)
        pending = [r for r in items if r.status is EvidenceStatus.PENDING]
        if pending and burst.unit is None:
            lines.append(
                f"{burst.sender_name}，我还不知道您是哪个单位的，照片先存着。"
                f"请发“#绑定 单位名称”（例如 #绑定 {self._current().campaign.units[0].name}），"
                "管理员确认后就记到该单位。"
            )
        elif pending and burst.ask:
            options = "、".join(quoted(w.label) for w in burst.ask)
            example = example_reply(burst.ask, burst.ask[0])
            lines.append(
                f"现在有 {len(burst.ask)} 项活动在收材料：{options}。请回一句是哪项活动的，例如{quoted(example)}。"
            )
        return lines

    def acknowledge(self, items: Sequence[Evidence], unit: Unit | None, count: int | None = None) -> list[str]:
        """What the sender is told about `items` (a burst, or the photos a text just filed): per activity one line
        with the photos received and the unit's running count (`count` if already known), a line per flagged
        photo, a line per refused file (numbered by its place among `items`), a line for the photos kept pending."""
        lines: list[str] = []
        filed: dict[str, list[Evidence]] = {}
        for r in items:
            if r.status is EvidenceStatus.ACCEPTED and unit is not None and r.activity_id is not None:
                filed.setdefault(r.activity_id, []).append(r)
        for activity_id, records in filed.items():
            assert unit is not None
            window = self._window(activity_id)
            label = window.label if window else activity_id
            n = count if count is not None and len(filed) == 1 else self.evidence.count(activity_id, unit.id)
            ids = numbers(r.id for r in records)
            line = f"已收到 {unit.name} {label} 照片 {len(records)} 张（编号 {ids}），累计 {n} 张"
            if window and n < window.min_photos:
                line += f"，还差 {window.min_photos - n} 张"
            lines.append(line + "。")
            for r in records:
                notes = []
                if Flag.DUPLICATE in r.flags:
                    notes.append(f"和编号 {r.duplicate_of} 是同一张照片，不重复计数")
                elif Flag.NEAR_DUPLICATE in r.flags:
                    notes.append(f"和编号 {r.duplicate_of} 的照片几乎一样，不重复计数")
                if Flag.EXIF_OUTSIDE in r.flags and r.exif_at is not None:
                    notes.append(f"拍摄时间是 {r.exif_at:%Y年%-m月%-d日}，不在活动期间，已标记由镇里核对")
                if notes:
                    lines.append(f"编号 {r.id} " + "；".join(notes) + "。")
        refused = [(place, r) for place, r in enumerate(items, start=1) if r.status is EvidenceStatus.REFUSED]
        for place, r in refused:
            lines.append(f"第 {place} 个文件没有收下：{r.reason}。")
        if any(r.kind == "file" for _, r in refused):  # not a photo we could take (a photo not stored: send again)
            lines[-1] += "请发照片（jpg、png）。"
        kept = [
            r
            for r in items
            if r.status is EvidenceStatus.PENDING
            or (r.status is EvidenceStatus.ACCEPTED and (unit is None or r.activity_id is None))
        ]
        if kept:
            lines.append(f"照片 {len(kept)} 张已暂存（编号 {numbers(r.id for r in kept)}）。")
        return lines

    # -- #绑定 ---------------------------------------------------------------------------------------------

    async def _bind(self, message: InboundMessage, target: Target, words: str) -> None:
        campaign = self._current().campaign
        unit = find_unit(campaign, words)
        if unit is None:
            example = campaign.units[0].name
            await self._reply(message, target, [f"没有找到单位“{words.strip()}”。请写全称，例如：#绑定 {example}"])
            return
        current = self.unit_of(message)
        if current is not None and current.id == unit.id:
            said = f"{message.sender_name}，您已经是{unit.name}的联系人，直接发照片就行。"
            await self._reply(message, target, [said])
            return
        recorded = await asyncio.to_thread(self.evidence.bindings)
        verdict = judge_request(
            recorded,
            sender=message.sender,
            sender_wechat=message.sender_wechat,
            unit_id=unit.id,
            message_id=message.message_id,
            at=message.received_at,
            caps=self.settings.bind_caps,
        )
        if verdict is not BindVerdict.NEW:
            log.warning("#绑定 from %s for %s not recorded: %s", message.sender, unit.id, verdict.value)
            await self._reply(
                message, target, [BIND_REFUSALS[verdict].format(name=message.sender_name, unit=unit.name)]
            )
            return
        binding, fresh = self.evidence.request_binding(
            sender=message.sender,
            sender_wechat=message.sender_wechat,
            sender_name=message.sender_name,
            unit_id=unit.id,
            message_id=message.message_id,
            at=message.received_at,
        )
        said = f"{message.sender_name}，已申请绑定到{unit.name}，等镇里管理员确认后，您发的照片会记到{unit.name}。"
        await self._reply(message, target, [said])
        if fresh or binding.status.value == "pending":
            text = (
                f"【台账】{message.sender_name}（微信 {message.sender_wechat or message.sender}）申请绑定到{unit.name}"
                f"（申请编号 {binding.id}）。\n同意请回复：#批准 {binding.id}\n不同意请回复：#拒绝 {binding.id}"
            )
            for admin in campaign.admins:
                key = f"proof/bind/{binding.id}"
                await self._pipeline.send_now(person_target(admin), text, key, priority=SendPriority.ALERT)

    # -- photos --------------------------------------------------------------------------------------------

    def choose(self, message: InboundMessage, candidates: list[ActivityWindow]) -> attribution.Decision:
        """Which open activity the message is for (see `bot.proof.attribution`); activity None means ask."""
        ids = [w.activity.id for w in candidates]
        caption = pick(candidates, message.text) if len(candidates) > 1 else None
        last = None
        if len(candidates) > 1:
            last = self.evidence.last_filed(message.sender, message.received_at - self.settings.carry_over)
        return attribution.for_photo(
            ids,
            message.received_at,
            caption=caption.activity.id if caption else None,
            namings=self._namings.get(message.sender, ()),
            memory=last.activity_id if last else None,
            timing=self.settings.timing,
        )

    def _remember(self, sender: str, at: datetime, naming: Naming | None = None, *photos: attribution.Photo) -> None:
        """Keep what `sender` said and how their photos were filed for the attribution of what follows, and forget
        what is too old to matter, everyone's (photos still waiting for an answer are in the ledger as pending)."""
        since = at - max(self.settings.timing.named_for, self.settings.carry_over)
        namings = {s: [n for n in said if n.at >= since] for s, said in self._namings.items()}
        namings.setdefault(sender, []).extend([naming] if naming else [])
        self._namings = {s: said for s, said in namings.items() if said}
        known = {s: {p.evidence_id: p for p in filed if p.at >= since} for s, filed in self._photos_of.items()}
        known.setdefault(sender, {}).update((p.evidence_id, p) for p in photos)
        self._photos_of = {s: list(filed.values()) for s, filed in known.items() if filed}

    async def _photos(self, message: InboundMessage, target: Target) -> bool:
        unit = self.unit_of(message)
        at = message.received_at
        candidates = open_for(self.windows(), unit.id if unit else None, at)
        if not candidates:
            return False  # outside every window: ordinary chat, not proof
        decision = self.choose(message, candidates) if unit is not None else attribution.Decision(None, None)
        chosen = next((w for w in candidates if w.activity.id == decision.activity_id), None)
        filed: list[tuple[Evidence, int]] = []
        attachments = message.attachments or (Attachment("", b""),)
        for part, attachment in enumerate(attachments, start=1):
            checked = await asyncio.to_thread(self._verify, attachment)
            record, count, fresh = self._file_one(message, part, attachment, unit, chosen, checked)
            if fresh:  # else a message delivered again: filed and answered with its first delivery
                filed.append((record, count))
        if filed:
            kept = [r for r, _ in filed if r.status in (EvidenceStatus.ACCEPTED, EvidenceStatus.PENDING)]
            self._remember(
                message.sender,
                at,
                None,
                *(attribution.Photo(r.id, at, r.activity_id, decision.basis, decision.named_at) for r in kept if unit),
            )
            await self._hold(message, target, unit, chosen, candidates, filed)
        return True

    def _verify(self, attachment: Attachment) -> VerifiedImage | ImageRefused:
        """The photo described, or why it is refused. Run in a worker thread, one photo at a time: each decode may
        take up to the memory budget (`Limits.max_decode_bytes`)."""
        with self._decoding:
            try:
                zone = self._pipeline.clock.zone
                return verify(attachment.data, self.settings.limits, zone, attachment.unfetched_size)
            except ImageRefused as exc:
                return exc

    def file_upload(
        self, message: InboundMessage, unit: Unit, window: ActivityWindow
    ) -> list[tuple[Evidence, int, bool]]:
        """Photos handed in on the upload page, for a unit and activity the link fixes: each attachment filed exactly
        as a chat photo is (verification, limits, duplicate and EXIF flags); (record, running count, fresh) each.
        Idempotent per (message id, attachment) like chat intake. Blocking (decode, database): not on the loop."""
        attachments = message.attachments or (Attachment("", b""),)
        return [
            self._file_one(message, part, a, unit, window, self._verify(a))
            for part, a in enumerate(attachments, start=1)
        ]

    def _file_one(
        self,
        message: InboundMessage,
        part: int,
        attachment: Attachment,
        unit: Unit | None,
        chosen: ActivityWindow | None,
        checked: VerifiedImage | ImageRefused,
    ) -> tuple[Evidence, int, bool]:
        """File one attachment: (record, the unit's running count after it or 0, whether it is new). Every
        attachment ends recorded: accepted or pending, or refused with the reason the sender is told."""
        base = NewEvidence(
            message_id=message.message_id,
            part=part,
            kind="photo",
            sender=message.sender,
            sender_name=message.sender_name,
            received_at=message.received_at,
            status=EvidenceStatus.PENDING,
            unit_id=unit.id if unit else None,
            activity_id=chosen.activity.id if chosen and unit else None,
            group_id=message.group,
            size=max(len(attachment.data), attachment.unfetched_size or 0),
            text=message.text,
        )
        if isinstance(checked, ImageRefused):
            refused = replace(base, kind="file", status=EvidenceStatus.REFUSED, reason=checked.reason)
            kept, fresh = self.evidence.add(refused)
            return kept, 0, fresh
        image = checked
        if unit is None and self._stranger_quota_spent(message):
            reason = (
                f"您还不是任何单位的联系人，一天最多暂存 {self.settings.stranger_photos_per_day} 张照片；"
                "请先发“#绑定 单位名称”，管理员确认后再发"
            )
            kept, fresh = self.evidence.add(replace(base, status=EvidenceStatus.REFUSED, reason=reason))
            return kept, 0, fresh
        try:
            self.evidence.files.put(image.sha256, image.extension, attachment.data)
        except OSError as exc:  # a full disk above all: the photo is refused, and the sender told to send again
            log.error("照片 %s/%d 没能存下：%s", message.message_id, part, exc)
            reason = "照片没能存下（服务器磁盘写不进），请过一会儿再发一次"
            kept, fresh = self.evidence.add(replace(base, status=EvidenceStatus.REFUSED, reason=reason))
            return kept, 0, fresh
        flags = exif_flags((), image.exif_at, chosen)
        status = EvidenceStatus.ACCEPTED if base.unit_id and base.activity_id else EvidenceStatus.PENDING
        record = replace(
            base,
            status=status,
            exif_at=image.exif_at,
            sha256=image.sha256,
            phash=image.phash,
            ext=image.extension,
            width=image.width,
            height=image.height,
            flags=tuple(flags),
        )
        # Duplicates are found inside the filing transaction. A message delivered twice finds its own first copy
        # there; the first record is then kept as it was.
        filed, fresh, count = self.evidence.intake(record, self.settings.near_distance)
        return filed, count, fresh

    async def expire_strangers(self, now: datetime) -> int:
        """Refuse the photos of people who are no unit's contact that nobody approved before the activity's
        window (due + grace) closed; how many. Called once a minute by the daemon."""
        return await asyncio.to_thread(self._expire_strangers, now)

    def _expire_strangers(self, now: datetime) -> int:
        all_windows = self.windows()
        expired = 0
        for item in self.evidence.items():
            if item.status is not EvidenceStatus.PENDING or item.unit_id is not None:
                continue
            closes = [w.closes for w in open_for(all_windows, None, item.received_at)]
            if now > max(closes, default=item.received_at):
                why = "发照片的人没有绑定单位，活动截止前也没有管理员确认，这张照片不再计入"
                self.evidence.expire(item.id, at=now, reason=why)
                expired += 1
        if expired:
            log.warning("%d 张未绑定单位的人发的照片过了截止时间，已不再保留待确认", expired)
        return expired

    def _stranger_quota_spent(self, message: InboundMessage) -> bool:
        since = message.received_at - timedelta(days=1)
        held = [e for e in self.evidence.pending(message.sender) if e.unit_id is None and e.received_at > since]
        return len(held) >= self.settings.stranger_photos_per_day

    def _window(self, activity_id: str) -> ActivityWindow | None:
        return next((w for w in self.windows() if w.activity.id == activity_id), None)

    # -- text ----------------------------------------------------------------------------------------------

    async def _text(self, message: InboundMessage, target: Target) -> bool:
        unit = self.unit_of(message)
        if unit is None:
            return False
        at = message.received_at
        candidates = open_for(self.windows(), unit.id, at)
        if not candidates:
            return False
        pending = [r for r in self.evidence.pending(message.sender) if r.unit_id in (None, unit.id)]
        named = pick(candidates, message.text)
        chosen = named or (candidates[0] if len(candidates) == 1 and pending else None)
        if chosen is None:
            return False
        naming = Naming(at, chosen.activity.id, attribution.points_forward(message.text))
        if named is not None:
            self._remember(message.sender, at, naming)
        if naming.forward and len(candidates) > 1:
            pending = []  # 下面是第一轮的: about the photos to come, not those waiting for an answer
        waiting = {r.id for r in pending}
        recent = [p for p in self._photos_of.get(message.sender, ()) if p.evidence_id not in waiting]
        was = {p.evidence_id: p.activity_id for p in recent}
        moving = [self.evidence.get(i) for i in attribution.refiled(naming, recent, self.settings.timing)]
        moved = [  # as intake filed them: not since rejected or moved by an admin
            r
            for r in moving
            if r and r.unit_id == unit.id and r.status is EvidenceStatus.ACCEPTED and r.activity_id == was[r.id]
        ]
        about_proof = any(w in message.text for w in PROOF_WORDS)
        keep_note = about_proof and not attribution.is_caption(message.text, chosen.activity.title, chosen.activity.id)
        if not pending and not moved and not keep_note:
            return False
        actor = message.sender_name or message.sender
        updated: list[Evidence] = []
        for r in pending:
            updated.append(
                self.evidence.file(
                    r.id,
                    activity_id=chosen.activity.id,
                    unit_id=unit.id,
                    actor=actor,
                    at=at,
                    why=f"发送人说明：{message.text[:40]}",
                    flags=exif_flags(r.flags, r.exif_at, chosen),
                )
            )
        for r in moved:  # they only followed the sender's last choice or an earlier naming: this text is theirs
            updated.append(
                self.evidence.reassign(
                    r.id,
                    unit_id=unit.id,
                    activity_id=chosen.activity.id,
                    actor=actor,
                    at=at,
                    flags=exif_flags(r.flags, r.exif_at, chosen),
                )
            )
        self._remember(
            message.sender,
            at,
            None,
            *(attribution.Photo(r.id, r.received_at, r.activity_id, Basis.AFTER) for r in updated),
        )
        held = self._unhold(message.sender, {r.id for r in updated})
        told = [r for r in updated if r.id not in held and r.id not in waiting]  # acknowledged under another activity
        lines = self.acknowledge([r for r in updated if r not in told], unit)
        if told:
            n = self.evidence.count(chosen.activity.id, unit.id)
            line = f"{unit.name} 编号 {numbers(r.id for r in told)} 的照片已改记到 {chosen.label}，累计 {n} 张"
            if n < chosen.min_photos:
                line += f"，还差 {chosen.min_photos - n} 张"
            lines.append(line + "。")
        if keep_note:
            note, _ = self.evidence.add(
                NewEvidence(
                    message_id=message.message_id,
                    part=0,
                    kind="note",
                    sender=message.sender,
                    sender_name=message.sender_name,
                    received_at=message.received_at,
                    status=EvidenceStatus.ACCEPTED,
                    activity_id=chosen.activity.id,
                    unit_id=unit.id,
                    group_id=message.group,
                    size=len(message.text.encode()),
                    text=message.text,
                )
            )
            lines.append(f"已收到 {unit.name} {chosen.label} 文字说明（编号 {note.id}）。")
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
