"""April end to end on the in-memory channel with the real pipeline, store and intake (see `scenario`)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from bot.config.campaign import Sources
from bot.core.planner import PlannedJob
from tests.proof import scenario
from tests.proof.conftest import Town, make_town, message


def play_on_memory(town: Town) -> None:
    async def run_job(job: object) -> None:
        assert isinstance(job, PlannedJob)
        await town.pipeline.run_job(job)

    def set_clock(when: datetime) -> None:
        town.clock.set(when)

    async def post(p: scenario.Post) -> None:
        await town.router.dispatch(message(p.wechat, p.at, text=p.text, photos=p.photos, group=p.group, name=p.name))
        await town.intake.flush()  # the quiet window after a post closes before anything else happens

    asyncio.run(scenario.play(town.loaded, run_job, set_clock, post))


def test_a_month_end_to_end_on_the_memory_channel(jinxi: Sources, tmp_path: Path) -> None:
    for town in make_town(jinxi, tmp_path, scenario.SETTINGS):
        play_on_memory(town)
        scenario.check(town.loaded, town.store, town.intake.evidence, town.channel.texts_to("jinxi-office"))
        # The request named what is needed, by when, and @-ed the unit's contacts.
        [request] = [
            m for m in town.channel.sent if m.target.id == "changchun-work" and "4月垃圾分类宣传工作安排" in m.text
        ]
        assert [p.name for p in request.target.mentions] == ["李德华"]
        assert "宣传图片、居民签字" in request.text and "照片不少于3张" in request.text
        assert "4月25日（周四）下午6点前" in request.text
        # Each unit's replies went to its own group; the refusals were explained.
        pingxi = town.channel.texts_to("pingxi-work")
        assert any("文件太大" in t and "图片像素太多" in t for t in pingxi)
        assert any("累计 3 张" in t for t in pingxi)
        # One acknowledgement per post (each post here is one message, its photos attached).
        assert len([t for t in town.channel.texts_to("changchun-work") if t.startswith("已收到")]) == 1
        # A unit that submitted is never nagged: no chase text in its group.
        assert not any("催交" in t for t in town.channel.texts_to("changchun-work"))
        assert any("催交" in t for t in town.channel.texts_to("taiping-work"))
