"""WeChat through the Wechaty puppet-service protocol: the channel, its settings, and a loopback gateway to test it
against. Names are loaded on first use, so `bot.channels.wechaty.settings` doesn't bring gRPC along."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.channels.wechaty.channel import WechatyChannel
    from bot.channels.wechaty.loopback import LoopbackPuppet
    from bot.channels.wechaty.settings import WechatySettings

_WHERE = {
    "WechatyChannel": "bot.channels.wechaty.channel",
    "LoopbackPuppet": "bot.channels.wechaty.loopback",
    "WechatySettings": "bot.channels.wechaty.settings",
}

__all__ = ["LoopbackPuppet", "WechatyChannel", "WechatySettings"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
