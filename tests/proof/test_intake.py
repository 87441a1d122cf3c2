"""Intake rules, one by one, through the real router, pipeline, SQLite store and the in-memory channel."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import yaml
from PIL import Image

from bot.channels.base import Attachment
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources
from bot.proof.images import Limits, sha256_of
from bot.store.evidence import EvidenceStatus, Flag
from tests.proof.conftest import Town, at, make_town, message, photo, png_bomb, resized
from tests.proof.hostile import WORST_CASES, claims_bigger, encoded, gradient, with_exif_time, worst_case

ROOT = Path(__file__).resolve().parents[2]

LI = "lidehua-changchun"  # 李德华, contact of 长春村
ZHANG = "zhangjun-shanling"  # 张军, contact of 杉岭村
ADMIN = "jinxi-ranxy"  # 冉晓燕, admin


def test_a_contacts_photos_are_filed_and_acknowledged_with_the_running_count(town: Town) -> None:
    replies = town.say(message(LI, at(4, 8), photos=(photo(1), photo(2)), group="changchun-work", name="李德华"))
    assert replies == ["已收到 长春村 4月“敲门行动”入户宣传 照片 2 张（编号 1、2），累计 2 张，还差 1 张。"]
    assert town.channel.sent[-1].target.id == "changchun-work"
    [reply] = town.say(message(LI, at(4, 9), photos=(photo(3),), group="changchun-work"))
    assert reply == "已收到 长春村 4月“敲门行动”入户宣传 照片 1 张（编号 3），累计 3 张。"
    items = town.intake.evidence.items(["2024-04"])
    assert [(i.unit_id, i.status, i.sender_name) for i in items] == [
        ("changchun", EvidenceStatus.ACCEPTED, "李德华")
    ] * 2 + [("changchun", EvidenceStatus.ACCEPTED, LI)]
    assert town.store.units_with_proof("2024-04", 3) == frozenset({"changchun"})


def test_files_are_content_addressed_under_the_data_dir_whatever_the_sender_calls_them(town: Town) -> None:
    data = photo(7)
    town.say(message(LI, at(4, 8), photos=(data,), names=("../../etc/passwd",), group="changchun-work"))
    [item] = town.intake.evidence.items()
    assert item.sha256 is not None
    stored = town.intake.evidence.files.path(item.sha256, "jpg")
    assert stored.read_bytes() == data
    assert stored.is_relative_to(town.data_dir / "evidence")
    assert [p.name for p in (town.data_dir / "evidence").rglob("*") if p.is_file()] == [f"{item.sha256}.jpg"]


def test_the_same_message_delivered_twice_is_filed_and_answered_once(town: Town) -> None:
    msg = message(LI, at(4, 8), photos=(photo(1),), group="changchun-work")
    assert len(town.say(msg)) == 1
    assert town.say(msg) == []
    assert len(town.intake.evidence.items()) == 1


def test_villagers_groups_unknown_rooms_and_times_outside_every_window_are_left_alone(town: Town) -> None:
    assert town.say(message(LI, at(4, 8), photos=(photo(1),), group="changchun-villagers")) == []
    unknown_room = message(LI, at(4, 8), photos=(photo(2),))
    unknown_room = type(unknown_room)(**{**unknown_room.__dict__, "room_id": "some-other-room"})
    assert town.say(unknown_room) == []
    assert town.say(message(LI, at(3, 31, 12), photos=(photo(3),), group="changchun-work")) == []  # before the request
    assert town.say(message(LI, at(4, 29, 10), photos=(photo(4),), group="changchun-work")) == []  # after due + 72h
    assert town.intake.evidence.items() == []


def test_late_photos_within_the_grace_count(town: Town) -> None:
    [reply] = town.say(message(LI, at(4, 27, 10), photos=(photo(1),), group="changchun-work"))
    assert reply.startswith("已收到 长春村 4月")


def test_a_private_chat_works_like_the_group(town: Town) -> None:
    [reply] = town.say(message(LI, at(4, 8), photos=(photo(1),)))
    assert reply.startswith("已收到 长春村")
    assert town.channel.sent[-1].target.kind == "person" and town.channel.sent[-1].target.wechat == LI


def test_non_images_and_oversized_files_are_refused_with_a_reply_and_recorded(town: Town) -> None:
    [reply] = town.say(message(LI, at(4, 8), photos=(b"%PDF-1.7 ...", png_bomb(), photo(1)), group="changchun-work"))
    lines = reply.splitlines()
    assert lines[0] == "已收到 长春村 4月“敲门行动”入户宣传 照片 1 张（编号 3），累计 1 张，还差 2 张。"
    assert lines[1] == "第 1 个文件没有收下：不是能打开的图片。"
    assert lines[2].startswith("第 2 个文件没有收下：图片像素太多") and lines[2].endswith("请发照片（jpg、png）。")
    assert len(lines) == 3
    items = town.intake.evidence.items()
    assert [(i.status, i.kind) for i in items] == [
        (EvidenceStatus.REFUSED, "file"),
        (EvidenceStatus.REFUSED, "file"),
        (EvidenceStatus.ACCEPTED, "photo"),
    ]
    assert items[0].sha256 is None and items[0].size == len(b"%PDF-1.7 ...")


def test_exact_and_near_duplicates_are_flagged_and_not_counted(town: Town) -> None:
    original = photo(1, size=(1200, 900))
    town.say(message(LI, at(4, 8), photos=(original,), group="changchun-work"))
    [again] = town.say(message(LI, at(4, 9), photos=(original,), group="changchun-work"))
    assert again.splitlines() == [
        "已收到 长春村 4月“敲门行动”入户宣传 照片 1 张（编号 2），累计 1 张，还差 2 张。",
        "编号 2 和编号 1 是同一张照片，不重复计数。",
    ]
    # Another unit sending a resized copy of 长春村's photo.
    [near] = town.say(message(ZHANG, at(4, 10), photos=(resized(original),), group="shanling-work"))
    assert "编号 3 和编号 1 的照片几乎一样，不重复计数" in near and "累计 0 张" in near
    flags = [i.flags for i in town.intake.evidence.items()]
    assert flags == [(), (Flag.DUPLICATE,), (Flag.NEAR_DUPLICATE,)]


def test_a_photo_taken_outside_the_activity_is_flagged_but_counts(town: Town) -> None:
    old = photo(1, taken=datetime(2023, 4, 2, 9, 0))  # noqa: DTZ001 (EXIF time)
    [reply] = town.say(message(LI, at(4, 8), photos=(old,), group="changchun-work"))
    assert "累计 1 张" in reply and "编号 1 拍摄时间是 2023年4月2日，不在活动期间，已标记由镇里核对。" in reply
    [item] = town.intake.evidence.items()
    assert item.flags == (Flag.EXIF_OUTSIDE,) and item.counts
    fine = photo(2, taken=datetime(2024, 4, 5, 15, 0))  # noqa: DTZ001
    [reply] = town.say(message(LI, at(4, 8), photos=(fine,), group="changchun-work"))
    assert "不在活动期间" not in reply


def _overlapping(jinxi: Sources) -> Sources:
    """April's proof due on 10 May: April and May are both open from 6 to 13 May."""
    path = jinxi.schedules / "plan-2024.yaml"
    plan = yaml.safe_load(path.read_text(encoding="utf-8"))
    april = next(a for a in plan["activities"] if a["month"] == 4)
    april["proof"]["due"] = "5月10日"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return jinxi


