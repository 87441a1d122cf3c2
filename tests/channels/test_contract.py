"""One contract, every channel: memory, outbox, wechaty over the loopback gateway (plain and TLS), and the WeCom and
DingTalk robots over their loopback stand-ins. Text, mentions, files, long text, rate-limit recovery, and a
permanent failure handed to the relay by the routed channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.channels.base import Channel, OutgoingFile
from bot.channels.memory import MemoryChannel
from bot.channels.outbox import OutboxChannel
from bot.channels.relay import RelayDesk
from bot.channels.robots import PublicFiles, RobotChannel, RobotConfig
from bot.channels.robots.loopback import LoopbackRobots
from bot.channels.routed import RoutedChannel
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.clock import TOWN_ZONE
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.planner import Target, group_target, person_target
from bot.errors import DeliveryError
from bot.store.relay import RelayQueue
from bot.store.rooms import RoomDirectory
from bot.store.sql import open_store
from tests.channels.robots.conftest import FakeTime
from tests.channels.wechaty.conftest import WAIT, settings_for, town_groups

NOW = datetime(2024, 5, 6, 9, tzinfo=TOWN_ZONE)
GROUP = "changchun-work"
MOBILE = "13800000001"
LONG = "\n\n".join(f"第{i}段：" + "垃圾分类就是新时尚，人人参与。" * 15 for i in range(12))  # about 6 KB


@dataclass
class Harness:
    """A started channel and how to see what its network received in GROUP."""

    channel: Channel
    texts: Callable[[], list[str]]
    mentioned: Callable[[], bool]  # the last text carried the contact's mention the network's way
    file_data: Callable[[str], bytes | None]
    throttle: Callable[[], Awaitable[None]] | None  # make the next send meet the service's rate limit
    break_for_good: Callable[[], object] | None  # from now on the group's path refuses for good
    robots: RobotChannel | None = None


def _loaded(jinxi: Sources) -> LoadedCampaign:
    units = jinxi.schedules / "units.yaml"
    text = units.read_text(encoding="utf-8")
    units.write_text(text.replace("wechat: lidehua-changchun}", f"wechat: lidehua-changchun, mobile: '{MOBILE}'}}"))
    return load(jinxi)


def _target(loaded: LoadedCampaign) -> Target:
    group, unit = loaded.campaign.group(GROUP)
    contact = unit.contacts[0]
    return replace(group_target(group, unit), mentions=(person_target(contact, unit),))


@asynccontextmanager
async def memory(loaded: LoadedCampaign, tmp_path: Path) -> AsyncIterator[Harness]:
    channel = MemoryChannel()

    async def throttle() -> None:
        channel.fail_next = 1

    yield Harness(
        channel,
        lambda: [m.text for m in channel.sent if m.target.id == GROUP and not m.file],
        lambda: bool(channel.sent[-1].target.mentions),
        lambda name: next((m.file.path.read_bytes() for m in channel.sent if m.file and m.file.name == name), None),
        throttle,
        lambda: channel.refuse.add(GROUP),
    )


@asynccontextmanager
async def outbox(loaded: LoadedCampaign, tmp_path: Path) -> AsyncIterator[Harness]:
    folder = tmp_path / "outbox"
    channel = OutboxChannel(folder, lambda: NOW, echo=None)

    def texts() -> list[str]:
        paths = sorted(p for p in folder.rglob(f"*-{GROUP}-*.txt"))
        return [p.read_text(encoding="utf-8").split("\n\n", 1)[1].rstrip("\n") for p in paths]

    def file_data(name: str) -> bytes | None:
        found = [p for p in folder.rglob(f"*-{GROUP}-*{Path(name).suffix}") if p.suffix != ".txt"]
        return found[-1].read_bytes() if found else None

    yield Harness(
        channel,
        lambda: [t.split("\u2005", 1)[-1] for t in texts()],
        lambda: texts()[-1].startswith("@李德华\u2005"),
        file_data,
        None,  # no network, no rate limit
        None,  # a folder can't refuse for good (a write error is transient)
    )


def _wechaty(tls: bool) -> Callable[[LoadedCampaign, Path], Any]:
    @asynccontextmanager
    async def harness(loaded: LoadedCampaign, tmp_path: Path) -> AsyncIterator[Harness]:
        async with LoopbackPuppet(tls=tls) as puppet:
            rooms = puppet.add_town(loaded.campaign)
            channel = WechatyChannel(
                settings_for(puppet, tmp_path, throttle_pause_seconds=0.2),
                groups=lambda: town_groups(loaded),
                rooms=RoomDirectory("wechaty"),
                echo=None,
                backoff_seconds=(0.02, 0.2),
                send_wait_seconds=WAIT,
            )
            room = rooms[GROUP]

            def sent() -> list[Any]:
                return [m for m in puppet.sent_by_bot() if m.room_id == room]

            async def throttle() -> None:
                puppet.throttle()
                await channel.wait_until(lambda: channel.sender.pacer.paused_for() > 0)

            try:
                yield Harness(
                    channel,
                    lambda: [m.text.split("\u2005", 1)[-1] for m in sent() if m.text],
                    lambda: bool(sent()[-1].mention_ids),
                    lambda name: next((m.data for m in sent() if m.filename == name), None),
                    throttle,
                    lambda: puppet.rooms.pop(room),  # the bot was removed from the group: NOT_FOUND
                )
            finally:
                await channel.close()

    return harness


def _robot(kind: str) -> Callable[[LoadedCampaign, Path], Any]:
    @asynccontextmanager
    async def harness(loaded: LoadedCampaign, tmp_path: Path) -> AsyncIterator[Harness]:
        fake = FakeTime()
        server = LoopbackRobots(now=fake.monotonic, wall_ms=fake.wall_ms)
        await server.start()
        if kind == "wecom":
            config = RobotConfig(GROUP, server.add_wecom(GROUP), "wecom")
        else:
            url = server.add_dingtalk(GROUP, secret="SECcontract")
            config = RobotConfig(GROUP, url, "dingtalk", "SECcontract")
        public = PublicFiles(tmp_path / "public", "https://laba.example.cn")
        channel = RobotChannel({GROUP: config}, pacer=fake.pacer(), public=public, wall_ms=fake.wall_ms)

        def file_data(name: str) -> bytes | None:
            for post in server.received(GROUP):
                media = post.payload.get("file", {}).get("media_id")
                if media and server.uploads[media][1] == name:
                    return server.uploads[media][2]
                if "https://laba.example.cn/files/" in post.text and name in post.text:
                    return next((tmp_path / "public").rglob(name)).read_bytes()
            return None

        async def throttle() -> None:
            server.fail_next(GROUP, 45009 if kind == "wecom" else 130101)

        try:
            yield Harness(
                channel,
                lambda: [p.text.split(" ", 1)[-1] if p.mobiles else p.text for p in server.received(GROUP) if p.text],
                lambda: server.received(GROUP)[-1].mobiles == [MOBILE],
                file_data,
                throttle,
                lambda: server.remove(GROUP),
                robots=channel,
            )
        finally:
            await channel.close()
            await server.close()

    return harness


BACKENDS: dict[str, Callable[[LoadedCampaign, Path], Any]] = {
    "memory": memory,
    "outbox": outbox,
    "wechaty-plain": _wechaty(False),
    "wechaty-tls": _wechaty(True),
    "wecom": _robot("wecom"),
    "dingtalk": _robot("dingtalk"),
}

Scenario = Callable[[Harness, Target, LoadedCampaign, Path], Awaitable[None]]


@pytest.fixture(params=sorted(BACKENDS))
def contract(request: pytest.FixtureRequest, jinxi: Sources, tmp_path: Path) -> Callable[[Scenario], None]:
    loaded = _loaded(jinxi)

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            async with BACKENDS[request.param](loaded, tmp_path) as harness:
                await harness.channel.start()
                await scenario(harness, _target(loaded), loaded, tmp_path)

        asyncio.run(main())

    return run


async def _deliver(channel: Channel, target: Target, text: str) -> str:
    """As the pipeline does: a transient failure is tried again (three attempts), nothing else is."""
    for attempt in range(3):
        try:
            return await channel.send_text(target, text)
        except DeliveryError as exc:
            if exc.permanent or attempt == 2:
                raise
    raise AssertionError("unreachable")


def test_text_arrives_once(contract: Callable[[Scenario], None]) -> None:
    async def scenario(h: Harness, target: Target, _: LoadedCampaign, __: Path) -> None:
        message_id = await h.channel.send_text(replace(target, mentions=()), "本月请交垃圾分类活动照片。")
        assert message_id
        assert h.texts() == ["本月请交垃圾分类活动照片。"]

    contract(scenario)


def test_mentions_reach_the_contact(contract: Callable[[Scenario], None]) -> None:
    async def scenario(h: Harness, target: Target, _: LoadedCampaign, __: Path) -> None:
        await h.channel.send_text(target, "请李书记交照片。")
        assert h.mentioned()
        assert h.texts()[-1].endswith("请李书记交照片。")

    contract(scenario)


def test_a_file_arrives_whole(contract: Callable[[Scenario], None]) -> None:
    async def scenario(h: Harness, target: Target, _: LoadedCampaign, tmp_path: Path) -> None:
        clip = tmp_path / "clip.mp3"
        clip.write_bytes(b"ID3" + bytes(range(256)) * 8)
        await h.channel.send_file(target, OutgoingFile(clip, "broadcast-may.mp3"))
        assert h.file_data("broadcast-may.mp3") == clip.read_bytes()

    contract(scenario)


def test_long_text_arrives_whole_in_order(contract: Callable[[Scenario], None]) -> None:
    async def scenario(h: Harness, target: Target, _: LoadedCampaign, __: Path) -> None:
        await h.channel.send_text(replace(target, mentions=()), LONG)
        assert "".join(h.texts()).replace("\n", "") == LONG.replace("\n", "")

    contract(scenario)


def test_rate_limit_delays_but_never_duplicates(contract: Callable[[Scenario], None]) -> None:
    async def scenario(h: Harness, target: Target, _: LoadedCampaign, __: Path) -> None:
        if h.throttle is None:
            pytest.skip("this channel has no rate limit")
        await h.channel.send_text(replace(target, mentions=()), "第一条")
        await h.throttle()
        await _deliver(h.channel, replace(target, mentions=()), "第二条")
        assert h.texts() == ["第一条", "第二条"]

    contract(scenario)


def test_permanent_failure_goes_to_the_relay_through_the_routed_channel(contract: Callable[[Scenario], None]) -> None:
    async def scenario(h: Harness, target: Target, loaded: LoadedCampaign, tmp_path: Path) -> None:
        if h.break_for_good is None:
            pytest.skip("this channel has no permanent refusal of a configured group")
        store = open_store(f"sqlite:///{tmp_path / 'relay.db'}", TOWN_ZONE)
        try:
            queue = RelayQueue(store)
            robots = h.robots or RobotChannel({})
            default = MemoryChannel() if h.robots else h.channel
            routed = RoutedChannel(
                default, robots, RelayDesk(queue, lambda: NOW), lambda: loaded.campaign, default_reaches_people=False
            )
            h.break_for_good()
            message_id = await _deliver(routed, replace(target, mentions=()), "请交照片")
            assert message_id.startswith("relay:")
            [item] = queue.waiting()
            assert (item.target, item.text) == (GROUP, "请交照片")
            assert h.texts() == []
        finally:
            store.close()

    contract(scenario)
