"""`WechatyDirectory`: which WeChat room is each configured group, and who is who (rooms, members, contacts).

Contracts:
- Groups are resolved from the configured topic (compared emoji-safe, `normalize_topic`); a stored room id wins
  over a topic match, so a renamed group keeps its messages. Every resolution is saved in the injected `RoomStore`.
- `ready` is set once the room list has been read after a login, and cleared on logout.
- Payloads are cached (fewer calls to the gateway look less like a bot): contacts until a DIRTY event says
  otherwise, a room's members until the room changes.
- Gateway failures come out as `GatewayError` (see `faults`); only `resolve` and `refresh` swallow them (logged),
  since they run in the background.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime

from grpclib.const import Status
from wechaty_grpc.wechaty import PuppetStub
from wechaty_grpc.wechaty import puppet as pb

from bot.channels.rooms import KnownRoom, RoomStore
from bot.channels.wechaty.faults import GatewayError, GatewayRejected, gateway_errors
from bot.channels.wechaty.runtime import Changes

log = logging.getLogger(__name__)

RESOLVE_TIMEOUT = 120.0


def normalize_topic(topic: str) -> str:
    """Compare topics as WeChat shows them: NFC, no emoji variation selectors, single spaces."""
    text = unicodedata.normalize("NFC", topic).replace("\ufe0f", "").replace("\ufe0e", "")
    return " ".join(text.split())


class WechatyDirectory:
    def __init__(
        self,
        store: RoomStore,
        groups: Callable[[], Mapping[str, str]],
        stub: Callable[[], PuppetStub | None],
        changes: Changes,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self._groups = groups  # configured group id -> topic, read fresh (the campaign may be reloaded)
        self._stub = stub
        self._changes = changes
        self._now = now
        self.ready = False
        self.self_name = ""
        self.topics: dict[str, str] = {}  # room id -> topic, for every room the bot is in
        self.members: dict[str, dict[str, str]] = {}  # room id -> member id -> name shown in the room
        self.contacts: dict[str, pb.ContactPayloadResponse] = {}
        self.group_rooms: dict[str, str] = {}  # configured group id -> room id
        self.missing: dict[str, str] = {}  # configured group id -> why it has no room
        self._warned: dict[str, str] = {}

    def configured(self) -> dict[str, str]:
        return dict(self._groups())

    # --- events -------------------------------------------------------------------------------------------

    def logged_out(self) -> None:
        self.ready = False

    def topic_changed(self, room_id: str, topic: str) -> None:
        self.topics[room_id] = topic

    def forget_contact(self, contact_id: str) -> None:
        self.contacts.pop(contact_id, None)

    def forget_members(self, room_id: str) -> None:
        self.members.pop(room_id, None)

    def knows_room(self, room_id: str) -> bool:
        return room_id in self.topics

    # --- resolving ------------------------------------------------------------------------------------------

    async def resolve(self, self_id: str) -> None:
        """Read every room's topic (and the bot's own name), match the configured groups, then be `ready`."""
        stub = self._stub()
        if stub is None:
            return
        try:
            with gateway_errors():
                async with asyncio.timeout(RESOLVE_TIMEOUT):
                    ids = (await stub.room_list()).ids
                    topics = {rid: (await stub.room_payload(id=rid)).topic for rid in ids}
            try:
                with gateway_errors():
                    self.self_name = (await stub.contact_payload(id=self_id)).name
            except GatewayRejected:
                pass
        except GatewayError as exc:
            log.warning("读不到微信群列表：%s", exc.detail)
            return
        self.topics = topics
        await self._match_groups()
        self.ready = True
        self._changes.notify()

    async def refresh(self, room_id: str) -> None:
        """Re-read one room after a DIRTY, ROOM_TOPIC, join or leave; rematch the groups."""
        stub = self._stub()
        if stub is None or not room_id:
            return
        try:
            with gateway_errors():
                payload = await stub.room_payload(id=room_id)
        except GatewayRejected as exc:
            if exc.status is Status.NOT_FOUND:
                self.topics.pop(room_id, None)
        except GatewayError as exc:
            log.info("群 %s 没能更新：%s", room_id, exc.detail)
            return
        else:
            self.topics[room_id] = payload.topic
            self.members.pop(room_id, None)
            self._changes.notify()
        if self.ready:
            await self._match_groups()
            self.warn_missing()

    async def _match_groups(self) -> None:
        stored = await asyncio.to_thread(self.store.all)  # a database read: off the event loop
        by_topic: dict[str, list[str]] = {}
        for rid, topic in self.topics.items():
            by_topic.setdefault(normalize_topic(topic), []).append(rid)
        found: dict[str, str] = {}
        missing: dict[str, str] = {}
        saves: list[tuple[str, str, str]] = []
        for gid, topic in self.configured().items():
            rec = stored.get(gid)
            if rec is not None and rec.room_id in self.topics:
                found[gid] = rec.room_id
                if self.topics[rec.room_id] != rec.topic:
                    log.warning("群 %s 改名了：现在叫 %r（原来叫 %r）", gid, self.topics[rec.room_id], rec.topic)
                    saves.append((gid, rec.room_id, self.topics[rec.room_id]))
                continue
            candidates = by_topic.get(normalize_topic(topic), [])
            if len(candidates) == 1:
                found[gid] = candidates[0]
                saves.append((gid, candidates[0], self.topics[candidates[0]]))
            else:
                missing[gid] = _why_missing(topic, len(candidates), rec)
        now = self._now()
        for gid, rid, topic in saves:
            await asyncio.to_thread(self.store.save, gid, rid, topic, now)
        self.group_rooms = found
        self.missing = missing
        self._changes.notify()

    def warn_missing(self) -> None:
        for gid, why in self.missing.items():
            if self._warned.get(gid) != why:
                self._warned[gid] = why
                log.warning("微信里找不到群 %s：%s", gid, why)

    def group_of_room(self, room_id: str) -> str | None:
        for gid, rid in self.group_rooms.items():
            if rid == room_id:
                return gid
        return None

    # --- people ---------------------------------------------------------------------------------------------

    async def contact(self, contact_id: str) -> pb.ContactPayloadResponse | None:
        """The contact's payload (cached), None when the gateway doesn't know it."""
        cached = self.contacts.get(contact_id)
        stub = self._stub()
        if cached is not None or stub is None or not contact_id:
            return cached
        try:
            with gateway_errors():
                payload = await stub.contact_payload(id=contact_id)
        except GatewayRejected:
            return None
        self.contacts[contact_id] = payload
        return payload

    async def room_members(self, room_id: str) -> dict[str, str]:
        """Member id -> the name shown in the room (room alias, else the contact's name)."""
        cached = self.members.get(room_id)
        stub = self._stub()
        if cached is not None or stub is None:
            return cached or {}
        names: dict[str, str] = {}
        with gateway_errors():
            member_ids = (await stub.room_member_list(id=room_id)).member_ids
        for mid in member_ids:
            try:
                with gateway_errors():
                    member = await stub.room_member_payload(id=room_id, member_id=mid)
                names[mid] = member.room_alias or member.name
            except GatewayRejected:
                names[mid] = ""
        self.members[room_id] = names
        return names

    async def member_count(self, room_id: str, self_id: str) -> int | None:
        """How many people are in the room besides the bot (the weekly quiz's 参与率); None when the gateway can't
        say. One member-list call (not a payload per member) unless the members are cached already."""
        cached = self.members.get(room_id)
        if cached is not None:
            ids: list[str] = list(cached)
        else:
            stub = self._stub()
            if stub is None:
                return None
            try:
                with gateway_errors():
                    ids = list((await stub.room_member_list(id=room_id)).member_ids)
            except GatewayError as exc:
                log.warning("查不到群 %s 的人数：%s", room_id, exc)
                return None
        return len([m for m in ids if m != self_id]) or None  # an empty list says nothing: unknown, not zero

    async def find_contact(self, wechat: str, among: list[str] | None = None) -> str | None:
        """The contact id of the person whose WeChat id or alias is `wechat` (among `among`, else all friends)."""
        stub = self._stub()
        if not wechat or stub is None:
            return None
        for c in self.contacts.values():
            if _is(c, wechat) and (among is None or c.id in among):
                return str(c.id)
        if among is None:
            with gateway_errors():
                among = list((await stub.contact_list()).ids)
        for cid in among:
            if cid in self.contacts:
                continue
            contact = await self.contact(cid)
            if contact is not None and _is(contact, wechat):
                return cid
        return None


def _is(contact: pb.ContactPayloadResponse, wechat: str) -> bool:
    return bool(wechat) and wechat in (contact.weixin, contact.alias, contact.id)


def _why_missing(topic: str, candidates: int, stored: KnownRoom | None) -> str:
    if candidates:
        return f"有 {candidates} 个群都叫“{topic}”，分不清是哪一个（请改名使群名唯一）"
    if stored is not None:
        return f"原来的群“{stored.topic}”已不在机器人的群里，也没有叫“{topic}”的群"
    return f"机器人所在的群里没有叫“{topic}”的群（请把机器人拉进群，或核对 units.yaml 里的群名）"
