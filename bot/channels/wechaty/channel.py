"""`WechatyChannel`: WeChat through a Wechaty puppet-service gateway — a façade over parts with one job each.

- `GatewayConnection` (connection.py): event stream, login, watchdog, reconnect; its `phase` says where it is.
- `WechatyDirectory` (directory.py): which room is each configured group; rooms, members and contacts.
- `WechatySender` (sender.py): addressing, texts, files and uploads, paced by a `RateLimiter` (bot/channels/pacing.py).
- `WechatyReceiver` (receiver.py): MESSAGE events decoded into `InboundMessage`s, images downloaded.
- faults.py: the one place where gRPC/transport failures become `DeliveryError`s.

Contracts (the `Channel` protocol's, plus):
- `start()` waits at most `login_wait_seconds` for login and room resolution; it never raises for a gateway that
  is down or not logged in (that is what `health()` reports). The connection then keeps itself up.
- Logout, a long outage and throttling are told to the admins through `alert_sink` (given at construction; the
  app wires it to the pipeline's alerts).
"""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TextIO

from bot.channels.base import Handoff, InboundMessage, OutgoingFile, no_handoff
from bot.channels.pacing import RateLimiter, SendPacer
from bot.channels.rooms import MemoryRoomStore, RoomStore
from bot.channels.wechaty.connection import GatewayConnection, Phase
from bot.channels.wechaty.directory import WechatyDirectory
from bot.channels.wechaty.protocol import DirtyType, Ev
from bot.channels.wechaty.receiver import ProofRooms, WechatyReceiver, any_room
from bot.channels.wechaty.runtime import Background, Changes
from bot.channels.wechaty.sender import WechatySender
from bot.channels.wechaty.settings import WechatySettings
from bot.clock import TOWN_ZONE
from bot.core.alert_kinds import WECHAT_LOGOUT, WECHAT_THROTTLED, Alert
from bot.core.planner import Target
from bot.health import HealthLine

log = logging.getLogger(__name__)

# Tells the admins: the alert, and whether this channel can deliver it now (when not, the app also writes it
# where it still can be read).
AlertSink = Callable[[Alert, bool], Awaitable[None]]


