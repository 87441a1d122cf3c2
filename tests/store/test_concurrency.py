"""Exactly-once across processes: separate interpreters race on one database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack
from typing import Any
from zoneinfo import ZoneInfo

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text

from bot.store import DeliveryStatus
from bot.store.db import MIGRATIONS_DIR, normalize_url
from bot.store.schema import deliveries
from bot.store.sql import open_store

ZONE = ZoneInfo("Asia/Shanghai")
PAIRS = [(f"job-{i % 30:02d}", f"unit-{i // 30:02d}") for i in range(300)]

# Runs in a fresh interpreter. Prints "ready" once set up, then waits for a line on stdin so that all workers
# start racing at the same moment, and prints its result as JSON.
WORKER = """
import json, random, sys
from datetime import datetime
from zoneinfo import ZoneInfo
from bot.store.sql import open_store

mode, url, name = sys.argv[1:4]
zone = ZoneInfo("Asia/Shanghai")
now = datetime(2024, 5, 20, 9, 0, tzinfo=zone)

if mode == "migrate":
    print("ready", flush=True)
    sys.stdin.readline()
    open_store(url, zone).close()
    print(json.dumps("migrated"), flush=True)
else:
    pairs = [tuple(p) for p in json.loads(sys.argv[4])]
    random.Random(name).shuffle(pairs)
    store = open_store(url, zone)
    print("ready", flush=True)
    sys.stdin.readline()
    claimed = []
    for job_key, target in pairs:
        claim = store.claim(job_key, target, now, now, name)
        if claim is not None:
            store.mark_sent(claim, now, "msg-" + name)
            claimed.append([job_key, target])
    store.close()
    print(json.dumps(claimed), flush=True)
"""


def _race(argvs: list[list[str]]) -> list[Any]:
    """Start one worker per argv, release them together, and return what each printed."""
    with ExitStack() as stack:
        procs = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, *argv],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            for argv in argvs
        ]
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                _, err = proc.communicate(timeout=60)
                raise AssertionError(f"worker failed before the start: {line!r}\n{err}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results: list[Any] = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        return results


def test_two_processes_claim_each_pair_exactly_once(store_url: str) -> None:
    open_store(store_url, ZONE).close()  # migrated up front: this test is about claims

    results = _race([["claim", store_url, name, json.dumps(PAIRS)] for name in ("worker-a", "worker-b")])

    a, b = ({(job_key, target) for job_key, target in result} for result in results)
    print(f"worker-a claimed {len(a)}, worker-b {len(b)}")
    assert len(a) + len(b) == len(PAIRS)
    assert a.isdisjoint(b)
    assert a | b == set(PAIRS)

    with open_store(store_url, ZONE) as store:
        records = store.deliveries()
    assert len(records) == len(PAIRS)
    assert all(r.status is DeliveryStatus.SENT and r.attempts == 1 for r in records)
    owners = {(r.job_key, r.target): r.runner for r in records}
    assert all(owners[pair] == "worker-a" for pair in a)
    assert all(owners[pair] == "worker-b" for pair in b)


def test_two_processes_migrate_a_fresh_database_at_once(store_url: str) -> None:
    assert _race([["migrate", store_url, name] for name in ("worker-a", "worker-b")]) == ["migrated"] * 2

    engine = create_engine(normalize_url(store_url))
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            assert versions == [ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()]
            assert conn.execute(select(func.count()).select_from(deliveries)).scalar_one() == 0
    finally:
        engine.dispose()
