#!/usr/bin/env python3
"""laba web console benchmark: a) the 台账 year page for a district-sized year, through the web console, next to the
same query and template render without the web layer; b) photos through the upload page's endpoint, next to the chat
intake path for the same photos.

    python benchmarks/bench_web.py            # both, SQLite in a temporary folder; ~1 min on 2 cores
    python benchmarks/bench_web.py --json     # the same figures as JSON
    python benchmarks/bench_web.py --check    # exit 1 if a target is missed

a) The 金溪 town files with 600 villages added (30 towns × 20 units), every 2024 activity (12) assigned to every unit,
   and 10 photo records per unit and activity (72,000 rows; one in ten flagged as a duplicate, so the counting rule
   has work to do) written straight into the evidence table. Web: `GET /ledger/year?year=2024` over HTTP on loopback
   with a signed-in session (middlewares, session lookup, the handler, the response). Baseline: `year_grid` + the
   `ledger_year.html` render, called directly. Targets: web ≤ 1.5 × baseline and under 200 ms (medians).
b) N different JPEG photos (1280×960, as WeChat sends them): web = `POST /u/<token>/photo` one photo per request
   over one kept-alive HTTP connection on loopback (multipart body, bounded read, `ProofIntake.file_upload`, the
   JSON answer); chat =
   `ProofIntake.handle` for one message per photo from the unit's contact in its work group, one acknowledgement
   per post of up to 9 photos (as bench_intake). A fresh store per run. Target: web throughput ≥ 0.7 × chat.

Every figure is the median of --repeat timed runs after one untimed warm-up; the two sides of each comparison run in
turns, and the ratio is the median of the per-pair ratios. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import platform
import re
import shutil
import statistics
import sys
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import yaml
from bench_intake import START, make_photos  # the same generated photos as the intake benchmark

from bot.app import App, build
from bot.channels.base import Attachment, InboundMessage
from bot.channels.memory import MemoryChannel
from bot.clock import VirtualClock
from bot.config.campaign import Sources
from bot.proof.ledger import month_ledger
from bot.settings import Settings
from bot.store.schema import evidence
from bot.store.web import WebStore
from bot.web.accounts import hash_password
from bot.web.console import Console, console_for
from bot.web.grid import year_grid
from bot.web.month import month_page_ledger
from bot.web.render import page
from bot.web.server import ConsoleServer

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"
PAGE_RATIO, PAGE_MS, UPLOAD_RATIO = 1.5, 200.0, 0.7


def district_town(folder: Path, units: int) -> Sources:
    """金溪 with `units` more villages, every 2024 activity assigned to all of them."""
    schedules, messages = folder / "schedules", folder / "messages"
    shutil.copytree(ROOT / "schedules" / "jinxi", schedules)
    shutil.copytree(ROOT / "messages", messages)
    doc = yaml.safe_load((schedules / "units.yaml").read_text(encoding="utf-8"))
    for i in range(units):
        uid = f"v{i:03d}"
        doc["units"].append(
            {
                "id": uid,
                "name": f"第{i + 1}村",
                "kind": "village",
                "groups": [{"id": f"{uid}-work", "name": f"第{i + 1}村工作群", "kind": "work"}],
                "contacts": [{"id": f"{uid}-c", "name": f"联系人{i + 1}", "wechat": f"{uid}-wx"}],
            }
        )
    (schedules / "units.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    plan = yaml.safe_load((schedules / "plan-2024.yaml").read_text(encoding="utf-8"))
    for act in plan["activities"]:
        act["responsible"] = ["villages", "departments", "enterprises"]
    (schedules / "plan-2024.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    return Sources(schedules, messages)


class Site:
    """The console over a town, served on loopback from a thread with its own event loop."""

    def __init__(self, sources: Sources, data: Path) -> None:
        settings = Settings(data, f"sqlite:///{data / 'laba.db'}", "outbox", data / "audio", tts_engine="none")
        self.clock = VirtualClock(START)
        self.channel = MemoryChannel()
        self.app: App = build(sources, settings, self.clock, channel=self.channel, echo=None)
        self.console: Console = console_for(self.app, settings, sources)
        WebStore(self.console.store).put_account("admin-ran", "admin", hash_password(PASSWORD), self.clock.now())
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = ConsoleServer(self.console, "127.0.0.1", 0)
        url = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(30)
        self.port = int(urllib.parse.urlsplit(url).port or 0)
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            sent = {**(headers or {}), **({"Cookie": self.cookie} if self.cookie else {})}
            conn.request(method, path, body=body, headers=sent)
            r = conn.getresponse()
            data = r.read()
            cookies = r.headers.get_all("Set-Cookie") or []
        finally:
            conn.close()
        return r.status, data, cookies

    def sign_in(self) -> None:
        status, data, cookies = self.request("GET", "/login")
        token = re.search(rb'name="login_token" value="([^"]+)"', data)
        login = next(c.split(";")[0] for c in cookies if c.startswith("laba_login="))
        assert token is not None
        form = urllib.parse.urlencode(
            {"user": "admin-ran", "password": PASSWORD, "login_token": token.group(1).decode(), "next": "/"}
        ).encode()
        self.cookie = login
        status, _, cookies = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, status
        self.cookie = next(c.split(";")[0] for c in cookies if c.startswith("laba_session="))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.app.close()


@contextmanager
def site(sources: Sources, workdir: Path) -> Iterator[Site]:
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        s = Site(sources, Path(tmp) / "data")
        try:
            yield s
        finally:
            s.close()


def fill_ledger(s: Site, per_cell: int) -> int:
    """`per_cell` photo records for every responsible (unit, activity) of 2024, one in ten a duplicate."""
    loaded = s.app.loaded
    rows = []
    at = START
    for w in s.console.intake.windows():
        for unit in loaded.campaign.responsible_units(w.activity):
            for k in range(per_cell):
                rows.append(
                    {
                        "message_id": f"bench/{w.activity.id}/{unit.id}/{k}",
                        "part": 1,
                        "kind": "photo",
                        "activity_id": w.activity.id,
                        "unit_id": unit.id,
                        "sender": unit.id,
                        "sender_name": unit.name,
                        "group_id": None,
                        "received_at": at,
                        "exif_at": None,
                        "size": 100_000,
                        "sha256": uuid.uuid4().hex * 2,
                        "phash": "0" * 16,
                        "ext": "jpg",
                        "width": 1280,
                        "height": 960,
                        "status": "accepted",
                        "flags": "duplicate" if k == 9 else "",
                        "duplicate_of": None,
                        "text": "",
                        "reason": "",
                    }
                )
    with s.console.store.engine.begin() as conn:
        conn.execute(evidence.insert(), rows)
    return len(rows)


def paired(first: Callable[[], object], second: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Both in turns (ms), so they meet the same machine: on a shared VM the load moves by the second."""
    first(), second()  # warm-up: imports, template compile, the database file in the page cache
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for fn, out in ((first, a), (second, b)):
            t0 = perf_counter()
            fn()
            out.append((perf_counter() - t0) * 1000)
    return a, b