def test_two_open_activities_a_hint_decides_else_the_bot_asks(jinxi: Sources, tmp_path: Path) -> None:
    for town in make_town(_overlapping(jinxi), tmp_path):
        [hinted] = town.say(message(LI, at(5, 7), text="敲门行动照片", photos=(photo(1),), group="changchun-work"))
        assert "4月“敲门行动”入户宣传 照片 1 张（编号 1），累计 1 张" in hinted
        [month] = town.say(message(ZHANG, at(5, 7), text="5月的", photos=(photo(2),), group="shanling-work"))
        assert "5月全国城市生活垃圾分类宣传周 照片 1 张" in month
        # No hint: the photos wait and the bot asks.
        [asked] = town.say(message(ZHANG, at(5, 8, 9), photos=(photo(3), photo(4)), group="shanling-work"))
        wait = "照片 2 张已暂存（编号 3、4）。\n现在有 2 项活动在收材料："
        assert asked.startswith(wait) and "请回一句是哪项活动的" in asked
        # A title with its own quotation marks is not wrapped in another pair (issue 10 L2).
        assert "4月“敲门行动”入户宣传、“5月全国城市生活垃圾分类宣传周”" in asked and "““" not in asked, asked
        assert [i.status for i in town.intake.evidence.pending(f"wxid_{ZHANG}")] == [EvidenceStatus.PENDING] * 2
        # The answer files them.
        [filed] = town.say(message(ZHANG, at(5, 8, 9, 5), text="是4月敲门的", group="shanling-work"))
        assert filed == "已收到 杉岭村 4月“敲门行动”入户宣传 照片 2 张（编号 3、4），累计 2 张，还差 1 张。"
        # A burst right after follows the sender's last choice.
        [burst] = town.say(message(ZHANG, at(5, 8, 9, 10), photos=(photo(5),), group="shanling-work"))
        assert "4月“敲门行动”入户宣传 照片 1 张（编号 5），累计 3 张" in burst


