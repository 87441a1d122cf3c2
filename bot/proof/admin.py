"""The ledger's admin commands in chat: `#批准` / `#拒绝` a binding, `#驳回` / `#改派` a submission.

Only the town's admins (town.yaml `admins`, matched by WeChat id) may use them; anyone else gets a polite no.
Each command is answered once where it was sent (keyed by the inbound message id), and acted on once: a message
delivered twice finds its answer already recorded and does nothing. Every change goes to the ledger's log with the
admin's name and the time (see `bot.store.evidence`). The same operations back the CLI (`laba ledger ...`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.channels.base import InboundMessage
from bot.commands import Command, CommandHandler
from bot.config.campaign import LoadedCampaign
from bot.core.command_texts import example_unit
from bot.pipeline import Pipeline
from bot.proof.binding import find_unit
from bot.proof.filing import exif_flags
from bot.proof.intake import ProofIntake
from bot.proof.windows import open_for, pick
from bot.store.evidence import Binding, BindingStatus, Evidence, EvidenceStatus

COMMAND = re.compile(r"^\s*[#＃]\s*(批准|同意|拒绝|驳回|改派)\s*(.*)$", re.S)


@dataclass(frozen=True)
class Result:
    ok: bool
    text: str


class LedgerActions:
    """The corrections themselves, for chat and CLI alike. Each returns what to tell the admin."""

    def __init__(self, current: Callable[[], LoadedCampaign], intake: ProofIntake) -> None:
        self._current = current
        self.intake = intake
        self.evidence = intake.evidence

    def decide(self, binding_id: int | None, approve: bool, actor: str, at: datetime) -> tuple[Result, Binding | None]:
        if binding_id is None:
            pending = self.evidence.bindings(BindingStatus.PENDING)
            if len(pending) != 1:
                if not pending:
                    return Result(False, self._binding_text("none_pending")), None
                listing = [{"id": b.id, "name": b.sender_name, "unit": self._unit_name(b.unit_id)} for b in pending]
                return Result(False, self._binding_text("which", pending=listing)), None
            binding_id = pending[0].id
        try:
            binding, changed = self.evidence.decide_binding(binding_id, approve=approve, actor=actor, at=at)
        except KeyError:
            return Result(False, self._binding_text("unknown", id=binding_id)), None
        about = {"id": binding.id, "name": binding.sender_name, "unit": self._unit_name(binding.unit_id)}
        if not changed:
            done = {BindingStatus.APPROVED: "已批准", BindingStatus.REJECTED: "已拒绝"}.get(binding.status, "")
            return Result(False, self._binding_text("decided_before", **about, done=done)), binding
        if not approve:
            return Result(True, self._binding_text("rejected", **about)), binding
        filed = self._file_pending(binding, actor, at)
        return Result(True, self._binding_text("approved", **about, filed=len(filed))), binding

    def _file_pending(self, binding: Binding, actor: str, at: datetime) -> list[Evidence]:
        out = []
        windows = self.intake.windows()
        for item in self.evidence.pending(binding.sender):
            if item.unit_id not in (None, binding.unit_id):
                continue
            open_then = open_for(windows, binding.unit_id, item.received_at)
            chosen = pick(open_then, item.text) or (open_then[0] if len(open_then) == 1 else None)
            out.append(
                self.evidence.file(
                    item.id,
                    activity_id=chosen.activity.id if chosen else None,
                    unit_id=binding.unit_id,
                    actor=actor,
                    at=at,
                    why=f"绑定 {binding.id} 批准后归档",
                    flags=exif_flags(item.flags, item.exif_at, chosen),
                )
            )
        return out

    def reject(self, evidence_id: int, reason: str, actor: str, at: datetime) -> Result:
        item = self.evidence.get(evidence_id)
        if item is None:
            return Result(False, self.item_text("unknown", id=evidence_id))
        if item.status is EvidenceStatus.REJECTED:
            return Result(False, self.item_text("rejected_before", id=evidence_id))
        self.evidence.reject(evidence_id, actor=actor, at=at, reason=reason or "管理员驳回")
        return Result(True, self.item_text("rejected", id=evidence_id, where=self._where(item), reason=reason))

    def reassign(self, evidence_id: int, words: str, actor: str, at: datetime) -> Result:
        item = self.evidence.get(evidence_id)
        if item is None:
            return Result(False, self.item_text("unknown", id=evidence_id))
        campaign = self._current().campaign
        unit_id = None
        activity_id = None
        rest = []
        for token in words.split():
            unit = find_unit(campaign, token)
            if unit is not None and unit_id is None:
                unit_id = unit.id
            else:
                rest.append(token)
        if rest:
            chosen = pick(self.intake.windows(), " ".join(rest))
            if chosen is None:
                unclear = {"words": " ".join(rest), "unit": example_unit(campaign)}
                return Result(False, self.item_text("unclear", id=evidence_id, **unclear))
            activity_id = chosen.activity.id
        if unit_id is None and activity_id is None:
            # Examples from this town's own files: a unit that exists here (not 金溪's 长春村).
            return Result(False, self.item_text("where_to", id=evidence_id, unit=example_unit(campaign)))
        before = self._where(item)
        window = next((w for w in self.intake.windows() if w.activity.id == (activity_id or item.activity_id)), None)
        flags = exif_flags(item.flags, item.exif_at, window)
        updated = self.evidence.reassign(
            evidence_id, unit_id=unit_id, activity_id=activity_id, actor=actor, at=at, flags=flags
        )
        return Result(True, self.item_text("reassigned", id=evidence_id, where=before, after=self._where(updated)))

    def _binding_text(self, outcome: str, **variables: object) -> str:
        """An answer about a binding: `messages/ledger_binding.j2`."""
        return self._current().renderer.render_named("ledger_binding", {"outcome": outcome, **variables})

    def item_text(self, outcome: str, **variables: object) -> str:
        """An answer about a submission: `messages/ledger_item.j2`."""
        return self._current().renderer.render_named("ledger_item", {"outcome": outcome, **variables})

    def _unit_name(self, unit_id: str | None) -> str:
        if unit_id is None:
            return "未定单位"
        try:
            return self._current().campaign.unit(unit_id).name
        except KeyError:
            return unit_id

    def _where(self, item: Evidence) -> str:
        label = "未定活动"
        for w in self.intake.windows():
            if w.activity.id == item.activity_id:
                label = w.label
        return f"{self._unit_name(item.unit_id)} {label}"


class ProofAdmin(CommandHandler):
    """An `InboundHandler` for the ledger's admin commands (see `bot.commands.CommandHandler`); other commands pass
    through to later handlers."""

    pattern = COMMAND
    key_prefix = "proof/admin"

    def __init__(self, current: Callable[[], LoadedCampaign], pipeline: Pipeline, actions: LedgerActions) -> None:
        super().__init__(current, pipeline)
        self.actions = actions

    def accepts(self, message: InboundMessage) -> bool:
        return self.actions.intake.accepts_room(message)  # never in a villagers' group: the office's business

    async def answer(self, command: Command) -> str:
        assert command.admin is not None  # admin_only
        return self.run(command.verb, command.args, command.admin.name, command.message.received_at).text

    def run(self, verb: str, args: str, actor: str, at: datetime) -> Result:
        number = re.match(r"^(\d+)\s*(.*)$", args, re.S)
        if verb in ("批准", "同意", "拒绝"):
            binding_id = int(number.group(1)) if number else None
            return self.actions.decide(binding_id, verb != "拒绝", actor, at)[0]
        if number is None:
            example = f"#{verb} 12 " + ("照片不清楚" if verb == "驳回" else example_unit(self._current().campaign))
            return Result(False, self.actions.item_text("no_number", example=example))
        evidence_id, rest = int(number.group(1)), number.group(2).strip()
        if verb == "驳回":
            return self.actions.reject(evidence_id, rest, actor, at)
        return self.actions.reassign(evidence_id, rest, actor, at)
