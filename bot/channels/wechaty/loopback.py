"""`LoopbackPuppet`: a Wechaty puppet-service gateway on 127.0.0.1, for tests, the sandbox and the benchmark.

Like httpx's MockTransport, it ships in the package so everything above the socket runs for real: the
`WechatyChannel` talks gRPC (HTTP/2, optionally TLS with Wechaty's "insecure" certificate) to a real grpclib server.
It behaves as the gateways we target do:

- a heartbeat as soon as the event stream opens, then every `heartbeat_seconds`; LOGIN and READY replayed to a
  client that connects while logged in, SCAN while not; a second event stream gets ALREADY_EXISTS;
- `Start` logs in (or asks for a scan); `Stop` stops the puppet; the token is checked on every call;
- messages carry the wire enum (Image=6, Text=7) and millisecond timestamps; the bot's own sends come back as
  MESSAGE events; images over 20 KB are uuid file boxes fetched with `Download`, smaller ones fail `MessageImage`
  with the gateway's INTERNAL error (the client must fall back to `MessageImageStream`);
- on demand: throttling notices, topic changes, logout, a dropped event stream, a killed and restarted server.

Everything it knows (rooms, contacts, the message log) survives `restart()`; the port stays the same.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpclib.const
import grpclib.server
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError
from wechaty_grpc.wechaty import puppet as pb

from bot.channels.wechaty import filebox
from bot.channels.wechaty.protocol import (
    PATH,
    DownloadRequest,
    DownloadResponse,
    Ev,
    UploadRequest,
    UploadResponse,
    WireMessageType,
    server_ssl_context,
)
from bot.core.model import Campaign, GroupKind, Person

UUID_THRESHOLD = 20 * 1024  # gateways hand out images above this as uuid boxes
MAX_MESSAGE = 4 * 1024 * 1024  # gRPC's default limit on a received message
CHUNK = 64 * 1024
SYSTEM_SENDER = "weixin"


@dataclass
class Contact:
    id: str
    name: str
    weixin: str = ""
    alias: str = ""


@dataclass
class Room:
    id: str
    topic: str
    member_ids: list[str]
    aliases: dict[str, str] = field(default_factory=dict)  # member id -> name in this room
    owner_id: str = ""


@dataclass(frozen=True)
class LoggedMessage:
    """One message as the gateway saw it: sent by the bot (`from_id` = the bot) or posted by a person."""

    id: str
    type: WireMessageType
    from_id: str
    room_id: str
    to_id: str
    text: str
    mention_ids: tuple[str, ...]
    timestamp_ms: int
    filename: str = ""
    data: bytes = b""


class _Server(grpclib.server.Server):
    """grpclib's server, remembering its connections so a "kill" can cut them (close() only cancels handlers)."""

    def __init__(self, handlers: Any) -> None:
        super().__init__(handlers)
        self.transports: set[asyncio.BaseTransport] = set()

    def _protocol_factory(self) -> Any:
        protocol = super()._protocol_factory()
        made = protocol.connection_made

        def connection_made(transport: asyncio.BaseTransport) -> None:
            self.transports.add(transport)
            made(transport)

        protocol.connection_made = connection_made  # type: ignore[method-assign]
        return protocol


