"""`WechatyReceiver`: turns MESSAGE events into `InboundMessage`s — payload, sender, room, images.

Contracts:
- Messages are read one at a time, in the order their events came; one that can't be read is logged and skipped
  (the gateway keeps it, nothing here can retry it better).
- The bot's own messages (by id, or by sender) are dropped; so are WeChat's throttling notices, which call
  `on_throttled(notice)` instead.
- Images are fetched at once, but only where they can be proof (`takes_proof(group id, room id)`: a private chat
  or a unit's work group, not a villagers' group): `MessageImage` (HD) + `Download` for uuid boxes,
  `MessageImageStream` when the gateway can't make a box. Elsewhere an image arrives with no attachment.
- `received_at` is on the campaign clock (`now`): the gateway stamps messages with the wall clock, so under
  `run --now` (a shifted clock) the stamp is moved by the same offset; never later than the campaign's now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TypeAlias

import betterproto
from grpclib.const import Cardinality
from wechaty_grpc.wechaty import PuppetStub
from wechaty_grpc.wechaty import puppet as pb

from bot.channels.base import MAX_ATTACHMENT_BYTES, Attachment, InboundMessage
from bot.channels.wechaty import filebox
from bot.channels.wechaty.connection import GatewayConnection
from bot.channels.wechaty.directory import WechatyDirectory
from bot.channels.wechaty.faults import GatewayError, GatewayRejected, gateway_errors
from bot.channels.wechaty.protocol import (
    THROTTLE_PHRASES,
    DownloadRequest,
    DownloadResponse,
    WireMessageType,
    timestamp_seconds,
)
from bot.channels.wechaty.sender import RPC_TIMEOUT, WechatySender
from bot.clock import TOWN_ZONE

log = logging.getLogger(__name__)

SYSTEM_TYPES = {WireMessageType.UNKNOWN, WireMessageType.GROUP_NOTE}
_KIND = {WireMessageType.TEXT: "text", WireMessageType.IMAGE: "image", WireMessageType.ATTACHMENT: "file"}

ProofRooms: TypeAlias = Callable[[str | None, str | None], bool]
"""(configured group id or None, room id or None for a private chat) -> may a photo posted there be proof?"""


def any_room(_group: str | None, _room: str | None) -> bool:
    return True


def wall_clock() -> datetime:
    return datetime.now(TOWN_ZONE)


def on_campaign_clock(stamped: datetime | None, campaign_now: datetime, wall_now: datetime) -> datetime:
    """The instant a gateway stamped (`stamped`, wall clock) as the campaign clock shows it: shifted by the
    campaign clock's offset from the wall clock, and never after the campaign's now (the stamp may run ahead of
    this machine's clock). No stamp: the campaign's now."""
    if stamped is None:
        return campaign_now
    return min(stamped + (campaign_now - wall_now), campaign_now).astimezone(campaign_now.tzinfo)


class WechatyReceiver:
    def __init__(
        self,
        link: GatewayConnection,
        directory: WechatyDirectory,
        sender: WechatySender,
        *,
        on_throttled: Callable[[str], None],
        now: Callable[[], datetime],
        takes_proof: ProofRooms = any_room,
        wall: Callable[[], datetime] = wall_clock,
    ) -> None:
        self._link = link
        self._takes_proof = takes_proof
        self._wall = wall
        self._directory = directory
        self._sender = sender
        self._on_throttled = on_throttled
        self._now = now
        self._message_ids: asyncio.Queue[str] = asyncio.Queue()
        self._inbox: asyncio.Queue[InboundMessage | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def heard(self, message_id: str) -> None:
        """A MESSAGE event: read it in turn."""
        self._message_ids.put_nowait(message_id)

    def start(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="wechaty-inbound")

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        self._inbox.put_nowait(None)

    async def inbound(self) -> AsyncIterator[InboundMessage]:
        while (message := await self._inbox.get()) is not None:
            yield message

    async def _work(self) -> None:
        while True:
            message_id = await self._message_ids.get()
            try:
                with gateway_errors():
                    async with asyncio.timeout(RPC_TIMEOUT * 4):
                        message = await self._read(message_id)
            except GatewayError as exc:
                log.warning("读不到消息 %s：%s", message_id, exc.detail)
                continue
            except Exception:
                log.exception("消息 %s 读取出错", message_id)
                continue
            if message is not None:
                self._inbox.put_nowait(message)

    async def _read(self, message_id: str) -> InboundMessage | None:
        if not message_id or await self._sender.own.is_own(message_id):
            return None
        await self._sender.wait_online()
        stub = self._link.stub
        if stub is None:
            return None
        p = await stub.message_payload(id=message_id)
        self_id = self._link.self_id
        if self_id and p.from_id == self_id:
            return None  # the gateway's echo of our own message
        try:
            wire = WireMessageType(int(p.type))
        except ValueError:
            wire = WireMessageType.UNKNOWN
        if any(phrase in p.text for phrase in THROTTLE_PHRASES) and (
            wire in SYSTEM_TYPES or p.from_id in ("", "weixin")
        ):
            self._on_throttled(p.text)
            return None
        attachments: tuple[Attachment, ...] = ()
        if wire is WireMessageType.IMAGE and self._takes_proof(
            self._directory.group_of_room(p.room_id) if p.room_id else None, p.room_id or None
        ):
            attachments = (await self._fetch_image(stub, message_id, p.filename),)
        return await self._decode(p, message_id, wire, attachments)

    async def _decode(
        self, p: pb.MessagePayloadResponse, message_id: str, wire: WireMessageType, attachments: tuple[Attachment, ...]
    ) -> InboundMessage:
        directory = self._directory
        room_id = p.room_id or None
        sender = await directory.contact(p.from_id)
        name = sender.name if sender else p.from_id
        if room_id:
            name = (await directory.room_members(room_id)).get(p.from_id) or name
        self_id = self._link.self_id
        return InboundMessage(
            message_id=p.id or message_id,
            sender=p.from_id,
            sender_name=name,
            text=p.text,
            received_at=on_campaign_clock(
                datetime.fromtimestamp(timestamp_seconds(p.timestamp), TOWN_ZONE) if p.timestamp else None,
                self._now(),
                self._wall(),
            ),
            kind=_KIND.get(wire, "other"),  # type: ignore[arg-type]
            group=directory.group_of_room(room_id) if room_id else None,
            room_id=room_id,
            room_name=directory.topics.get(room_id, "") if room_id else "",
            sender_wechat=(sender.weixin or sender.alias) if sender else "",
            mentions=tuple(p.mention_ids),
            mentions_bot=bool(self_id) and self_id in p.mention_ids,
            attachments=attachments,
        )

    async def _fetch_image(self, stub: PuppetStub, message_id: str, filename: str) -> Attachment:
        try:
            with gateway_errors():
                resp = await stub.message_image(id=message_id, type=pb.ImageType.IMAGE_TYPE_HD)
            box = filebox.parse(resp.filebox)
            if box.size is not None and box.size > MAX_ATTACHMENT_BYTES:  # refused by its announced size, unfetched
                return Attachment(box.name or filename, b"", _mime(box.name or filename), unfetched_size=box.size)
            data = await self._download(box.uuid) if box.type is filebox.BoxType.UUID else box.data()
            return Attachment(box.name or filename or f"{message_id}.jpg", data, _mime(box.name or filename))
        except (GatewayRejected, filebox.FileBoxError) as exc:
            log.info("取消息 %s 的图片出错（%s），改用分段下载", message_id, exc)
        name, parts = filename, []
        async for chunk in stub.message_image_stream(id=message_id, type=pb.ImageType.IMAGE_TYPE_HD):
            which, value = betterproto.which_one_of(chunk.file_box_chunk, "payload")
            if which == "name":
                name = str(value)
            elif which == "data":
                parts.append(bytes(value))
        return Attachment(name or f"{message_id}.jpg", b"".join(parts), _mime(name))

    async def _download(self, box_uuid: str) -> bytes:
        parts = []
        stream = self._link.request(
            "Download", Cardinality.UNARY_STREAM, DownloadRequest, DownloadResponse, RPC_TIMEOUT * 4
        )
        with gateway_errors():
            async with stream:
                await stream.send_message(DownloadRequest(id=box_uuid), end=True)
                async for resp in stream:
                    parts.append(resp.chunk)
        return b"".join(parts)


def _mime(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".png"):
        return "image/png"
    if lower.endswith(".gif"):
        return "image/gif"
    return "image/jpeg"
