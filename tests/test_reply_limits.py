"""ReplyLimits: per person and per conversation budgets over a rolling hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import TOWN_ZONE, VirtualClock
from bot.reply_limits import Budget, ReplyKind, ReplyLimits

NOW = datetime(2024, 5, 18, 15, 0, tzinfo=TOWN_ZONE)


def test_refusal_once_an_hour_per_person_and_a_few_per_group() -> None:
    clock = VirtualClock(NOW)
    limits = ReplyLimits(clock.now)
    assert limits.allow(ReplyKind.REFUSAL, "a", "g")
    assert not any(limits.allow(ReplyKind.REFUSAL, "a", "g") for _ in range(19))
    assert limits.allow(ReplyKind.REFUSAL, "a", "private-a")  # another conversation
    assert [limits.allow(ReplyKind.REFUSAL, p, "g") for p in "bcdef"] == [True, True, True, True, False]
    assert limits.allow(ReplyKind.ANSWER, "a", "g")  # kinds have their own budgets
    clock.set(NOW + timedelta(minutes=59))
    assert not limits.allow(ReplyKind.REFUSAL, "a", "g")
    clock.set(NOW + timedelta(minutes=60, seconds=1))
    assert limits.allow(ReplyKind.REFUSAL, "a", "g")
    assert limits.ignored == 21


def test_quiet_keys_are_forgotten() -> None:
    clock = VirtualClock(NOW)
    limits = ReplyLimits(clock.now, {ReplyKind.ANSWER: Budget(2, 10), ReplyKind.REFUSAL: Budget(1, 1)})
    for i in range(100):
        clock.set(NOW + timedelta(hours=i))
        assert limits.allow(ReplyKind.ANSWER, f"stranger-{i}", "g")
    assert len(limits._given) <= 3  # the last hours' strangers and the group, not a hundred
