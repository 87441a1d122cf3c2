"""WechatyChannel against LoopbackPuppet over real sockets: login, rooms, sending, receiving, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import grpclib.client
import pytest
from grpclib.const import Cardinality
from grpclib.exceptions import GRPCError
from wechaty_grpc.wechaty import puppet as pb

from bot.channels.base import InboundMessage, OutgoingFile
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.channels.wechaty.loopback import image_bytes
from bot.channels.wechaty.protocol import PATH, WireMessageType
from bot.clock import TOWN_ZONE
from bot.config.campaign import LoadedCampaign
from bot.core.planner import admin_targets, group_target, unit_targets
from bot.store.rooms import RoomDirectory
from bot.store.sql import open_store
from tests.channels.wechaty.conftest import WAIT, Alerts, settings_for, town_groups

World = Callable[..., None]


def _group(loaded: LoadedCampaign, group_id: str):  # type: ignore[no-untyped-def]
    group, unit = loaded.campaign.group(group_id)
    return group_target(group, unit)


async def _next(channel: WechatyChannel) -> InboundMessage:
    async with asyncio.timeout(WAIT):
        return await anext(aiter(channel.inbound()))


def test_logs_in_and_resolves_every_group_including_emoji(world: World, tls: bool) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        assert channel.online
        assert channel.self_id == puppet.self_id
        assert channel.group_rooms == rooms
        assert channel.missing == {}
        assert channel.group_rooms["shanling-villagers"] == puppet.room_by_topic("杉岭村村民群🌲").id
        stored = channel.rooms.all()
        assert {g: r.room_id for g, r in stored.items()} == rooms
        health = await channel.health()
        assert all(line.ok for line in health), health
        assert ("TLS" if tls else "明文") in health[0].detail
        assert puppet.endpoint not in str(health)  # #状态 is read by the clerk: no gateway address

    world(scenario, tls=tls)


def test_text_goes_to_the_room_with_real_mentions(world: World, loaded: LoadedCampaign, tls: bool) -> None:
    unit = loaded.campaign.unit("changchun")
    [target] = unit_targets(unit, mention_contacts=True)

    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        message_id = await channel.send_text(target, "请本周五前上传照片。")
        [sent] = puppet.sent_by_bot()
        assert sent.id == message_id
        assert sent.room_id == rooms["changchun-work"]
        secretary = next(c for c in puppet.contacts.values() if c.weixin == "lidehua-changchun")
        assert sent.mention_ids == (secretary.id,)
        assert sent.text == "@李德华\u2005请本周五前上传照片。"
        # The name shown in the room wins over the contact's name.
        puppet.rooms[rooms["changchun-work"]].aliases[secretary.id] = "李书记"
        puppet.mark_dirty(rooms["changchun-work"])
        await channel.wait_until(lambda: rooms["changchun-work"] not in channel.directory.members)
        await channel.send_text(target, "收到请回复")
        assert puppet.sent_by_bot()[-1].text == "@李书记\u2005收到请回复"

    world(scenario, tls=tls)


def test_private_message_to_an_admin_by_wechat_id(world: World, loaded: LoadedCampaign) -> None:
    admin = admin_targets(loaded.campaign)[0]

    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        await channel.send_text(admin, "测试提醒")
        [sent] = puppet.sent_by_bot()
        assert puppet.contacts[sent.to_id].weixin == admin.wechat
        assert sent.room_id == ""

    world(scenario)


def test_files_inline_and_uploaded(world: World, loaded: LoadedCampaign, tmp_path: Path) -> None:
    target = _group(loaded, "pingxi-villagers")
    small, big = tmp_path / "small.png", tmp_path / "big.mp3"
    small.write_bytes(image_bytes(2_000))
    big.write_bytes(bytes(range(256)) * (14 * 1024))  # 3.5 MB: over the inline limit, goes through Upload

    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        await channel.send_file(target, OutgoingFile(small, "海报.png"))
        await channel.send_file(target, OutgoingFile(big, "广播稿.mp3"))
        first, second = puppet.sent_by_bot()
        assert (first.type, first.filename, first.data) == (WireMessageType.IMAGE, "海报.png", small.read_bytes())
        assert (second.type, second.filename) == (WireMessageType.ATTACHMENT, "广播稿.mp3")
        assert second.data == big.read_bytes()
        assert first.room_id == second.room_id == rooms["pingxi-villagers"]
        assert len(puppet.blobs) == 1  # only the big one was uploaded

    world(scenario)


def test_inbound_text_images_and_no_echoes(world: World, loaded: LoadedCampaign) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        room = rooms["changchun-work"]
        secretary = next(c for c in puppet.contacts.values() if c.weixin == "lidehua-changchun")
        await channel.send_text(_group(loaded, "changchun-work"), "这是机器人自己发的")  # echoed, must be ignored
        puppet.post_text(secretary.id, "@大喇叭\u2005收到", room_id=room, mention_ids=(puppet.self_id,))
        text = await _next(channel)
        assert (text.kind, text.text, text.group, text.room_id) == ("text", "@大喇叭\u2005收到", "changchun-work", room)
        assert (text.sender, text.sender_name, text.sender_wechat) == (secretary.id, "李德华", "lidehua-changchun")
        assert text.mentions_bot and text.mentions == (puppet.self_id,)
        assert text.received_at.tzinfo is not None
        assert abs(text.received_at.timestamp() - puppet.log[-1].timestamp_ms / 1000) < 1
        big, small = image_bytes(60_000, seed=1), image_bytes(3_000, seed=2)
        assert len(big) > 20 * 1024 > len(small)
        puppet.post_image(secretary.id, big, "现场1.png", room_id=room)  # uuid box + Download
        puppet.post_image(secretary.id, small, "现场2.png", room_id=room)  # MessageImage fails: stream fallback
        first, second = await _next(channel), await _next(channel)
        assert first.kind == second.kind == "image"
        assert [a.data for a in first.attachments] == [big]
        assert [(a.name, a.data) for a in second.attachments] == [("现场2.png", small)]
        puppet.post_text(secretary.id, "私聊一下")
        private = await _next(channel)
        assert (private.room_id, private.group, private.text) == (None, None, "私聊一下")

    world(scenario)


def test_a_send_waiting_for_its_gap_does_not_hold_up_inbound(world: World, loaded: LoadedCampaign) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        target = _group(loaded, "pingxi-villagers")
        await channel.send_text(target, "第一条")
        waiting = asyncio.create_task(channel.send_text(target, "第二条"))  # waits out a 60 s gap
        contact = next(c for c in puppet.contacts.values() if c.weixin == "zhaohong-pingxi")
        puppet.post_text(contact.id, "#状态", room_id=rooms["pingxi-work"])
        async with asyncio.timeout(WAIT / 2):
            assert (await anext(aiter(channel.inbound()))).text == "#状态"
        assert not waiting.done()
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)

    world(scenario, gap_seconds=(60.0, 60.0))


def test_throttling_notice_pauses_sending_and_alerts(world: World) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], alerts: Alerts) -> None:
        await channel.start()
        puppet.throttle()
        async with asyncio.timeout(WAIT):
            await alerts.changed.wait()
        assert alerts.templates() == ["alert_wechat_throttled"]
        assert alerts.seen[0][2]["pause_minutes"] == 10
        assert alerts.deliverable == [True]  # still online: only asked to slow down
        lines = {line.part: line for line in await channel.health()}
        assert not lines["发送节奏"].ok and "过于频繁" in lines["发送节奏"].detail

    world(scenario, throttle_pause_seconds=600.0)


def test_throttle_pause_delays_the_next_send(world: World, loaded: LoadedCampaign) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], alerts: Alerts) -> None:
        await channel.start()
        puppet.throttle()
        await channel.wait_until(lambda: channel.paused_for > 0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await channel.send_text(_group(loaded, "pingxi-villagers"), "稍后再发")
        assert loop.time() - started >= 0.2
        assert len(puppet.sent_by_bot()) == 1

    world(scenario, throttle_pause_seconds=0.3)


def test_second_stream_gets_already_exists_and_the_channel_waits(world: World, tmp_path: Path) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        other = grpclib.client.Channel(puppet.host, puppet.port)
        meta = {"authorization": f"Wechaty {puppet.token}"}
        async with other.request(
            PATH + "Event", Cardinality.UNARY_STREAM, pb.EventRequest, pb.EventResponse, metadata=meta
        ) as held:
            await held.send_message(pb.EventRequest(), end=True)
            assert (await held.recv_message()) is not None  # heartbeat: this client holds the stream
            await channel.start()
            assert not channel.online
            assert "已有另一个程序连着这个网关" in channel.last_error
            await held.cancel()
        other.close()
        await channel.wait_until(lambda: channel.online)
        assert puppet.stream_opens == 2

    world(scenario, login_wait_seconds=0.3)


def test_dropped_stream_and_restarted_gateway_reconnect_without_loss(world: World, loaded: LoadedCampaign) -> None:
    target = _group(loaded, "wangling-villagers")

    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        puppet.drop_stream()
        await puppet.wait_until(lambda: puppet.stream_opens == 2 and puppet._stream is not None)
        await channel.wait_until(lambda: channel.online)
        await puppet.kill()
        await channel.wait_until(lambda: not channel.online)
        sending = asyncio.create_task(channel.send_text(target, "网关重启期间的消息"))
        await channel.wait_until(lambda: "网关拒绝连接" in channel.last_error)
        assert not sending.done()
        await puppet.start()
        await asyncio.wait_for(sending, WAIT)
        assert [m.text for m in puppet.sent_by_bot()] == ["网关重启期间的消息"]
        assert puppet.starts >= 2  # Start called again on the restarted gateway

    world(scenario)


def test_watchdog_dings_a_quiet_gateway(world: World) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        puppet.heartbeat_seconds = 3600.0
        await channel.start()
        await puppet.wait_until(lambda: puppet.dings >= 2)
        assert channel.online  # each DONG counts as life
        assert puppet.stream_opens == 1

    world(scenario, watchdog_seconds=0.2)


def test_watchdog_reconnects_from_a_hung_gateway(world: World) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        puppet.heartbeat_seconds = 0.05
        puppet.hung = True
        await channel.wait_until(lambda: "心跳" in channel.last_error)
        assert puppet.dings >= 1
        puppet.hung = False
        await puppet.wait_until(lambda: puppet.stream_opens >= 2)
        await channel.wait_until(lambda: channel.online)

    world(scenario, watchdog_seconds=0.3)


def test_logout_alerts_and_shows_in_health(world: World) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], alerts: Alerts) -> None:
        await channel.start()
        puppet.logout("已在其他设备登录")
        async with asyncio.timeout(WAIT):
            await alerts.changed.wait()
        assert alerts.seen[0][0] == "alert_wechat_logout"
        assert alerts.seen[0][2]["reason"] == "已在其他设备登录"
        assert alerts.deliverable == [False]  # logged out: the app writes it where it can still be read
        [wechat, *_] = await channel.health()
        assert not wechat.ok and "已在其他设备登录" in wechat.detail

    world(scenario)


def test_long_outage_alerts_once(world: World) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], alerts: Alerts) -> None:
        await channel.start()
        await puppet.kill()
        async with asyncio.timeout(WAIT):
            await alerts.changed.wait()
        assert alerts.templates() == ["alert_wechat_down"]
        # The cause in the clerk's words, what to check; no Python exception names.
        assert alerts.seen[0][2]["error"] == "网关拒绝连接（网关程序没有在运行，或者地址、端口不对）"
        assert alerts.deliverable == [False]
        await puppet.start()
        await channel.wait_until(lambda: channel.online)
        assert alerts.templates() == ["alert_wechat_down"]

    world(scenario, outage_alert_seconds=0.1)


def test_scan_login_draws_the_qr_code(world: World, tmp_path: Path) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()  # returns after login_wait: the daemon runs on, health says why nothing goes out
        assert not channel.online
        png = tmp_path / "qr" / "wechat-login.png"
        assert png.read_bytes().startswith(b"\x89PNG")
        [wechat, *_others] = await channel.health()
        assert not wechat.ok and "扫码" in wechat.detail
        puppet.confirm_scan()
        await channel.wait_until(lambda: channel.online and not channel.missing and bool(channel.group_rooms))

    world(scenario, logged_in=False, login_wait_seconds=0.3)


def test_missing_group_is_reported_then_found_on_dirty(world: World, loaded: LoadedCampaign) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        room = rooms["pingxi-work"]
        puppet.rooms[room].topic = "别的群"
        await channel.start()
        assert "平溪村两委工作群" in channel.missing["pingxi-work"]
        lines = {line.part: line for line in await channel.health()}
        assert not lines["微信群"].ok and "平溪村两委工作群" in lines["微信群"].detail
        assert "pingxi-work" not in lines["微信群"].detail  # the clerk reads group names, not ids
        assert channel.room_report()["pingxi-work"][0] is None
        with pytest.raises(Exception, match="找不到群"):
            await channel.send_text(_group(loaded, "pingxi-work"), "x")
        puppet.rooms[room].topic = "平溪村两委工作群"
        puppet.mark_dirty(room)
        await channel.wait_until(lambda: channel.group_rooms.get("pingxi-work") == room)
        assert channel.missing == {}

    world(scenario)


def test_renamed_group_keeps_its_room_across_restarts(loaded: LoadedCampaign, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'laba.db'}", TOWN_ZONE)
    directory = RoomDirectory.for_store("wechaty", store)

    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            rooms = puppet.add_town(loaded.campaign)
            room = rooms["shanling-villagers"]
            for attempt in range(2):
                channel = WechatyChannel(
                    settings_for(puppet, tmp_path), groups=lambda: town_groups(loaded), rooms=directory, echo=None
                )
                try:
                    await channel.start()
                    assert channel.group_rooms["shanling-villagers"] == room
                    if attempt == 0:
                        puppet.rename_room(room, "杉岭村村民群🌲🌲（新）")
                        await channel.wait_until(
                            lambda: directory.all()["shanling-villagers"].topic == "杉岭村村民群🌲🌲（新）"
                        )
                finally:
                    await channel.close()

    try:
        asyncio.run(main())
    finally:
        store.close()


def test_unknown_event_codes_are_ignored(world: World) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        puppet.emit(32, {"whatever": 1})
        puppet.emit(4, {})
        puppet.emit(16, {"data": "boom"})
        contact = next(iter(c for c in puppet.contacts.values() if c.weixin == "zhaohong-pingxi"))
        puppet.post_text(contact.id, "还在吗", room_id=rooms["pingxi-work"])
        assert (await _next(channel)).text == "还在吗"
        assert channel.online

    world(scenario)


def test_wrong_token_is_said_plainly(loaded: LoadedCampaign, tmp_path: Path) -> None:
    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            channel = WechatyChannel(
                settings_for(puppet, tmp_path, token="insecure_wrong", login_wait_seconds=0.3), echo=None
            )
            try:
                await channel.start()
                await channel.wait_until(lambda: "令牌" in channel.last_error)
                [wechat, *_] = await channel.health()
                assert not wechat.ok and "令牌" in wechat.detail
            finally:
                await channel.close()

    asyncio.run(main())


def test_tls_client_refuses_a_plain_gateway(loaded: LoadedCampaign, tmp_path: Path) -> None:
    async def main() -> None:
        async with LoopbackPuppet(tls=False) as puppet:
            channel = WechatyChannel(settings_for(puppet, tmp_path, tls=True, login_wait_seconds=0.3), echo=None)
            try:
                await channel.start()
                assert not channel.online
                await channel.wait_until(lambda: bool(channel.last_error))
            finally:
                await channel.close()

    asyncio.run(main())


def test_bare_stub_against_the_loopback_sees_the_wire_enum() -> None:
    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            sender = puppet.add_contact("张三", weixin="zhangsan")
            message_id = puppet.post_text(sender, "你好")
            grpc = grpclib.client.Channel(puppet.host, puppet.port)
            from wechaty_grpc.wechaty import PuppetStub

            stub = PuppetStub(grpc, metadata={"authorization": f"Wechaty {puppet.token}"})
            payload = await stub.message_payload(id=message_id)
            assert int(payload.type) == 7  # wechaty-puppet's Text, which the proto enum calls VIDEO
            assert payload.timestamp > 100_000_000_000  # milliseconds
            with pytest.raises(GRPCError):
                await PuppetStub(grpc, metadata={"authorization": "Wechaty nope"}).room_list()
            grpc.close()

    asyncio.run(main())


def test_a_groups_member_count_leaves_out_the_bot_and_is_unknown_for_a_missing_group(world: World) -> None:
    """The weekly quiz's 参与率 divides by this; a group the gateway can't find has no count (None), never 0."""

    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        puppet.rooms[rooms["pingxi-villagers"]].topic = "别的群"
        await channel.start()
        members = puppet.rooms[rooms["changchun-villagers"]].member_ids
        assert puppet.self_id in members
        assert await channel.member_count("changchun-villagers") == len(members) - 1
        assert await channel.member_count("pingxi-villagers") is None  # not found: nothing to count
        assert await channel.member_count("nowhere") is None

    world(scenario)
