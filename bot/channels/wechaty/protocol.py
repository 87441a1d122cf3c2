"""What wechaty-grpc 0.20.19 lacks or gets wrong, in one place: the Download/Upload messages, the wire enums,
the event codes, TLS, and the endpoint settings (Wechaty's own variable names).

Facts behind this module: `/work/shared/briefs/wechaty-protocol.md` (mirrored in the README's WeChat section).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from pathlib import Path

import betterproto

from bot.errors import ConfigError, Problem

# --- messages missing from wechaty-grpc 0.20.19 (puppet/download-upload.proto) -------------------------------


@dataclass(eq=False, repr=False)
class DownloadRequest(betterproto.Message):
    id: str = betterproto.string_field(1)


@dataclass(eq=False, repr=False)
class DownloadResponse(betterproto.Message):
    chunk: bytes = betterproto.bytes_field(1)


@dataclass(eq=False, repr=False)
class UploadRequest(betterproto.Message):
    chunk: bytes = betterproto.bytes_field(1)


@dataclass(eq=False, repr=False)
class UploadResponse(betterproto.Message):
    id: str = betterproto.string_field(1)


PATH = "/wechaty.Puppet/"


class WireMessageType(IntEnum):
    """The message type gateways put on the wire: wechaty-puppet's enum, not the proto's (IMAGE=5, TEXT=6)."""

    UNKNOWN = 0
    ATTACHMENT = 1
    AUDIO = 2
    CONTACT = 3
    CHAT_HISTORY = 4
    EMOTICON = 5
    IMAGE = 6
    TEXT = 7
    LOCATION = 8
    MINI_PROGRAM = 9
    GROUP_NOTE = 10
    TRANSFER = 11
    RED_ENVELOPE = 12
    RECALLED = 13
    URL = 14
    VIDEO = 15
    POST = 16


class Ev(IntEnum):
    """Event codes on the wire. Others (4, 32 …) arrive as plain ints and are ignored."""

    HEARTBEAT = 1
    MESSAGE = 2
    DONG = 3
    ERROR = 16
    ROOM_JOIN = 19
    ROOM_LEAVE = 20
    ROOM_TOPIC = 21
    SCAN = 22
    READY = 23
    LOGIN = 25
    LOGOUT = 26
    DIRTY = 27


class DirtyType(IntEnum):
    MESSAGE = 1
    CONTACT = 2
    ROOM = 3
    ROOM_MEMBER = 4


# Throttling shows up as a system message some time after a "successful" send.
THROTTLE_PHRASES = ("操作过于频繁", "发送消息过于频繁")


def timestamp_seconds(value: int) -> float:
    """Puppets send seconds or milliseconds; anything past the year 5138 in seconds is milliseconds."""
    return value / 1000.0 if value > 100_000_000_000 else float(value)


# --- TLS ----------------------------------------------------------------------------------------------------


def cert_path(name: str) -> Path:
    """A file of `bot/channels/wechaty/certs/` (package data)."""
    return Path(str(resources.files("bot.channels.wechaty") / "certs" / name))


def server_name(token: str) -> str:
    """The TLS server name a gateway presents: the token's part before its last `_` (`insecure_abc` → insecure)."""
    head, sep, _ = token.rpartition("_")
    return head if sep and head else token


def client_ssl_context(cafile: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cafile or cert_path("wechaty-ca.pem")))
    # Python 3.13 turns on strict X.509 checks, which the Wechaty CA (no key usage extensions) fails.
    ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    ctx.set_alpn_protocols(["h2"])
    return ctx


def server_ssl_context(certfile: Path | None = None, keyfile: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(
        str(certfile or cert_path("insecure-server.pem")), str(keyfile or cert_path("insecure-server.key"))
    )
    ctx.set_alpn_protocols(["h2"])
    return ctx


# --- settings -----------------------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class WechatySettings:
    """Where the gateway is and how fast to send. From the environment, with Wechaty's own variable names.

    `gap_seconds` is the (min, max) random pause between two sends; (0, 0) turns pacing off. `hourly_cap` is
    the most sends in any 60 minutes; 0 means no cap.
    """

    endpoint: str
    token: str
    tls: bool = True
    gap_seconds: tuple[float, float] = (5.0, 15.0)
    hourly_cap: int = 120
    throttle_pause_seconds: float = 600.0
    login_wait_seconds: float = 20.0
    outage_alert_seconds: float = 600.0
    watchdog_seconds: float = 75.0
    qr_dir: Path | None = None

    @property
    def host(self) -> str:
        return self.endpoint.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.endpoint.rpartition(":")[2])

    @property
    def sni(self) -> str:
        return server_name(self.token)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, qr_dir: Path | None = None) -> WechatySettings:
        """Raises ConfigError naming each bad variable."""
        env = os.environ if env is None else env
        problems: list[Problem] = []
        endpoint = env.get("WECHATY_PUPPET_SERVICE_ENDPOINT", "").strip()
        token = env.get("WECHATY_PUPPET_SERVICE_TOKEN", "").strip()
        host, sep, port = endpoint.rpartition(":")
        if not endpoint:
            problems.append(
                Problem(
                    "WECHATY_PUPPET_SERVICE_ENDPOINT",
                    "",
                    "",
                    "没有设置微信网关地址",
                    "写成 主机:端口，如 127.0.0.1:8788（见 README 的“连接真实微信号”）",
                )
            )
        elif not (sep and host and port.isdigit()):
            problems.append(
                Problem(
                    "WECHATY_PUPPET_SERVICE_ENDPOINT",
                    "",
                    endpoint,
                    "网关地址格式不对",
                    "写成 主机:端口，如 127.0.0.1:8788",
                )
            )
        if not token:
            problems.append(
                Problem(
                    "WECHATY_PUPPET_SERVICE_TOKEN", "", "", "没有设置网关令牌", "令牌由网关提供，形如 insecure_<uuid>"
                )
            )
        gap = parse_gap(env.get("BOT_SEND_GAP_SECONDS", "5-15"), problems)
        # Pacing off (gap 0) also lifts the cap unless one is given: tests and benchmarks, never a real account.
        cap_text = env.get("BOT_SEND_HOURLY_CAP", "0" if gap == (0.0, 0.0) else "120").strip()
        if not cap_text.isdigit():
            problems.append(
                Problem(
                    "BOT_SEND_HOURLY_CAP", "", cap_text, "每小时上限应是整数", "如 120（0 表示不设上限，只用于测试）"
                )
            )
            cap_text = "120"
        if problems:
            raise ConfigError(problems)
        no_tls = env.get("WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT", "").strip().lower() in _TRUE
        return cls(endpoint, token, tls=not no_tls, gap_seconds=gap, hourly_cap=int(cap_text), qr_dir=qr_dir)


def parse_gap(text: str, problems: list[Problem]) -> tuple[float, float]:
    """`5-15` (random between), `8` (fixed) or `0` (off)."""
    lo, _, hi = text.strip().partition("-")
    try:
        low = float(lo)
        high = float(hi) if hi else low
    except ValueError:
        low = high = -1.0
    if low < 0 or high < low:
        problems.append(
            Problem(
                "BOT_SEND_GAP_SECONDS", "", text, "发送间隔写法不对", "写成 5-15（随机秒数）、8（固定）或 0（不间隔）"
            )
        )
        return (5.0, 15.0)
    return (low, high)
