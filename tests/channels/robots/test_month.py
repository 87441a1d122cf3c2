"""Done when: a month of the 金溪 plan with the villagers' and villages' work groups on WeCom robots, the other work
groups on DingTalk robots (加签 + keyword) and the rest on the outbox reaches each group exactly once by its own
route, @-s by mobile, gives operators their clips as files through upload_media, keeps within every limit; throttle
answers delay but never duplicate or drop; a bad robot address sends its deliveries to the relay and tells the
admins."""

from __future__ import annotations

import asyncio
import math
import os
import struct
from collections import Counter
from datetime import datetime
from pathlib import Path

from bot.app import build, simulate
from bot.audio.base import SAMPLE_RATE, Speech
from bot.audio.studio import Studio
from bot.channels.outbox import OutboxChannel
from bot.channels.robots.loopback import LoopbackRobots
from bot.channels.routed import RoutedChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources, load
from bot.core.model import GroupKind, UnitKind
from bot.core.planner import Voice
from bot.late import LateBound
from bot.pipeline import Outcome, Pipeline
from bot.routing import make_routed, robot_alerts
from bot.settings import Settings
from bot.store.base import DeliveryStatus
from bot.store.relay import RelayQueue
from bot.store.sql import open_store

MAY = (datetime(2024, 5, 1, tzinfo=TOWN_ZONE), datetime(2024, 6, 1, tzinfo=TOWN_ZONE))
MOBILES = {"lidehua-changchun": "13800000001", "jinxi-tanzy": "13800000002", "zhangjun-shanling": "13800000003"}
KEYWORD = "垃圾分类"
BAD = "taiping-work"