def test_a_note_about_proof_is_kept_ordinary_chat_is_not(town: Town) -> None:
    [reply] = town.say(message(LI, at(4, 8), text="4月敲门行动入户42户，签字表见照片", group="changchun-work"))
    assert reply == "已收到 长春村 4月“敲门行动”入户宣传 文字说明（编号 1）。"
    assert town.say(message(LI, at(4, 8, 11), text="明天上午开会", group="changchun-work")) == []
    [note] = town.intake.evidence.items()
    assert note.kind == "note" and not note.counts


def test_binding_an_unknown_sender_pending_approval_then_their_photos_count(town: Town) -> None:
    stranger = message("wangxm", at(4, 8), photos=(photo(1),), group="changchun-work", name="王小明")
    [reply] = town.say(stranger)
    assert "照片 1 张已暂存（编号 1）" in reply and "#绑定 单位名称" in reply
    replies = town.say(
        message("wangxm", at(4, 8, 10, 5), text="@大喇叭 #绑定 长春", group="changchun-work", name="王小明")
    )
    assert replies[0] == "王小明，已申请绑定到长春村，等镇里管理员确认后，您发的照片会记到长春村。"
    to_admins = [m for m in town.channel.sent if m.target.id in ("admin-ran", "admin-tan")]
    assert len(to_admins) == 2 and "#批准 1" in to_admins[0].text and "王小明（微信 wangxm）" in to_admins[0].text
    # Not yet approved: still unknown.
    assert "已暂存" in town.say(message("wangxm", at(4, 8, 11), photos=(photo(2),), group="changchun-work"))[0]
    [approved] = town.say(message(ADMIN, at(4, 8, 14), text="#批准 1"))
    assert approved == "已批准：王小明 以后发的照片记到长春村（申请 1）。之前暂存的 2 张照片已记到长春村。"
    assert town.intake.evidence.count("2024-04", "changchun") == 2
    [after] = town.say(message("wangxm", at(4, 9), photos=(photo(3),), group="changchun-work"))
    assert after.startswith("已收到 长春村 4月“敲门行动”入户宣传 照片 1 张（编号 3），累计 3 张")
    log = [(e.actor, e.action) for e in town.intake.evidence.history("binding:1")]
    assert log == [("王小明", "bind_request"), ("冉晓燕", "bind_approved")]


def test_binding_to_an_unknown_unit_or_a_refusal(town: Town) -> None:
    [reply] = town.say(message("x", at(4, 8), text="#绑定 火星村", group="changchun-work"))
    assert reply.startswith("没有找到单位“火星村”")
    town.say(message("x", at(4, 8, 11), text="#绑定 杉岭村", group="shanling-work", name="小张"))
    [refused] = town.say(message(ADMIN, at(4, 8, 12), text="#拒绝"))
    assert refused == "已拒绝 小张 绑定到杉岭村（申请 1）。"
    assert "照片 1 张已暂存" in town.say(message("x", at(4, 9), photos=(photo(1),), group="shanling-work"))[0]


