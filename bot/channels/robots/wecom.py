"""The WeCom (企业微信) group robot: `text` with `mentioned_mobile_list`, files through `upload_media`."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from bot.channels.base import OutgoingFile
from bot.channels.robots.config import WECOM_PATH, RobotConfig
from bot.channels.robots.http import RobotHttp
from bot.channels.robots.wire import RobotKind, RobotProblem, RobotRefused, check_answer, split_text
from bot.errors import DeliveryError

TEXT_LIMIT: Final = 2048  # bytes of UTF-8 in text.content
FILE_MIN: Final = 5
FILE_MAX: Final = 20 * 1024 * 1024
THROTTLE_SECONDS: Final = 60.0  # 45009: the limit is per minute


class WecomRobot:
    kind: RobotKind = "wecom"
    throttle_seconds = THROTTLE_SECONDS

    def __init__(self, config: RobotConfig, http: RobotHttp) -> None:
        self.config = config
        self._http = http

    def text_payloads(self, text: str, mobiles: tuple[str, ...], names: tuple[str, ...]) -> list[dict[str, Any]]:
        """One `text` message per part; the @mentions ride on the first. WeCom shows mobile mentions itself; people
        without a mobile get a visible @name."""
        visible = "".join(f"@{n} " for n in names)
        parts = split_text(visible + text, TEXT_LIMIT)
        out: list[dict[str, Any]] = []
        for i, part in enumerate(parts):
            body: dict[str, Any] = {"content": part}
            if i == 0 and mobiles:
                body["mentioned_mobile_list"] = list(mobiles)
            out.append({"msgtype": "text", "text": body})
        return out

    async def post(self, payload: dict[str, Any]) -> None:
        answer = await self._http.post(self.config.webhook, self.kind, self.config.group, payload=payload)
        check_answer(self.kind, self.config.group, answer)

    async def upload(self, file: OutgoingFile, data: bytes) -> str:
        """Upload for a `file` message; returns the media_id (valid 3 days). Sizes outside 5 B–20 MB are refused
        here, before anything is sent."""
        if not FILE_MIN <= len(data) <= FILE_MAX:
            raise DeliveryError(
                f"文件 {file.name} 大小 {len(data)} 字节，企业微信群机器人只收 5 字节到 20 MB 的文件", permanent=True
            )
        # Unquoted: WeCom shows the file name as sent, and a percent-encoded Chinese name would stay encoded.
        import aiohttp

        form = aiohttp.FormData(quote_fields=False)
        form.add_field("media", data, filename=file.name, content_type="application/octet-stream")
        answer = await self._http.post(self._upload_url(), self.kind, self.config.group, form=form)
        answer = check_answer(self.kind, self.config.group, answer)
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise RobotRefused(
                RobotProblem(self.config.group, self.kind, 0, "upload_media 没有返回 media_id", "请稍后重发")
            )
        return media_id

    @staticmethod
    def file_payload(media_id: str) -> dict[str, Any]:
        return {"msgtype": "file", "file": {"media_id": media_id}}

    def _upload_url(self) -> str:
        parts = urlsplit(self.config.webhook)
        path = parts.path[: -len(WECOM_PATH)] + "/cgi-bin/webhook/upload_media"
        return urlunsplit((parts.scheme, parts.netloc, path, f"key={self.config.token}&type=file", ""))
