"""RoutedChannel: each group by its own route, people into their work group with an @, permanent failures and
route-less deliveries into the relay queue (real SQLite), robots against the loopback stand-ins."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.channels.base import OutgoingFile
from bot.channels.memory import MemoryChannel
from bot.channels.relay import RelayDesk
from bot.channels.robots import RobotChannel, RobotConfig, RobotProblem, kind_of
from bot.channels.robots.loopback import LoopbackRobots
from bot.channels.routed import RoutedChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.planner import admin_targets, group_target, operator_targets
from bot.core.routes import RouteKind
from bot.store.relay import RelayQueue
from bot.store.sql import open_store
from tests.channels.robots.conftest import FakeTime


def _with_relay_group(jinxi: Sources) -> LoadedCampaign:
    units = jinxi.schedules / "units.yaml"
    text = units.read_text(encoding="utf-8")
    text = text.replace("name: 太平村村民群, kind: villagers}", "name: 太平村村民群, kind: villagers, via: relay}")
    text = text.replace("wechat: lidehua-changchun}", "wechat: lidehua-changchun, mobile: '13800000001'}")
    units.write_text(text, encoding="utf-8")
    return load(jinxi)


Scenario = Callable[[RoutedChannel, LoopbackRobots, MemoryChannel, RelayQueue, list[RobotProblem]], Awaitable[None]]


@pytest.fixture
def routed(jinxi: Sources, tmp_path: Path) -> Callable[[Scenario], None]:
    loaded = _with_relay_group(jinxi)
    fake = FakeTime()

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            from datetime import datetime

            server = LoopbackRobots(now=fake.monotonic, wall_ms=fake.wall_ms)
            await server.start()
            store = open_store(f"sqlite:///{tmp_path / 'laba.db'}", TOWN_ZONE)
            configs = {}
            for group in ("changchun-villagers", "changchun-work"):
                url = server.add_wecom(group)
                configs[group] = RobotConfig(group, url, "wecom")
            url = server.add_dingtalk("xiangjian-work", secret="SECsecret", keyword="垃圾分类")
            assert kind_of(url) == "dingtalk"
            configs["xiangjian-work"] = RobotConfig("xiangjian-work", url, "dingtalk", "SECsecret", "垃圾分类")
            robots = RobotChannel(configs, pacer=fake.pacer(), wall_ms=fake.wall_ms)
            memory = MemoryChannel()
            queue = RelayQueue(store)
            clock = VirtualClock(datetime(2024, 5, 6, 9, tzinfo=TOWN_ZONE))
            problems: list[RobotProblem] = []

            async def sink(problem: RobotProblem) -> None:
                problems.append(problem)

            channel = RoutedChannel(
                memory,
                robots,
                RelayDesk(queue, clock.now),
                lambda: loaded.campaign,
                default_reaches_people=False,
                problems=sink,
            )
            await channel.start()
            try:
                await scenario(channel, server, memory, queue, problems)
            finally:
                await channel.close()
                await server.close()
                store.close()

        asyncio.run(main())

    return run


def _group(loaded_campaign: LoadedCampaign, group_id: str):  # type: ignore[no-untyped-def]
    group, unit = loaded_campaign.campaign.group(group_id)
    return group_target(group, unit)


def test_each_group_goes_by_its_own_route(routed: Callable[[Scenario], None], jinxi: Sources) -> None:
    loaded = load(jinxi)

    async def scenario(
        channel: RoutedChannel, server: LoopbackRobots, memory: MemoryChannel, queue: RelayQueue, _: list[RobotProblem]
    ) -> None:
        ids = {}
        for group_id in ("changchun-villagers", "xiangjian-work", "shanling-villagers", "taiping-villagers"):
            ids[group_id] = await channel.send_text(_group(loaded, group_id), f"给{group_id}")
        assert [p.text for p in server.received("changchun-villagers")] == ["给changchun-villagers"]
        assert "给xiangjian-work" in server.received("xiangjian-work")[0].text
        assert memory.texts_to("shanling-villagers") == ["给shanling-villagers"]  # no robot: the default channel
        assert ids["taiping-villagers"].startswith("relay:")  # via: relay
        [item] = queue.waiting()
        assert (item.target, item.text) == ("taiping-villagers", "给taiping-villagers")
        assert "via: relay" in item.reason

    routed(scenario)


def test_a_person_is_mentioned_by_mobile_in_the_unit_work_group(routed: Callable[[Scenario], None]) -> None:
    async def scenario(
        channel: RoutedChannel, server: LoopbackRobots, memory: MemoryChannel, queue: RelayQueue, _: list[RobotProblem]
    ) -> None:
        campaign = channel._campaign()
        operator = next(t for t in operator_targets(campaign) if t.unit == "changchun")
        contact = campaign.unit("changchun").contacts[0]
        route = channel.route(operator)
        assert route.kind is RouteKind.ROBOT and route.target.id == "changchun-work"
        from bot.core.planner import person_target

        await channel.send_text(person_target(contact, campaign.unit("changchun")), "请李书记交照片")
        [post] = server.received("changchun-work")
        assert post.mobiles == ["13800000001"] and post.text == "请李书记交照片"
        # An operator without a robot in the unit's work group, and an admin (office group has none): relay.
        shanling = next(t for t in operator_targets(campaign) if t.unit == "shanling")
        assert (await channel.send_text(shanling, "广播稿")).startswith("relay:")
        admin = admin_targets(campaign)[0]
        assert (await channel.send_text(admin, "提醒")).startswith("relay:")
        assert memory.sent == []  # never only into the local outbox when a person is meant
        assert [i.target for i in queue.waiting()] == ["shanling-gb", admin.id]

    routed(scenario)


def test_a_permanent_robot_failure_goes_to_the_relay_and_is_reported(
    routed: Callable[[Scenario], None], jinxi: Sources, tmp_path: Path
) -> None:
    loaded = load(jinxi)
    clip = tmp_path / "clip.mp3"
    clip.write_bytes(b"ID3" + b"\x00" * 100)

    async def scenario(
        channel: RoutedChannel,
        server: LoopbackRobots,
        memory: MemoryChannel,
        queue: RelayQueue,
        problems: list[RobotProblem],
    ) -> None:
        server.remove("changchun-villagers")
        message_id = await channel.send_text(_group(loaded, "changchun-villagers"), "通知")
        assert message_id.startswith("relay:")
        assert [(p.group, p.code) for p in problems] == [("changchun-villagers", 93000)]
        # DingTalk can't carry files and no public address is set: the file goes to the relay with its path.
        file_id = await channel.send_file(_group(loaded, "xiangjian-work"), OutgoingFile(clip, "广播.mp3"))
        assert file_id.startswith("relay:")
        items = queue.waiting()
        assert [(i.target, i.text) for i in items] == [
            ("changchun-villagers", "通知"),
            ("xiangjian-work", "[文件] 广播.mp3"),
        ]
        assert items[1].file_path == str(clip)
        assert "93000" in items[0].reason and "重新复制" in items[0].reason
        assert server.posts == []

    routed(scenario)


def test_an_uncertain_failure_is_not_relayed(routed: Callable[[Scenario], None], jinxi: Sources) -> None:
    from bot.errors import DeliveryError

    loaded = load(jinxi)

    async def scenario(
        channel: RoutedChannel, server: LoopbackRobots, memory: MemoryChannel, queue: RelayQueue, _: list[RobotProblem]
    ) -> None:
        server.drop_after_post.add("changchun-villagers")
        with pytest.raises(DeliveryError) as caught:
            await channel.send_text(_group(loaded, "changchun-villagers"), "通知")
        assert caught.value.uncertain
        assert queue.waiting() == []  # it may be in the group already: a person must not post it again

    routed(scenario)


def test_relay_digest_once_per_batch_and_done_records_who(tmp_path: Path) -> None:
    from datetime import datetime

    from bot.core.planner import Target

    store = open_store(f"sqlite:///{tmp_path / 'laba.db'}", TOWN_ZONE)
    queue = RelayQueue(store)
    clock = VirtualClock(datetime(2024, 5, 6, 9, tzinfo=TOWN_ZONE))
    desk = RelayDesk(queue, clock.now)
    told: list[tuple[str, str]] = []

    async def send(person: Target, text: str) -> str:
        told.append((person.id, text))
        return "ok"

    def render(name: str, variables: object) -> str:
        return f"{name}:{[i['id'] for i in variables['items']]}"  # type: ignore[index]

    async def main() -> None:
        a = await desk.queue(Target("g1", "一组", "group"), "甲", None, "无路")
        b = await desk.queue(Target("g2", "二组", "group"), "乙", None, "无路")
        assert await desk.flush([Target("r", "代发员", "person")], render, send) == 2
        assert await desk.flush([Target("r", "代发员", "person")], render, send) == 0  # each item in one digest
        assert told == [("r", f"relay_digest:[{a[6:]}, {b[6:]}]")]

    asyncio.run(main())
    later = datetime(2024, 5, 6, 11, tzinfo=TOWN_ZONE)
    assert queue.done([1, 1, 7], "冉晓燕", later) == ([1], [], [7])
    assert queue.done([1], "别人", later) == ([], [1], [])
    [left] = queue.waiting()
    assert left.id == 2
    first = next(i for i in queue.all() if i.id == 1)
    assert (first.done_by, first.done_at) == ("冉晓燕", later)
    store.close()