def test_only_admins_may_correct_and_each_correction_is_logged(town: Town) -> None:
    town.say(message(LI, at(4, 8), photos=(photo(1), photo(2)), group="changchun-work"))
    [no] = town.say(message(LI, at(4, 8, 11), text="#驳回 1", group="changchun-work", name="李德华"))
    assert no == "李德华，#驳回 只有镇里的管理员可以用。"
    [rejected] = town.say(message(ADMIN, at(4, 9), text="@大喇叭\u2005#驳回 1 照片看不清"))
    assert rejected == "已驳回编号 1（长春村 4月“敲门行动”入户宣传），原因：照片看不清。"
    assert town.intake.evidence.count("2024-04", "changchun") == 1
    [moved] = town.say(message(ADMIN, at(4, 9, 11), text="#改派 2 杉岭村"))
    assert moved == "已把编号 2 从 长春村 4月“敲门行动”入户宣传 改到 杉岭村 4月“敲门行动”入户宣传。"
    assert town.intake.evidence.count("2024-04", "shanling") == 1
    [month] = town.say(message(ADMIN, at(4, 9, 12), text="#改派 2 5月"))
    assert month.endswith("改到 杉岭村 5月全国城市生活垃圾分类宣传周。")
    log = [(e.actor, e.action, e.at) for e in town.intake.evidence.history("evidence:2")]
    assert log[1:] == [("冉晓燕", "reassign", at(4, 9, 11)), ("冉晓燕", "reassign", at(4, 9, 12))]
    assert [(e.actor, e.action) for e in town.intake.evidence.history("evidence:1")][1:] == [("冉晓燕", "reject")]


def test_admin_commands_explain_mistakes_and_are_not_repeated_on_redelivery(town: Town) -> None:
    assert town.say(message(ADMIN, at(4, 9), text="#驳回")) == [
        "请写材料编号（回执里的“编号”），例如：#驳回 12 照片不清楚"
    ]
    assert town.say(message(ADMIN, at(4, 9), text="#驳回 99")) == ["没有编号 99 的材料。"]
    assert town.say(message(ADMIN, at(4, 9), text="#批准")) == ["现在没有待确认的绑定申请。"]
    town.say(message(LI, at(4, 8), photos=(photo(1),), group="changchun-work"))
    cmd = message(ADMIN, at(4, 9, 11), text="#驳回 1")
    assert len(town.say(cmd)) == 1
    assert town.say(cmd) == []
    assert [e.action for e in town.intake.evidence.history("evidence:1")] == ["intake", "reject"]


def test_other_hash_commands_pass_through(town: Town) -> None:
    assert town.say(message(ADMIN, at(4, 9), text="#状态")) == []


def test_ledger_commands_are_not_answered_in_villagers_groups(town: Town) -> None:
    town.say(message(LI, at(4, 8), photos=(photo(1),), group="changchun-work"))
    assert town.say(message(ADMIN, at(4, 9), text="#驳回 1", group="changchun-villagers")) == []
    assert town.say(message("x", at(4, 9), text="#绑定 长春村", group="changchun-villagers")) == []
    assert town.intake.evidence.count("2024-04", "changchun") == 1


def test_the_exif_check_follows_the_activity_an_item_is_moved_to(town: Town) -> None:
    may_photo = photo(1, taken=datetime(2024, 5, 21, 9, 0))  # noqa: DTZ001 (EXIF time)
    [reply] = town.say(message(LI, at(4, 26), photos=(may_photo,), group="changchun-work"))
    assert "不在活动期间" in reply
    town.say(message(ADMIN, at(4, 27), text="#改派 1 5月"))
    [item] = town.intake.evidence.items()
    assert item.activity_id == "2024-05" and item.flags == ()