class LoopbackPuppet:
    """A puppet-service gateway on loopback. `async with LoopbackPuppet() as puppet:` starts and stops it."""

    def __init__(
        self,
        *,
        token: str = "insecure_loopback",
        tls: bool = False,
        logged_in: bool = True,
        self_name: str = "大喇叭",
        self_weixin: str = "laba-bot",
        heartbeat_seconds: float = 15.0,
        host: str = "127.0.0.1",
        now: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.tls = tls
        self.now = now  # seconds since the epoch, for message timestamps (the sandbox runs on its own clock)
        self.host = host
        self.port = 0
        self.heartbeat_seconds = heartbeat_seconds
        self.self_id = "wxid_laba_bot"
        self.contacts: dict[str, Contact] = {self.self_id: Contact(self.self_id, self_name, self_weixin)}
        self.rooms: dict[str, Room] = {}
        self.messages: dict[str, LoggedMessage] = {}
        self.log: list[LoggedMessage] = []
        self.blobs: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []  # the uuids fetched with Download, in order
        self.logged_in = logged_in
        self.started = False
        self.qrcode = "https://login.weixin.qq.com/l/loopback-" + uuid.uuid4().hex[:8]
        self.starts = 0
        self.stream_opens = 0
        self.dings = 0
        self.hung = False  # True: no heartbeats and no DONG (a gateway that hangs but keeps the socket open)
        self.listeners: list[Callable[[LoggedMessage], None]] = []
        self._server: _Server | None = None
        self._stream: asyncio.Queue[pb.EventResponse | None] | None = None
        self._changed = asyncio.Condition()
        self._seq = 0

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The variables that point a `WechatyChannel` here (pacing off)."""
        return {
            "WECHATY_PUPPET_SERVICE_ENDPOINT": self.endpoint,
            "WECHATY_PUPPET_SERVICE_TOKEN": self.token,
            "WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT": "false" if self.tls else "true",
            "BOT_SEND_GAP_SECONDS": "0",
        }

    async def start(self) -> None:
        """Listen on 127.0.0.1 (port 0 the first time: the kernel picks one; the same port after a restart)."""
        server = _Server([self])
        await server.start(self.host, self.port, ssl=server_ssl_context() if self.tls else None, reuse_address=True)
        listening: Any = server._server
        self.port = int(listening.sockets[0].getsockname()[1])
        self._server = server

    async def kill(self) -> None:
        """Stop as a crashed gateway does: every connection cut, nothing said. State is kept for `start`."""
        server, self._server = self._server, None
        if server is None:
            return
        self._end_stream()
        server.close()
        for transport in list(server.transports):
            transport.abort()  # type: ignore[attr-defined]
        await server.wait_closed()
        self.started = False

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    async def close(self) -> None:
        await self.kill()

    async def __aenter__(self) -> LoopbackPuppet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float = 10.0) -> None:
        """Wait until `predicate()` holds (checked on every change). Raises TimeoutError."""
        async with asyncio.timeout(seconds):
            async with self._changed:
                await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _poke(self) -> None:
        asyncio.get_running_loop().create_task(self._notify())

    # --- the world --------------------------------------------------------------------------------------------

    def add_contact(self, name: str, weixin: str = "", alias: str = "", contact_id: str = "") -> str:
        cid = contact_id or f"wxid_{uuid.uuid4().hex[:12]}"
        self.contacts[cid] = Contact(cid, name, weixin, alias)
        return cid

    def add_room(self, topic: str, member_ids: list[str], aliases: dict[str, str] | None = None) -> str:
        """A room the bot is in (the bot is added to its members)."""
        rid = f"{uuid.uuid4().int % 10**11}@chatroom"
        members = [self.self_id, *[m for m in member_ids if m != self.self_id]]
        self.rooms[rid] = Room(rid, topic, members, dict(aliases or {}), owner_id=members[-1])
        return rid

    def rename_room(self, room_id: str, topic: str) -> None:
        old = self.rooms[room_id].topic
        self.rooms[room_id].topic = topic
        self.emit(
            Ev.ROOM_TOPIC,
            {
                "roomId": room_id,
                "newTopic": topic,
                "oldTopic": old,
                "changerId": self.rooms[room_id].owner_id,
                "timestamp": int(time.time()),
            },
        )

    def mark_dirty(self, room_id: str) -> None:
        self.emit(Ev.DIRTY, {"payloadType": 3, "payloadId": room_id})

    def add_town(self, campaign: Campaign, villagers: int = 2) -> dict[str, str]:
        """Make WeChat look as the town's files describe it: every group a room (topic = the group's name) with
        the unit's contacts and broadcaster, `villagers` made-up villagers, and the admins in the office group;
        everyone a friend of the bot. Returns group id -> room id."""
        people: dict[str, str] = {}

        def person(p: Person) -> str:
            key = p.wechat or p.id
            if key not in people:
                people[key] = self.add_contact(p.name, weixin=p.wechat)
            return people[key]

        admins = [person(a) for a in campaign.admins]
        rooms: dict[str, str] = {}
        for unit in campaign.units:
            staff = [person(c) for c in unit.contacts]
            if unit.broadcast_operator is not None:
                staff.append(person(unit.broadcast_operator))
            for group in unit.groups:
                folks = [
                    self.add_contact(f"{unit.name}{'居民' if unit.kind.value == 'community' else '村民'}{i + 1}")
                    for i in range(villagers)
                ]
                office = admins if group.kind is GroupKind.OFFICE else []
                rooms[group.id] = self.add_room(group.name, [*staff, *office, *folks])
        return rooms

    def room_by_topic(self, topic: str) -> Room:
        return next(r for r in self.rooms.values() if r.topic == topic)

    def sent_by_bot(self) -> list[LoggedMessage]:
        return [m for m in self.log if m.from_id == self.self_id]

    def _record(self, msg: LoggedMessage) -> None:
        self.messages[msg.id] = msg
        self.log.append(msg)
        for listener in self.listeners:
            listener(msg)
        self._poke()

    def _ms(self) -> int:
        return int(self.now() * 1000)

    def _new_id(self) -> str:
        self._seq += 1
        return f"{uuid.uuid4().hex[:16]}{self._seq:06d}"

    def post_text(self, sender_id: str, text: str, room_id: str = "", mention_ids: tuple[str, ...] = ()) -> str:
        """A person says `text` in a room (or privately to the bot); the bot hears a MESSAGE event."""
        msg = LoggedMessage(
            self._new_id(),
            WireMessageType.TEXT,
            sender_id,
            room_id,
            "" if room_id else self.self_id,
            text,
            mention_ids,
            self._ms(),
        )
        self._record(msg)
        self.emit(Ev.MESSAGE, {"messageId": msg.id})
        return msg.id

    def post_image(self, sender_id: str, data: bytes, name: str = "photo.jpg", room_id: str = "") -> str:
        msg = LoggedMessage(
            self._new_id(),
            WireMessageType.IMAGE,
            sender_id,
            room_id,
            "" if room_id else self.self_id,
            "",
            (),
            self._ms(),
            filename=name,
            data=data,
        )
        self._record(msg)
        self.emit(Ev.MESSAGE, {"messageId": msg.id})
        return msg.id

    def throttle(self, room_id: str = "") -> str:
        """WeChat's notice that the account sends too fast (a system message, after sends that "succeeded")."""
        msg = LoggedMessage(
            self._new_id(),
            WireMessageType.UNKNOWN,
            SYSTEM_SENDER,
            room_id,
            "" if room_id else self.self_id,
            "发送消息过于频繁，请稍后再试。",
            (),
            self._ms(),
        )
        self._record(msg)
        self.emit(Ev.MESSAGE, {"messageId": msg.id})
        return msg.id

    def logout(self, reason: str = "已在其他设备登录") -> None:
        self.logged_in = False
        self.emit(Ev.LOGOUT, {"contactId": self.self_id, "data": reason})

    def confirm_scan(self) -> None:
        """The operator scanned the QR code and confirmed on the phone."""
        self.logged_in = True
        self.emit(Ev.SCAN, {"status": 4, "qrcode": ""})
        self.emit(Ev.LOGIN, {"contactId": self.self_id})
        self.emit(Ev.READY, {"data": "ready"})

    def drop_stream(self) -> None:
        """End the event stream from the server side (a flaky gateway); the server stays up."""
        self._end_stream()

    def emit(self, kind: int, payload: dict[str, Any]) -> None:
        if self._stream is not None:
            self._stream.put_nowait(pb.EventResponse(type=kind, payload=json.dumps(payload, ensure_ascii=False)))

    def _end_stream(self) -> None:
        if self._stream is not None:
            self._stream.put_nowait(None)
            self._stream = None

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

    def _event_msg(self, kind: int, payload: dict[str, Any]) -> pb.EventResponse:
        return pb.EventResponse(type=kind, payload=json.dumps(payload, ensure_ascii=False))

    def _heartbeat(self) -> pb.EventResponse:
        return self._event_msg(Ev.HEARTBEAT, {"data": "heartbeat@loopback"})

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


def image_bytes(size: int = 30_000, seed: int = 0) -> bytes:
    """A valid PNG of roughly `size` bytes (noise compresses badly), for tests and the sandbox."""
    import random
    import struct
    import zlib

    rnd = random.Random(seed)
    width = max(8, int((size / 3) ** 0.5))
    raw = b"".join(b"\x00" + bytes(rnd.getrandbits(8) for _ in range(width * 3)) for _ in range(width))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, width, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


__all__ = ["Contact", "LoggedMessage", "LoopbackPuppet", "Room", "image_bytes"]
