"""`#绑定` floods: one pending request per person and unit, a few a day per person, a few pending per unit."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from bot.proof.bind_caps import BindCaps, BindVerdict, judge_request
from bot.store.evidence import Binding, BindingStatus, EvidenceStatus
from tests.proof.conftest import Town, at, message, photo


def binding(n: int, sender: str, unit: str, status: BindingStatus = BindingStatus.PENDING, hours: int = 0) -> Binding:
    return Binding(n, sender, "", sender, unit, status, f"m{n}", at(4, 8) - timedelta(hours=hours), None, "")


def judge(recorded: list[Binding], sender: str = "s", unit: str = "u", message_id: str = "new") -> BindVerdict:
    caps = BindCaps(per_person_per_day=3, pending_per_unit=2)
    return judge_request(
        recorded, sender=sender, sender_wechat="", unit_id=unit, message_id=message_id, at=at(4, 8), caps=caps
    )


def test_verdicts() -> None:
    assert judge([]) is BindVerdict.NEW
    assert judge([binding(1, "s", "u")]) is BindVerdict.ALREADY_PENDING
    assert judge([binding(1, "s", "u")], message_id="m1") is BindVerdict.NEW  # its own record, delivered again
    assert judge([binding(1, "s", "u", BindingStatus.REJECTED)]) is BindVerdict.NEW  # may ask again
    three = [binding(i, "s", f"v{i}", BindingStatus.REJECTED) for i in range(3)]
    assert judge(three) is BindVerdict.PERSON_CAP
    assert judge([binding(i, "s", f"v{i}", BindingStatus.REJECTED, hours=25) for i in range(3)]) is BindVerdict.NEW
    assert judge([binding(1, "a", "u"), binding(2, "b", "u")]) is BindVerdict.UNIT_CAP
    assert judge([binding(1, "a", "u"), binding(2, "b", "w")]) is BindVerdict.NEW


def test_twenty_binds_from_a_stranger_make_one_request_and_few_messages(town: Town) -> None:
    """The issue's flood: 20 `#绑定` → 60 messages (40 private to the admins). Now: one request, the admins told
    once each, and the stranger answered a handful of times."""
    before = len(town.channel.sent)
    for i in range(20):
        town.say(message("liumang", at(4, 8, 10, i), text="#绑定 长春村", group="changchun-work", name="刘某"))
    sent = town.channel.sent[before:]
    assert [b.unit_id for b in town.intake.evidence.bindings(BindingStatus.PENDING)] == ["changchun"]
    to_admins = [m for m in sent if m.target.id in ("admin-ran", "admin-tan")]
    assert len(to_admins) == 2
    to_group = [m.text for m in sent if m.target.id not in ("admin-ran", "admin-tan")]
    assert to_group[0] == "刘某，已申请绑定到长春村，等镇里管理员确认后，您发的照片会记到长春村。"
    assert to_group[1] == "刘某，您申请绑定到长春村的请求已经收到，正在等镇里管理员确认，不用再发。"
    assert len(to_group) == 5  # the per-person answer budget of an hour; the other 15 are logged and ignored


def test_a_stranger_cycling_through_units_is_capped_per_day(town: Town) -> None:
    for i, unit in enumerate(["长春村", "杉岭村", "长春村", "杉岭村", "金溪社区"]):
        town.say(message("liumang", at(4, 8, 10, i), text=f"#绑定 {unit}", group="changchun-work", name="刘某"))
    assert len(town.intake.evidence.bindings()) == 3  # the repeats are the same pending request
    town.clock.set(at(4, 8, 12))  # a new hour: he may be answered again
    [refused] = town.say(message("liumang", at(4, 8, 12), text="#绑定 望岭村", group="changchun-work", name="刘某"))
    assert refused == "刘某，您今天申请绑定的次数太多了，请明天再试，或直接联系镇里管理员。"
    assert len(town.intake.evidence.bindings()) == 3
    assert len(town.say(message("liumang", at(4, 9, 12), text="#绑定 望岭村", group="changchun-work"))) == 3
    assert len(town.intake.evidence.bindings()) == 4  # a day later: recorded, and the two admins told


def test_many_strangers_for_one_unit_are_capped(town: Town) -> None:
    for i in range(8):
        town.say(message(f"s{i}", at(4, 8, 10, i), text="#绑定 长春村", group="changchun-work", name=f"人{i}"))
    assert len(town.intake.evidence.bindings(BindingStatus.PENDING)) == 5
    to_admins = [m for m in town.channel.sent if m.target.id in ("admin-ran", "admin-tan")]
    assert len(to_admins) == 10
    last = [m.text for m in town.channel.sent if m.target.id not in ("admin-ran", "admin-tan")][-1]
    assert last == "人7，长春村已有多个绑定申请在等管理员确认，请先联系镇里管理员。"


def test_a_stranger_may_leave_only_so_many_photos_a_day(town: Town) -> None:
    """Photos from someone who is no unit's contact are kept for an admin to approve, up to a quota a day; the
    rest are refused with the reason, and recorded."""
    town.intake.settings = replace(town.intake.settings, stranger_photos_per_day=3)
    photos = tuple(photo(seed) for seed in range(5))
    [reply] = town.say(message("liumang", at(4, 8), photos=photos, group="changchun-work", name="刘某"))
    items = town.intake.evidence.pending("wxid_liumang")
    assert len(items) == 3
    assert reply.count("一天最多暂存 3 张照片") == 2
    refused = [e for e in town.intake.evidence.items() if e.status is EvidenceStatus.REFUSED]
    assert len(refused) == 2 and all("#绑定" in e.reason for e in refused)
    town.clock.set(at(4, 9, 11))
    town.say(message("liumang", at(4, 9, 11), photos=(photo(9),), group="changchun-work"))
    assert len(town.intake.evidence.pending("wxid_liumang")) == 4  # a new day


def test_a_strangers_photos_expire_when_nobody_approved_them_in_time(town: Town) -> None:
    town.say(message("liumang", at(4, 8), photos=(photo(1),), group="changchun-work", name="刘某"))
    [item] = town.intake.evidence.pending("wxid_liumang")
    closes = max(w.closes for w in town.intake.windows() if w.open_at(item.received_at))
    assert asyncio.run(town.intake.expire_strangers(closes)) == 0
    assert asyncio.run(town.intake.expire_strangers(closes + timedelta(minutes=1))) == 1
    expired = town.intake.evidence.get(item.id)
    assert expired is not None and expired.status is EvidenceStatus.REFUSED and "没有绑定单位" in expired.reason
    assert asyncio.run(town.intake.expire_strangers(closes + timedelta(days=1))) == 0


def test_a_stranger_posting_photo_after_photo_is_answered_a_few_times_an_hour(town: Town) -> None:
    replies = []
    for i in range(12):
        replies += town.say(message("liumang", at(4, 8, 10, i), photos=(photo(i),), group="changchun-work"))
    assert len(replies) == 5
    assert len(town.intake.evidence.items()) == 12  # every photo recorded all the same


def test_ledger_commands_from_a_non_admin_get_one_refusal(town: Town) -> None:
    replies = []
    for i in range(10):
        replies += town.say(message("liumang", at(4, 8, 10, i), text=f"#驳回 {i} 不行", group="changchun-work"))
    assert replies == ["liumang，#驳回 只有镇里的管理员可以用。"]
