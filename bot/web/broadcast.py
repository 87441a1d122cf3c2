"""广播: a month's loudspeaker clips with a player, each operator's play sheet, and a zip per operator.

Reads what `bot.audio.studio` wrote under BOT_AUDIO_DIR/<YYYY-MM>/ (its `index.json`). Files are served only by names
listed in that index and a month matching YYYY-MM: nothing from the request reaches a path unchecked."""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.web.console import Console
from bot.web.render import console_page
from bot.web.security import CONSOLE_KEY

MONTH = re.compile(r"\d{4}-\d{2}")


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    unit: str
    clips: tuple[tuple[str, str, float], ...]  # (file name, title, seconds)
    sheet: str


def _folder(console: Console, month: str) -> Path:
    if not MONTH.fullmatch(month):
        raise web.HTTPNotFound()
    return console.settings.audio_dir / month


def _index(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def operators(console: Console, month: str) -> list[Operator]:
    folder = _folder(console, month)
    out = []
    for op_id, entry in sorted(_index(folder).items()):
        clips = tuple((name, c.get("title", name), float(c.get("seconds", 0))) for name, c in entry["clips"].items())
        try:
            sheet = (folder / f"{op_id}-bofangdan.txt").read_text(encoding="utf-8")
        except OSError:
            sheet = ""
        out.append(Operator(op_id, entry.get("operator", op_id), entry.get("unit", ""), clips, sheet))
    return out


def months(console: Console) -> list[str]:
    root = console.settings.audio_dir
    if not root.is_dir():
        return []
    return sorted(
        (p.name for p in root.iterdir() if MONTH.fullmatch(p.name) and (p / "index.json").is_file()), reverse=True
    )


async def broadcast(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    found = await asyncio.to_thread(months, console)
    default = f"{console.clock.now():%Y-%m}"
    month = request.query.get("month") or (default if default in found or not found else found[0])
    ops = await asyncio.to_thread(operators, console, month)
    return await console_page(request, "broadcast.html", {"month": month, "months": found, "operators": ops})


def _clip_path(console: Console, month: str, name: str) -> Path:
    folder = _folder(console, month)
    listed = {n for entry in _index(folder).values() for n in entry.get("clips", {})}
    if name not in listed:
        raise web.HTTPNotFound()
    return folder / name


async def clip(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    path = await asyncio.to_thread(_clip_path, console, request.match_info["month"], request.match_info["name"])
    return web.FileResponse(path, headers={"Content-Type": "audio/mpeg", "Cache-Control": "private, max-age=3600"})


async def operator_zip(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    month, op_id = request.match_info["month"], request.match_info["operator"]

    def build() -> bytes:
        op = next((o for o in operators(console, month) if o.id == op_id), None)
        if op is None:
            raise web.HTTPNotFound()
        folder = _folder(console, month)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, _, _ in op.clips:
                z.write(folder / name, name)
            for extra in (f"{op.id}.m3u", f"{op.id}-bofangdan.txt"):
                if (folder / extra).is_file():
                    z.write(folder / extra, extra)
        return out.getvalue()

    body = await asyncio.to_thread(build)
    name = f"{month}-{op_id}.zip"
    return web.Response(
        body=body, content_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
