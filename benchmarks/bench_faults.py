#!/usr/bin/env python3
"""laba under faults: the pipeline's throughput over a simulated year with faults injected, next to the same year
without them, and the final ledgers of deliveries compared.

    python benchmarks/bench_faults.py               # SQLite, median of 9 pairs (about two minutes on 2 cores)
    python benchmarks/bench_faults.py --json        # the same figures as JSON
    python benchmarks/bench_faults.py --check       # exit 1 if under 0.8x or the ledgers differ

Both runs are `bot.app.simulate` over the real 金溪 2024 plan (the app wired by `bot.app.build`, a `MemoryChannel`,
a `VirtualClock`, a fresh SQLite store). The faulty run adds, from a seeded random generator:
- transient send failures: 1 in 20 attempts (before the handoff, so certainly not sent) fail; the pipeline retries
  them with its backoff (on the virtual clock: the year is not slowed by waiting, only by the work);
- one database outage: another connection takes the SQLite write lock in the middle of a job and holds it for
  --outage-minutes of campaign time (released once the virtual clock passes its end). The store is opened with
  `?timeout=0`, so a write during the outage fails at once instead of waiting in wall-clock time; the job is tried
  again as the daemon's scheduler does (15 s, 30 s, 1 min, then every 2 min: `bot.resumption`), on the virtual clock;
- one restart: the run is cut off in the middle of a job (the delivery in hand is released, as on SIGTERM), the app
  is closed, built again on the same store and `simulate` resumed from the day before.
The ledger is the set of (job, target, status) of every delivery in the store after the year. See README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from time import perf_counter

from bot.app import App, build, simulate
from bot.channels.memory import MemoryChannel
from bot.clock import VirtualClock
from bot.config.campaign import Sources, load
from bot.core.planner import Target
from bot.errors import DeliveryError
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
Ledger = frozenset[tuple[str, str, str]]


class Restart(BaseException):
    """The process stops here (a BaseException, like the cancellation SIGTERM brings: nothing catches it)."""


@dataclass
class Faults:
    """What goes wrong, and when: counted in send attempts, from a seeded generator."""

    rng: random.Random
    outage_at: int
    restart_at: int
    outage: timedelta
    database: Path
    attempts: int = 0
    failed: int = 0
    holder: sqlite3.Connection | None = None
    outage_ends: datetime | None = None
    outage_began: datetime | None = None
    clock: VirtualClock | None = None  # the campaign's clock (set by FaultClock)
    log: list[str] = field(default_factory=list)

    async def before_wire(self, target: Target) -> None:
        self.attempts += 1
        if self.attempts == self.outage_at:
            self._cut_database()
        if self.attempts == self.restart_at:
            self.log.append(f"restart at attempt {self.attempts} ({target.id})")
            raise Restart
        if self.rng.random() < 1 / 20:
            self.failed += 1
            raise DeliveryError("transient failure (bench_faults)")

    def _cut_database(self) -> None:
        """Another program takes the write lock; it lets go once the campaign's clock passes the outage's end."""
        assert self.clock is not None
        self.holder = sqlite3.connect(self.database, isolation_level=None)
        self.holder.execute("BEGIN IMMEDIATE")
        self.outage_began = self.clock.now()
        self.outage_ends = self.outage_began + self.outage
        self.log.append(f"database locked at attempt {self.attempts}")

    def clock_moved(self, now: datetime) -> None:
        if self.holder is not None and self.outage_ends is not None and now >= self.outage_ends:
            self.holder.execute("COMMIT")
            self.holder.close()
            self.holder = None
            assert self.outage_began is not None
            self.log.append(f"database back after {(now - self.outage_began).total_seconds() / 60:.1f} min")


class FaultClock(VirtualClock):
    """The simulation's clock, telling the faults when it moves (an outage ends at a campaign instant)."""

    def __init__(self, start: datetime, faults: Faults | None) -> None:
        super().__init__(start)
        self.faults = faults
        if faults is not None:
            faults.clock = self

    def set(self, instant: datetime) -> None:
        super().set(instant)
        if self.faults is not None:
            self.faults.clock_moved(self.now())


@dataclass(frozen=True)
class YearRun:
    seconds: float
    deliveries: int
    ledger: Ledger
    attempts: int = 0
    failed: int = 0
    events: tuple[str, ...] = ()
    restart_seconds: float = 0.0  # closing the app and building it again (the replay of the day before excluded)


def _app(sources: Sources, folder: Path, clock: VirtualClock, channel: MemoryChannel) -> App:
    # No wait for a held lock (?timeout=0): an outage is met at once and ridden out on the campaign's clock.
    url = f"sqlite:///{folder / 'laba.db'}?timeout=0"
    settings = Settings(folder / "data", url, "outbox", folder / "audio", "none")
    return build(sources, settings, clock, channel=channel, echo=None, sleep=clock.sleep)


def year_run(sources: Sources, folder: Path, faults: Faults | None) -> YearRun:
    plan = load(sources).plan
    start, end = plan.jobs[0].at, plan.jobs[-1].at + timedelta(seconds=1)
    clock = FaultClock(start, faults)
    channel = MemoryChannel(before_wire=faults.before_wire if faults else None)
    began = perf_counter()
    restart = 0.0
    app = _app(sources, folder, clock, channel)
    try:
        asyncio.run(simulate(app, clock, start, end))
    except Restart:
        stopped = perf_counter()
        app.close()
        resume_from: datetime = clock.now() - timedelta(days=1)
        app = _app(sources, folder, clock, channel)
        restart = perf_counter() - stopped
        if faults:
            faults.log.append(f"started again in {restart:.2f} s")
        asyncio.run(simulate(app, clock, resume_from, end))
    try:
        seconds = perf_counter() - began
        ledger = frozenset((r.job_key, r.target, r.status.value) for r in app.store.deliveries())
    finally:
        app.close()
    if faults:
        if faults.holder is not None:
            raise RuntimeError("the outage never ended: the year finished with the database locked")
        return YearRun(seconds, len(ledger), ledger, faults.attempts, faults.failed, tuple(faults.log), restart)
    return YearRun(seconds, len(ledger), ledger)


