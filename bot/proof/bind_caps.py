"""Whether a `#绑定` request is recorded and told to the admins: one pending request per person and unit, a few a
day per person, a few pending per unit. Pure: the caller passes the bindings already recorded.

Without these a stranger who repeats `#绑定` twenty times makes twenty pending requests and forty private messages
to the admins (issue 13).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.store.evidence import Binding, BindingStatus

DAY = timedelta(days=1)


@dataclass(frozen=True)
class BindCaps:
    per_person_per_day: int = 3  # requests by one person in any 24 hours
    pending_per_unit: int = 5  # requests waiting for an admin, for one unit


class BindVerdict(StrEnum):
    NEW = "new"  # record it and tell the admins
    ALREADY_PENDING = "already_pending"  # the same person asked for the same unit and is still waiting
    PERSON_CAP = "person_cap"
    UNIT_CAP = "unit_cap"


def judge_request(
    recorded: Iterable[Binding],
    *,
    sender: str,
    sender_wechat: str,
    unit_id: str,
    message_id: str,
    at: datetime,
    caps: BindCaps = BindCaps(),
) -> BindVerdict:
    """The verdict on a new request. The request's own record (a message delivered twice) is not counted."""
    others = [b for b in recorded if b.message_id != message_id]

    def by_sender(b: Binding) -> bool:
        return b.sender == sender or bool(sender_wechat and b.sender_wechat == sender_wechat)

    pending = [b for b in others if b.status is BindingStatus.PENDING]
    if any(by_sender(b) and b.unit_id == unit_id for b in pending):
        return BindVerdict.ALREADY_PENDING
    if sum(1 for b in others if by_sender(b) and b.requested_at > at - DAY) >= caps.per_person_per_day:
        return BindVerdict.PERSON_CAP
    if sum(1 for b in pending if b.unit_id == unit_id) >= caps.pending_per_unit:
        return BindVerdict.UNIT_CAP
    return BindVerdict.NEW
