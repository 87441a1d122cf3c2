"""The upload link in a month's merged work arrangement (issue 10 M3): one link per activity the unit is asked for."""

from __future__ import annotations

from pathlib import Path

from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources, load
from bot.proof.windows import windows
from bot.store.sql import open_store
from bot.store.web import WebStore
from bot.web.links import UploadLinks
from tests.outsider import shuanghe_sources


def test_a_unit_asked_for_two_activities_gets_a_link_for_each(jinxi: Sources, tmp_path: Path) -> None:
    loaded = load(shuanghe_sources(tmp_path, jinxi.messages))
    request = loaded.plan.by_key()["2025-01/proof_request"]
    store = open_store(f"sqlite:///{tmp_path / 'laba.db'}", TOWN_ZONE)
    try:
        all_windows = windows(loaded.campaign, loaded.plan)
        links = UploadLinks(WebStore(store), lambda: all_windows, "https://laba.example.cn", VirtualClock(request.at))
        village = next(t for t in request.targets if t.unit == "shiqiao")  # 学习 and 过大年 both
        office = next(t for t in request.targets if t.unit == "dangzhengban")  # 学习 only
        both, one = links(request, village), links(request, office)
    finally:
        store.close()
    assert both.count("https://laba.example.cn/u/") == 2, both
    assert "用手机交“学习贯彻习近平总书记关于垃圾分类工作的重要论述”的照片" in both
    assert "用手机交开展“垃圾分类·文明过大年”活动的照片" in both  # its own quotes, not wrapped again
    assert one.count("/u/") == 1 and one.startswith("\n用手机交照片（不用登录）："), one
