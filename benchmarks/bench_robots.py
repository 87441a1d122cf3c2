#!/usr/bin/env python3
"""Deliveries per second through `RobotChannel` (WeCom and DingTalk) to `LoopbackRobots`, next to a bare aiohttp
POST loop to the same server.

    python benchmarks/bench_robots.py            # 1,000 sends per run and kind, median of 5 runs
    python benchmarks/bench_robots.py --json     # the figures as JSON
    python benchmarks/bench_robots.py --check    # exit 1 if a channel is under 0.7x its bare loop

Both sides talk to one `LoopbackRobots` (a real aiohttp server on 127.0.0.1, rate limit off), in one process, on
one event loop, so the server's CPU counts for both alike:

- channel: `await RobotChannel.send_text(target, text)` with pacing off, over 25 group robots in turn (every 4th
  target @-s a contact by mobile). Everything a send does runs: the robot lookup, building the payload (split
  check, mentions; DingTalk: keyword, 加签 signature per request), the POST on the channel's one ClientSession, the
  answer decoded and checked, the throttle bookkeeping.
- bare: `session.post(url, json=payload)` and `await response.json()` in a loop on one ClientSession, the same
  payloads pre-built; for DingTalk the loop signs each request too (the server refuses an unsigned one).

Each figure is the median of --repeat timed runs after one untimed warm-up run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
from importlib.metadata import version
from time import perf_counter
from typing import Any

import aiohttp

from bot.channels.robots import Pacer, RobotChannel, RobotConfig
from bot.channels.robots.dingtalk import sign
from bot.channels.robots.loopback import LoopbackRobots
from bot.core.planner import Target

TARGET_RATIO = 0.7
TEXT = "【金溪镇垃圾分类宣传】居民朋友们，5月20日（周一）起是第二届全国城市生活垃圾分类宣传周，欢迎大家参加。"
ROBOTS = 25
SECRET = "SECbenchmark0123456789"
KEYWORD = "垃圾分类"


def _setup(server: LoopbackRobots, kind: str) -> tuple[dict[str, RobotConfig], list[Target]]:
    configs, targets = {}, []
    for i in range(ROBOTS):
        group = f"group-{i:02d}"
        if kind == "wecom":
            configs[group] = RobotConfig(group, server.add_wecom(group), "wecom")
        else:
            url = server.add_dingtalk(group, secret=SECRET, keyword=KEYWORD)
            configs[group] = RobotConfig(group, url, "dingtalk", SECRET, KEYWORD)
        mentions = (Target(f"p{i}", f"联系人{i}", "person", mobile=f"1380000{i:04d}"),) if i % 4 == 0 else ()
        targets.append(Target(group, f"群{i}", "group", mentions=mentions))
    return configs, targets


async def _channel_run(configs: dict[str, RobotConfig], targets: list[Target], sends: int) -> float:
    channel = RobotChannel(configs, pacer=Pacer(per_minute=0))
    await channel.start()
    try:
        started = perf_counter()
        for i in range(sends):
            await channel.send_text(targets[i % len(targets)], TEXT)
        return sends / (perf_counter() - started)
    finally:
        await channel.close()


def _bare_payload(kind: str, target: Target) -> dict[str, Any]:
    mobiles = [m.mobile for m in target.mentions]
    if kind == "wecom":
        return {"msgtype": "text", "text": {"content": TEXT, "mentioned_mobile_list": mobiles}}
    visible = "".join(f"@{m} " for m in mobiles)
    return {"msgtype": "text", "text": {"content": f"【{KEYWORD}】\n{visible}{TEXT}"}, "at": {"atMobiles": mobiles}}


async def _bare_run(kind: str, configs: dict[str, RobotConfig], targets: list[Target], sends: int) -> float:
    prepared = [(configs[t.id].webhook, _bare_payload(kind, t)) for t in targets]
    async with aiohttp.ClientSession() as session:
        started = perf_counter()
        for i in range(sends):
            url, payload = prepared[i % len(prepared)]
            if kind == "dingtalk":
                ts = _now_ms()
                url = f"{url}&timestamp={ts}&sign={sign(SECRET, ts)}"
            async with session.post(url, json=payload) as response:
                answer = await response.json()
            if answer.get("errcode") != 0:
                raise RuntimeError(f"bare loop refused: {answer}")
        return sends / (perf_counter() - started)


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


async def _bench(kind: str, sends: int, repeat: int) -> dict[str, Any]:
    server = LoopbackRobots(per_minute=0)
    await server.start()
    try:
        configs, targets = _setup(server, kind)
        await _channel_run(configs, targets, min(sends, 100))  # warm-up, untimed
        await _bare_run(kind, configs, targets, min(sends, 100))
        channel, bare = [], []
        for _ in range(repeat):  # interleaved, so both meet the same machine
            bare.append(await _bare_run(kind, configs, targets, sends))
            channel.append(await _channel_run(configs, targets, sends))
        expected = 2 * min(sends, 100) + 2 * repeat * sends
        if len(server.posts) != expected:
            raise RuntimeError(f"the server received {len(server.posts)} posts, expected {expected}")
    finally:
        await server.close()
    return {
        "kind": kind,
        "sends": sends,
        "channel_per_s": statistics.median(channel),
        "channel_range": [min(channel), max(channel)],
        "bare_per_s": statistics.median(bare),
        "bare_range": [min(bare), max(bare)],
        "ratio": statistics.median(c / b for c, b in zip(channel, bare, strict=True)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    results = [asyncio.run(_bench(kind, args.sends, args.repeat)) for kind in ("wecom", "dingtalk")]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"laba robot channel benchmark — Python {platform.python_version()}, aiohttp {version('aiohttp')}, "
            f"{platform.system()} {platform.machine()}; median of {args.repeat} timed runs after 1 warm-up"
        )
        for r in results:
            name = "WeCom 群机器人" if r["kind"] == "wecom" else "DingTalk 自定义机器人 (加签 + keyword)"
            print(f"\n{name}: deliveries per second to LoopbackRobots on 127.0.0.1, {r['sends']:,} sends per run")
            low, high = r["channel_range"]
            print(
                f"   RobotChannel.send_text, pacing off {r['channel_per_s']:7.0f} /s  (min {low:.0f}, max {high:.0f})"
            )
            low, high = r["bare_range"]
            print(f"   baseline: bare aiohttp POST loop   {r['bare_per_s']:7.0f} /s  (min {low:.0f}, max {high:.0f})")
            ok = "OK" if r["ratio"] >= TARGET_RATIO else "MISSED"
            print(f"   ratio channel / bare (median of pairs) {r['ratio']:5.2f} ×   target ≥ {TARGET_RATIO}   {ok}")
    if args.check and any(r["ratio"] < TARGET_RATIO for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