class WechatyChannel:
    name = "wechaty"

    def __init__(
        self,
        settings: WechatySettings,
        *,
        groups: Callable[[], Mapping[str, str]] = dict,
        rooms: RoomStore | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(TOWN_ZONE),
        echo: TextIO | None = sys.stderr,
        alert_sink: AlertSink | None = None,
        backoff_seconds: tuple[float, float] = (1.0, 60.0),
        send_wait_seconds: float = 120.0,
        rng: random.Random | None = None,
        pacer: RateLimiter | None = None,
        takes_proof: ProofRooms = any_room,
    ) -> None:
        self.settings = settings
        self._now = now
        self._alert_sink = alert_sink
        self._changes = Changes()
        self._background = Background()
        self.link = GatewayConnection(
            settings,
            self._changes,
            self._background,
            on_event=self._on_event,
            alert=self._alert,
            now=now,
            echo=echo,
            backoff_seconds=backoff_seconds,
            rng=rng,
        )
        self.directory = WechatyDirectory(
            rooms if rooms is not None else MemoryRoomStore(), groups, lambda: self.link.stub, self._changes, now
        )
        self.sender = WechatySender(
            self.link,
            self.directory,
            pacer or SendPacer(settings.pace, rng=rng),
            self._changes,
            self._state_text,
            send_wait_seconds,
        )
        self.receiver = WechatyReceiver(
            self.link, self.directory, self.sender, on_throttled=self._throttled, now=now, takes_proof=takes_proof
        )

    # --- the Channel protocol --------------------------------------------------------------------------------

    async def start(self) -> None:
        self.link.start()
        self.receiver.start()
        try:
            await self._changes.wait_until(lambda: self.directory.ready, self.settings.login_wait_seconds)
        except TimeoutError:
            log.warning("等了 %.0f 秒微信还没准备好：%s", self.settings.login_wait_seconds, self._state_text())
        self.directory.warn_missing()

    async def close(self) -> None:
        await self.receiver.close()
        await self._background.cancel_all()
        await self.link.close()

    async def send_text(self, target: Target, text: str, *, handoff: Handoff = no_handoff) -> str:
        return await self.sender.send_text(target, text, handoff)

    async def send_file(self, target: Target, file: OutgoingFile, *, handoff: Handoff = no_handoff) -> str:
        return await self.sender.send_file(target, file, handoff)

    def inbound(self) -> AsyncIterator[InboundMessage]:
        return self.receiver.inbound()

    # --- what callers and tests look at ----------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.link.online

    @property
    def last_error(self) -> str:
        return self.link.last_error

    @property
    def self_id(self) -> str:
        return self.link.self_id

    @property
    def rooms(self) -> RoomStore:
        return self.directory.store

    @property
    def group_rooms(self) -> dict[str, str]:
        return self.directory.group_rooms

    @property
    def missing(self) -> dict[str, str]:
        return self.directory.missing

    @property
    def paused_for(self) -> float:
        """Seconds of throttling pause left (0 when sending freely)."""
        return self.sender.pacer.paused_for()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float = 30.0) -> None:
        """Wait until `predicate()` holds, checked after each change of state. Raises TimeoutError."""
        await self._changes.wait_until(predicate, seconds)

    async def member_count(self, group_id: str) -> int | None:
        """How many people are in a configured group besides the bot; None while its room is unknown or the gateway
        can't say (the quiz then reports its answers without a 参与率)."""
        room = self.group_rooms.get(group_id)
        return None if room is None else await self.directory.member_count(room, self.self_id)

    def room_report(self) -> dict[str, tuple[str | None, str]]:
        """For each configured group: (room id, "") when resolved, else (None, why not)."""
        out: dict[str, tuple[str | None, str]] = {}
        for gid in self.directory.configured():
            if gid in self.group_rooms:
                out[gid] = (self.group_rooms[gid], "")
            elif gid in self.missing:
                out[gid] = (None, self.missing[gid])
            else:
                out[gid] = (None, f"还没连上微信：{self._state_text()}")
        return out

    # --- events and alerts -----------------------------------------------------------------------------------

    def _on_event(self, code: int, data: dict[str, Any]) -> None:
        """Hand each event to the part it concerns (the connection has taken LOGIN, SCAN and LOGOUT already)."""
        directory = self.directory
        if code == Ev.MESSAGE:
            self.receiver.heard(str(data.get("messageId", "")))
        elif code in (Ev.LOGIN, Ev.READY):
            # At LOGIN already: Wechaty's own client doesn't wait for READY, and a gateway that never sends it would
            # leave every group unresolved. READY resolves again (a puppet may list rooms fully only by then).
            self._background.spawn(directory.resolve(self.link.self_id))
        elif code == Ev.LOGOUT:
            directory.logged_out()
            key = f"alert/wechat/logout/{self._now():%Y%m%dT%H%M}"
            account = directory.self_name or self.link.self_id
            self._alert(WECHAT_LOGOUT(key, reason=self.link.logged_out_reason, account=account))
        elif code == Ev.ROOM_TOPIC:
            room_id = str(data.get("roomId", ""))
            if room_id:
                directory.topic_changed(room_id, str(data.get("newTopic", "")))
                self._background.spawn(directory.refresh(room_id))
        elif code == Ev.DIRTY:
            kind, pid = int(data.get("payloadType", 0) or 0), str(data.get("payloadId", ""))
            if kind == DirtyType.ROOM:
                self._background.spawn(directory.refresh(pid))
            elif kind == DirtyType.CONTACT:
                directory.forget_contact(pid)
            elif kind == DirtyType.ROOM_MEMBER:
                directory.forget_members(pid)
        elif code in (Ev.ROOM_JOIN, Ev.ROOM_LEAVE):
            room_id = str(data.get("roomId", ""))
            directory.forget_members(room_id)
            if not directory.knows_room(room_id):
                self._background.spawn(directory.refresh(room_id))
        elif code == Ev.ERROR:
            log.warning("微信网关报错：%s", data.get("data", data))
        # HEARTBEAT, DONG and unknown codes (4, 32 …): liveness only.

    def _throttled(self, notice: str) -> None:
        pause = self.settings.throttle_pause_seconds
        self.sender.pacer.pause(pause)
        self._changes.notify()
        log.error("微信提示发得太频繁（%s）：暂停发送 %.0f 秒", notice, pause)
        key = f"alert/wechat/throttled/{self._now():%Y%m%dT%H}"
        self._alert(WECHAT_THROTTLED(key, notice=notice, pause_minutes=max(1, round(pause / 60))))

    def _alert(self, alert: Alert) -> None:
        sink = self._alert_sink
        if sink is None:
            return

        async def run() -> None:
            try:
                await sink(alert, self.online)
            except Exception:
                log.exception("给管理员的提醒 %s 没能发出", alert.key)

        self._background.spawn(run())

    # --- health ----------------------------------------------------------------------------------------------

    def _state_text(self) -> str:
        link = self.link
        if link.phase is Phase.LOGGED_IN:
            return f"已登录（{self.directory.self_name or link.self_id}）"
        if link.phase is Phase.SCAN:
            return f"等待扫码登录（二维码{'已保存到 ' + str(link.qr_png) if link.qr_png else '已打印在终端'}）"
        if link.phase is Phase.LOGGED_OUT:
            return f"微信已退出登录：{link.logged_out_reason}"
        if link.connected:
            return "已连上网关，等待登录"
        return f"连不上微信网关：{link.last_error or '正在连接'}"

    async def health(self) -> list[HealthLine]:
        try:
            # No gateway address here: #状态 is read by the clerk; the address is in the log and `laba check`'s hint.
            tls = "TLS 加密连接" if self.settings.tls else "明文连接"
            lines = [HealthLine("微信", self.online, f"{self._state_text()}（{tls}）")]
            lines.append(self._groups_line())
            lines.append(self._pace_line())
            return lines
        except Exception as exc:  # health never raises
            return [HealthLine("微信", False, f"无法检查：{exc}")]

    def _groups_line(self) -> HealthLine:
        total = len(self.directory.configured())
        if not self.directory.ready:
            return HealthLine("微信群", False, f"{total} 个群还没核对（微信未就绪）")
        if self.missing:
            names = "；".join(self.missing.values())  # each reason names the group by its name already
            return HealthLine("微信群", False, f"{total} 个群中 {len(self.missing)} 个找不到——{names}")
        return HealthLine("微信群", True, f"{total} 个群都已找到")

    def _pace_line(self) -> HealthLine:
        wait = self.sender.pacer.paused_for()
        if wait > 0:
            return HealthLine("发送节奏", False, f"微信提示发送过于频繁，暂停发送，还剩 {wait / 60:.0f} 分钟")
        low, high = self.settings.gap_seconds
        pace = "不间隔" if high <= 0 else f"每条间隔 {low:g}–{high:g} 秒"
        cap = self.settings.hourly_cap
        cap_text = f"每小时最多 {cap} 条" if cap > 0 else "不设每小时上限"
        return HealthLine("发送节奏", True, f"{pace}，{cap_text}；已发 {self.sender.pacer.sent_count} 条")
