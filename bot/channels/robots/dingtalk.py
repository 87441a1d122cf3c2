"""The DingTalk (钉钉, also 专有钉钉 / 渝快政) custom robot: 加签 per request, the keyword in every message, and
@mentions both as `at.atMobiles` and as a visible `@mobile` (DingTalk shows an @ only when both are there)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote_plus

from bot.channels.robots.config import RobotConfig
from bot.channels.robots.http import RobotHttp
from bot.channels.robots.wire import RobotKind, check_answer, split_text

# DingTalk's documented cap on text.content is 20000 bytes; stay well under it so the keyword and @s always fit.
TEXT_LIMIT: Final = 18000
THROTTLE_SECONDS: Final = 600.0  # 130101: past the limit the robot is throttled for 10 minutes


def sign(secret: str, timestamp_ms: int) -> str:
    """加签: URL-encoded base64 of HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


class DingtalkRobot:
    kind: RobotKind = "dingtalk"
    throttle_seconds = THROTTLE_SECONDS

    def __init__(self, config: RobotConfig, http: RobotHttp, wall_ms: Callable[[], int] | None = None) -> None:
        self.config = config
        self._http = http
        # The signature carries the wall-clock time (the server refuses one more than an hour off).
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)

    def text_payloads(self, text: str, mobiles: tuple[str, ...], names: tuple[str, ...]) -> list[dict[str, Any]]:
        """One `text` message per part, each containing the keyword; the @s ride on the first part."""
        visible = "".join(f"@{m} " for m in mobiles) + "".join(f"@{n} " for n in names)
        keyword = self.config.keyword
        room = TEXT_LIMIT - len(f"【{keyword}】\n".encode()) if keyword else TEXT_LIMIT
        out: list[dict[str, Any]] = []
        for i, part in enumerate(split_text(visible + text, room)):
            if keyword and keyword not in part:
                part = f"【{keyword}】\n{part}"
            payload: dict[str, Any] = {"msgtype": "text", "text": {"content": part}}
            payload["at"] = {"atMobiles": list(mobiles) if i == 0 else [], "isAtAll": False}
            out.append(payload)
        return out

    def link_payloads(self, title: str, url: str) -> list[dict[str, Any]]:
        """A file as a download link (DingTalk robots can't carry files)."""
        text = f"{title}\n下载：{url}"
        return self.text_payloads(text, (), ())

    def signed_url(self) -> str:
        if not self.config.secret:
            return self.config.webhook
        ts = self._wall_ms()
        return f"{self.config.webhook}&timestamp={ts}&sign={sign(self.config.secret, ts)}"

    async def post(self, payload: dict[str, Any]) -> None:
        # Signed per request: a retry after a throttle wait needs a fresh timestamp.
        answer = await self._http.post(self.signed_url(), self.kind, self.config.group, payload=payload)
        check_answer(self.kind, self.config.group, answer)
