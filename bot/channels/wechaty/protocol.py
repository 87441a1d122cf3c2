"""What wechaty-grpc 0.20.19 lacks or gets wrong, in one place: the Download/Upload messages, the wire enums,
the event codes and TLS. (Where the gateway is and how fast to send: `settings`.)

Facts behind this module: the README's WeChat section.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from pathlib import Path

import betterproto

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
