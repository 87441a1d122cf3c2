"""April 2024 in 金溪 (敲门行动, 13 responsible units, at least 3 photos each), as a script any transport can play:
the proof request goes out, members post photos (good ones, a duplicate, a non-image, an oversized file, a
decompression bomb, a photo with an old EXIF date, an unknown sender who binds), the chase goes out, a late photo
arrives, the month-end summary goes out. `check` asserts the outcome from the store, whatever carried the messages.
"""

from __future__ import annotations

import io
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from PIL import Image

from bot.config.campaign import LoadedCampaign
from bot.proof.images import Limits
from bot.proof.intake import IntakeSettings
from bot.proof.ledger import Ledger, month_ledger
from bot.store.base import DeliveryStatus
from bot.store.evidence import EvidenceStore
from bot.store.sql import SqlStore
from tests.proof.conftest import at, photo, png_bomb

# Small enough that the oversized photo is quick to make.
LIMITS = Limits(max_bytes=1_000_000)
SETTINGS = IntakeSettings(limits=LIMITS)
PLANNED = ("announce", "remind", "proof_request", "chase", "summary")


def noise_jpeg(size: tuple[int, int] = (1200, 1000)) -> bytes:
    """A photo too big for LIMITS (random pixels don't compress)."""
    im = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=95)
    assert len(out.getvalue()) > LIMITS.max_bytes
    return out.getvalue()


@dataclass(frozen=True)
class Post:
    """Somebody posts into a group (or privately when group is None) at a time."""

    wechat: str
    name: str
    at: datetime
    group: str | None
    text: str = ""
    photos: tuple[bytes, ...] = ()


def posts_before_chase() -> list[Post]:
    old = photo(30, taken=datetime(2023, 4, 2, 9, 0))  # noqa: DTZ001 (EXIF time, no zone)
    dup = photo(20)
    return [
        # 长春村: three good photos in one message → submitted.
        Post("lidehua-changchun", "李德华", at(4, 8, 9), "changchun-work", photos=(photo(10), photo(11), photo(12))),
        # 杉岭村: three photos, then one of them again (kept, flagged, not counted) → flagged.
        Post("zhangjun-shanling", "张军", at(4, 9, 9), "shanling-work", photos=(dup, photo(21), photo(22))),
        Post("zhangjun-shanling", "张军", at(4, 9, 9, 5), "shanling-work", photos=(dup,)),
        # 望岭村: a PDF first (refused), then three photos → submitted.
        Post("liuxiuying-wangling", "刘秀英", at(4, 10, 15), "wangling-work", photos=(b"%PDF-1.7 signatures",)),
        Post(
            "liuxiuying-wangling", "刘秀英", at(4, 10, 15, 2), "wangling-work", photos=(photo(40), photo(41), photo(42))
        ),
        # 平溪村: an oversized photo and a bomb (both refused), two good ones → still missing at the chase.
        Post(
            "zhaohong-pingxi",
            "赵红",
            at(4, 11, 11),
            "pingxi-work",
            photos=(noise_jpeg(), png_bomb(), photo(50), photo(51)),
        ),
        # 山坝村: one photo with a 2023 EXIF date (flagged, counts) and two good ones → flagged.
        Post(
            "zhoujie-shanba", "周杰", at(4, 12, 16), "shanba-work", text="敲门行动", photos=(old, photo(31), photo(32))
        ),
        # 文化站 (a department): an unknown colleague posts, binds, the admin approves → submitted.
        Post("xiaoliu-wh", "刘小溪", at(4, 15, 10), "wenhuazhan-work", photos=(photo(60), photo(61), photo(62))),
        Post("xiaoliu-wh", "刘小溪", at(4, 15, 10, 1), "wenhuazhan-work", text="#绑定 文化站"),
        Post("jinxi-ranxy", "冉晓燕", at(4, 15, 14), None, text="#批准"),
    ]


def posts_after_chase() -> list[Post]:
    # 平溪村 sends its third photo after the chase → submitted by the summary.
    return [Post("zhaohong-pingxi", "赵红", at(4, 23, 9), "pingxi-work", photos=(photo(52),))]


SUBMITTED_AT_CHASE = {"changchun", "shanling", "wangling", "shanba", "wenhuazhan"}
EXPECTED = {
    "changchun": "submitted",
    "shanling": "flagged",
    "wangling": "submitted",
    "pingxi": "submitted",
    "shanba": "flagged",
    "wenhuazhan": "submitted",
}
MISSING_NAMES = ["金溪社区", "太平村", "党政办公室", "乡建中心", "镇人民武装部", "社会事务办公室", "综合行政执法大队"]


async def play(
    loaded: LoadedCampaign,
    run_job: Callable[[object], Awaitable[object]],
    set_clock: Callable[[datetime], None],
    post: Callable[[Post], Awaitable[None]],
) -> None:
    """Run April's planned jobs at their times and the posts at theirs, in time order."""
    jobs = [j for j in loaded.plan.between(at(4, 1, 0), at(5, 1, 0)) if j.kind.value in PLANNED]
    events: list[tuple[datetime, int, object]] = [(j.at, 0, j) for j in jobs]
    events += [(p.at, 1, p) for p in posts_before_chase() + posts_after_chase()]
    for when, _, item in sorted(events, key=lambda e: (e[0], e[1])):
        set_clock(when)
        if isinstance(item, Post):
            await post(item)
        else:
            await run_job(item)


def check(loaded: LoadedCampaign, store: SqlStore, evidence: EvidenceStore, office_texts: list[str]) -> Ledger:
    """The outcome of `play`: the ledger, the chase and the summary."""
    ledger = month_ledger(loaded, store, evidence, 2024, 4)
    [april] = ledger.activities
    statuses = {r.unit.id: r.status for r in april.rows}
    assert {u: s for u, s in statuses.items() if s != "missing"} == EXPECTED
    assert april.names("missing") == MISSING_NAMES
    # The request reached all 13 units; the chase only those missing on 22 April.
    request = {r.target for r in store.deliveries(frozenset({"2024-04/proof_request"}))}
    assert len(request) == 13
    chase = {r.target: r.status for r in store.deliveries(frozenset({"2024-04/chase"}))}
    skipped = {t for t, s in chase.items() if s is DeliveryStatus.SKIPPED}
    assert skipped == {f"{u}-work" for u in SUBMITTED_AT_CHASE}
    assert {t for t, s in chase.items() if s is DeliveryStatus.SENT} == request - skipped
    # The summary counts and names.
    [summary] = [t for t in office_texts if "4月垃圾分类宣传工作汇总" in t]
    assert "责任单位 13 个，已交材料 6 个，未交 7 个。" in summary
    assert f"未交：{'、'.join(MISSING_NAMES)}。" in summary
    # Nothing dropped: the refused files are in the ledger with their reasons.
    refused = [i for r in april.rows for i in r.items if i.status.value == "refused"]
    assert sorted(i.reason[:4] for i in refused) == ["不是能打", "图片像素", "文件太大"]
    return ledger
