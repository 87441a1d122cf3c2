"""The world a `LoopbackPuppet` simulates: contacts, rooms, the message log, uploaded files, and the scenario
methods tests and the sandbox use (post a message, rename a room, log out, throttle …). Events for the bot go
into the open event stream, if any."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wechaty_grpc.wechaty import puppet as pb

from bot.channels.wechaty.protocol import Ev, WireMessageType
from bot.core.model import Campaign, GroupKind, Person, Unit, UnitKind

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


class PuppetWorld:
    """What the gateway knows, and what happens in it (see `LoopbackPuppet` for the server around it)."""

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
        announces_ready: bool = True,
    ) -> None:
        self.token = token
        # False: a gateway that logs in but never sends READY (some puppets don't; Wechaty's client doesn't wait).
        self.announces_ready = announces_ready
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
        self.image_requests: list[str] = []  # the message ids asked for with MessageImage(Stream), in order
        self.logged_in = logged_in
        self.started = False
        self.qrcode = "https://login.weixin.qq.com/l/loopback-" + uuid.uuid4().hex[:8]
        self.starts = 0
        self.stream_opens = 0
        self.dings = 0
        self.hung = False  # True: no heartbeats and no DONG (a gateway that hangs but keeps the socket open)
        self.listeners: list[Callable[[LoggedMessage], None]] = []
        self._stream: asyncio.Queue[pb.EventResponse | None] | None = None
        self._changed = asyncio.Condition()
        self._seq = 0

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
        the unit's contacts and broadcaster, `villagers` made-up members (villagers or residents in a villagers'
        group, the unit's staff in a work group), and the admins in the office group; everyone a friend of the
        bot. Returns group id -> room id."""
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
                folks = [self.add_contact(f"{_member_title(unit, group.kind)}{i + 1}") for i in range(villagers)]
                office = admins if group.kind is GroupKind.OFFICE else []
                # One entry per person: a contact who is also an admin (same WeChat id) is listed once.
                rooms[group.id] = self.add_room(group.name, list(dict.fromkeys([*staff, *office, *folks])))
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
        if self.announces_ready:
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

    def _event_msg(self, kind: int, payload: dict[str, Any]) -> pb.EventResponse:
        return pb.EventResponse(type=kind, payload=json.dumps(payload, ensure_ascii=False))

    def _heartbeat(self) -> pb.EventResponse:
        return self._event_msg(Ev.HEARTBEAT, {"data": "heartbeat@loopback"})


def _member_title(unit: Unit, kind: GroupKind) -> str:
    """What a made-up member of a group is: a villager (or a community's resident) in a villagers' group, one of
    the unit's staff in a work or office group."""
    if kind is GroupKind.VILLAGERS:
        return f"{unit.name}{'居民' if unit.kind is UnitKind.COMMUNITY else '村民'}"
    return f"{unit.name}工作人员"
