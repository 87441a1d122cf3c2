"""The units' upload page, `/u/<token>`: no sign-in; the link fixes the unit and the activity.

It shows the unit, the activity, what is required and how many photos count so far. The page's script shrinks each
photo in the browser (canvas, longest side 2048 px, JPEG) and sends them one per request to `/u/<token>/photo`;
without the script the form sends them all to `/u/<token>`. Either way each photo is filed through the chat intake
(`ProofIntake.file_upload`: verification, limits, duplicate and EXIF flags) and its outcome said in plain Chinese.

Bounds: a request whose declared length is over the limit is refused before anything is read; the body is read in
chunks and reading stops one byte past a photo's limit, so memory holds at most one photo.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import BodyPartReader, web

from bot.channels.base import Attachment, InboundMessage
from bot.core.model import Unit
from bot.proof.windows import ActivityWindow
from bot.store.evidence import EvidenceStatus, Flag
from bot.store.web import UploadLink
from bot.web.console import Console
from bot.web.render import html, page
from bot.web.security import CONSOLE_KEY

MAX_FILES: Final = 9  # a WeChat post holds at most nine photos
CLIENT_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,40}")
CHUNK: Final = 256 * 1024
_filing = threading.Lock()  # one upload files at a time: the duplicate check's cache is shared


class TooBig(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # "ok", "flagged", "refused"
    text: str


def photo_limit(console: Console) -> int:
    return console.intake.settings.limits.max_bytes


def request_limit(console: Console, files: int) -> int:
    return files * (photo_limit(console) + 64 * 1024)


def _resolve(console: Console, token: str) -> tuple[UploadLink, Unit, ActivityWindow] | None:
    link = console.web.link(token)
    if link is None:
        return None
    window = console.window(link.activity_id)
    try:
        unit = console.current().campaign.unit(link.unit_id)
    except KeyError:
        return None
    return None if window is None else (link, unit, window)


async def _found(request: web.Request) -> tuple[Console, UploadLink, Unit, ActivityWindow]:
    console = request.app[CONSOLE_KEY]
    found = await asyncio.to_thread(_resolve, console, request.match_info["token"])
    if found is None:
        raise web.HTTPNotFound(
            text=page("upload_gone.html", why="这个链接不对，请用群里消息中的链接。"), content_type="text/html"
        )
    link, unit, window = found
    if not link.valid_at(console.clock.now()):
        why = "这个链接已经作废了。" if link.revoked_at else f"{window.label}的材料已经截止，链接不能再用了。"
        raise web.HTTPGone(text=page("upload_gone.html", why=why + "有问题请联系镇里。"), content_type="text/html")
    return console, link, unit, window


def _view(console: Console, unit: Unit, window: ActivityWindow, outcomes: list[Outcome]) -> str:
    counted = console.evidence.count(window.activity.id, unit.id)
    return page(
        "upload.html",
        unit=unit,
        window=window,
        counted=counted,
        outcomes=outcomes,
        limit_mb=photo_limit(console) // (1024 * 1024),
    )


async def upload_page(request: web.Request) -> web.Response:
    console, _, unit, window = await _found(request)
    return html(await asyncio.to_thread(_view, console, unit, window, []))


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > limit:
            raise TooBig()
    return bytes(data)


def file_one(
    console: Console, link: UploadLink, unit: Unit, window: ActivityWindow, client_id: str, name: str, data: bytes
) -> tuple[Outcome, int]:
    """File one photo through the chat intake; what became of it, and the unit's count of photos that count."""
    message = InboundMessage(
        message_id=f"web/{link.token[:12]}/{client_id}",
        sender=f"web:{unit.id}",
        sender_name=f"{unit.name}（网页上传）",
        sender_wechat="",
        text="",
        received_at=console.clock.now(),
        kind="image",
        attachments=(Attachment("upload", data),),
    )
    with _filing:
        [(record, count, _)] = console.intake.file_upload(message, unit, window)
    if record.status is not EvidenceStatus.ACCEPTED:  # intake counts only after a photo it filed
        count = console.evidence.count(window.activity.id, unit.id)
    text = "".join(console.intake.acknowledge([record], unit, count)).replace("第 1 个文件没有收下", "没有收下")
    if record.status is EvidenceStatus.REFUSED:
        return Outcome(name, "refused", text), count
    flagged = any(f in (Flag.DUPLICATE, Flag.NEAR_DUPLICATE, Flag.EXIF_OUTSIDE) for f in record.flags)
    return Outcome(name, "flagged" if flagged else "ok", text), count


def _too_big(console: Console, name: str) -> Outcome:
    return Outcome(
        name,
        "refused",
        f"照片太大（最多 {photo_limit(console) // (1024 * 1024)} MB），没有收下。"
        "请在手机相册里选这张照片重新上交（页面会先把它缩小），或截图后再交。",
    )


def _declared_too_big(request: web.Request, limit: int) -> bool:
    return request.content_length is not None and request.content_length > limit


async def upload_one(request: web.Request) -> web.Response:
    """The page script's endpoint: one photo (and its client id, so a resend is filed once); JSON back."""
    console, link, unit, window = await _found(request)
    if _declared_too_big(request, request_limit(console, 1)):
        return _json_response(_json(_too_big(console, "")), status=413)
    client_id, name, data = "", "", b""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise web.HTTPBadRequest(text="请求格式不对。")
        if part.name == "id":
            client_id = (await part.text())[:40]
        elif part.name == "photo":
            name = (part.filename or "")[:80]
            try:
                data = await _read_part(part, photo_limit(console))
            except TooBig:
                return _json_response(_json(_too_big(console, name)), status=413)
    if not CLIENT_ID.fullmatch(client_id):
        client_id = uuid.uuid4().hex
    outcome, counted = await asyncio.to_thread(file_one, console, link, unit, window, client_id, name, data)
    return _json_response({**_json(outcome), "counted": counted, "required": window.min_photos})


# Chinese as it is, not as \u escapes: the page shows it, and people read it in the browser's tools too.
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _json_response(data: dict[str, Any], status: int = 200) -> web.Response:
    response = web.json_response(data, status=status, dumps=_dumps)
    if status == 413:
        response.force_close()  # close rather than read and discard the rest of an oversized body
    return response


def _json(outcome: Outcome) -> dict[str, Any]:
    return {"name": outcome.name, "status": outcome.status, "text": outcome.text}


async def upload_form(request: web.Request) -> web.Response:
    """The form without the script: up to nine photos in one request, filed one by one as they are read."""
    console, link, unit, window = await _found(request)
    if _declared_too_big(request, request_limit(console, MAX_FILES)):
        refused = html(await asyncio.to_thread(_view, console, unit, window, [_too_big(console, "")]), 413)
        refused.force_close()
        return refused
    outcomes: list[Outcome] = []
    batch = uuid.uuid4().hex[:12]
    reader = await request.multipart()
    while (part := await reader.next()) is not None and len(outcomes) < MAX_FILES:
        if not isinstance(part, BodyPartReader) or part.name != "photo" or not part.filename:
            continue
        name = part.filename[:80]
        try:
            data = await _read_part(part, photo_limit(console))
        except TooBig:
            outcomes.append(_too_big(console, name))
            break
        client_id = f"{batch}-{len(outcomes) + 1}"
        outcome, _ = await asyncio.to_thread(file_one, console, link, unit, window, client_id, name, data)
        outcomes.append(outcome)
    response = html(await asyncio.to_thread(_view, console, unit, window, outcomes))
    if outcomes and outcomes[-1].status == "refused" and "太大" in outcomes[-1].text:
        response.force_close()  # the rest of the oversized body is not read
    return response
