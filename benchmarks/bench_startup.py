#!/usr/bin/env python3
"""laba daemon start-up and idle memory: `laba run` on the 金溪 plan (outbox channel), next to a bare process.

    python benchmarks/bench_startup.py                 # 3 rounds, 30 s idle each, median figures
    python benchmarks/bench_startup.py --idle 5        # shorter idle (quicker, RSS less settled)
    python benchmarks/bench_startup.py --json          # the figures as JSON
    python benchmarks/bench_startup.py --check         # exit 1 if a target is missed
    python benchmarks/bench_startup.py --root ../old   # measure another checkout (e.g. `git archive` of a commit)

laba: `python -m bot run --now 2024-05-19T09:00` with `BOT_CHANNEL=outbox` and a fresh temporary `BOT_DATA_DIR`
(so a fresh SQLite store, made at start), the shipped 金溪 files, `BOT_TTS_ENGINE` left at its default (edge:
the clip producer is built when the first clip is wanted). Start-up is the wall time from spawning the process to
the daemon's "运行中：还有 N 项任务" log line (written once APScheduler is running with every job added).
Bare: a Python process that imports APScheduler, SQLAlchemy and Jinja2, starts an `AsyncIOScheduler` and adds the
same N date jobs, then prints its own ready line. Idle RSS: `VmRSS` from /proc after `--idle` seconds. Both
processes run in turn, never together; each round starts both afresh.

Targets (issue 11): start-up under 2x bare and under 1.5 s; idle RSS under 2x bare and under 100 MB.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = "2024-05-19T09:00"
READY = re.compile(r"(?:运行中：还有|running:) (\d+) (?:项任务|jobs waiting)")
START_LIMIT_S, START_RATIO = 1.5, 2.0
RSS_LIMIT_MB, RSS_RATIO = 100.0, 2.0

# The bare process: the three libraries the daemon is built on, an AsyncIOScheduler and the same number of jobs.
BARE = """
import asyncio, sys
from datetime import datetime, timedelta, timezone
import apscheduler.schedulers.asyncio, sqlalchemy, jinja2

async def main(n):
    scheduler = apscheduler.schedulers.asyncio.AsyncIOScheduler()
    scheduler.start()
    start = datetime.now(timezone.utc) + timedelta(days=1)
    for i in range(n):
        scheduler.add_job(print, "date", run_date=start + timedelta(minutes=i), id=f"job-{i}")
    print(f"running: {n} jobs waiting", file=sys.stderr, flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1])))
"""


@dataclass(frozen=True)
class Run:
    startup_s: float
    cpu_s: float  # user + system CPU time the process used up to its ready line (steadier than wall time on a busy box)
    rss_mb: float
    jobs: int


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    # /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks; the command name (field 2) may hold spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(argv: list[str], env: dict[str, str], idle: float, root: Path, timeout: float = 60.0) -> Run:
    """Spawn `argv` in `root`, time it to its ready line on stderr, let it idle, read its RSS, stop it."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen = b""
    try:
        while (match := READY.search(seen.decode(errors="replace"))) is None:
            ready, _, _ = select.select([proc.stderr], [], [], max(0.0, started + timeout - time.perf_counter()))
            chunk = os.read(proc.stderr.fileno(), 65536) if ready else b""
            if not chunk:
                raise RuntimeError(f"{argv[:3]} never became ready:\n{seen.decode(errors='replace')}")
            seen += chunk
        startup = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid)
        time.sleep(idle)  # the process idles; nothing here is timed by this sleep except the wait itself
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[:3]} ended while idle:\n{seen.decode(errors='replace')}")
        return Run(startup, cpu, rss_mb(proc.pid), int(match.group(1)))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def one_round(idle: float, root: Path, bytecode: Path) -> tuple[Run, Run]:
    with tempfile.TemporaryDirectory(prefix="laba-bench-startup-") as tmp:
        env = {
            **os.environ,
            "BOT_DATA_DIR": tmp,
            "BOT_CHANNEL": "outbox",
            "BOT_WEB_LISTEN": "off",  # the targets are for the daemon with the web console off
            # laba's modules compiled once (by the warm-up round) into a folder of the benchmark's own, as an
            # installed package has them (pip compiles on install; the libraries the bare process imports are),
            # without writing into the checkout.
            "PYTHONPYCACHEPREFIX": str(bytecode),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("BOT_DATABASE_URL", None)
        # `-m bot` imports the package from the working directory: `root`'s, whatever is installed.
        laba = measure([sys.executable, "-m", "bot", "run", "--now", NOW], env, idle, root)
    bare = measure([sys.executable, "-c", BARE, str(laba.jobs)], dict(os.environ), idle, root)
    return laba, bare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds each process idles before its RSS is read")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to run `laba` from (default: this one)")
    args = parser.parse_args()

    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="laba-bench-bytecode-") as bytecode:
        one_round(0.0, args.root, Path(bytecode))  # warm the file cache and compile bytecode once, outside the figures
        rounds = [one_round(args.idle, args.root, Path(bytecode)) for _ in range(args.rounds)]
    laba, bare = (
        Run(
            statistics.median(r[i].startup_s for r in rounds),
            statistics.median(r[i].cpu_s for r in rounds),
            statistics.median(r[i].rss_mb for r in rounds),
            0,
        )
        for i in (0, 1)
    )
    jobs = rounds[0][0].jobs
    figures = {
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "rounds": args.rounds,
        "load_average_before": load,
        "idle_s": args.idle,
        "jobs": jobs,
        "laba": asdict(laba) | {"jobs": jobs},
        "bare": asdict(bare) | {"jobs": jobs},
        "startup_ratio": laba.startup_s / bare.startup_s,
        "cpu_ratio": laba.cpu_s / bare.cpu_s,
        "rss_ratio": laba.rss_mb / bare.rss_mb,
        "each_round": [{"laba": asdict(a), "bare": asdict(b)} for a, b in rounds],
    }
    ok = (
        laba.startup_s < START_LIMIT_S
        and figures["startup_ratio"] < START_RATIO
        and laba.rss_mb < RSS_LIMIT_MB
        and figures["rss_ratio"] < RSS_RATIO
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"laba run, 金溪 plan, outbox channel, {jobs} jobs; {args.rounds} rounds, median; idle {args.idle:g} s")
        print(f"{'':24}{'start-up':>12}{'CPU to ready':>14}{'idle RSS':>12}")
        for name, run in (("laba run", laba), ("bare APScheduler", bare)):
            print(f"{name:24}{run.startup_s:>10.2f} s{run.cpu_s:>12.2f} s{run.rss_mb:>9.1f} MB")
        ratios = (figures["startup_ratio"], figures["cpu_ratio"], figures["rss_ratio"])
        print(f"{'ratio':24}{ratios[0]:>11.2f}x{ratios[1]:>13.2f}x{ratios[2]:>11.2f}x")
        print(f"load average before the rounds: {load}")
        print(
            f"targets: start-up < {START_LIMIT_S} s and < {START_RATIO}x; RSS < {RSS_LIMIT_MB:g} MB and < "
            f"{RSS_RATIO}x: {'met' if ok else 'MISSED'}"
        )
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
