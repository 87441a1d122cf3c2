"""台账: a month's activities with each unit's status, photos (thumbnails opening full size), flags and the
corrections as buttons (驳回 / 改派), pending #绑定 requests (批准 / 拒绝), upload links (作废), the month's reports to
download; and the year as one grid. Every change goes through `LedgerActions`, as the chat commands do, and is
logged with the signed-in account's name."""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.proof.images import EXTENSIONS
from bot.proof.ledger import month_ledger
from bot.proof.report import Thumbnails, month_html, month_xlsx
from bot.sorting.quiz_report import HEADERS as QUIZ_HEADERS
from bot.sorting.quiz_report import quiz_html, quiz_month, quiz_sheet
from bot.store.evidence import FLAG_CN, BindingStatus
from bot.web.console import Console
from bot.web.grid import year_grid
from bot.web.month import month_page_ledger
from bot.web.render import console_page, tell
from bot.web.security import CONSOLE_KEY, session_of

MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif", "bmp": "image/bmp"}


def _month(request: web.Request, now: datetime) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", request.query.get("month", ""))
    if m is None or not 1 <= int(m[2]) <= 12:
        return now.year, now.month
    return int(m[1]), int(m[2])


def _actor(console: Console, user_id: str) -> str:
    person = next((a for a in console.current().campaign.admins if a.id == user_id), None)
    return f"{person.name}（网页）" if person else f"{user_id}（网页）"


def month_view(console: Console, year: int, month: int) -> dict[str, object]:
    loaded = console.current()
    led = month_page_ledger(loaded, console.store, console.evidence, year, month)
    names = {u.id: u.name for u in loaded.campaign.units}
    pending = console.evidence.bindings(BindingStatus.PENDING)
    ids = {a.window.activity.id for a in led.activities}
    links = [lk for lk in console.web.links() if lk.activity_id in ids]
    prev = (year, month - 1) if month > 1 else (year - 1, 12)
    nxt = (year, month + 1) if month < 12 else (year + 1, 1)
    return {
        "ledger": led,
        "year": year,
        "month": month,
        "prev": f"{prev[0]}-{prev[1]:02d}",
        "next": f"{nxt[0]}-{nxt[1]:02d}",
        "bindings": pending,
        "names": names,
        "links": links,
        "now": console.clock.now(),
        "flag_cn": FLAG_CN,
        "public_url": console.settings.public_url,
        "quiz": quiz_month(loaded, console.store, year, month),
        "quiz_headers": QUIZ_HEADERS,
    }


async def ledger_month(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    year, month = _month(request, console.clock.now())
    return await console_page(request, "ledger.html", await asyncio.to_thread(month_view, console, year, month))


async def ledger_year(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    raw = request.query.get("year", "")
    year = int(raw) if raw.isdigit() and len(raw) == 4 else console.clock.now().year
    grid = await asyncio.to_thread(year_grid, console.current(), console.store, year)
    return await console_page(request, "ledger_year.html", {"grid": grid})


async def download(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    year, month = _month(request, console.clock.now())
    fmt = "xlsx" if request.query.get("format") == "xlsx" else "html"

    def build() -> bytes:
        loaded = console.current()
        led = month_ledger(loaded, console.store, console.evidence, year, month)
        thumbs = Thumbnails(console.evidence.files)
        town = loaded.campaign.town.name
        if fmt == "html":
            quiz = quiz_html(quiz_month(loaded, console.store, year, month))
            return month_html(led, town, thumbs, console.clock.now(), quiz).encode()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "ledger.xlsx"
            sheet = quiz_sheet(quiz_month(loaded, console.store, year, month))
            month_xlsx(led, town, thumbs, out, (sheet,) if sheet else ())
            return out.read_bytes()

    body = await asyncio.to_thread(build)
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx" else "text/html"
    name = f"ledger-{year}-{month:02d}.{fmt}"
    return web.Response(body=body, content_type=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def photo(request: web.Request) -> web.StreamResponse:
    """A stored photo (full size) or its thumbnail, by record number: never by a name anyone chose."""
    console = request.app[CONSOLE_KEY]
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    thumb = request.path.startswith("/thumb/")

    def read() -> tuple[bytes, str] | None:
        item = console.evidence.get(int(raw))
        if item is None or not item.sha256:
            return None
        if thumb:
            data = Thumbnails(console.evidence.files)(item.sha256)
            return None if data is None else (data, "image/jpeg")
        path = console.evidence.files.original(
            item.sha256, [item.ext] if item.ext else sorted(set(EXTENSIONS.values()))
        )
        return None if path is None else (path.read_bytes(), MIME.get(path.suffix[1:], "application/octet-stream"))

    found = await asyncio.to_thread(read)
    if found is None:
        raise web.HTTPNotFound(text="照片不在了。")
    return web.Response(body=found[0], content_type=found[1], headers={"Cache-Control": "private, max-age=86400"})


async def act(request: web.Request) -> web.Response:
    """One correction from a button: 驳回, 改派, 批准 / 拒绝 a binding, 作废 an upload link."""
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    what = request.match_info["what"]
    actor = _actor(console, session_of(request).user_id)
    back = str(form.get("back", "/ledger"))
    back = back if back.startswith("/ledger") else "/ledger"
    number = str(form.get("id", ""))
    now = console.clock.now()

    def run() -> str:
        if what == "revoke":
            done = console.web.revoke_link(number, actor, now)
            if done:
                console.evidence.log(
                    actor=actor, action="link_revoked", subject=f"link:{number[:6]}", detail="", at=now
                )
            return "已作废上传链接。" if done else "链接已经作废了。"
        if not number.isdigit():
            return "缺少编号。"
        if what == "reject":
            return console.actions.reject(int(number), str(form.get("reason", "")).strip(), actor, now).text
        if what == "reassign":
            return console.actions.reassign(int(number), str(form.get("to", "")).strip(), actor, now).text
        if what in ("approve", "deny"):
            return console.actions.decide(int(number), what == "approve", actor, now)[0].text
        raise web.HTTPNotFound()

    raise tell(back, await asyncio.to_thread(run))
