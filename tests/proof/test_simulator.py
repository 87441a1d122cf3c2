"""The April scenario in the simulator: the real app (`bot.app.build` with the WeChat channel) against the
loopback puppet-service gateway, photos posted by people in rooms the way WeChat delivers them (one message per
image, text separately), the bot's replies and the month's jobs going out through the gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build, listen
from bot.channels.base import InboundMessage
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.clock import VirtualClock
from bot.config.campaign import Sources
from bot.core.planner import PlannedJob
from bot.proof.intake import ProofIntake
from bot.settings import Settings
from tests.proof import scenario
from tests.proof.conftest import at

WAIT = 10.0  # seconds: a bound on waiting for the bot to act, never a sleep


def _app(jinxi: Sources, tmp_path: Path, puppet: LoopbackPuppet, monkeypatch: pytest.MonkeyPatch) -> App:
    for name, value in puppet.env().items():
        monkeypatch.setenv(name, value)
    settings = Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "wechaty")
    app = build(jinxi, settings, VirtualClock(at(4, 1, 8)), echo=None)
    assert isinstance(app.channel, WechatyChannel)
    intake = next(h for h in app.router.handlers if isinstance(h, ProofIntake))
    intake.settings = scenario.SETTINGS  # the scenario's small byte limit
    return app


def test_a_month_of_proof_in_the_simulator(jinxi: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            app = _app(jinxi, tmp_path, puppet, monkeypatch)
            clock = app.clock
            assert isinstance(clock, VirtualClock)
            # The gateway stamps messages with the wall clock, as a real one does; the channel moves them onto the
            # campaign's (virtual) clock.
            rooms = puppet.add_town(app.loaded.campaign)
            stranger = puppet.add_contact("刘小溪", weixin="xiaoliu-wh")
            puppet.rooms[rooms["wenhuazhan-work"]].member_ids.append(stranger)
            contact = {c.weixin: c.id for c in puppet.contacts.values() if c.weixin}

            handled: set[str] = set()
            progress = asyncio.Condition()
            dispatch = app.router.dispatch

            async def dispatch_and_note(message: InboundMessage) -> bool:
                try:
                    return await dispatch(message)
                finally:
                    async with progress:
                        handled.add(message.message_id)
                        progress.notify_all()

            monkeypatch.setattr(app.router, "dispatch", dispatch_and_note)

            async def post(p: scenario.Post) -> None:
                room = rooms[p.group] if p.group else ""
                ids = []
                if p.text:
                    ids.append(puppet.post_text(contact[p.wechat], p.text, room_id=room))
                for i, data in enumerate(p.photos):
                    ids.append(puppet.post_image(contact[p.wechat], data, f"IMG_{i}.jpg", room_id=room))
                async with progress:
                    await asyncio.wait_for(progress.wait_for(lambda: handled.issuperset(ids)), WAIT)
                await intake.flush()  # the post's quiet window closes before anything else happens

            async def run_job(job: Any) -> None:
                assert isinstance(job, PlannedJob)
                await app.pipeline.run_job(job)

            intake = next(h for h in app.router.handlers if isinstance(h, ProofIntake))
            await app.channel.start()
            listener = asyncio.create_task(listen(app))
            try:
                await scenario.play(app.loaded, run_job, clock.set, post)
                office = [m.text for m in puppet.sent_by_bot() if m.room_id == rooms["jinxi-office"]]
                scenario.check(app.loaded, intake.evidence.store, intake.evidence, office)
                # The replies reached the rooms the photos came from, and the request @-ed the contact. The three
                # photos arrived as three messages and were acknowledged once.
                in_changchun = [m for m in puppet.sent_by_bot() if m.room_id == rooms["changchun-work"]]
                [ack] = [m.text for m in in_changchun if m.text.startswith("已收到")]
                assert ack == "已收到 长春村 4月“敲门行动”入户宣传 照片 3 张（编号 1～3），累计 3 张。"
                request = next(m for m in in_changchun if "4月垃圾分类宣传工作安排" in m.text)
                assert request.mention_ids == (contact["lidehua-changchun"],)
                in_pingxi = [m.text for m in puppet.sent_by_bot() if m.room_id == rooms["pingxi-work"]]
                assert any("文件太大" in t for t in in_pingxi) and any("图片像素太多" in t for t in in_pingxi)
                # The binding went to the admins privately and the approval was answered there.
                admin = contact["jinxi-ranxy"]
                private = [m.text for m in puppet.sent_by_bot() if not m.room_id and m.to_id == admin]
                assert any("刘小溪（微信 xiaoliu-wh）申请绑定到文化站" in t for t in private)
                assert any(t.startswith("已批准：刘小溪") for t in private)
            finally:
                await app.channel.close()
                await asyncio.wait_for(listener, WAIT)
                app.close()

    asyncio.run(main())
