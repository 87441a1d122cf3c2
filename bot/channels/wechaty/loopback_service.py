"""The gRPC side of the `LoopbackPuppet`: every `/wechaty.Puppet/<Method>` it answers, as the real gateways do
(token checked on every call, the wire enum, uuid file boxes, echoes of the bot's own sends, ALREADY_EXISTS)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpclib.const
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError
from wechaty_grpc.wechaty import puppet as pb

from bot.channels.wechaty import filebox
from bot.channels.wechaty.loopback_world import LoggedMessage, PuppetWorld
from bot.channels.wechaty.protocol import (
    PATH,
    DownloadRequest,
    DownloadResponse,
    Ev,
    UploadRequest,
    UploadResponse,
    WireMessageType,
)

UUID_THRESHOLD = 20 * 1024  # gateways hand out images above this as uuid boxes
MAX_MESSAGE = 4 * 1024 * 1024  # gRPC's default limit on a received message
CHUNK = 64 * 1024


class PuppetService(PuppetWorld):
    """The gateway's gRPC handlers over its world (`__mapping__` is what grpclib serves)."""

    # --- the gRPC service -----------------------------------------------------------------------------------

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        uu, us = Cardinality.UNARY_UNARY, Cardinality.UNARY_STREAM
        table: list[tuple[str, Callable[[Any], Awaitable[None]], Cardinality, type, type]] = [
            ("Start", self._start, uu, pb.StartRequest, pb.StartResponse),
            ("Stop", self._stop, uu, pb.StopRequest, pb.StopResponse),
            ("Ding", self._ding, uu, pb.DingRequest, pb.DingResponse),
            ("Version", self._version, uu, pb.VersionRequest, pb.VersionResponse),
            ("Logout", self._logout, uu, pb.LogoutRequest, pb.LogoutResponse),
            ("Event", self._event, us, pb.EventRequest, pb.EventResponse),
            ("DirtyPayload", self._dirty, uu, pb.DirtyPayloadRequest, pb.DirtyPayloadResponse),
            ("ContactList", self._contact_list, uu, pb.ContactListRequest, pb.ContactListResponse),
            ("ContactPayload", self._contact_payload, uu, pb.ContactPayloadRequest, pb.ContactPayloadResponse),
            ("RoomList", self._room_list, uu, pb.RoomListRequest, pb.RoomListResponse),
            ("RoomPayload", self._room_payload, uu, pb.RoomPayloadRequest, pb.RoomPayloadResponse),
            ("RoomMemberList", self._member_list, uu, pb.RoomMemberListRequest, pb.RoomMemberListResponse),
            (
                "RoomMemberPayload",
                self._member_payload,
                uu,
                pb.RoomMemberPayloadRequest,
                pb.RoomMemberPayloadResponse,
            ),
            ("MessagePayload", self._message_payload, uu, pb.MessagePayloadRequest, pb.MessagePayloadResponse),
            ("MessageSendText", self._send_text, uu, pb.MessageSendTextRequest, pb.MessageSendTextResponse),
            ("MessageSendFile", self._send_file, uu, pb.MessageSendFileRequest, pb.MessageSendFileResponse),
            ("MessageImage", self._image, uu, pb.MessageImageRequest, pb.MessageImageResponse),
            ("MessageImageStream", self._image_stream, us, pb.MessageImageStreamRequest, pb.MessageImageStreamResponse),
            ("Download", self._download, us, DownloadRequest, DownloadResponse),
            ("Upload", self._upload, Cardinality.STREAM_UNARY, UploadRequest, UploadResponse),
        ]
        return {
            PATH + name: grpclib.const.Handler(self._authorized(fn), card, req, resp)
            for name, fn, card, req, resp in table
        }

    def _authorized(self, fn: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        async def handler(stream: Any) -> None:
            if stream.metadata.get("authorization") != f"Wechaty {self.token}":
                raise GRPCError(Status.UNAUTHENTICATED, "token is invalid")
            await fn(stream)

        return handler

    def _need_login(self) -> None:
        if not self.logged_in:
            raise GRPCError(Status.FAILED_PRECONDITION, "puppet is not logged in")

    async def _start(self, stream: Any) -> None:
        await stream.recv_message()
        self.started = True
        self.starts += 1
        if self.logged_in:
            self.emit(Ev.LOGIN, {"contactId": self.self_id})
            if self.announces_ready:
                self.emit(Ev.READY, {"data": "ready"})
        else:
            self.emit(Ev.SCAN, {"status": 2, "qrcode": self.qrcode})
        await stream.send_message(pb.StartResponse())
        await self._notify()

    async def _stop(self, stream: Any) -> None:
        await stream.recv_message()
        self.started = False
        await stream.send_message(pb.StopResponse())

    async def _ding(self, stream: Any) -> None:
        req = await stream.recv_message()
        self.dings += 1
        if not self.hung:
            self.emit(Ev.DONG, {"data": req.data})
        await stream.send_message(pb.DingResponse())
        await self._notify()

    async def _version(self, stream: Any) -> None:
        await stream.recv_message()
        await stream.send_message(pb.VersionResponse(version="laba-loopback"))

    async def _logout(self, stream: Any) -> None:
        await stream.recv_message()
        self.logout("主动退出")
        await stream.send_message(pb.LogoutResponse())

    async def _event(self, stream: Any) -> None:
        await stream.recv_message()
        if self._stream is not None:
            raise GRPCError(Status.ALREADY_EXISTS, "Puppet Service Event stream has already been started")
        queue: asyncio.Queue[pb.EventResponse | None] = asyncio.Queue()
        self._stream = queue
        self.stream_opens += 1
        try:
            await stream.send_message(self._heartbeat())
            if self.started and self.logged_in:
                await stream.send_message(self._event_msg(Ev.LOGIN, {"contactId": self.self_id}))
                if self.announces_ready:
                    await stream.send_message(self._event_msg(Ev.READY, {"data": "ready"}))
            elif self.started:
                await stream.send_message(self._event_msg(Ev.SCAN, {"status": 2, "qrcode": self.qrcode}))
            await self._notify()
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=self.heartbeat_seconds)
                except TimeoutError:
                    if self.hung:
                        continue
                    event = self._heartbeat()
                if event is None:
                    return
                await stream.send_message(event)
        finally:
            if self._stream is queue:
                self._stream = None
            self._poke()

    async def _dirty(self, stream: Any) -> None:
        req = await stream.recv_message()
        self.emit(Ev.DIRTY, {"payloadType": int(req.type), "payloadId": req.id})
        await stream.send_message(pb.DirtyPayloadResponse())

    async def _contact_list(self, stream: Any) -> None:
        await stream.recv_message()
        self._need_login()
        await stream.send_message(pb.ContactListResponse(ids=list(self.contacts)))

    async def _contact_payload(self, stream: Any) -> None:
        req = await stream.recv_message()
        c = self.contacts.get(req.id)
        if c is None:
            raise GRPCError(Status.NOT_FOUND, f"contact {req.id} not found")
        await stream.send_message(
            pb.ContactPayloadResponse(id=c.id, name=c.name, alias=c.alias, weixin=c.weixin, type=1, friend=True)
        )

    async def _room_list(self, stream: Any) -> None:
        await stream.recv_message()
        self._need_login()
        await stream.send_message(pb.RoomListResponse(ids=list(self.rooms)))

    async def _room_payload(self, stream: Any) -> None:
        req = await stream.recv_message()
        r = self.rooms.get(req.id)
        if r is None:
            raise GRPCError(Status.NOT_FOUND, f"room {req.id} not found")
        await stream.send_message(
            pb.RoomPayloadResponse(id=r.id, topic=r.topic, owner_id=r.owner_id, member_ids=list(r.member_ids))
        )

    async def _member_list(self, stream: Any) -> None:
        req = await stream.recv_message()
        r = self.rooms.get(req.id)
        if r is None:
            raise GRPCError(Status.NOT_FOUND, f"room {req.id} not found")
        await stream.send_message(pb.RoomMemberListResponse(member_ids=list(r.member_ids)))

    async def _member_payload(self, stream: Any) -> None:
        req = await stream.recv_message()
        r = self.rooms.get(req.id)
        c = self.contacts.get(req.member_id)
        if r is None or c is None or c.id not in r.member_ids:
            raise GRPCError(Status.NOT_FOUND, f"member {req.member_id} of {req.id} not found")
        await stream.send_message(
            pb.RoomMemberPayloadResponse(id=c.id, name=c.name, room_alias=r.aliases.get(c.id, ""))
        )

    async def _message_payload(self, stream: Any) -> None:
        req = await stream.recv_message()
        m = self.messages.get(req.id)
        if m is None:
            raise GRPCError(Status.NOT_FOUND, f"message {req.id} not found")
        await stream.send_message(
            pb.MessagePayloadResponse(
                id=m.id,
                filename=m.filename,
                text=m.text,
                timestamp=m.timestamp_ms,
                type=int(m.type),
                from_id=m.from_id,
                room_id=m.room_id,
                to_id=m.to_id,
                mention_ids=list(m.mention_ids),
            )
        )

    def _conversation(self, conversation_id: str) -> tuple[str, str]:
        if conversation_id in self.rooms:
            return conversation_id, ""
        if conversation_id in self.contacts:
            return "", conversation_id
        raise GRPCError(Status.NOT_FOUND, f"conversation {conversation_id} not found")

    def _sent(
        self,
        kind: WireMessageType,
        conversation_id: str,
        text: str,
        mentions: tuple[str, ...],
        filename: str = "",
        data: bytes = b"",
    ) -> str:
        room_id, to_id = self._conversation(conversation_id)
        msg = LoggedMessage(
            self._new_id(), kind, self.self_id, room_id, to_id, text, mentions, self._ms(), filename, data
        )
        self._record(msg)
        self.emit(Ev.MESSAGE, {"messageId": msg.id})  # the echo every gateway sends of the bot's own messages
        return msg.id

    async def _send_text(self, stream: Any) -> None:
        req = await stream.recv_message()
        self._need_login()
        mid = self._sent(WireMessageType.TEXT, req.conversation_id, req.text, tuple(req.mentonal_ids))
        await stream.send_message(pb.MessageSendTextResponse(id=mid))

    async def _send_file(self, stream: Any) -> None:
        req = await stream.recv_message()
        self._need_login()
        if len(req.filebox) > MAX_MESSAGE:
            raise GRPCError(Status.RESOURCE_EXHAUSTED, "Received message larger than max")
        try:
            box = filebox.parse(req.filebox)
            if box.type is filebox.BoxType.UUID:
                if box.uuid not in self.blobs:
                    raise GRPCError(Status.NOT_FOUND, f"uuid {box.uuid} not found")
                data = self.blobs[box.uuid][1]
            else:
                data = box.data()
        except filebox.FileBoxError as exc:
            raise GRPCError(Status.INVALID_ARGUMENT, str(exc)) from exc
        image = box.name.lower().endswith((".jpg", ".jpeg", ".png", ".gif"))
        kind = WireMessageType.IMAGE if image else WireMessageType.ATTACHMENT
        mid = self._sent(kind, req.conversation_id, "", (), filename=box.name, data=data)
        await stream.send_message(pb.MessageSendFileResponse(id=mid))

    def _image_of(self, message_id: str) -> LoggedMessage:
        self.image_requests.append(message_id)
        m = self.messages.get(message_id)
        if m is None or m.type is not WireMessageType.IMAGE:
            raise GRPCError(Status.NOT_FOUND, f"image message {message_id} not found")
        return m

    async def _image(self, stream: Any) -> None:
        req = await stream.recv_message()
        m = self._image_of(req.id)
        if len(m.data) <= UUID_THRESHOLD:
            # What the TypeScript gateway does with small in-memory images.
            raise GRPCError(Status.INTERNAL, "FileBox.toJSON() can only work on limited FileBoxType(s)")
        blob = uuid.uuid4().hex
        self.blobs[blob] = (m.filename, m.data)
        box = filebox.from_uuid(m.filename, blob, len(m.data))
        await stream.send_message(pb.MessageImageResponse(filebox=box.to_json()))

    async def _image_stream(self, stream: Any) -> None:
        req = await stream.recv_message()
        m = self._image_of(req.id)
        await stream.send_message(pb.MessageImageStreamResponse(file_box_chunk=pb.FileBoxChunk(name=m.filename)))
        for i in range(0, len(m.data), CHUNK):
            chunk = pb.FileBoxChunk(data=m.data[i : i + CHUNK])
            await stream.send_message(pb.MessageImageStreamResponse(file_box_chunk=chunk))

    async def _download(self, stream: Any) -> None:
        req = await stream.recv_message()
        if req.id not in self.blobs:
            raise GRPCError(Status.NOT_FOUND, f"uuid {req.id} not found")
        self.downloads.append(req.id)
        data = self.blobs[req.id][1]
        for i in range(0, len(data), CHUNK):
            await stream.send_message(DownloadResponse(chunk=data[i : i + CHUNK]))

    async def _upload(self, stream: Any) -> None:
        parts = [req.chunk async for req in _messages(stream)]
        blob = uuid.uuid4().hex
        self.blobs[blob] = ("", b"".join(parts))
        await stream.send_message(UploadResponse(id=blob))


async def _messages(stream: Any) -> AsyncIterator[Any]:
    async for message in stream:
        yield message
