"""`WechatyChannel`: WeChat through a Wechaty puppet-service gateway (wechaty-grpc stubs over grpclib).

Contracts:
- `start()` opens the event stream *before* calling `Start` (or login/scan events are missed), then waits at most
  `login_wait_seconds` for login and room resolution; it never raises for a gateway that is down or not logged in
  (that is what `health()` reports). A supervisor task keeps the stream up: heartbeat watchdog with `Ding`,
  reconnect with backoff after a dropped stream, ALREADY_EXISTS or a restarted gateway.
- Sends go through one serial queue with a random gap, an hourly cap and a pause after WeChat's throttling notice.
  A send waits (bounded) for the gateway to be back rather than failing at once. A send that may have reached
  the gateway before the connection broke is raised as an *uncertain* `DeliveryError` ("可能已发出"): the
  pipeline records it UNCONFIRMED (never claimed again) and tells the admins, so nothing is resent blindly.
  A send that certainly did not go out is transient (the pipeline retries it).
- Groups are addressed by room id, resolved from the configured topic (emoji-safe) and kept in a `RoomDirectory`;
  a stored id wins over a topic match, so a renamed group keeps its messages. Refreshed on ROOM_TOPIC and DIRTY.
- Logout, a long outage and throttling are reported through `alert_sink` (the app wires it to the admins).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import sys
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import betterproto
import grpclib.client
from grpclib.config import Configuration
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError, StreamTerminatedError
from wechaty_grpc.wechaty import PuppetStub
from wechaty_grpc.wechaty import puppet as pb

from bot.channels.base import MAX_ATTACHMENT_BYTES, Attachment, InboundMessage, OutgoingFile
from bot.channels.wechaty import filebox
from bot.channels.wechaty.protocol import (
    PATH,
    THROTTLE_PHRASES,
    DirtyType,
    DownloadRequest,
    DownloadResponse,
    Ev,
    UploadRequest,
    UploadResponse,
    WechatySettings,
    WireMessageType,
    client_ssl_context,
    timestamp_seconds,
)
from bot.clock import TOWN_ZONE
from bot.core.planner import Target
from bot.errors import DeliveryError
from bot.health import HealthLine
from bot.store.rooms import RoomDirectory

log = logging.getLogger(__name__)

AlertSink = Callable[[str, str, Mapping[str, Any]], Awaitable[None]]

RPC_TIMEOUT = 30.0
UPLOAD_ABOVE = 3 * 1024 * 1024  # gRPC refuses messages over 4 MB by default; base64 adds a third
CHUNK = 256 * 1024
SYSTEM_TYPES = {WireMessageType.UNKNOWN, WireMessageType.GROUP_NOTE}
_PERMANENT = {Status.INVALID_ARGUMENT, Status.NOT_FOUND, Status.PERMISSION_DENIED, Status.UNAUTHENTICATED}
_KIND = {WireMessageType.TEXT: "text", WireMessageType.IMAGE: "image", WireMessageType.ATTACHMENT: "file"}


def normalize_topic(topic: str) -> str:
    """Compare topics as WeChat shows them: NFC, no emoji variation selectors, single spaces."""
    text = unicodedata.normalize("NFC", topic).replace("\ufe0f", "").replace("\ufe0e", "")
    return " ".join(text.split())


class WechatyChannel:
    name = "wechaty"

    def __init__(
        self,
        settings: WechatySettings,
        *,
        groups: Callable[[], Mapping[str, str]] = dict,
        rooms: RoomDirectory | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(TOWN_ZONE),
        echo: TextIO | None = sys.stderr,
        alert_sink: AlertSink | None = None,
        backoff_seconds: tuple[float, float] = (1.0, 60.0),
        send_wait_seconds: float = 120.0,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._groups = groups
        self.rooms = rooms or RoomDirectory("wechaty")
        self._now = now
        self._echo = echo
        self.alert_sink = alert_sink
        self.backoff_seconds = backoff_seconds
        self._send_wait = send_wait_seconds
        self._rng = rng or random.Random()
        self._meta = {"authorization": f"Wechaty {settings.token}"}
        self._ssl = client_ssl_context() if settings.tls else None
        self._config = Configuration(ssl_target_name_override=settings.sni) if settings.tls else None

        self._grpc: grpclib.client.Channel | None = None
        self._stub: PuppetStub | None = None
        self._connected = asyncio.Event()
        self._logged_in = asyncio.Event()
        self._ready = asyncio.Event()
        self._closing = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._message_ids: asyncio.Queue[str] = asyncio.Queue()
        self._inbox: asyncio.Queue[InboundMessage | None] = asyncio.Queue()

        self.self_id = ""
        self.self_name = ""
        self.scan_qrcode = ""
        self.qr_png: Path | None = None
        self.logged_out_reason = ""
        self.last_error = ""
        self._down_since: float | None = time.monotonic()
        self._outage_alerted = False

        self._topics: dict[str, str] = {}  # room id -> topic, for every room the bot is in
        self._members: dict[str, dict[str, str]] = {}  # room id -> member id -> name shown in the room
        self._contacts: dict[str, pb.ContactPayloadResponse] = {}
        self.group_rooms: dict[str, str] = {}  # configured group id -> room id
        self.missing: dict[str, str] = {}  # configured group id -> why it has no room
        self._warned: dict[str, str] = {}

        self._send_lock = asyncio.Lock()
        self._last_send = float("-inf")
        self._sent_times: collections.deque[float] = collections.deque()
        self.paused_until = 0.0
        self.sent_count = 0
        self._change = asyncio.Event()
        self._events_seen = 0
        self._watchdog_fired = False
        self._rpc_in_flight = False
        # Ids of our own recent sends: their echoes are dropped without asking the gateway for the payload.
        self._own: collections.deque[str] = collections.deque(maxlen=512)
        self._own_set: set[str] = set()
        self._send_finished = asyncio.Event()

    def _poke(self) -> None:
        """Wake `wait_until` callers: something about the connection, login or rooms changed."""
        self._change.set()
        self._change = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float = 30.0) -> None:
        """Wait until `predicate()` holds, checked after each change of state. Raises TimeoutError."""
        async with asyncio.timeout(seconds):
            while not predicate():
                await self._change.wait()

    # --- lifecycle -----------------------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._connected.is_set() and self._logged_in.is_set()

    async def start(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            self._closing.clear()
            self._supervisor = asyncio.create_task(self._supervise(), name="wechaty-supervisor")
            self._worker = asyncio.create_task(self._work(), name="wechaty-inbound")
        try:
            async with asyncio.timeout(self.settings.login_wait_seconds):
                await self._ready.wait()
        except TimeoutError:
            log.warning("WeChat is not ready after %.0f s: %s", self.settings.login_wait_seconds, self._state_text())
        self._warn_missing()

    async def close(self) -> None:
        self._closing.set()
        for task in (self._supervisor, self._worker, *self._tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._supervisor, self._worker, *self._tasks) if t is not None), return_exceptions=True
        )
        self._supervisor = self._worker = None
        transport = getattr(getattr(getattr(self._grpc, "_protocol", None), "connection", None), "_transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        self._drop_connection()
        self._inbox.put_nowait(None)
        # A TLS connection shuts down over a few more loop turns: let it, or a caller that ends its loop right
        # after close() leaves the socket to the garbage collector (bounded: at most a second).
        for _ in range(100):
            if sock is None or sock.fileno() == -1:
                break
            await asyncio.sleep(0.01)

    def _drop_connection(self) -> None:
        if self._grpc is not None:
            self._grpc.close()
        self._grpc = None
        self._connected.clear()
        self._logged_in.clear()
        self._poke()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _supervise(self) -> None:
        failures = 0
        while not self._closing.is_set():
            opened = time.monotonic()
            clean = False
            try:
                await self._session()
                self.last_error = "网关结束了事件流"
                clean = True
            except GRPCError as exc:
                self.last_error = f"{exc.status.name}: {exc.message}"
                if exc.status is Status.UNAUTHENTICATED:
                    self.last_error = "网关不认这个令牌（WECHATY_PUPPET_SERVICE_TOKEN）"
            except (OSError, StreamTerminatedError, TimeoutError, ConnectionError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not end the supervisor: log it and reconnect
                log.exception("WeChat session failed")
                self.last_error = repr(exc)
            if clean:
                # The gateway ended the stream but the connection is fine: keep it, so sends in flight on it
                # finish; new sends wait until the stream is back.
                self._connected.clear()
                self._logged_in.clear()
                self._poke()
            else:
                self._drop_connection()  # pokes: last_error is set
            if self._closing.is_set():
                return
            if self._down_since is None:
                self._down_since = time.monotonic()
            failures = 0 if time.monotonic() - opened > 60 else failures + 1
            first, most = self.backoff_seconds
            delay = min(most, first * 2 ** min(failures, 16)) * self._rng.uniform(0.8, 1.2)
            log.warning("WeChat gateway %s: %s; reconnecting in %.1f s", self.settings.endpoint, self.last_error, delay)
            self._check_outage()
            try:
                async with asyncio.timeout(delay):
                    await self._closing.wait()
            except TimeoutError:
                pass

    def _check_outage(self) -> None:
        if self._down_since is None or self._outage_alerted:
            return
        down = time.monotonic() - self._down_since
        if down >= self.settings.outage_alert_seconds:
            self._outage_alerted = True
            self._alert(
                "alert_wechat_down",
                f"alert/wechat/down/{self._now():%Y%m%dT%H%M}",
                {"minutes": int(down // 60), "endpoint": self.settings.endpoint, "error": self.last_error},
            )

    async def _session(self) -> None:
        if self._grpc is None:
            self._grpc = grpclib.client.Channel(
                self.settings.host, self.settings.port, ssl=self._ssl, config=self._config
            )
            self._stub = PuppetStub(self._grpc, metadata=self._meta)
        grpc = self._grpc
        watchdog = self.settings.watchdog_seconds
        async with grpc.request(
            PATH + "Event", Cardinality.UNARY_STREAM, pb.EventRequest, pb.EventResponse, metadata=self._meta
        ) as stream:
            await stream.send_message(pb.EventRequest(), end=True)
            async with asyncio.timeout(watchdog):
                first = await stream.recv_message()
            if first is None:
                return
            self._connected.set()
            if self._down_since is not None and self._outage_alerted:
                log.warning("WeChat gateway is back after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None
            self._outage_alerted = False
            self._on_event(first)
            self._poke()
            # The stream is open: now Start (idempotent on the gateway; replays LOGIN/READY or SCAN).
            self._spawn(self._call_start(self._stub))
            # One watchdog timer per session, not one per event: events come in bursts of thousands.
            self._events_seen = 0
            self._watchdog_fired = False
            watch = asyncio.create_task(self._watch(watchdog / 2, grpc))
            try:
                while (event := await stream.recv_message()) is not None:
                    self._events_seen += 1
                    self._on_event(event)
            except (StreamTerminatedError, OSError):
                if self._watchdog_fired:
                    raise TimeoutError(f"网关 {watchdog:.0f} 秒没有心跳") from None
                raise
            finally:
                watch.cancel()
                await asyncio.gather(watch, return_exceptions=True)

    async def _watch(self, period: float, grpc: grpclib.client.Channel) -> None:
        """After two quiet periods in a row, cut the connection (the session then ends and reconnects); Ding the
        gateway after the first."""
        quiet = 0
        seen = self._events_seen
        while quiet < 2:
            await asyncio.sleep(period)
            quiet = quiet + 1 if self._events_seen == seen else 0
            seen = self._events_seen
            if quiet == 1:
                self._spawn(self._ding())
        self._watchdog_fired = True
        grpc.close()

    async def _call_start(self, stub: PuppetStub) -> None:
        try:
            await stub.start()
        except (GRPCError, OSError, StreamTerminatedError, TimeoutError) as exc:
            log.warning("Start on the gateway failed: %s", exc)

    async def _ding(self) -> None:
        if self._stub is not None:
            try:
                await self._stub.ding(data=f"laba-{time.time():.0f}")
            except (GRPCError, OSError, StreamTerminatedError, TimeoutError) as exc:
                log.info("Ding failed: %s", exc)

    # --- events -------------------------------------------------------------------------------------------

    def _on_event(self, event: pb.EventResponse) -> None:
        code = int(event.type)
        try:
            data = json.loads(event.payload) if event.payload else {}
        except json.JSONDecodeError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if code == Ev.MESSAGE:
            self._message_ids.put_nowait(str(data.get("messageId", "")))
        elif code == Ev.LOGIN:
            self.self_id = str(data.get("contactId", ""))
            self.scan_qrcode = ""
            self.logged_out_reason = ""
            self._logged_in.set()
            log.warning("WeChat: logged in as %s", self.self_id)
        elif code == Ev.READY:
            self._spawn(self._resolve_rooms())
        elif code == Ev.SCAN:
            self._on_scan(int(data.get("status", 0) or 0), str(data.get("qrcode", "") or ""))
        elif code == Ev.LOGOUT:
            reason = str(data.get("data", "") or "")
            self.logged_out_reason = reason or "已退出登录"
            self._logged_in.clear()
            self._ready.clear()
            log.error("WeChat: logged out (%s)", self.logged_out_reason)
            self._alert(
                "alert_wechat_logout",
                f"alert/wechat/logout/{self._now():%Y%m%dT%H%M}",
                {"reason": self.logged_out_reason, "account": self.self_name or self.self_id},
            )
        elif code == Ev.ROOM_TOPIC:
            room_id = str(data.get("roomId", ""))
            if room_id:
                self._topics[room_id] = str(data.get("newTopic", ""))
                self._spawn(self._refresh_room(room_id))
        elif code == Ev.DIRTY:
            kind, pid = int(data.get("payloadType", 0) or 0), str(data.get("payloadId", ""))
            if kind == DirtyType.ROOM:
                self._spawn(self._refresh_room(pid))
            elif kind == DirtyType.CONTACT:
                self._contacts.pop(pid, None)
            elif kind == DirtyType.ROOM_MEMBER:
                self._members.pop(pid, None)
        elif code in (Ev.ROOM_JOIN, Ev.ROOM_LEAVE):
            room_id = str(data.get("roomId", ""))
            self._members.pop(room_id, None)
            if room_id not in self._topics:
                self._spawn(self._refresh_room(room_id))
        elif code == Ev.ERROR:
            log.warning("WeChat gateway error event: %s", data.get("data", data))
        # HEARTBEAT, DONG and unknown codes (4, 32 …): liveness only.
        self._poke()

    def _on_scan(self, status: int, qrcode: str) -> None:
        if not qrcode or qrcode == self.scan_qrcode or status not in (0, 2, 5):
            return
        self.scan_qrcode = qrcode
        import qrcode as qr

        code = qr.QRCode(border=1)
        code.add_data(qrcode)
        if self.settings.qr_dir is not None:
            try:
                self.settings.qr_dir.mkdir(parents=True, exist_ok=True)
                self.qr_png = self.settings.qr_dir / "wechat-login.png"
                code.make_image().save(str(self.qr_png))
            except OSError as exc:
                log.error("could not save the login QR code: %s", exc)
        log.warning("WeChat needs a login: scan the QR code (%s)", self.qr_png or qrcode)
        if self._echo is not None:
            print("请用机器人的微信扫描下面的二维码登录：", file=self._echo)
            code.print_ascii(out=self._echo, invert=True)
            if self.qr_png:
                print(f"（二维码图片也保存在 {self.qr_png}）", file=self._echo)

    def _alert(self, template: str, key: str, variables: Mapping[str, Any]) -> None:
        if self.alert_sink is None:
            return
        sink = self.alert_sink

        async def run() -> None:
            try:
                await sink(template, key, variables)
            except Exception:
                log.exception("alert %s could not be delivered", key)

        self._spawn(run())

    # --- rooms and contacts ---------------------------------------------------------------------------------

    async def _resolve_rooms(self) -> None:
        stub = self._stub
        if stub is None:
            return
        try:
            async with asyncio.timeout(RPC_TIMEOUT * 4):
                ids = (await stub.room_list()).ids
                topics = {}
                for rid in ids:
                    topics[rid] = (await stub.room_payload(id=rid)).topic
                try:
                    me = await stub.contact_payload(id=self.self_id)
                    self.self_name = me.name
                except GRPCError:
                    pass
        except (GRPCError, OSError, StreamTerminatedError, TimeoutError) as exc:
            log.warning("could not list the rooms: %s", exc)
            return
        self._topics = topics
        self._match_groups()
        self._ready.set()

    async def _refresh_room(self, room_id: str) -> None:
        stub = self._stub
        if stub is None or not room_id:
            return
        try:
            payload = await stub.room_payload(id=room_id)
        except GRPCError as exc:
            if exc.status is Status.NOT_FOUND:
                self._topics.pop(room_id, None)
        except (OSError, StreamTerminatedError, TimeoutError) as exc:
            log.info("room %s not refreshed: %s", room_id, exc)
            return
        else:
            self._topics[room_id] = payload.topic
            self._members.pop(room_id, None)
            self._poke()
        if self._ready.is_set():
            self._match_groups()
            self._warn_missing()

    def _match_groups(self) -> None:
        wanted = dict(self._groups())
        stored = self.rooms.all()
        by_topic: dict[str, list[str]] = {}
        for rid, topic in self._topics.items():
            by_topic.setdefault(normalize_topic(topic), []).append(rid)
        found: dict[str, str] = {}
        missing: dict[str, str] = {}
        now = self._now()
        for gid, topic in wanted.items():
            rec = stored.get(gid)
            if rec is not None and rec.room_id in self._topics:
                found[gid] = rec.room_id
                if self._topics[rec.room_id] != rec.topic:
                    log.warning("group %s: topic now %r (was %r)", gid, self._topics[rec.room_id], rec.topic)
                    self.rooms.save(gid, rec.room_id, self._topics[rec.room_id], now)
                continue
            candidates = by_topic.get(normalize_topic(topic), [])
            if len(candidates) == 1:
                found[gid] = candidates[0]
                self.rooms.save(gid, candidates[0], self._topics[candidates[0]], now)
            elif candidates:
                missing[gid] = f"有 {len(candidates)} 个群都叫“{topic}”，分不清是哪一个（请改名使群名唯一）"
            elif rec is not None:
                missing[gid] = f"原来的群（{rec.room_id}，“{rec.topic}”）已不在机器人的群里，也没有叫“{topic}”的群"
            else:
                missing[gid] = f"机器人所在的群里没有叫“{topic}”的群（请把机器人拉进群，或核对 units.yaml 里的群名）"
        self.group_rooms = found
        self.missing = missing
        self._poke()

    def _warn_missing(self) -> None:
        for gid, why in self.missing.items():
            if self._warned.get(gid) != why:
                self._warned[gid] = why
                log.warning("group %s can't be found on WeChat: %s", gid, why)

    def room_report(self) -> dict[str, tuple[str | None, str]]:
        """For each configured group: (room id, "") when resolved, else (None, why not)."""
        out: dict[str, tuple[str | None, str]] = {}
        for gid in self._groups():
            if gid in self.group_rooms:
                out[gid] = (self.group_rooms[gid], "")
            elif gid in self.missing:
                out[gid] = (None, self.missing[gid])
            else:
                out[gid] = (None, f"还没连上微信：{self._state_text()}")
        return out

    def group_of_room(self, room_id: str) -> str | None:
        for gid, rid in self.group_rooms.items():
            if rid == room_id:
                return gid
        return None

    async def _contact(self, contact_id: str) -> pb.ContactPayloadResponse | None:
        cached = self._contacts.get(contact_id)
        if cached is not None or self._stub is None or not contact_id:
            return cached
        try:
            payload = await self._stub.contact_payload(id=contact_id)
        except GRPCError:
            return None
        self._contacts[contact_id] = payload
        return payload

    async def _room_members(self, room_id: str) -> dict[str, str]:
        """Member id -> the name shown in the room (room alias, else the contact's name)."""
        cached = self._members.get(room_id)
        if cached is not None or self._stub is None:
            return cached or {}
        names: dict[str, str] = {}
        for mid in (await self._stub.room_member_list(id=room_id)).member_ids:
            try:
                member = await self._stub.room_member_payload(id=room_id, member_id=mid)
                names[mid] = member.room_alias or member.name
            except GRPCError:
                names[mid] = ""
        self._members[room_id] = names
        return names

    @staticmethod
    def _is(contact: pb.ContactPayloadResponse, wechat: str) -> bool:
        return bool(wechat) and wechat in (contact.weixin, contact.alias, contact.id)

    async def _find_contact(self, wechat: str, among: list[str] | None = None) -> str | None:
        """The contact id of the person whose WeChat id or alias is `wechat` (among `among`, else all friends)."""
        if not wechat or self._stub is None:
            return None
        for c in self._contacts.values():
            if self._is(c, wechat) and (among is None or c.id in among):
                return str(c.id)
        ids = among if among is not None else list((await self._stub.contact_list()).ids)
        for cid in ids:
            if cid in self._contacts:
                continue
            contact = await self._contact(cid)
            if contact is not None and self._is(contact, wechat):
                return cid
        return None

    # --- sending ------------------------------------------------------------------------------------------

    async def _wait(self, event: asyncio.Event, what: str) -> None:
        if event.is_set():
            return
        try:
            async with asyncio.timeout(self._send_wait):
                await event.wait()
        except TimeoutError:
            raise DeliveryError(f"{what}（等了 {self._send_wait:.0f} 秒）：{self._state_text()}") from None

    async def _wait_online(self) -> None:
        await self._wait(self._connected, "连不上微信网关")
        await self._wait(self._logged_in, "微信没有登录")

    async def _address(self, target: Target) -> tuple[str, list[str], str]:
        """(conversation id, mention ids, visible @prefix). Raises DeliveryError."""
        await self._wait_online()
        if target.kind != "group":
            cid = await self._find_contact(target.wechat)
            if cid is None:
                raise DeliveryError(
                    f"微信好友里找不到 {target.name}（微信号 {target.wechat or '未填写'}）：请先加好友，或核对微信号",
                    permanent=True,
                )
            return cid, [], ""
        await self._wait(self._ready, "微信群还没加载完")
        room_id = self.group_rooms.get(target.id)
        if room_id is None:
            why = self.missing.get(target.id, "units.yaml 里没有这个群")
            raise DeliveryError(f"微信里找不到群“{target.name}”：{why}", permanent=True)
        ids: list[str] = []
        prefix = ""
        if target.mentions:
            members = await self._room_members(room_id)
            for person in target.mentions:
                cid = await self._find_contact(person.wechat, list(members))
                if cid is not None:
                    ids.append(cid)
                    prefix += f"@{members.get(cid) or person.name}\u2005"
                else:
                    log.warning("%s (%s) is not in %s: @ without a real mention", person.name, person.wechat, target.id)
                    prefix += f"@{person.name}\u2005"
        return room_id, ids, prefix

    async def send_text(self, target: Target, text: str) -> str:
        conversation, mentions, prefix = await self._address(target)

        async def call(stub: PuppetStub) -> str | None:
            resp = await stub.message_send_text(conversation_id=conversation, text=prefix + text, mentonal_ids=mentions)
            return str(resp.id) if resp.id else None

        return await self._send(target, call)

    async def send_file(self, target: Target, file: OutgoingFile) -> str:
        try:
            data = file.path.read_bytes()
        except OSError as exc:
            raise DeliveryError(f"读不到要发送的文件 {file.path}: {exc}", permanent=True) from exc
        conversation, _, _ = await self._address(target)

        async def call(stub: PuppetStub) -> str | None:
            if len(data) > UPLOAD_ABOVE:
                box = filebox.from_uuid(file.name, await self._upload(data), len(data))
            else:
                box = filebox.from_bytes(file.name, data)
            resp = await stub.message_send_file(conversation_id=conversation, filebox=box.to_json())
            return str(resp.id) if resp.id else None

        return await self._send(target, call)

    async def _upload(self, data: bytes) -> str:
        assert self._grpc is not None
        async with self._grpc.request(
            PATH + "Upload",
            Cardinality.STREAM_UNARY,
            UploadRequest,
            UploadResponse,
            metadata=self._meta,
            timeout=RPC_TIMEOUT * 4,
        ) as stream:
            for i in range(0, len(data), CHUNK):
                await stream.send_message(UploadRequest(chunk=data[i : i + CHUNK]))
            await stream.end()
            resp = await stream.recv_message()
        if resp is None or not resp.id:
            raise DeliveryError("网关没有返回上传文件的编号")
        return str(resp.id)

    async def _send(self, target: Target, call: Callable[[PuppetStub], Awaitable[str | None]]) -> str:
        try:
            return await self._send_serially(target, call)
        finally:
            # Wake an echo check waiting on this send (`_is_own`), whatever its outcome.
            self._send_finished.set()
            self._send_finished = asyncio.Event()

    async def _send_serially(self, target: Target, call: Callable[[PuppetStub], Awaitable[str | None]]) -> str:
        async with self._send_lock:
            await self._pace()
            while True:
                await self._wait_online()
                stub = self._stub
                assert stub is not None
                try:
                    # A timer per send, not grpclib's per-call deadline (that costs a header on every request).
                    self._rpc_in_flight = True
                    try:
                        async with asyncio.timeout(RPC_TIMEOUT):
                            message_id = await call(stub)
                    finally:
                        self._rpc_in_flight = False
                except ConnectionRefusedError:
                    # Nothing reached the gateway: wait for the supervisor to reconnect, then send.
                    self._drop_connection()
                    continue
                except GRPCError as exc:
                    raise DeliveryError(
                        f"微信网关拒绝了消息（{exc.status.name}: {exc.message}）", permanent=exc.status in _PERMANENT
                    ) from exc
                except (StreamTerminatedError, OSError, TimeoutError) as exc:
                    # The request may have reached WeChat: never resend blindly.
                    raise DeliveryError(
                        f"发送途中和微信网关断开（{type(exc).__name__}），可能已发出，为免重复不再自动重发",
                        uncertain=True,
                    ) from exc
                break
            now = time.monotonic()
            self._last_send = now
            if self.settings.hourly_cap > 0:
                self._sent_times.append(now)
            self.sent_count += 1
            if message_id:
                if len(self._own) == self._own.maxlen:
                    self._own_set.discard(self._own[0])
                self._own.append(message_id)
                self._own_set.add(message_id)
            return message_id or f"wechaty:{target.id}:{self.sent_count}"

    async def _pace(self) -> None:
        """Wait for the throttling pause, the hourly cap and a random gap since the last send."""
        while True:
            now = time.monotonic()
            if now < self.paused_until:
                await asyncio.sleep(self.paused_until - now)
                continue
            while self._sent_times and self._sent_times[0] <= now - 3600:
                self._sent_times.popleft()
            if 0 < self.settings.hourly_cap <= len(self._sent_times):
                wait = self._sent_times[0] + 3600 - now
                log.warning("hourly cap of %d sends reached: waiting %.0f s", self.settings.hourly_cap, wait)
                await asyncio.sleep(wait)
                continue
            low, high = self.settings.gap_seconds
            if high <= 0:
                return
            wait = self._last_send + self._rng.uniform(low, high) - now
            if wait > 0:
                await asyncio.sleep(wait)
            return

    def _throttled(self, notice: str) -> None:
        pause = self.settings.throttle_pause_seconds
        self.paused_until = time.monotonic() + pause
        self._poke()
        log.error("WeChat says we send too fast (%s): sending paused for %.0f s", notice, pause)
        self._alert(
            "alert_wechat_throttled",
            f"alert/wechat/throttled/{self._now():%Y%m%dT%H}",
            {"notice": notice, "pause_minutes": max(1, round(pause / 60))},
        )

    # --- receiving ------------------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            message_id = await self._message_ids.get()
            try:
                async with asyncio.timeout(RPC_TIMEOUT * 4):
                    message = await self._read_message(message_id)
            except (GRPCError, OSError, StreamTerminatedError, TimeoutError) as exc:
                log.warning("could not read message %s: %s", message_id, exc)
                continue
            except Exception:
                log.exception("message %s could not be read", message_id)
                continue
            if message is not None:
                self._inbox.put_nowait(message)

    async def _is_own(self, message_id: str) -> bool:
        """Our own send's echo? Gateways may echo before the send's reply arrives: then wait for the send in
        flight to finish (once: a stranger's message is never held up by more than one send)."""
        if message_id in self._own_set:
            return True
        if self._rpc_in_flight:  # not while a send waits for its pacing gap: that would hold up inbound
            await self._send_finished.wait()
        return message_id in self._own_set

    async def _read_message(self, message_id: str) -> InboundMessage | None:
        if await self._is_own(message_id):
            return None
        await self._wait_online()
        stub = self._stub
        if stub is None or not message_id:
            return None
        p = await stub.message_payload(id=message_id)
        if self.self_id and p.from_id == self.self_id:
            return None  # the gateway's echo of our own message
        try:
            wire = WireMessageType(int(p.type))
        except ValueError:
            wire = WireMessageType.UNKNOWN
        if any(phrase in p.text for phrase in THROTTLE_PHRASES) and (
            wire in SYSTEM_TYPES or p.from_id in ("", "weixin")
        ):
            self._throttled(p.text)
            return None
        attachments: tuple[Attachment, ...] = ()
        if wire is WireMessageType.IMAGE:
            attachments = (await self._fetch_image(stub, message_id, p.filename),)
        room_id = p.room_id or None
        sender = await self._contact(p.from_id)
        name = sender.name if sender else p.from_id
        if room_id:
            name = (await self._room_members(room_id)).get(p.from_id) or name
        return InboundMessage(
            message_id=p.id or message_id,
            sender=p.from_id,
            sender_name=name,
            text=p.text,
            received_at=datetime.fromtimestamp(timestamp_seconds(p.timestamp), TOWN_ZONE)
            if p.timestamp
            else self._now(),
            kind=_KIND.get(wire, "other"),  # type: ignore[arg-type]
            group=self.group_of_room(room_id) if room_id else None,
            room_id=room_id,
            room_name=self._topics.get(room_id, "") if room_id else "",
            sender_wechat=(sender.weixin or sender.alias) if sender else "",
            mentions=tuple(p.mention_ids),
            mentions_bot=bool(self.self_id) and self.self_id in p.mention_ids,
            attachments=attachments,
        )

    async def _fetch_image(self, stub: PuppetStub, message_id: str, filename: str) -> Attachment:
        """MessageImage (HD) + Download for uuid boxes; MessageImageStream when the gateway can't make a box."""
        try:
            resp = await stub.message_image(id=message_id, type=pb.ImageType.IMAGE_TYPE_HD)
            box = filebox.parse(resp.filebox)
            if box.size is not None and box.size > MAX_ATTACHMENT_BYTES:  # refused by its announced size, unfetched
                return Attachment(box.name or filename, b"", _mime(box.name or filename), unfetched_size=box.size)
            if box.type is filebox.BoxType.UUID:
                data = await self._download(box.uuid)
            else:
                data = box.data()
            return Attachment(box.name or filename or f"{message_id}.jpg", data, _mime(box.name or filename))
        except (GRPCError, filebox.FileBoxError) as exc:
            log.info("MessageImage failed for %s (%s): streaming it instead", message_id, exc)
        name, parts = filename, []
        async for chunk in stub.message_image_stream(id=message_id, type=pb.ImageType.IMAGE_TYPE_HD):
            which, value = betterproto.which_one_of(chunk.file_box_chunk, "payload")
            if which == "name":
                name = str(value)
            elif which == "data":
                parts.append(bytes(value))
        return Attachment(name or f"{message_id}.jpg", b"".join(parts), _mime(name))

    async def _download(self, box_uuid: str) -> bytes:
        assert self._grpc is not None
        parts = []
        async with self._grpc.request(
            PATH + "Download",
            Cardinality.UNARY_STREAM,
            DownloadRequest,
            DownloadResponse,
            metadata=self._meta,
            timeout=RPC_TIMEOUT * 4,
        ) as stream:
            await stream.send_message(DownloadRequest(id=box_uuid), end=True)
            async for resp in stream:
                parts.append(resp.chunk)
        return b"".join(parts)

    async def inbound(self) -> AsyncIterator[InboundMessage]:
        while (message := await self._inbox.get()) is not None:
            yield message

    # --- health -------------------------------------------------------------------------------------------

    def _state_text(self) -> str:
        if self.online:
            return f"已登录（{self.self_name or self.self_id}）"
        if self.scan_qrcode:
            return f"等待扫码登录（二维码{'已保存到 ' + str(self.qr_png) if self.qr_png else '已打印在终端'}）"
        if self.logged_out_reason:
            return f"微信已退出登录：{self.logged_out_reason}"
        if self._connected.is_set():
            return "已连上网关，等待登录"
        return f"连不上网关 {self.settings.endpoint}：{self.last_error or '正在连接'}"

    async def health(self) -> list[HealthLine]:
        try:
            tls = "TLS" if self.settings.tls else "明文"
            lines = [HealthLine("微信", self.online, f"{self._state_text()}，网关 {self.settings.endpoint}（{tls}）")]
            total = len(dict(self._groups()))
            if self._ready.is_set():
                if self.missing:
                    names = "；".join(f"{gid}：{why}" for gid, why in self.missing.items())
                    lines.append(HealthLine("微信群", False, f"{total} 个群中 {len(self.missing)} 个找不到——{names}"))
                else:
                    lines.append(HealthLine("微信群", True, f"{total} 个群都已找到"))
            else:
                lines.append(HealthLine("微信群", False, f"{total} 个群还没核对（微信未就绪）"))
            low, high = self.settings.gap_seconds
            pace = "不间隔" if high <= 0 else f"每条间隔 {low:g}–{high:g} 秒"
            wait = self.paused_until - time.monotonic()
            if wait > 0:
                lines.append(
                    HealthLine("发送节奏", False, f"微信提示发送过于频繁，暂停发送，还剩 {wait / 60:.0f} 分钟")
                )
            else:
                lines.append(
                    HealthLine(
                        "发送节奏", True, f"{pace}，{_cap_text(self.settings.hourly_cap)}；已发 {self.sent_count} 条"
                    )
                )
            return lines
        except Exception as exc:  # health never raises
            return [HealthLine("微信", False, f"无法检查：{exc}")]


def _mime(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".png"):
        return "image/png"
    if lower.endswith(".gif"):
        return "image/gif"
    return "image/jpeg"


def _cap_text(cap: int) -> str:
    return f"每小时最多 {cap} 条" if cap > 0 else "不设每小时上限"
