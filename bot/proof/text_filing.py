"""A unit's text that names an open activity: files the sender's waiting photos under it, moves the photos just
before it that only followed a guess (`bot.proof.refiled`), and keeps it as a note when it says more
than the activity's name. The reply's facts go to `messages/proof_ack.j2` like every acknowledgement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from bot.channels.base import InboundMessage
from bot.core.model import Unit
from bot.proof.acks import Acknowledgements, numbers
from bot.proof.attribution import Basis, Naming, Photo, is_caption, points_forward, refiled
from bot.proof.filing import exif_flags
from bot.proof.intake_settings import IntakeSettings
from bot.proof.recall import SenderRecall
from bot.proof.windows import ActivityWindow, open_for, pick
from bot.store.evidence import Evidence, EvidenceStatus, EvidenceStore, NewEvidence

PROOF_WORDS: Final = ("照片", "图片", "材料", "佐证", "签字", "台账", "资料", "说明", "记录", "提交")


class TextFiling:
    def __init__(
        self,
        evidence: EvidenceStore,
        windows: Callable[[], tuple[ActivityWindow, ...]],
        acks: Acknowledgements,
        recall: SenderRecall,
        settings: Callable[[], IntakeSettings],
    ) -> None:
        self.evidence = evidence
        self._windows = windows
        self._acks = acks
        self._recall = recall
        self._settings = settings

    def handle(self, message: InboundMessage, unit: Unit) -> list[str] | None:
        """The reply's lines, or None when the text is not about proof (left to later handlers)."""
        at = message.received_at
        candidates = open_for(self._windows(), unit.id, at)
        if not candidates:
            return None
        pending = [r for r in self.evidence.pending(message.sender) if r.unit_id in (None, unit.id)]
        named = pick(candidates, message.text)
        chosen = named or (candidates[0] if len(candidates) == 1 and pending else None)
        if chosen is None:
            return None
        naming = Naming(at, chosen.activity.id, points_forward(message.text))
        if named is not None:
            self._recall.remember(message.sender, at, naming)
        if naming.forward and len(candidates) > 1:
            pending = []  # 下面是第一轮的: about the photos to come, not those waiting for an answer
        waiting = {r.id for r in pending}
        moved = self._movable(message.sender, unit, naming, waiting)
        about_proof = any(w in message.text for w in PROOF_WORDS)
        keep_note = about_proof and not is_caption(message.text, chosen.activity.title, chosen.activity.id)
        if not pending and not moved and not keep_note:
            return None
        updated = self._file(message, unit, chosen, pending, moved)
        held = self._acks.unhold(message.sender, {r.id for r in updated})
        told = [r for r in updated if r.id not in held and r.id not in waiting]  # acknowledged under another activity
        facts = self._acks.facts([r for r in updated if r not in told], unit)
        if told:
            n = self.evidence.count(chosen.activity.id, unit.id)
            missing = max(0, chosen.min_photos - n)
            ids = numbers(r.id for r in told)
            facts["moved"] = {"unit": unit.name, "ids": ids, "label": chosen.label, "total": n, "missing": missing}
        if keep_note:
            note = self._note(message, unit, chosen)
            facts["note"] = {"unit": unit.name, "label": chosen.label, "id": note.id}
        return self._acks.render(facts)

    def _movable(self, sender: str, unit: Unit, naming: Naming, waiting: set[int]) -> list[Evidence]:
        """The sender's recent photos this naming moves, as intake filed them: not since rejected or moved by an
        admin (an admin's decision stands)."""
        recent = [p for p in self._recall.photos(sender) if p.evidence_id not in waiting]
        was = {p.evidence_id: p.activity_id for p in recent}
        moving = [self.evidence.get(i) for i in refiled(naming, recent, self._settings().timing)]
        return [
            r
            for r in moving
            if r and r.unit_id == unit.id and r.status is EvidenceStatus.ACCEPTED and r.activity_id == was[r.id]
        ]

    def _file(
        self,
        message: InboundMessage,
        unit: Unit,
        chosen: ActivityWindow,
        pending: list[Evidence],
        moved: list[Evidence],
    ) -> list[Evidence]:
        at, actor = message.received_at, message.sender_name or message.sender
        updated = [
            self.evidence.file(
                r.id,
                activity_id=chosen.activity.id,
                unit_id=unit.id,
                actor=actor,
                at=at,
                why=f"发送人说明：{message.text[:40]}",
                flags=exif_flags(r.flags, r.exif_at, chosen),
            )
            for r in pending
        ]
        updated += [  # they only followed the sender's last choice or an earlier naming: this text is theirs
            self.evidence.reassign(
                r.id,
                unit_id=unit.id,
                activity_id=chosen.activity.id,
                actor=actor,
                at=at,
                flags=exif_flags(r.flags, r.exif_at, chosen),
            )
            for r in moved
        ]
        photos = (Photo(r.id, r.received_at, r.activity_id, Basis.AFTER) for r in updated)
        self._recall.remember(message.sender, at, None, *photos)
        return updated

    def _note(self, message: InboundMessage, unit: Unit, chosen: ActivityWindow) -> Evidence:
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
        return note
