#!/usr/bin/env python3
"""Deliveries per second through `WechatyChannel` to the loopback gateway, next to a bare stub loop.

    python benchmarks/bench_wechaty.py                  # plain HTTP/2, 2,000 sends, median of 5 runs
    python benchmarks/bench_wechaty.py --tls            # the same over TLS (Wechaty's insecure certificate)
    python benchmarks/bench_wechaty.py --json           # the figures as JSON
    python benchmarks/bench_wechaty.py --check          # exit 1 if the channel is under 0.7x the bare loop

Both sides talk to the same `LoopbackPuppet` (a real grpclib server on 127.0.0.1, the 金溪 groups as rooms), in
one process, on one event loop:

- channel: `await WechatyChannel.send_text(target, text)` for group targets of the real town, in turn, with
  pacing off (`gap_seconds=(0, 0)`, no hourly cap). Everything the daemon does per send runs: the serial send
  lock, pacing bookkeeping, the room-id lookup, building mentions (every 4th target @-s a unit contact),
  `MessageSendText`, and handling the gateway's echo of each message on the event stream.
- bare: `await PuppetStub.message_send_text(conversation_id=room_id, text=text)` in a loop, on one grpclib
  channel with the same token, no event stream open: the floor for one unary RPC per message.

Each figure is the median of --repeat timed runs after one untimed warm-up run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from time import perf_counter

import grpclib.client
from grpclib.config import Configuration
from wechaty_grpc.wechaty import PuppetStub

from bot.channels.rooms import MemoryRoomStore
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel, WechatySettings
from bot.channels.wechaty.protocol import client_ssl_context
from bot.config.campaign import Sources, load
from bot.core.planner import Target, group_target, person_target

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.7
TEXT = "【金溪镇垃圾分类宣传】居民朋友们，5月20日（周一）起是第二届全国城市生活垃圾分类宣传周，欢迎大家参加。"


@dataclass(frozen=True)
class Figure:
    median: float
    low: float
    high: float


def _figure(values: list[float]) -> Figure:
    return Figure(statistics.median(values), min(values), max(values))


async def _bench(args: argparse.Namespace) -> dict[str, Figure]:
    loaded = load(Sources(ROOT / "schedules" / "jinxi", ROOT / "messages"))
    campaign = loaded.campaign
    targets: list[Target] = []
    for unit in campaign.units:
        for i, g in enumerate(unit.groups):
            t = group_target(g, unit)
            if i == 0 and unit.contacts:
                t = replace(t, mentions=(person_target(unit.contacts[0], unit),))
            targets.append(t)
    async with LoopbackPuppet(tls=args.tls, heartbeat_seconds=15) as puppet:
        rooms = puppet.add_town(campaign)
        settings = WechatySettings(
            puppet.endpoint, puppet.token, tls=args.tls, gap_seconds=(0.0, 0.0), hourly_cap=0, login_wait_seconds=10
        )

        async def run_channel() -> float:
            channel = WechatyChannel(
                settings,
                groups=lambda: {g.id: g.name for u in campaign.units for g in u.groups},
                rooms=MemoryRoomStore(),
                echo=None,
            )
            await channel.start()
            assert channel.online and not channel.missing, channel.missing
            sent_before = len(puppet.log)
            start = perf_counter()
            for i in range(args.sends):
                await channel.send_text(targets[i % len(targets)], TEXT)
            elapsed = perf_counter() - start
            await channel.close()
            assert len(puppet.log) - sent_before == args.sends
            return elapsed

        async def run_bare(drain_events: bool = False) -> float:
            ssl = client_ssl_context() if args.tls else None
            config = Configuration(ssl_target_name_override=settings.sni) if args.tls else None
            grpc = grpclib.client.Channel(puppet.host, puppet.port, ssl=ssl, config=config)
            stub = PuppetStub(grpc, metadata={"authorization": f"Wechaty {puppet.token}"})
            drain = None
            if drain_events:  # a client that also keeps the event stream open, as any real one must

                async def consume() -> None:
                    async for _ in stub.event():
                        pass

                drain = asyncio.create_task(consume())
                await puppet.wait_until(lambda: puppet._stream is not None)
            room_ids = [rooms[t.id] for t in targets]
            sent_before = len(puppet.log)
            start = perf_counter()
            for i in range(args.sends):
                await stub.message_send_text(conversation_id=room_ids[i % len(room_ids)], text=TEXT)
            elapsed = perf_counter() - start
            if drain is not None:
                drain.cancel()
                await asyncio.gather(drain, return_exceptions=True)
            grpc.close()
            assert len(puppet.log) - sent_before == args.sends
            return elapsed

        channel_times: list[float] = []
        bare_times: list[float] = []
        stream_times: list[float] = []
        await run_bare()  # warm-up, untimed
        await run_channel()
        for _ in range(args.repeat):  # interleaved, so drift on the machine hits all alike
            bare_times.append(await run_bare())
            channel_times.append(await run_channel())
            stream_times.append(await run_bare(drain_events=True))
    return {
        "bare": _figure([args.sends / t for t in bare_times]),
        "channel": _figure([args.sends / t for t in channel_times]),
        "bare_with_events": _figure([args.sends / t for t in stream_times]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=2000, help="messages per timed run (default 2000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--tls", action="store_true", help="TLS with Wechaty's insecure certificate")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if channel/bare < {TARGET_RATIO}")
    args = parser.parse_args()
    figures = asyncio.run(_bench(args))
    ratio = figures["channel"].median / figures["bare"].median
    ok = ratio >= TARGET_RATIO
    if args.json:
        out = {k: v.__dict__ for k, v in figures.items()} | {"ratio": ratio, "ok": ok, "sends": args.sends}
        print(json.dumps(out, indent=2))
    else:
        transport = "TLS" if args.tls else "plain HTTP/2"
        print(
            f"laba WeChat channel benchmark — Python {platform.python_version()}, grpclib {version('grpclib')}, "
            f"wechaty-grpc {version('wechaty-grpc')}, {platform.system()} {platform.machine()}; "
            f"median of {args.repeat} timed runs after 1 warm-up"
        )
        print(f"\ndeliveries per second to LoopbackPuppet on 127.0.0.1 ({transport}), {args.sends:,} sends per run")
        rows = (
            ("WechatyChannel.send_text, pacing off", "channel"),
            ("baseline: bare PuppetStub loop", "bare"),
            ("(bare loop + event stream drained)", "bare_with_events"),
        )
        for label, key in rows:
            f = figures[key]
            print(f"   {label:<38} {f.median:8.0f} /s   (min {f.low:.0f}, max {f.high:.0f}, n={args.repeat})")
        print(f"   ratio channel / bare                   {ratio:8.2f} ×")
        with_events = figures["channel"].median / figures["bare_with_events"].median
        print(f"   (ratio channel / bare + events)        {with_events:8.2f} ×")
        print(f"   target: ratio ≥ {TARGET_RATIO}                     {'OK' if ok else 'MISSED'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
