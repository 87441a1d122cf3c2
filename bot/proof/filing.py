"""Filing photos as proof: each attachment verified, stored and recorded in the evidence ledger exactly once.

Every attachment ends recorded: accepted or pending, or refused with the reason the sender is told. Kept photos are
checked for exact and near duplicates and for an EXIF time outside the activity's window (flags, not refusals).
Idempotent per (message id, attachment index). Blocking (decode, disk, database): callers keep it off the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from bot.channels.base import Attachment, InboundMessage
from bot.core.model import Unit
from bot.proof.images import ImageRefused, VerifiedImage, verify
from bot.proof.intake_settings import IntakeSettings
from bot.proof.windows import ActivityWindow, open_for
from bot.store.evidence import Evidence, EvidenceStatus, EvidenceStore, Flag, NewEvidence

log = logging.getLogger(__name__)


def exif_flags(flags: tuple[Flag, ...], exif_at: datetime | None, window: ActivityWindow | None) -> tuple[Flag, ...]:
    """`flags` with EXIF_OUTSIDE set or cleared for the item's (new) activity window."""
    kept = tuple(f for f in flags if f is not Flag.EXIF_OUTSIDE)
    if window is not None and exif_at is not None and not window.taken_in(exif_at):
        return (*kept, Flag.EXIF_OUTSIDE)
    return kept


class PhotoFiling:
    def __init__(
        self,
        evidence: EvidenceStore,
        settings: Callable[[], IntakeSettings],
        zone: tzinfo,
        windows: Callable[[], tuple[ActivityWindow, ...]],
    ) -> None:
        self.evidence = evidence
        self._settings = settings  # read at each use: the intake's settings may be changed
        self._zone = zone
        self._windows = windows
        self._decoding = threading.Lock()  # one photo decoded at a time: the memory budget is per photo

    def verify(self, attachment: Attachment) -> VerifiedImage | ImageRefused:
        """The photo described, or why it is refused. Run in a worker thread, one photo at a time: each decode may
        take up to the memory budget (`Limits.max_decode_bytes`)."""
        with self._decoding:
            try:
                return verify(attachment.data, self._settings().limits, self._zone, attachment.unfetched_size)
            except ImageRefused as exc:
                return exc

    def file_one(
        self,
        message: InboundMessage,
        part: int,
        attachment: Attachment,
        unit: Unit | None,
        chosen: ActivityWindow | None,
        checked: VerifiedImage | ImageRefused,
    ) -> tuple[Evidence, int, bool]:
        """File one attachment: (record, the unit's running count after it or 0, whether it is new)."""
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
            return self._refuse(replace(base, kind="file"), checked.reason)
        if unit is None and self._stranger_quota_spent(message):
            reason = (
                f"您还不是任何单位的联系人，一天最多暂存 {self._settings().stranger_photos_per_day} 张照片；"
                "请先发“#绑定 单位名称”，管理员确认后再发"
            )
            return self._refuse(base, reason)
        try:
            self.evidence.files.put(checked.sha256, checked.extension, attachment.data)
        except OSError as exc:  # a full disk above all: the photo is refused, and the sender told to send again
            log.error("照片 %s/%d 没能存下：%s", message.message_id, part, exc)
            return self._refuse(base, "照片没能存下（服务器磁盘写不进），请过一会儿再发一次")
        return self._file_kept(base, checked, chosen)

    def _refuse(self, base: NewEvidence, reason: str) -> tuple[Evidence, int, bool]:
        kept, fresh = self.evidence.add(replace(base, status=EvidenceStatus.REFUSED, reason=reason))
        return kept, 0, fresh

    def _file_kept(
        self, base: NewEvidence, image: VerifiedImage, chosen: ActivityWindow | None
    ) -> tuple[Evidence, int, bool]:
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
        filed, fresh, count = self.evidence.intake(record, self._settings().near_distance)
        return filed, count, fresh

    def expire_strangers(self, now: datetime) -> int:
        """Refuse the photos of people who are no unit's contact that nobody approved before the activity's
        window (due + grace) closed; how many."""
        all_windows = self._windows()
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
        return len(held) >= self._settings().stranger_photos_per_day
