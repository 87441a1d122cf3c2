"""Done when: pointed at the simulator (TLS and plain), the app delivers a month of the plan to the right room ids
with working mentions; killing and restarting the simulator mid-month loses and duplicates nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import App, build, simulate
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel, WechatySettings
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources
from bot.core.planner import PlannedJob, Target
from bot.inbound import InboundHandler
from bot.pipeline import Outcome
from bot.settings import Settings
from bot.store.base import DeliveryStatus
from tests.channels.wechaty.conftest import WAIT

MAY = (datetime(2024, 5, 1, tzinfo=TOWN_ZONE), datetime(2024, 6, 1, tzinfo=TOWN_ZONE))


async def _no_sleep(_: float) -> None:
    return None


def _app(jinxi: Sources, tmp_path: Path, puppet: LoopbackPuppet, tap: InboundHandler | None = None) -> App:
    # Clips are the audio tests' business (and take seconds each): no voice, so broadcast jobs go out as their script.
    settings = Settings(
        tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "wechaty", tmp_path / "audio", tts_engine="none"
    )
    wechaty = WechatySettings.from_env(puppet.env(), qr_dir=settings.data_dir)
    app = build(jinxi, settings, VirtualClock(MAY[0]), echo=None, wechaty=wechaty, sleep=_no_sleep, tap=tap)
    assert isinstance(app.channel, WechatyChannel)
    app.channel.link.backoff_seconds = (0.02, 0.2)
    return app


def _check_month(app: App, puppet: LoopbackPuppet, rooms: dict[str, str], outcomes: list[Outcome]) -> None:
    jobs = app.loaded.plan.by_key()
    targets: dict[tuple[str, str], Target] = {(j.key, t.id): t for j in jobs.values() for t in j.targets}
    assert outcomes and all(o.status is DeliveryStatus.SENT for o in outcomes), [
        o for o in outcomes if o.status is not DeliveryStatus.SENT
    ]
    contact_of = {c.weixin: c.id for c in puppet.contacts.values() if c.weixin}
    expected_rooms: Counter[str] = Counter()
    expected_people: Counter[str] = Counter()
    for o in outcomes:
        target = targets[(o.job_key, o.target)]
        if target.kind == "group":
            expected_rooms[rooms[target.id]] += 1
        else:
            expected_people[contact_of[target.wechat]] += 1
    sent = puppet.sent_by_bot()
    in_rooms = [m for m in sent if m.room_id]
    assert Counter(m.room_id for m in in_rooms) == expected_rooms
    assert len({(m.room_id, m.text) for m in in_rooms}) == len(in_rooms)  # nothing twice
    private = Counter(m.to_id for m in sent if not m.room_id)
    assert all(private[c] >= n for c, n in expected_people.items())  # (admins also get alerts privately)
    # Mentions: each work group's request @-s the unit's contacts, by contact id and by visible name.
    mentioned = [m for m in in_rooms if m.mention_ids]
    assert mentioned
    for m in mentioned:
        for cid in m.mention_ids:
            assert cid in puppet.rooms[m.room_id].member_ids
            assert m.text.startswith(f"@{puppet.contacts[cid].name}\u2005")
    requests = [o for o in outcomes if o.job_key == "2024-05/proof_request"]
    assert len(mentioned) >= len(requests) > 0


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_a_month_reaches_the_right_rooms_with_mentions(jinxi: Sources, tmp_path: Path, tls: bool) -> None:
    async def main() -> None:
        async with LoopbackPuppet(tls=tls) as puppet:
            app = _app(jinxi, tmp_path, puppet)
            rooms = puppet.add_town(app.loaded.campaign)
            assert isinstance(app.clock, VirtualClock)
            try:
                outcomes = await simulate(app, app.clock, *MAY)
                _check_month(app, puppet, rooms, outcomes)
                # Again over the same month: the store says everything went, nothing goes twice.
                before = len(puppet.sent_by_bot())
                again = await simulate(app, app.clock, *MAY)
                assert not any(o.fresh for o in again)
                assert len(puppet.sent_by_bot()) == before
            finally:
                app.close()

    asyncio.run(main())


def test_killing_the_gateway_mid_month_loses_and_duplicates_nothing(jinxi: Sources, tmp_path: Path) -> None:
    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            app = _app(jinxi, tmp_path, puppet)
            rooms = puppet.add_town(app.loaded.campaign)
            clock = app.clock
            assert isinstance(clock, VirtualClock) and isinstance(app.channel, WechatyChannel)
            channel = app.channel
            jobs: list[PlannedJob] = list(app.loaded.plan.between(*MAY))
            outcomes: list[Outcome] = []
            await channel.start()
            try:
                for i, job in enumerate(jobs):
                    clock.set(job.at)
                    if i == len(jobs) // 2:
                        # The gateway dies; the next job fires while it is down and waits for it.
                        await puppet.kill()
                        await channel.wait_until(lambda: not channel.online, WAIT)
                        running = asyncio.create_task(app.pipeline.run_job(job))
                        await channel.wait_until(lambda: bool(channel.last_error), WAIT)
                        assert not running.done()
                        await puppet.start()
                        outcomes.extend(await asyncio.wait_for(running, WAIT))
                    else:
                        outcomes.extend(await app.pipeline.run_job(job))
                    if i == len(jobs) // 2 + 1:
                        puppet.drop_stream()  # and a flaky stream for good measure
                await app.pipeline.flush_alerts()
                assert puppet.stream_opens >= 3
                _check_month(app, puppet, rooms, outcomes)
            finally:
                await channel.close()
                app.close()

    asyncio.run(main())


def test_inbound_photo_and_admin_command_reach_the_pipeline(jinxi: Sources, tmp_path: Path) -> None:
    from bot.app import listen
    from bot.channels.base import InboundMessage
    from bot.channels.wechaty.loopback import image_bytes

    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            seen: list[InboundMessage] = []

            class Spy:
                async def handle(self, message: InboundMessage) -> bool:
                    seen.append(message)
                    return False

            app = _app(jinxi, tmp_path, puppet, tap=Spy())
            rooms = puppet.add_town(app.loaded.campaign)
            await app.channel.start()
            listener = asyncio.create_task(listen(app))
            try:
                admin = next(c for c in puppet.contacts.values() if c.weixin == "jinxi-ranxy")
                secretary = next(c for c in puppet.contacts.values() if c.weixin == "lidehua-changchun")
                photo = image_bytes(40_000)
                puppet.post_image(secretary.id, photo, "宣传周.png", room_id=rooms["changchun-work"])
                puppet.post_text(admin.id, "#暂停", room_id=rooms["jinxi-office"])
                await puppet.wait_until(lambda: any("已暂停" in m.text for m in puppet.sent_by_bot()), WAIT)
                assert app.pipeline.held
                [reply] = [m for m in puppet.sent_by_bot() if "已暂停" in m.text]
                assert reply.room_id == rooms["jinxi-office"]
                image = next(m for m in seen if m.kind == "image")
                assert image.group == "changchun-work" and image.attachments[0].data == photo
                assert image.sender_wechat == "lidehua-changchun"
            finally:
                await app.channel.close()
                await asyncio.wait_for(listener, WAIT)
                app.close()

    asyncio.run(main())
