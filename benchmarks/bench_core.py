#!/usr/bin/env python3
"""laba core benchmarks: planning a whole district, and the pipeline's overhead per delivery.

    python benchmarks/bench_core.py                 # both, SQLite, median of 5 runs (about half a minute)
    python benchmarks/bench_core.py --json          # the same figures as JSON
    python benchmarks/bench_core.py --postgres postgresql://127.0.0.1:5432/test   # also PostgreSQL
    python benchmarks/bench_core.py --check         # exit 1 if a target is missed

a) district plan: 30 towns x 20 units x 12 activities, built in memory from the pydantic models, planned with
   `bot.core.planner.plan_campaign`. Baseline: an APScheduler 3.11 `DateTrigger` per planned job, asked for its
   next fire time (the bare cost of "a job at this instant" without any of the planner's work).
b) pipeline overhead per delivery: the real `Pipeline` (MemoryChannel, VirtualClock, SqlStore on a fresh SQLite
   file each run, or a fresh PostgreSQL schema) running `run_job` over the real 金溪 2024 plan. Baseline: only
   rendering the same (job, target) pairs. Overhead = pipeline - bare, per delivery.

Each figure is the median of --repeat timed runs, after one untimed warm-up run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, tzinfo
from importlib.metadata import version
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.date import DateTrigger
from sqlalchemy import create_engine, text

from bot.app import runner_id
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.model import (
    Activity,
    CalendarOverrides,
    Campaign,
    Event,
    Group,
    GroupKind,
    JobKind,
    Person,
    PlanFile,
    Proof,
    Rules,
    TownInfo,
    Unit,
    UnitKind,
    UnitSet,
)
from bot.core.planner import Plan, activities_of_month, plan_campaign
from bot.core.render import ProofFacts
from bot.pipeline import Pipeline
from bot.scheduler import CampaignHolder
from bot.store.base import DeliveryStatus
from bot.store.sql import SqlStore, normalize_url, open_store

ROOT = Path(__file__).resolve().parents[1]

PLAN_TARGET_SECONDS = 1.0
OVERHEAD_TARGET_MS = 5.0


# --- timing ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, samples: list[float]) -> Timing:
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    def scaled(self, factor: float) -> Timing:
        return Timing(self.median * factor, self.low * factor, self.high * factor, self.runs)


def measure(fn: Callable[[], float | None], repeat: int) -> Timing:
    """Run `fn` once untimed (warm-up), then `repeat` times. `fn` may return its own duration (seconds) when
    only part of it is to be timed (e.g. not the store's set-up); otherwise the whole call is timed."""
    fn()
    samples = []
    for _ in range(repeat):
        start = perf_counter()
        own = fn()
        samples.append(own if own is not None else perf_counter() - start)
    return Timing.of(samples)


# --- a) district plan ------------------------------------------------------------------------------------------

SYLLABLES = "金石青白黄龙凤云松竹桃李梅兰杉柏桂柳泉溪"
PLACES = "溪岭坝坪湾沟桥山湖田"


def _place(n: int) -> str:
    return SYLLABLES[n % len(SYLLABLES)] + PLACES[(n // len(SYLLABLES)) % len(PLACES)]


def make_town(index: int, year: int, units_per_town: int, activities_per_year: int) -> Campaign:
    """A town like 金溪: villages and a community (villager + work groups, a secretary, a broadcaster), town
    departments (work groups; the first also holds the office group), enterprises (contacts only, so they are
    asked by private message), three unit sets by kind plus one listed set with an exception."""
    tid = f"t{index:02d}"
    town_name = _place(index * 7) + "镇"
    n_departments = max(2, units_per_town // 5)
    n_enterprises = max(1, units_per_town // 10)
    n_villages = max(2, units_per_town - n_departments - n_enterprises)
    units: list[Unit] = []
    for v in range(n_villages):
        uid = f"{tid}-v{v:02d}"
        kind = UnitKind.COMMUNITY if v == 0 else UnitKind.VILLAGE
        name = _place(index + v) + ("社区" if v == 0 else "村")
        units.append(
            Unit(
                id=uid,
                name=name,
                kind=kind,
                groups=(
                    Group(
                        id=f"{uid}-villagers", name=f"{name}{'居民' if v == 0 else '村民'}群", kind=GroupKind.VILLAGERS
                    ),
                    Group(id=f"{uid}-work", name=f"{name}两委工作群", kind=GroupKind.WORK),
                ),
                contacts=(Person(id=f"{uid}-sj", name=f"书记{v}", role="党支部书记", wechat=f"{uid}-sj"),),
                broadcast_operator=Person(id=f"{uid}-gb", name=f"广播员{v}", role="广播员"),
            )
        )
    for d in range(n_departments):
        uid = f"{tid}-d{d:02d}"
        groups = [Group(id=f"{uid}-work", name=f"部门{d}工作群", kind=GroupKind.WORK)]
        if d == 0:
            groups.append(Group(id=f"{tid}-office", name=f"{town_name}党政办公室群", kind=GroupKind.OFFICE))
        units.append(
            Unit(
                id=uid,
                name="党政办公室" if d == 0 else f"镇级部门{d}",
                kind=UnitKind.DEPARTMENT,
                groups=tuple(groups),
                contacts=(Person(id=f"{uid}-zr", name=f"主任{d}"),),
            )
        )
    for e in range(n_enterprises):
        uid = f"{tid}-e{e:02d}"
        units.append(
            Unit(
                id=uid,
                name=f"{town_name}企业{e}有限公司",
                kind=UnitKind.ENTERPRISE,
                contacts=(Person(id=f"{uid}-fzr", name=f"负责人{e}", wechat=f"{uid}-fzr"),),
            )
        )
    unit_sets = (
        UnitSet(id="villages", name="各村（社区）", kinds=(UnitKind.VILLAGE, UnitKind.COMMUNITY)),
        UnitSet(id="departments", name="镇级各部门", kinds=(UnitKind.DEPARTMENT,)),
        UnitSet(id="enterprises", name="相关民营企业", kinds=(UnitKind.ENTERPRISE,)),
        # As units.yaml writes it (`except` is a Python keyword, hence the alias).
        UnitSet.model_validate(
            {
                "id": "pilot",
                "name": "试点村",
                "units": [f"{tid}-v{v:02d}" for v in range(min(4, n_villages))],
                "except": [f"{tid}-v00"],
            }
        ),
    )
    responsible_options: tuple[tuple[str, ...], ...] = (
        ("villages", "departments", "enterprises"),
        ("villages", "departments"),
        ("pilot", f"{tid}-d01"),
        ("villages", "departments", "enterprises"),
    )
    activities = []
    for a in range(activities_per_year):
        month = a % 12 + 1
        events: tuple[Event, ...] = ()
        if month in (3, 6, 9, 12):
            events = (Event(id=f"ev{a:02d}", name=f"{month}月主题宣传日", start=date(year, month, 19)),)
        elif month == 5:
            events = (
                Event(
                    id=f"xcz{a:02d}", name="全国城市生活垃圾分类宣传周", start=date(year, 5, 20), end=date(year, 5, 26)
                ),
                Event(id=f"hjr{a:02d}", name="世界环境日", start=date(year, 6, 5)),
            )
        activities.append(
            Activity(
                id=f"{year}-{a:03d}",
                month=month,
                title=f"{month}月垃圾分类宣传活动",
                content=f"开展{month}月垃圾分类宣传活动（第{a + 1}项）。",
                responsible=responsible_options[a % len(responsible_options)],
                events=events,
                proof=Proof(items=("活动照片",), due=date(year, 5, 28) if month == 5 else None),
            )
        )
    return Campaign(
        town=TownInfo(id=tid, name=town_name, timezone="Asia/Shanghai"),
        office_group=f"{tid}-office",
        admins=(Person(id=f"{tid}-admin", name="管理员", role="党政办公室"),),
        rules=Rules(),
        calendar=CalendarOverrides(),
        units=tuple(units),
        unit_sets=unit_sets,
        plans=(PlanFile(year=year, title=f"{year}年{town_name}计划", activities=tuple(activities)),),
    )


def plan_district(campaigns: list[Campaign]) -> list[Plan]:
    return [plan_campaign(c) for c in campaigns]


def trigger_baseline(instants: list[datetime], zone: tzinfo, now: datetime) -> None:
    for at in instants:
        DateTrigger(run_date=at, timezone=zone).get_next_fire_time(None, now)


def bench_district(towns: int, units: int, activities: int, year: int, repeat: int) -> dict[str, Any]:
    campaigns = [make_town(i, year, units, activities) for i in range(towns)]
    plans = plan_district(campaigns)
    warnings = sorted({w for p in plans for w in p.warnings})
    instants = [j.at for p in plans for j in p.jobs]
    jobs = len(instants)
    deliveries = sum(len(j.targets) for p in plans for j in p.jobs)
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime(year, 1, 1, tzinfo=zone)
    # The baseline must produce the same instants, or it isn't computing the same thing.
    fired = [DateTrigger(run_date=at, timezone=zone).get_next_fire_time(None, now) for at in instants]
    assert fired == instants

    def run_planner() -> None:
        plan_district(campaigns)

    planner = measure(run_planner, repeat)
    baseline = measure(lambda: trigger_baseline(instants, zone, now), repeat)
    return {
        "towns": towns,
        "units_per_town": units,
        "activities_per_year": activities,
        "year": year,
        "jobs": jobs,
        "deliveries": deliveries,
        "warnings": warnings,
        "planner_s": asdict(planner),
        "baseline_s": asdict(baseline),
        "ratio": planner.median / baseline.median,
        "target_s": PLAN_TARGET_SECONDS,
        "ok": planner.median < PLAN_TARGET_SECONDS,
    }


# --- b) pipeline overhead per delivery -------------------------------------------------------------------------


@contextmanager
def sqlite_url(parent: Path | None) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="laba-bench-", dir=parent) as folder:
        yield f"sqlite:///{Path(folder) / 'laba.db'}"


@contextmanager
def postgres_schema_url(server: str) -> Iterator[str]:
    """A fresh, empty schema on the server (dropped afterwards), as a URL whose connections see only it."""
    base = normalize_url(server)
    schema = f"laba_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


async def _run_plan(pipeline: Pipeline, clock: VirtualClock, loaded: LoadedCampaign) -> tuple[float, int]:
    """Every job of the plan at its own instant, as `bot.app.simulate` does. Returns (seconds, deliveries)."""
    await pipeline.channel.start()
    sent = 0
    start = perf_counter()
    for job in loaded.plan.jobs:
        clock.set(job.at)
        outcomes = await pipeline.run_job(job)
        sent += sum(1 for o in outcomes if o.fresh and o.status is DeliveryStatus.SENT)
    await pipeline.flush_alerts()
    elapsed = perf_counter() - start
    await pipeline.channel.close()
    return elapsed, sent


UrlFactory = Callable[[], AbstractContextManager[str]]


def pipeline_run(loaded: LoadedCampaign, url_factory: UrlFactory, expected: int) -> float:
    """One timed pass over the plan with a fresh store (opening and migrating it is not timed)."""
    with url_factory() as url:
        store: SqlStore = open_store(url, TOWN_ZONE)
        try:
            # Wired as `bot.app.build` does, with the memory channel and a virtual clock.
            holder = CampaignHolder(loaded)
            clock = VirtualClock(loaded.plan.jobs[0].at)
            channel = MemoryChannel()
            pipeline = Pipeline(holder.get, store, channel, clock, runner_id())
            elapsed, sent = asyncio.run(_run_plan(pipeline, clock, loaded))
        finally:
            store.close()
    if sent != expected or len(channel.sent) != expected:
        raise AssertionError(f"pipeline sent {sent} ({len(channel.sent)} on the channel), expected {expected}")
    return elapsed


def store_run(loaded: LoadedCampaign, url_factory: UrlFactory, expected: int) -> float:
    """Only the store calls the pipeline makes for the plan (proof facts per job, claim and mark_sent per
    delivery), on a fresh store: the part of the overhead that is the database."""
    runner = runner_id()
    claimed = 0
    with url_factory() as url:
        store: SqlStore = open_store(url, TOWN_ZONE)
        try:
            start = perf_counter()
            for job in loaded.plan.jobs:
                if job.kind is JobKind.SUMMARY:
                    acts = activities_of_month(loaded.campaign, job.year, job.month)
                else:
                    acts = (job.activity,) if job.activity else ()
                for act in acts:
                    store.units_with_proof(act.id)
                for target in job.targets:
                    claim = store.claim(job.key, target.id, job.at, job.at, runner)
                    if claim is not None:
                        store.mark_sent(claim, job.at, f"mem-{claimed}")
                        claimed += 1
            elapsed = perf_counter() - start
        finally:
            store.close()
    if claimed != expected:
        raise AssertionError(f"store claimed {claimed}, expected {expected}")
    return elapsed


def bare_render(loaded: LoadedCampaign) -> None:
    renderer = loaded.renderer
    for job in loaded.plan.jobs:
        for target in job.targets:
            renderer.render(job, target, ProofFacts())


def deliveries_of(loaded: LoadedCampaign) -> int:
    return sum(len(j.targets) for j in loaded.plan.jobs)


def bench_render(loaded: LoadedCampaign, repeat: int) -> Timing:
    """The baseline: ms per delivery to render each (job, target) pair of the plan, nothing else."""
    return measure(lambda: bare_render(loaded), repeat).scaled(1000.0 / deliveries_of(loaded))


def bench_pipeline(
    loaded: LoadedCampaign, backend: str, url_factory: UrlFactory, repeat: int, where: str, bare: Timing
) -> dict[str, Any]:
    deliveries = deliveries_of(loaded)
    per = 1000.0 / deliveries
    pipeline = measure(lambda: pipeline_run(loaded, url_factory, deliveries), repeat).scaled(per)
    store = measure(lambda: store_run(loaded, url_factory, deliveries), repeat).scaled(per)
    overhead = pipeline.median - bare.median
    return {
        "backend": backend,
        "where": where,
        "town": loaded.campaign.town.name,
        "jobs": len(loaded.plan.jobs),
        "deliveries": deliveries,
        "pipeline_ms": asdict(pipeline),
        "bare_ms": asdict(bare),
        "store_only_ms": asdict(store),
        "overhead_ms": overhead,
        "ratio": pipeline.median / bare.median,
        "target_ms": OVERHEAD_TARGET_MS,
        "ok": overhead < OVERHEAD_TARGET_MS,
    }


# --- output ----------------------------------------------------------------------------------------------------


def _fmt(t: dict[str, Any], unit: str, digits: int) -> str:
    return (
        f"{t['median']:>10.{digits}f} {unit:<4} (min {t['low']:.{digits}f}, max {t['high']:.{digits}f}, n={t['runs']})"
    )


def print_table(result: dict[str, Any]) -> None:
    env = result["environment"]
    print(
        f"laba core benchmarks — Python {env['python']}, APScheduler {env['apscheduler']}, {env['machine']}, "
        f"{env['cpus']} CPUs; median of {result['repeat']} timed runs after 1 warm-up"
    )
    if "district" in result:
        d = result["district"]
        print()
        print(
            f"a) district plan: {d['towns']} towns × {d['units_per_town']} units × {d['activities_per_year']} "
            f"activities ({d['year']}): {d['jobs']:,} jobs, {d['deliveries']:,} deliveries"
        )
        print(f"   {'plan_campaign, all towns':<34}{_fmt(d['planner_s'], 's', 4)}")
        print(f"   {'baseline: APScheduler DateTrigger':<34}{_fmt(d['baseline_s'], 's', 4)}")
        print(f"   {'ratio planner / baseline':<34}{d['ratio']:>10.1f} ×")
        verdict = "OK" if d["ok"] else "MISSED"
        print(f"   {'target: planner < 1 s':<34}{verdict:>10}")
        for w in d["warnings"]:
            print(f"   ! {w}")
    for p in result.get("pipeline", []):
        print()
        print(
            f"b) pipeline overhead per delivery, {p['backend']} ({p['where']}): {p['town']} plan, "
            f"{p['jobs']} jobs, {p['deliveries']} deliveries"
        )
        print(f"   {'pipeline run_job':<34}{_fmt(p['pipeline_ms'], 'ms', 3)}")
        print(f"   {'baseline: render only':<34}{_fmt(p['bare_ms'], 'ms', 3)}")
        print(f"   {'(store calls alone, for reference)':<34}{_fmt(p['store_only_ms'], 'ms', 3)}")
        print(f"   {'overhead (pipeline − bare)':<34}{p['overhead_ms']:>10.3f} ms")
        print(f"   {'ratio pipeline / bare':<34}{p['ratio']:>10.1f} ×")
        verdict = "OK" if p["ok"] else "MISSED"
        print(f"   {'target: overhead < 5 ms':<34}{verdict:>10}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", choices=("plan", "pipeline"), help="run one of the two benchmarks")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--towns", type=int, default=30, help="towns in the district (default 30)")
    parser.add_argument("--units", type=int, default=20, help="units per town (default 20)")
    parser.add_argument("--activities", type=int, default=12, help="activities per town and year (default 12)")
    parser.add_argument("--year", type=int, default=2024, help="the district plan's year (default 2024)")
    parser.add_argument("--schedules", type=Path, default=ROOT / "schedules" / "jinxi", help="town folder for b)")
    parser.add_argument("--messages", type=Path, default=ROOT / "messages", help="templates folder for b)")
    parser.add_argument(
        "--tmpdir", type=Path, default=None, help="where the SQLite files go (default: the system temp dir)"
    )
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run of b)")
    parser.add_argument("--postgres", metavar="URL", help="also run b) on this PostgreSQL server (a fresh schema)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    result: dict[str, Any] = {
        "command": " ".join(["python", Path(sys.argv[0]).as_posix(), *(sys.argv[1:] if argv is None else argv)]),
        "repeat": args.repeat,
        "environment": {
            "python": platform.python_version(),
            "apscheduler": version("APScheduler"),
            "machine": f"{platform.system()} {platform.machine()}",
            "cpus": os.cpu_count(),
        },
    }
    if args.only in (None, "plan"):
        result["district"] = bench_district(args.towns, args.units, args.activities, args.year, args.repeat)
    if args.only in (None, "pipeline"):
        loaded = load(Sources(args.schedules, args.messages))
        bare = bench_render(loaded, args.repeat)
        runs = []
        if not args.no_sqlite:
            where = str(args.tmpdir or tempfile.gettempdir())
            runs.append(
                bench_pipeline(loaded, "SQLite file", lambda: sqlite_url(args.tmpdir), args.repeat, f"in {where}", bare)
            )
        if args.postgres:
            server = normalize_url(args.postgres).render_as_string(hide_password=True)
            runs.append(
                bench_pipeline(
                    loaded, "PostgreSQL", lambda: postgres_schema_url(args.postgres), args.repeat, f"at {server}", bare
                )
            )
        result["pipeline"] = runs

    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_table(result)
    missed = ("district" in result and not result["district"]["ok"]) or any(
        not p["ok"] for p in result.get("pipeline", [])
    )
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