class ToneTts:
    """A TtsEngine stand-in: half a second of tone per sentence, so each clip is a real (short) MP3."""

    name = "tone"

    async def synthesize(self, text: str, voice: Voice) -> Speech:
        samples = (int(8000 * math.sin(2 * math.pi * 440 * i / SAMPLE_RATE)) for i in range(SAMPLE_RATE // 2))
        return Speech(b"".join(struct.pack("<h", s) for s in samples), self.name)


class RobotTime:
    """The robots' clock follows the simulation's virtual clock; waits (pacing, throttles) move it on, never back."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._t = 0.0

    def monotonic(self) -> float:
        self._t = max(self._t, self._clock.now().timestamp())
        return self._t

    def wall_ms(self) -> int:
        return int(self.monotonic() * 1000)

    async def sleep(self, seconds: float) -> None:
        self._t = self.monotonic() + max(seconds, 0.0)


def _prepare(jinxi: Sources) -> None:
    units = jinxi.schedules / "units.yaml"
    text = units.read_text(encoding="utf-8")
    for wechat, mobile in MOBILES.items():
        text = text.replace(f"wechat: {wechat}}}", f"wechat: {wechat}, mobile: '{mobile}'}}")
    units.write_text(text, encoding="utf-8")
    town = jinxi.schedules / "town.yaml"
    extra = "\nrelay:\n  - {id: relay-zhou, name: 周代发, role: 党政办 文书, wechat: zhou-relay}\n"
    town.write_text(town.read_text(encoding="utf-8") + extra, encoding="utf-8")


def _robots_yaml(jinxi: Sources, server: LoopbackRobots, path: Path) -> tuple[set[str], set[str]]:
    campaign = load(jinxi).campaign
    wecom, dingtalk, lines = set(), set(), []
    for unit in campaign.units:
        for group in unit.groups:
            village = unit.kind in (UnitKind.VILLAGE, UnitKind.COMMUNITY)
            if group.kind is GroupKind.VILLAGERS or (group.kind is GroupKind.WORK and village):
                url = server.add_wecom(group.id)
                if group.id == BAD:  # a key copied wrong: the server doesn't know it
                    url = url.split("key=")[0] + "key=00000000-0000-0000-0000-000000000000"
                lines.append(f"{group.id}:\n  webhook: {url}\n")
                wecom.add(group.id)
            elif group.kind is GroupKind.WORK:
                secret = f"SEC{group.id.replace('-', '')}0123456789"
                url = server.add_dingtalk(group.id, secret=secret, keyword=KEYWORD)
                lines.append(f"{group.id}:\n  webhook: {url}\n  secret: {secret}\n  keyword: {KEYWORD}\n")
                dingtalk.add(group.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    os.chmod(path, 0o600)
    return wecom, dingtalk


def test_a_month_over_robots_outbox_and_relay(jinxi: Sources, tmp_path: Path) -> None:
    _prepare(jinxi)
    clock = VirtualClock(MAY[0])
    time = RobotTime(clock)
    settings = Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "outbox", tmp_path / "audio", "none")

    async def main() -> tuple[list[Outcome], LoopbackRobots, set[str], set[str], RoutedChannel]:
        server = LoopbackRobots(now=time.monotonic, wall_ms=time.wall_ms)
        await server.start()
        try:
            wecom, dingtalk = _robots_yaml(jinxi, server, settings.robots_path)
            server.fail_next("changchun-villagers", 45009, 45009)  # throttled twice on the first announce
            server.fail_next("xiangjian-work", 130101)  # DingTalk: a 10-minute throttle
            store = open_store(settings.database_url, TOWN_ZONE)
            loaded = load(jinxi)
            default = OutboxChannel(settings.outbox_dir, clock.now, echo=None)
            # A robot's refusal is told to the admins through the app's pipeline, as `build` wires its own channel.
            pipeline: LateBound[Pipeline] = LateBound("the pipeline")
            channel = make_routed(
                settings,
                clock,
                default,
                lambda: loaded.campaign,
                store,
                problems=robot_alerts(pipeline.get),
                pacer=_pacer(time),
                wall_ms=time.wall_ms,
            )
            assert isinstance(channel, RoutedChannel)
            app = build(jinxi, settings, clock, channel=channel, echo=None)
            pipeline.bind(app.pipeline)
            app.pipeline.producer = Studio(settings.audio_dir, [ToneTts()])
            try:
                outcomes = await simulate(app, clock, *MAY)
            finally:
                app.close()
                store.close()
            return outcomes, server, wecom, dingtalk, channel
        finally:
            await server.close()

    outcomes, server, wecom, dingtalk, channel = asyncio.run(main())
    _check(outcomes, server, wecom, dingtalk, channel, settings, jinxi)


def _pacer(time: RobotTime):  # type: ignore[no-untyped-def]
    from bot.channels.robots import Pacer

    return Pacer(20, time.monotonic, time.sleep)


def _check(
    outcomes: list[Outcome],
    server: LoopbackRobots,
    wecom: set[str],
    dingtalk: set[str],
    channel: RoutedChannel,
    settings: Settings,
    jinxi: Sources,
) -> None:
    loaded = load(jinxi)
    targets = {(j.key, t.id): t for j in loaded.plan.jobs for t in j.targets}
    assert outcomes and all(o.fresh for o in outcomes)
    assert {o.status for o in outcomes} == {DeliveryStatus.SENT, DeliveryStatus.RELAYED}
    # Each delivery went by its route, exactly once: the robot's posts are the sent deliveries, part for part.
    posts_expected: Counter[str] = Counter()
    outbox_expected: Counter[str] = Counter()
    for o in outcomes:
        where = channel.route(targets[(o.job_key, o.target)]).target.id
        if o.status is DeliveryStatus.RELAYED:
            assert where == BAD or targets[(o.job_key, o.target)].unit == "taiping", o
            continue
        kind = o.detail.split(":")[0]  # the message id alone (a broadcast's note is kept apart, in `note`)
        if kind in ("wecom", "dingtalk"):
            parts = int(o.detail.rsplit("x", 1)[1]) if "x" in o.detail.rsplit(":", 1)[1] else 1
            posts_expected[where] += parts
        else:
            outbox_expected[where] += 1
    jobs = loaded.plan.by_key()
    clips = sum(1 for o in outcomes if jobs[o.job_key].broadcast and o.status is DeliveryStatus.SENT)
    file_posts = Counter(p.group for p in server.posts if p.payload["msgtype"] == "file")
    posted = Counter(p.group for p in server.posts if p.payload["msgtype"] == "text")
    assert posted == posts_expected
    assert sum(file_posts.values()) == clips == len(server.uploads) == 3 * 6  # six operators on WeCom, 3 clips each
    assert all(name.endswith(".mp3") and data[:3] in (b"ID3", b"\xff\xfb") for _, name, data in server.uploads.values())
    assert all(len({str(p.payload) for p in server.received(g)}) == len(server.received(g)) for g in wecom | dingtalk)
    assert set(posted) <= wecom | dingtalk and BAD not in posted
    # Outbox: every other group (and nobody else) got its files.
    outbox = Counter(p.name.split("-", 1)[1].rsplit("-", 2)[0] for p in settings.outbox_dir.rglob("*.txt"))
    assert {g: outbox[g] for g in outbox_expected} == dict(outbox_expected)
    # Limits and formats: WeCom text within 2048 bytes; DingTalk always with the keyword and a valid signature.
    assert all(len(p.text.encode()) <= 2048 for p in server.posts if p.kind == "wecom" and p.text)
    assert all(KEYWORD in p.text for p in server.posts if p.kind == "dingtalk")
    assert {code for _, code in server.refusals} == {93000}
    assert server.throttle_answers == 3
    # @ by mobile: the proof request to 长春村 (WeCom) and to 乡建中心 (DingTalk, visible @ too).
    changchun = [p for p in server.received("changchun-work") if p.mobiles]
    assert changchun and all(p.mobiles == ["13800000001"] for p in changchun)
    xiangjian = [p for p in server.received("xiangjian-work") if p.mobiles]
    assert xiangjian and all(p.mobiles == ["13800000002"] and "@13800000002" in p.text for p in xiangjian)
    # The bad address: its deliveries wait for the relay, and the admins were told once which group and what to do.
    store = open_store(settings.database_url, TOWN_ZONE)
    try:
        items = RelayQueue(store).waiting()
    finally:
        store.close()
    # 太平村's work group, and its operator (reached through that group): the clip waits with its file.
    assert {i.target for i in items if "93000" in i.reason} == {BAD, "taiping-gb"}
    assert sum(1 for i in items if i.target == "taiping-gb" and i.file_path.endswith(".mp3")) == 3
    told = [i for i in items if i.target.startswith("admin-") and "太平村两委工作群" in i.text]
    assert sorted(i.target for i in told) == ["admin-ran", "admin-tan"]
    assert all("93000" in i.text and "重新复制机器人地址" in i.text for i in told)
    digests = [p for p in settings.outbox_dir.rglob("*-relay-zhou-*.txt")]
    assert digests and all("人工代发" in p.read_text(encoding="utf-8") for p in digests)