def bench_page(workdir: Path, units: int, per_cell: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        sources = district_town(Path(tmp), units)
        with site(sources, workdir) as s:
            records = fill_ledger(s, per_cell)
            s.sign_in()
            csrf = "bench"

            def direct() -> str:
                grid = year_grid(s.console.current(), s.console.store, 2024)
                return page("ledger_year.html", user="admin-ran", csrf=csrf, said="", grid=grid)

            def web() -> bytes:
                status, body, _ = s.request("GET", "/ledger/year?year=2024")
                assert status == 200, status
                return bytes(body)

            cells = len(year_grid(s.console.current(), s.console.store, 2024).cells)
            base, over = paired(direct, web, repeat)
            size = len(web())
    b, w = statistics.median(base), statistics.median(over)
    ratio = statistics.median(o / d for d, o in zip(base, over, strict=True))
    return {
        "units": len(s.app.loaded.campaign.units),
        "cells": cells,
        "records": records,
        "html_kb": round(size / 1024),
        "direct_ms": b,
        "web_ms": w,
        "ratio": ratio,
        "ok": ratio <= PAGE_RATIO and w < PAGE_MS,
        "direct_all": base,
        "web_all": over,
    }


def bench_month(workdir: Path, units: int, per_cell: int, repeat: int) -> dict[str, Any]:
    """c) The 台账 month page's data at district size: `month_page_ledger` (one aggregate query, the month's records)
    next to the report's `month_ledger` (every record read, one query per activity), and `GET /ledger?month=` whole."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        sources = district_town(Path(tmp), units)
        with site(sources, workdir) as s:
            fill_ledger(s, per_cell)
            s.sign_in()
            c = s.console

            def old() -> object:
                return month_ledger(c.current(), c.store, c.evidence, 2024, 5)

            def new() -> object:
                return month_page_ledger(c.current(), c.store, c.evidence, 2024, 5)

            def web() -> bytes:
                status, body, _ = s.request("GET", "/ledger?month=2024-05")
                assert status == 200, status
                return bytes(body)

            report, page_data = paired(old, new, repeat)
            _, over = paired(new, web, repeat)
            size = len(web())
    return {
        "report_ms": statistics.median(report),
        "page_data_ms": statistics.median(page_data),
        "web_ms": statistics.median(over),
        "html_kb": round(size / 1024),
        "ok": True,  # no target in the issue: reported for the record
    }


def multipart(data: bytes, client_id: str) -> tuple[bytes, str]:
    b = uuid.uuid4().hex
    body = (
        (
            f'--{b}\r\nContent-Disposition: form-data; name="id"\r\n\r\n{client_id}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{b}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={b}"


def upload_run(sources: Sources, workdir: Path, photos: list[bytes], web: bool) -> float:
    with site(sources, workdir) as s:
        s.clock.set(START)
        loaded = s.app.loaded
        unit = loaded.campaign.unit("changchun")
        window = s.console.window("2024-04")
        assert window is not None
        if web:
            token = s.console.web.link_for(unit.id, "2024-04", window.closes, s.clock.now()).token
            bodies = [multipart(p, f"b{i}") for i, p in enumerate(photos)]
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)  # kept alive, as a browser does
            try:
                t0 = perf_counter()
                for body, kind in bodies:
                    conn.request("POST", f"/u/{token}/photo", body=body, headers={"Content-Type": kind})
                    r = conn.getresponse()
                    data = r.read()
                    assert r.status == 200 and json.loads(data)["status"] == "ok", data
                return perf_counter() - t0
            finally:
                conn.close()
        person = unit.contacts[0]

        async def chat() -> float:
            t0 = perf_counter()
            for i, data in enumerate(photos):
                at = START + timedelta(seconds=i)
                s.clock.set(at)
                message = InboundMessage(
                    message_id=f"chat-{i}",
                    sender=f"wxid_{person.wechat}",
                    sender_name=person.name,
                    sender_wechat=person.wechat,
                    text="",
                    received_at=at,
                    kind="image",
                    group="changchun-work",
                    room_id="room-changchun-work",
                    attachments=(Attachment("p.jpg", data),),
                )
                assert await s.console.intake.handle(message)
                if i % 9 == 8 or i + 1 == len(photos):
                    await s.console.intake.flush()
            return perf_counter() - t0

        # On the server's loop, where the daemon's intake runs.
        elapsed: float = asyncio.run_coroutine_threadsafe(chat(), s.loop).result(600)
        return elapsed


def bench_upload(workdir: Path, cache: Path, count: int, repeat: int) -> dict[str, Any]:
    photos = [p.read_bytes() for p in make_photos(cache, count, (1280, 960))]
    sources = Sources(ROOT / "schedules" / "jinxi", ROOT / "messages")
    upload_run(sources, workdir, photos[:10], True)
    upload_run(sources, workdir, photos[:10], False)
    web_s, chat_s, ratios = [], [], []
    for _ in range(repeat):
        w = upload_run(sources, workdir, photos, True)
        c = upload_run(sources, workdir, photos, False)
        web_s.append(w)
        chat_s.append(c)
        ratios.append((count / w) / (count / c))
    w, c = statistics.median(web_s), statistics.median(chat_s)
    ratio = statistics.median(ratios)
    return {
        "photos": count,
        "web_per_s": count / w,
        "chat_per_s": count / c,
        "ratio": ratio,
        "ratios": ratios,
        "ok": ratio >= UPLOAD_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--units", type=int, default=600, help="villages added to 金溪 (default 600: 30 × 20)")
    parser.add_argument("--per-cell", type=int, default=10, help="photo records per unit and activity (default 10)")
    parser.add_argument("--photos", type=int, default=200, help="photos for the upload comparison (default 200)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--only", choices=["page", "upload", "month"], help="one benchmark only")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "laba-bench-photos")
    parser.add_argument("--tmpdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"python": platform.python_version()}
    if args.only in (None, "page"):
        result["page"] = bench_page(args.tmpdir, args.units, args.per_cell, args.repeat)
    if args.only in (None, "month"):
        result["month"] = bench_month(args.tmpdir, args.units, args.per_cell, args.repeat)
    if args.only in (None, "upload"):
        result["upload"] = bench_upload(args.tmpdir, args.cache, args.photos, args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"laba web benchmark — Python {result['python']}; medians of {args.repeat} timed runs after a warm-up")
        if "page" in result:
            p = result["page"]
            print(
                f"a) 台账 year page: {p['units']} units, {p['cells']} cells, {p['records']} records, "
                f"{p['html_kb']} KB\n"
                f"   query + render, no web layer   {p['direct_ms']:8.1f} ms\n"
                f"   GET /ledger/year over HTTP      {p['web_ms']:8.1f} ms   ratio {p['ratio']:.2f} ×"
                f"   (target ≤ {PAGE_RATIO} × and < {PAGE_MS:.0f} ms: {'OK' if p['ok'] else 'MISSED'})"
            )
        if "month" in result:
            m = result["month"]
            print(
                f"c) 台账 month page (May): report's month_ledger {m['report_ms']:8.1f} ms, "
                f"month_page_ledger {m['page_data_ms']:8.1f} ms, GET /ledger?month= {m['web_ms']:8.1f} ms "
                f"({m['html_kb']} KB)"
            )
        if "upload" in result:
            u = result["upload"]
            print(
                f"b) upload: {u['photos']} JPEG photos 1280×960\n"
                f"   chat intake (ProofIntake.handle) {u['chat_per_s']:7.1f} photos/s\n"
                f"   POST /u/<token>/photo            {u['web_per_s']:7.1f} photos/s   ratio {u['ratio']:.2f} ×"
                f"   (target ≥ {UPLOAD_RATIO} ×: {'OK' if u['ok'] else 'MISSED'})"
            )
    ok = all(result[k]["ok"] for k in ("page", "upload", "month") if k in result)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