def one_pair(sources: Sources, seed: int, outage: timedelta, deliveries: int) -> tuple[YearRun, YearRun]:
    """The year without and with faults, one after the other; odd seeds run the faulty year first, so that a
    machine getting busier or quieter during the benchmark does not favour one side."""
    with tempfile.TemporaryDirectory() as clean_dir, tempfile.TemporaryDirectory() as faulty_dir:
        rng = random.Random(seed)
        faults = Faults(
            rng,
            outage_at=rng.randrange(deliveries // 4, deliveries // 2),
            restart_at=rng.randrange(deliveries // 2, 3 * deliveries // 4),
            outage=outage,
            database=Path(faulty_dir) / "laba.db",
        )
        if seed % 2:
            faulty = year_run(sources, Path(faulty_dir), faults)
            clean = year_run(sources, Path(clean_dir), None)
        else:
            clean = year_run(sources, Path(clean_dir), None)
            faulty = year_run(sources, Path(faulty_dir), faults)
    return clean, faulty


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Single pairs swing with the disk's fsync time (0.7x-1.3x seen): the median needs a few of them.
    parser.add_argument("--repeat", type=int, default=9, help="pairs of runs (after one warm-up pair)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--outage-minutes", type=float, default=10.0, help="campaign minutes the database is away")
    parser.add_argument("--schedules", type=Path, default=ROOT / "schedules" / "jinxi")
    parser.add_argument("--messages", type=Path, default=ROOT / "messages")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 if under 0.8x or the ledgers differ")
    args = parser.parse_args(argv)
    sources = Sources(args.schedules, args.messages)
    # The pipeline logs every failed attempt, as in the daemon; written (the cost counts) but not shown.
    logging.basicConfig(handlers=[logging.FileHandler(os.devnull)], level=logging.INFO, force=True)
    deliveries = sum(len(job.targets) for job in load(sources).plan.jobs)
    outage = timedelta(minutes=args.outage_minutes)
    one_pair(sources, args.seed, outage, deliveries)  # warm-up: imports, template caches
    pairs = [one_pair(sources, args.seed + i, outage, deliveries) for i in range(args.repeat)]
    result = summarize(pairs, args.outage_minutes)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_table(result)
    ok = float(str(result["ratio"])) >= 0.8 and result["same_ledger"] is True
    return 0 if ok or not args.check else 1


def summarize(pairs: list[tuple[YearRun, YearRun]], outage_minutes: float) -> dict[str, object]:
    clean = [c.deliveries / c.seconds for c, _ in pairs]
    faulty = [f.deliveries / f.seconds for _, f in pairs]
    return {
        "deliveries": pairs[0][0].deliveries,
        "clean_per_second": _median(clean),
        "faulty_per_second": _median(faulty),
        "clean_seconds": _median([c.seconds for c, _ in pairs]),
        "faulty_seconds": _median([f.seconds for _, f in pairs]),
        "ratio": _median([f / c for c, f in zip(clean, faulty, strict=True)]),  # per pair: drift cancels out
        "pair_ratios": sorted(round(f / c, 2) for c, f in zip(clean, faulty, strict=True)),
        # Where the faulty year's extra time goes (medians over the pairs): the restart (close + build), and the
        # rest (the outage's failed writes and retries, the transient failures' retries, the replayed day).
        "outage_minutes": outage_minutes,
        "restart_seconds": _median([f.restart_seconds for _, f in pairs]),
        "rest_seconds": _median([f.seconds - c.seconds - f.restart_seconds for c, f in pairs]),
        "same_ledger": all(c.ledger == f.ledger for c, f in pairs),
        "ledger_differences": [sorted(c.ledger ^ f.ledger)[:10] for c, f in pairs if c.ledger != f.ledger],
        "failed_attempts": [f.failed for _, f in pairs],
        "attempts": [f.attempts for _, f in pairs],
        "events": [list(f.events) for _, f in pairs],
    }


def print_table(result: dict[str, object]) -> None:
    line: Callable[[str], None] = print
    line(f"simulated year (金溪 2024): {result['deliveries']} deliveries, median of runs")
    line(f"  without faults: {result['clean_per_second']:8.1f} deliveries/s ({result['clean_seconds']:.2f} s)")
    line(f"  with faults:    {result['faulty_per_second']:8.1f} deliveries/s ({result['faulty_seconds']:.2f} s)")
    line(f"  ratio: {result['ratio']:.2f}x (target >= 0.8x); same final ledger: {result['same_ledger']}")
    line(f"  each pair's ratio: {result['pair_ratios']}")
    restart, rest = result["restart_seconds"], result["rest_seconds"]
    line(f"  the faulty year's extra time: restart {restart:.2f} s (close + build), the rest {rest:.2f} s")
    line("    (the outage's failed writes and retries, the transient failures' retries, the replayed day)")
    line(f"  database outage: {result['outage_minutes']:g} campaign minutes")
    line(f"  transient failures injected: {result['failed_attempts']} of {result['attempts']} send attempts")
    for events in result["events"]:  # type: ignore[attr-defined]
        line(f"  faults: {'; '.join(events)}")
    if result["ledger_differences"]:
        line(f"  ledger differences: {result['ledger_differences']}")


if __name__ == "__main__":
    sys.exit(main())