def _hostile() -> dict[str, tuple[Attachment, EvidenceStatus, str]]:
    """Each odd photo the issue found, and how it must end: (attachment, status, reason)."""
    side = 7999
    picture = gradient((640, 480))
    kept = {
        "gif": encoded(picture.quantize(16), "GIF"),
        "palette": encoded(picture.quantize(16), "PNG"),
        "1-bit": encoded(picture.convert("1"), "PNG"),
        "16-bit": encoded(picture.getchannel(0).convert("I;16"), "PNG"),
        "year 1": with_exif_time("0001:01:01 00:00:00", "+08:00"),
        "year 9999": with_exif_time("9999:12:31 23:59:59", "-05:00"),
        "offset +99:00": with_exif_time("2024:04:07 16:00:00", "+99:00"),
    }
    cases = {name: (Attachment(name, data), EvidenceStatus.ACCEPTED, "") for name, data in kept.items()}
    huge_png = encoded(Image.new("RGB", (side, side), (30, 90, 20)), "PNG")
    too_big = f"图片尺寸太大（{side}×{side} 的 png 图），请缩小后再发，或发手机拍的 jpg 照片"
    refused = {
        "claims 7999x7999": (Attachment("g.jpg", claims_bigger(side, side)), "图片文件不完整或已损坏，请重新发送"),
        "png under the pixel limit": (Attachment("h.png", huge_png), too_big),
        "40 MB, not fetched": (Attachment("i.jpg", b"", unfetched_size=40 << 20), "文件太大（40.0 MB，最多 25.0 MB）"),
    }
    cases.update({name: (a, EvidenceStatus.REFUSED, reason) for name, (a, reason) in refused.items()})
    return cases


def test_every_odd_photo_ends_recorded_and_the_sender_is_told(town: Town) -> None:
    cases = _hostile()
    for minute, (name, (attachment, status, reason)) in enumerate(cases.items()):
        msg = message(LI, at(4, 8, 10, minute), photos=(b"",), group="changchun-work")
        [reply] = town.say(replace(msg, attachments=(attachment,)))
        item = town.intake.evidence.items()[-1]
        assert (item.status, item.reason) == (status, reason), name
        if status is EvidenceStatus.ACCEPTED:
            assert reply.startswith("已收到 长春村 4月“敲门行动”入户宣传 照片 1 张") and "拍摄时间" not in reply, name
            assert item.phash is not None and item.sha256 is not None
        else:
            assert reply == f"第 1 个文件没有收下：{reason}。请发照片（jpg、png）。", name
    taken = {i.exif_at for i in town.intake.evidence.items() if i.kind == "photo"}
    assert taken == {None, datetime(2024, 4, 7, 16, tzinfo=TOWN_ZONE)}  # the odd offset taken as local time
    assert town.intake.evidence.items()[-1].size == 40 * 1024 * 1024


def test_a_photo_that_cannot_be_stored_is_recorded_as_refused_and_the_sender_asked_to_send_again(town: Town) -> None:
    data = photo(1)
    blocked = town.intake.evidence.files.path(sha256_of(data), "jpg").parent
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"")  # a file where the folder should be: the photo can't be written
    [reply] = town.say(message(LI, at(4, 8), photos=(data,), group="changchun-work"))
    [item] = town.intake.evidence.items()
    assert (item.status, item.reason) == (
        EvidenceStatus.REFUSED,
        "照片没能存下（服务器磁盘写不进），请过一会儿再发一次",
    )
    assert reply.startswith("第 1 个文件没有收下：照片没能存下（服务器磁盘写不进），请过一会儿再发一次。")


def test_peak_memory_of_intake_stays_under_200_mb_for_any_photo_within_the_limits(tmp_path: Path) -> None:
    """The largest photo of each way of decoding that the limits admit, through the whole intake in a fresh
    process (see tests/proof/intake_memory.py)."""
    paths = []
    for name, make in WORST_CASES.items():
        path = tmp_path / name
        path.write_bytes(worst_case(make, Limits()))
        paths.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "tests.proof.intake_memory", str(tmp_path / "work"), *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = dict(zip(WORST_CASES, map(json.loads, done.stdout.splitlines()), strict=True))
    for name, result in results.items():
        assert result["status"] == "accepted", (name, result)
        assert result["grown_mb"] < 200, (name, result)
    assert max(r["grown_mb"] for r in results.values()) > 100  # the measurement sees a decode
