"""RobotChannel against LoopbackRobots over real loopback sockets: both wire formats, limits, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.channels.base import OutgoingFile
from bot.channels.robots import PublicFiles, RobotChannel, RobotConfig, RobotRefused, kind_of
from bot.channels.robots.dingtalk import sign
from bot.channels.robots.loopback import LoopbackRobots
from bot.core.planner import Target
from bot.errors import DeliveryError
from tests.channels.robots.conftest import FakeTime, Scenario

Served = Callable[[Scenario], None]

WORK = Target("changchun-work", "长春村工作群", "group")
LI = Target("li", "李支书", "person", mobile="13800001111")
ZHANG = Target("zhang", "张会计", "person")


def _channel(server: LoopbackRobots, fake_time: FakeTime, **robots: tuple[str, str, str]) -> RobotChannel:
    configs = {}
    for group, (kind, secret, keyword) in robots.items():
        group = group.replace("_", "-")
        url = server.add_wecom(group) if kind == "wecom" else server.add_dingtalk(group, secret=secret, keyword=keyword)
        kind_found = kind_of(url)
        assert kind_found == kind
        configs[group] = RobotConfig(group, url, kind_found, secret, keyword)
    return RobotChannel(configs, pacer=fake_time.pacer(), wall_ms=fake_time.wall_ms)


def test_wecom_text_with_mobile_mentions_and_visible_names(served: Served, fake_time: FakeTime) -> None:
    async def scenario(server: LoopbackRobots) -> None:
        channel = _channel(server, fake_time, changchun_work=("wecom", "", ""))
        await channel.start()
        target = Target(WORK.id, WORK.name, "group", mentions=(LI, ZHANG))
        message_id = await channel.send_text(target, "请交照片")
        await channel.close()
        [post] = server.received("changchun-work")
        assert post.payload["msgtype"] == "text"
        assert post.mobiles == ["13800001111"]
        assert post.text == "@张会计 请交照片"  # WeCom shows the mobile @ itself; a name without mobile is visible
        assert message_id.startswith("wecom:changchun-work:")

    served(scenario)


def test_dingtalk_signs_each_request_puts_keyword_and_visible_mobile(served: Served, fake_time: FakeTime) -> None:
    async def scenario(server: LoopbackRobots) -> None:
        channel = _channel(server, fake_time, changchun_work=("dingtalk", "SECabc123", "垃圾分类"))
        await channel.start()
        target = Target(WORK.id, WORK.name, "group", mentions=(LI,))
        await channel.send_text(target, "请交照片")
        fake_time.now += 7200  # two hours on: a signature reused from before would be refused
        await channel.send_text(target, "第二条")
        await channel.close()
        first, second = server.received("changchun-work")
        assert "@13800001111" in first.text and "垃圾分类" in first.text
        assert first.mobiles == ["13800001111"]
        assert "垃圾分类" in second.text
        assert server.refusals == []

    served(scenario)


def test_sign_matches_the_documented_recipe() -> None:
    # HMAC-SHA256 of "{ts}\n{secret}" keyed by the secret, base64, URL-encoded (+ / = escaped).
    # Expected value computed once with Python's hmac/base64/urllib as DingTalk's documentation shows.
    assert sign("SECabc", 1_700_000_000_000) == "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM%3D"


def test_dingtalk_wrong_secret_is_a_permanent_refusal_naming_the_fix(served: Served, fake_time: FakeTime) -> None:
    async def scenario(server: LoopbackRobots) -> None:
        url = server.add_dingtalk("changchun-work", secret="SECright")
        channel = RobotChannel(
            {"changchun-work": RobotConfig("changchun-work", url, "dingtalk", "SECwrong")},
            pacer=fake_time.pacer(),
            wall_ms=fake_time.wall_ms,
        )
        await channel.start()
        with pytest.raises(RobotRefused) as caught:
            await channel.send_text(WORK, "x")
        await channel.close()
        assert caught.value.permanent and not caught.value.uncertain
        assert caught.value.problem.code == 310000
        assert "加签" in caught.value.problem.fix
        assert "SECwrong" not in str(caught.value) and url not in str(caught.value)
        assert server.posts == []

    served(scenario)


def test_long_text_is_split_at_paragraphs_within_2048_bytes(served: Served, fake_time: FakeTime) -> None:
    paragraphs = [f"第{i}段：" + "垃圾分类就是新时尚。" * 20 for i in range(8)]

    async def scenario(server: LoopbackRobots) -> None:
        channel = _channel(server, fake_time, changchun_work=("wecom", "", ""))
        await channel.start()
        await channel.send_text(WORK, "\n\n".join(paragraphs))
        await channel.close()
        posts = server.received("changchun-work")
        assert len(posts) > 1
        assert all(len(p.text.encode()) <= 2048 for p in posts)
        joined = "\n\n".join(p.text for p in posts)
        assert joined == "\n\n".join(paragraphs)  # cut only between paragraphs

    served(scenario)


def test_wecom_file_goes_through_upload_media(served: Served, fake_time: FakeTime, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp3"
    clip.write_bytes(b"ID3" + b"\x00" * 500)

    async def scenario(server: LoopbackRobots) -> None:
        channel = _channel(server, fake_time, changchun_work=("wecom", "", ""))
        await channel.start()
        await channel.send_file(WORK, OutgoingFile(clip, "五月广播.mp3"))
        await channel.close()
        [post] = server.received("changchun-work")
        media_id = post.payload["file"]["media_id"]
        assert server.uploads[media_id] == ("changchun-work", "五月广播.mp3", clip.read_bytes())

    served(scenario)


def test_dingtalk_file_is_a_link_or_a_permanent_refusal(served: Served, fake_time: FakeTime, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp3"
    clip.write_bytes(b"ID3" + b"\x00" * 500)

    async def scenario(server: LoopbackRobots) -> None:
        url = server.add_dingtalk("changchun-work", keyword="垃圾分类")
        config = {"changchun-work": RobotConfig("changchun-work", url, "dingtalk", "", "垃圾分类")}
        bare = RobotChannel(config, pacer=fake_time.pacer())
        with pytest.raises(DeliveryError) as caught:
            await bare.send_file(WORK, OutgoingFile(clip, "五月广播.mp3"))
        assert caught.value.permanent and "BOT_PUBLIC_URL" in str(caught.value)
        public = PublicFiles(tmp_path / "public", "https://laba.example.cn")
        linked = RobotChannel(config, pacer=fake_time.pacer(), public=public)
        await linked.send_file(WORK, OutgoingFile(clip, "五月广播.mp3"))
        await bare.close()
        await linked.close()
        [post] = server.received("changchun-work")
        assert "https://laba.example.cn/files/" in post.text and "垃圾分类" in post.text
        [served_file] = (tmp_path / "public").rglob("*.mp3")
        assert served_file.read_bytes() == clip.read_bytes()

    served(scenario)


def test_pacing_keeps_under_20_a_minute_and_throttle_answers_wait_without_duplicates(
    served: Served, fake_time: FakeTime
) -> None:
    async def scenario(server: LoopbackRobots) -> None:
        channel = _channel(server, fake_time, changchun_work=("wecom", "", ""))
        await channel.start()
        server.fail_next("changchun-work", 45009, 45009)
        for i in range(45):
            await channel.send_text(WORK, f"第{i}条")
        await channel.close()
        texts = [p.text for p in server.received("changchun-work")]
        assert texts == [f"第{i}条" for i in range(45)]  # each once, in order
        assert server.throttle_answers == 2
        assert sum(fake_time.slept) >= 120  # two minutes of waiting for 45 posts, plus the throttle waits

    served(scenario)


def test_dingtalk_throttle_waits_ten_minutes_then_goes(served: Served, fake_time: FakeTime) -> None:
    async def scenario(server: LoopbackRobots) -> None:
        url = server.add_dingtalk("changchun-work", keyword="垃圾分类")
        config = {"changchun-work": RobotConfig("changchun-work", url, "dingtalk", "", "垃圾分类")}
        # The client's pacing is off: the server's limit and its 10-minute throttle are what the channel meets.
        channel = RobotChannel(config, pacer=fake_time.pacer(per_minute=0))
        for i in range(21):
            await channel.send_text(WORK, f"第{i}条")
        await channel.close()
        assert [p.text.split("\n")[-1] for p in server.received("changchun-work")] == [f"第{i}条" for i in range(21)]
        assert server.throttle_answers == 1 and 600.0 in fake_time.slept

    served(scenario)


@pytest.mark.parametrize(("kind", "code"), [("wecom", 93000), ("dingtalk", 300001)])
def test_removed_robot_is_permanent_and_remembered_for_health(
    served: Served, fake_time: FakeTime, kind: str, code: int
) -> None:
    async def scenario(server: LoopbackRobots) -> None:
        channel = _channel(server, fake_time, changchun_work=(kind, "", "垃圾分类" if kind == "dingtalk" else ""))
        server.remove("changchun-work")
        with pytest.raises(RobotRefused) as caught:
            await channel.send_text(WORK, "x")
        health = await channel.health()
        await channel.close()
        assert caught.value.problem.code == code
        assert not health[0].ok and "重新复制" in health[0].detail

    served(scenario)


def test_connection_dropped_after_the_post_is_uncertain(served: Served, fake_time: FakeTime) -> None:
    async def scenario(server: LoopbackRobots) -> None:
        channel = _channel(server, fake_time, changchun_work=("wecom", "", ""))
        server.drop_after_post.add("changchun-work")
        with pytest.raises(DeliveryError) as caught:
            await channel.send_text(WORK, "x")
        await channel.close()
        assert caught.value.uncertain
        assert len(server.received("changchun-work")) == 1  # it did go out: never to be sent again blindly

    served(scenario)


def test_unreachable_server_is_transient(fake_time: FakeTime) -> None:
    import asyncio
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=abcd-1234"
    channel = RobotChannel({"w": RobotConfig("w", url, "wecom")}, pacer=fake_time.pacer())

    async def main() -> DeliveryError:
        try:
            await channel.send_text(Target("w", "w", "group"), "x")
        except DeliveryError as exc:
            return exc
        finally:
            await channel.close()
        raise AssertionError("sent to nowhere")

    exc = asyncio.run(main())
    assert not exc.permanent and not exc.uncertain
    assert "abcd-1234" not in str(exc)
