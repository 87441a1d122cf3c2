"""`GatewayConnection`: the link to a Wechaty puppet-service gateway — event stream, login, watchdog, reconnect.

Contracts:
- The event stream is opened *before* `Start` is called (or LOGIN/SCAN events are missed); `Start` is called on
  every new stream (idempotent on the gateway, which replays LOGIN/READY or SCAN). `Stop` is never called.
- A supervisor keeps the stream up: a heartbeat watchdog (`Ding` after one quiet half-period, the connection cut
  after two), reconnect with jittered exponential backoff after a dropped stream, ALREADY_EXISTS or a restarted
  gateway. It never ends on an error, only on `close()`.
- `phase` says where the link is (`Phase`); every change is announced through the shared `Changes`.
- An outage longer than `outage_alert_seconds` is reported once through `alert` (until the link is back).
- Every event is handed to `on_event(code, data)` after the link has taken what it needs (LOGIN, SCAN, LOGOUT).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

import grpclib.client
from grpclib.config import Configuration
from grpclib.const import Cardinality
from wechaty_grpc.wechaty import PuppetStub
from wechaty_grpc.wechaty import puppet as pb

from bot.channels.wechaty.faults import GatewayError, GatewayUnreachable, gateway_errors
from bot.channels.wechaty.login_qr import show_login_qr
from bot.channels.wechaty.protocol import PATH, Ev, client_ssl_context
from bot.channels.wechaty.runtime import Background, Changes
from bot.channels.wechaty.settings import WechatySettings
from bot.channels.wechaty.tls_closing import TlsClosing
from bot.core.alert_kinds import WECHAT_DOWN, Alert

log = logging.getLogger(__name__)

# Tells the admins (in the background: the connection never waits for it).
TellAdmins = Callable[[Alert], None]
EventHandler = Callable[[int, dict[str, Any]], None]


class Phase(Enum):
    CONNECTING = "connecting"  # no event stream; `last_error` says why the last attempt failed
    CONNECTED = "connected"  # the stream is open, nobody logged in yet
    SCAN = "scan"  # the gateway waits for the login QR code (`scan_qrcode`) to be scanned
    LOGGED_OUT = "logged_out"  # the account was logged out (`logged_out_reason`)
    LOGGED_IN = "logged_in"
    CLOSED = "closed"


class _WatchdogFired(Exception):
    pass


class GatewayConnection:
    def __init__(
        self,
        settings: WechatySettings,
        changes: Changes,
        background: Background,
        *,
        on_event: EventHandler,
        alert: TellAdmins,
        now: Callable[[], datetime],
        echo: TextIO | None,
        backoff_seconds: tuple[float, float] = (1.0, 60.0),
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.backoff_seconds = backoff_seconds
        self._changes = changes
        self._background = background
        self._on_event = on_event
        self._alert = alert
        self._now = now
        self._echo = echo
        self._rng = rng or random.Random()
        self.metadata = {"authorization": f"Wechaty {settings.token}"}
        self._ssl = client_ssl_context() if settings.tls else None
        self._tls_closing = TlsClosing(self._ssl) if self._ssl is not None else None
        self._config = Configuration(ssl_target_name_override=settings.sni) if settings.tls else None
        self._grpc: grpclib.client.Channel | None = None
        self.stub: PuppetStub | None = None
        self._supervisor: asyncio.Task[None] | None = None

        self.phase = Phase.CONNECTING
        self.self_id = ""
        self.scan_qrcode = ""
        self.logged_out_reason = ""
        self.last_error = ""
        self._technical = (
            ""  # the exception behind last_error, for the log line only (e.g. "（ConnectionRefusedError: …）")
        )
        self.qr_png: Path | None = None
        self._down_since: float | None = time.monotonic()
        self._outage_alerted = False
        self._events_seen = 0

    @property
    def connected(self) -> bool:
        return self.phase not in (Phase.CONNECTING, Phase.CLOSED)

    @property
    def online(self) -> bool:
        return self.phase is Phase.LOGGED_IN

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    def _enter(self, phase: Phase) -> None:
        self.phase = phase
        self._changes.notify()

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the supervisor (idempotent)."""
        if self._supervisor is None or self._supervisor.done():
            self.phase = Phase.CONNECTING
            self._supervisor = asyncio.create_task(self._supervise(), name="wechaty-supervisor")

    async def close(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        self._enter(Phase.CLOSED)
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        self._drop()
        self._enter(Phase.CLOSED)
        # Let the socket finish closing before the caller's event loop may end.
        if self._tls_closing is not None:
            await self._tls_closing.wait()
        else:
            for _ in range(3):
                await asyncio.sleep(0)

    def request(self, method: str, cardinality: Cardinality, request: type, reply: type, timeout: float) -> Any:
        """A raw gRPC call (`Upload`, `Download`: missing from the stubs). Only while connected."""
        if self._grpc is None:
            raise GatewayUnreachable("没有连接")
        return self._grpc.request(PATH + method, cardinality, request, reply, metadata=self.metadata, timeout=timeout)

    def refused(self) -> None:
        """A call found the connection refused: drop it, the supervisor reconnects."""
        self._drop()
        if not self.closed:
            self._enter(Phase.CONNECTING)

    def _drop(self) -> None:
        if self._grpc is not None:
            self._grpc.close()
        self._grpc = None

    # --- the supervisor ------------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        while not self.closed:
            opened = time.monotonic()
            keep = await self._one_session()
            if self.closed:
                return
            if not keep:
                self._drop()
            self._enter(Phase.CONNECTING)
            if self._down_since is None:
                self._down_since = time.monotonic()
            failures = 0 if time.monotonic() - opened > 60 else failures + 1
            first, most = self.backoff_seconds
            delay = min(most, first * 2 ** min(failures, 16)) * self._rng.uniform(0.8, 1.2)
            log.warning(
                "微信网关 %s：%s%s；%.1f 秒后重连", self.settings.endpoint, self.last_error, self._technical, delay
            )
            self._check_outage()
            await asyncio.sleep(delay)

    async def _one_session(self) -> bool:
        """Run one session; record why it ended in `last_error`. True when the connection itself is still fine
        (the gateway ended the stream): sends in flight on it may finish."""
        self._technical = ""
        try:
            with gateway_errors():
                await self._session()
            self.last_error = "网关结束了事件流"
            return True
        except _WatchdogFired:
            self.last_error = f"网关 {self.settings.watchdog_seconds:.0f} 秒没有心跳"
        except GatewayError as exc:
            self.last_error, self._technical = exc.detail, f"（{exc.technical}）"
        except Exception as exc:  # a bug here must not end the supervisor: log it and reconnect
            log.exception("微信连接出错")
            self.last_error, self._technical = "程序内部出错，详见运行记录", f"（{exc!r}）"
        return False

    def _check_outage(self) -> None:
        if self._down_since is None or self._outage_alerted:
            return
        down = time.monotonic() - self._down_since
        if down >= self.settings.outage_alert_seconds:
            self._outage_alerted = True
            key = f"alert/wechat/down/{self._now():%Y%m%dT%H%M}"
            self._alert(
                WECHAT_DOWN(key, minutes=int(down // 60), endpoint=self.settings.endpoint, error=self.last_error)
            )

    async def _session(self) -> None:
        if self._grpc is None or self.stub is None:
            self._grpc = grpclib.client.Channel(
                self.settings.host, self.settings.port, ssl=self._ssl, config=self._config
            )
            self.stub = PuppetStub(self._grpc, metadata=self.metadata)
        grpc, stub = self._grpc, self.stub
        async with grpc.request(
            PATH + "Event", Cardinality.UNARY_STREAM, pb.EventRequest, pb.EventResponse, metadata=self.metadata
        ) as stream:
            await stream.send_message(pb.EventRequest(), end=True)
            async with asyncio.timeout(self.settings.watchdog_seconds):
                first = await stream.recv_message()
            if first is None:
                return
            self._link_up()
            self._dispatch(first)
            # The stream is open: now Start (idempotent on the gateway; replays LOGIN/READY or SCAN).
            self._background.spawn(self._call("Start", stub.start()))
            # One watchdog timer per session, not one per event: events come in bursts of thousands.
            self._events_seen = 0
            fired = asyncio.Event()
            watch = asyncio.create_task(self._watch(self.settings.watchdog_seconds / 2, grpc, fired))
            try:
                while (event := await stream.recv_message()) is not None:
                    self._events_seen += 1
                    self._dispatch(event)
            except Exception:
                if fired.is_set():
                    raise _WatchdogFired from None
                raise
            finally:
                watch.cancel()
                await asyncio.gather(watch, return_exceptions=True)

    def _link_up(self) -> None:
        if self._down_since is not None and self._outage_alerted:
            log.warning("微信网关断开 %.0f 秒后又连上了", time.monotonic() - self._down_since)
        self._down_since = None
        self._outage_alerted = False
        self._enter(Phase.CONNECTED)

    async def _watch(self, period: float, grpc: grpclib.client.Channel, fired: asyncio.Event) -> None:
        """After two quiet periods in a row, cut the connection (the session then ends and reconnects); Ding the
        gateway after the first."""
        quiet = 0
        seen = self._events_seen
        while quiet < 2:
            await asyncio.sleep(period)
            quiet = quiet + 1 if self._events_seen == seen else 0
            seen = self._events_seen
            if quiet == 1 and self.stub is not None:
                self._background.spawn(self._call("Ding", self.stub.ding(data=f"laba-{time.time():.0f}")))
        fired.set()
        grpc.close()

    async def _call(self, what: str, call: Any) -> None:
        try:
            with gateway_errors():
                await call
        except GatewayError as exc:
            log.warning("微信网关上的 %s 出错：%s", what, exc.detail)

    # --- events ----------------------------------------------------------------------------------------------

    def _dispatch(self, event: pb.EventResponse) -> None:
        code = int(event.type)
        try:
            data = json.loads(event.payload) if event.payload else {}
        except json.JSONDecodeError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if code == Ev.LOGIN:
            self.self_id = str(data.get("contactId", ""))
            self.scan_qrcode = self.logged_out_reason = ""
            log.warning("微信已登录：%s", self.self_id)
            self._enter(Phase.LOGGED_IN)
        elif code == Ev.SCAN:
            self._on_scan(int(data.get("status", 0) or 0), str(data.get("qrcode", "") or ""))
        elif code == Ev.LOGOUT:
            self.logged_out_reason = str(data.get("data", "") or "") or "已退出登录"
            log.error("微信已退出登录（%s）", self.logged_out_reason)
            self._enter(Phase.LOGGED_OUT)
        self._on_event(code, data)
        self._changes.notify()  # every event is a sign of life, whatever it says

    def _on_scan(self, status: int, qrcode: str) -> None:
        # 0 unknown, 2 waiting, 5 timeout (a new code follows); 3 scanned and 4 confirmed carry no new code.
        if not qrcode or qrcode == self.scan_qrcode or status not in (0, 2, 5):
            return
        self.scan_qrcode = qrcode
        png = None if self.settings.qr_dir is None else self.settings.qr_dir / "wechat-login.png"
        self.qr_png = show_login_qr(qrcode, png, self._echo)
        log.warning("微信需要登录：请扫二维码（%s）", self.qr_png or qrcode)
        if self.phase is not Phase.LOGGED_IN:
            self._enter(Phase.SCAN)
