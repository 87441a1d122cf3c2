"""A robot's address as the clerk pasted it, and what kind of robot it is (told from the address path)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bot.channels.robots.wire import RobotKind, mask

WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"


def kind_of(webhook: str) -> RobotKind | None:
    """`wecom` or `dingtalk` from the address's path (any host: 政务微信, 专有钉钉, a proxy); None if neither."""
    parts = urlsplit(webhook)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    query = parse_qs(parts.query)
    if parts.path.endswith(WECOM_PATH) and query.get("key", [""])[0]:
        return "wecom"
    if parts.path.endswith(DINGTALK_PATH) and query.get("access_token", [""])[0]:
        return "dingtalk"
    return None


@dataclass(frozen=True)
class RobotConfig:
    """One group's robot. `webhook` holds the key (WeCom `key=`, DingTalk `access_token=`): a secret, as is
    `secret` (DingTalk 加签). `keyword` is DingTalk's 自定义关键词, put into every message."""

    group: str
    webhook: str
    kind: RobotKind
    secret: str = ""
    keyword: str = ""

    @property
    def token(self) -> str:
        query = parse_qs(urlsplit(self.webhook).query)
        return (query.get("key") or query.get("access_token") or [""])[0]

    @property
    def masked_webhook(self) -> str:
        """The address with its key masked: safe for logs, errors and `laba groups`."""
        token = self.token
        return self.webhook.replace(token, mask(token)) if token else self.webhook

    def __repr__(self) -> str:  # never the key or the secret whole, even in a traceback
        secret = mask(self.secret) if self.secret else ""
        return f"RobotConfig({self.group!r}, {self.masked_webhook!r}, {self.kind!r}, secret={secret!r})"
