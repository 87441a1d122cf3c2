"""One HTTP client for a channel's robots: posting, mapping network failures, and pacing under the rate limit.

Network failures are told apart by whether the request may have reached the server: a refused connection or a
connect timeout is transient (certainly not posted, the pipeline retries); a broken connection or a read timeout
after the request was written is *uncertain* (it may have been posted, so it is never sent again blindly).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

from bot.channels.robots.wire import RobotKind, RobotProblem, RobotRefused
from bot.errors import DeliveryError

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


@dataclass
class Pacer:
    """At most `per_minute` posts in any 60 s per robot (both services allow 20): waits before the 21st.

    `per_minute=0` turns pacing off (benchmarks). Time and sleep are injected so tests don't wait."""

    per_minute: int = 20
    now: Monotonic = time.monotonic
    sleep: Sleep = asyncio.sleep
    _sent: dict[str, deque[float]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def wait_turn(self, robot: str) -> None:
        if self.per_minute <= 0:
            return
        lock = self._locks.setdefault(robot, asyncio.Lock())
        async with lock:
            window = self._sent.setdefault(robot, deque())
            while True:
                now = self.now()
                while window and window[0] <= now - 60.0:
                    window.popleft()
                if len(window) < self.per_minute:
                    window.append(now)
                    return
                await self.sleep(window[0] + 60.0 - now)

    def push_back(self, robot: str, seconds: float) -> None:
        """The server throttled this robot: count the window as full for `seconds` more."""
        if self.per_minute <= 0:
            return
        until = self.now() + seconds - 60.0
        self._sent[robot] = deque([until] * self.per_minute)


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 30.0


class RobotHttp:
    """Posts for one channel over one `aiohttp.ClientSession` (opened by `start`, closed by `close`)."""

    def __init__(self, timeouts: Timeouts = Timeouts()) -> None:
        self._timeouts = timeouts
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        import aiohttp  # only a town with robots pays for it: `laba run` on the outbox starts without aiohttp

        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=None, connect=self._timeouts.connect, sock_read=self._timeouts.read)
            self._session = aiohttp.ClientSession(timeout=timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self,
        url: str,
        kind: RobotKind,
        where: str,
        *,
        payload: Mapping[str, Any] | None = None,
        form: aiohttp.FormData | None = None,
    ) -> Any:
        """POST JSON (or a multipart form) and return the decoded JSON answer. `where` names the group in errors
        (the URL holds the key, so it is never put in a message). Raises DeliveryError as described above."""
        import aiohttp

        await self.start()
        assert self._session is not None
        data: Any = form if form is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {} if form is not None else {"Content-Type": "application/json; charset=utf-8"}
        try:
            async with self._session.post(url, data=data, headers=headers) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise DeliveryError(f"连不上群 {where} 的机器人服务器：{type(exc).__name__}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(
                f"发往群 {where} 的机器人时连接中断（{type(exc).__name__}），不知道发出去没有", uncertain=True
            ) from exc
        return _decode(status, body, kind, where)


def _decode(status: int, body: bytes, kind: RobotKind, where: str) -> Any:
    if status in (429, 503):
        raise DeliveryError(f"群 {where} 的机器人服务器暂时不可用（HTTP {status}），稍后重试")
    if 400 <= status < 500:
        fix = "机器人地址不对：请在群设置里重新复制机器人地址，填进 robots.yaml"
        raise RobotRefused(RobotProblem(where, kind, status, f"HTTP {status}", fix))
    if status != 200:
        raise DeliveryError(f"群 {where} 的机器人服务器出错（HTTP {status}），不知道发出去没有", uncertain=True)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DeliveryError(f"群 {where} 的机器人回答不是 JSON，不知道发出去没有", uncertain=True) from exc
