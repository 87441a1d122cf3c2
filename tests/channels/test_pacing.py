"""SendPacer on a virtual clock: gaps, the hourly cap, pauses, failures and order — hours of pacing, no real sleep."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable

import pytest

from bot.channels.pacing import HOUR, Pace, SendPacer, SendPriority, send_priority


class VirtualTime:
    """A monotonic clock that moves only when someone sleeps on it: `sleep(s)` advances it by `s` at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


def pacer(time: VirtualTime, gap: tuple[float, float] = (5.0, 15.0), cap: int = 120) -> SendPacer:
    return SendPacer(Pace(gap, cap), monotonic=time.monotonic, sleep=time.sleep, rng=random.Random(7))


def recorder(time: VirtualTime, log: list[float]) -> Callable[[], Awaitable[str]]:
    async def call() -> str:
        log.append(time.now)
        return f"id-{len(log)}"

    return call


def test_random_gap_between_sends_never_before_the_first() -> None:
    time, sent = VirtualTime(), list[float]()

    async def main() -> None:
        limiter = pacer(time)
        for _ in range(20):
            await limiter.process(recorder(time, sent))
        assert limiter.sent_count == 20

    asyncio.run(main())
    assert sent[0] == 1000.0  # the first send doesn't wait
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert all(5.0 <= g <= 15.0 for g in gaps), gaps
    assert len({round(g, 3) for g in gaps}) > 10  # random, not fixed


def test_gap_off_sends_at_once() -> None:
    time, sent = VirtualTime(), list[float]()

    async def main() -> None:
        limiter = pacer(time, gap=(0.0, 0.0), cap=0)
        for _ in range(500):
            await limiter.process(recorder(time, sent))

    asyncio.run(main())
    assert time.sleeps == [] and set(sent) == {1000.0}


def test_hourly_cap_waits_for_the_oldest_send_to_age_out() -> None:
    time, sent = VirtualTime(), list[float]()

    async def main() -> None:
        limiter = pacer(time, gap=(1.0, 1.0), cap=10)
        for _ in range(25):
            await limiter.process(recorder(time, sent))

    asyncio.run(main())
    for i in range(len(sent)):
        in_hour = [t for t in sent if sent[i] - HOUR < t <= sent[i]]
        assert len(in_hour) <= 10
    assert sent[10] == pytest.approx(sent[0] + HOUR)  # the 11th waits exactly for the 1st to be an hour old
    assert sent[20] == pytest.approx(sent[10] + HOUR)


def test_pause_holds_back_the_next_send_and_shows_while_it_lasts() -> None:
    time, sent = VirtualTime(), list[float]()

    async def main() -> None:
        limiter = pacer(time, gap=(0.0, 0.0), cap=0)
        await limiter.process(recorder(time, sent))
        limiter.pause(600.0)
        assert limiter.paused_for() == 600.0
        limiter.pause(60.0)  # a shorter pause doesn't cut the longer one short
        assert limiter.paused_for() == 600.0
        await limiter.process(recorder(time, sent))
        assert limiter.paused_for() == 0.0

    asyncio.run(main())
    assert sent == [1000.0, 1600.0]


def test_a_pause_that_comes_during_the_gap_still_holds_the_send() -> None:
    time, sent = VirtualTime(), list[float]()

    async def main() -> None:
        limiter = pacer(time, gap=(10.0, 10.0), cap=0)
        await limiter.process(recorder(time, sent))
        waiting = asyncio.create_task(limiter.process(recorder(time, sent)))
        await asyncio.sleep(0)  # the second send is now asleep in its gap (the virtual clock has jumped 10 s)
        limiter.pause(300.0)
        await waiting

    asyncio.run(main())
    assert sent[1] >= sent[0] + 10.0 + 300.0 - 1e-9


def test_a_failed_call_is_not_counted_and_leaves_no_gap() -> None:
    time, sent = VirtualTime(), list[float]()

    async def fails() -> str:
        raise RuntimeError("network down")

    async def main() -> None:
        limiter = pacer(time, gap=(10.0, 10.0), cap=1)
        with pytest.raises(RuntimeError):
            await limiter.process(fails)
        assert limiter.sent_count == 0
        await limiter.process(recorder(time, sent))  # neither the gap nor the cap counts the failure
        assert limiter.sent_count == 1

    asyncio.run(main())
    assert sent == [1000.0]


def test_calls_run_one_at_a_time_in_arrival_order() -> None:
    time = VirtualTime()
    events: list[str] = []

    def call(name: str) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            events.append(f"{name} starts")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            events.append(f"{name} ends")
            return name

        return run

    async def main() -> list[str]:
        limiter = pacer(time, gap=(0.0, 0.0), cap=0)
        return list(await asyncio.gather(*(limiter.process(call(n)) for n in "abc")))

    assert asyncio.run(main()) == ["a", "b", "c"]
    assert events == ["a starts", "a ends", "b starts", "b ends", "c starts", "c ends"]


def test_replies_wait_behind_planned_sends_and_keep_to_their_share() -> None:
    """The issue's flood: with the hourly cap spent on replies, the 10:00 reminder waited an hour. Replies now
    get a quarter of the cap and go after planned sends that are waiting."""
    time = VirtualTime()
    order: list[tuple[str, float]] = []

    def call(name: str) -> Callable[[], Awaitable[str]]:
        async def send() -> str:
            order.append((name, time.now))
            return name

        return send

    async def send_as(priority: SendPriority, name: str) -> str:
        send_priority.set(priority)  # in this task only, as Pipeline.send_now does
        return await limiter.process(call(name))

    limiter = pacer(time, gap=(1.0, 1.0), cap=20)

    async def main() -> None:
        replies = [asyncio.create_task(send_as(SendPriority.REPLY, f"reply-{i}")) for i in range(30)]
        await asyncio.sleep(0)
        planned = [asyncio.create_task(send_as(SendPriority.PLANNED, f"planned-{i}")) for i in range(10)]
        alert = asyncio.create_task(send_as(SendPriority.ALERT, "alert"))
        await asyncio.gather(*planned, alert)
        assert sum(1 for name, _ in order if name.startswith("reply")) <= 5  # the replies' share of 20 an hour
        for task in replies:
            task.cancel()
        await asyncio.gather(*replies, return_exceptions=True)

    asyncio.run(main())
    names = [name for name, _ in order]
    first = names.index("alert")
    assert first <= 3  # after the replies that had the turn (or their gap) before the others arrived
    assert names[first + 1 : first + 11] == [f"planned-{i}" for i in range(10)]
    assert order[first + 10][1] - order[first][1] <= 10.0  # one gap each: they never waited for the replies


def test_replies_beyond_their_share_wait_for_the_hour() -> None:
    time, sent = VirtualTime(), list[float]()

    async def main() -> None:
        send_priority.set(SendPriority.REPLY)
        limiter = pacer(time, gap=(0.0, 0.0), cap=8)  # replies: 2 an hour
        for _ in range(5):
            await limiter.process(recorder(time, sent))

    asyncio.run(main())
    assert [round(t - 1000.0) for t in sent] == [0, 0, 3600, 3600, 7200]
