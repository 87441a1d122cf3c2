"""WeChat through the Wechaty puppet-service protocol: the channel, and a loopback gateway to test it against."""

from bot.channels.wechaty.channel import WechatyChannel
from bot.channels.wechaty.loopback import LoopbackPuppet
from bot.channels.wechaty.settings import WechatySettings

__all__ = ["LoopbackPuppet", "WechatyChannel", "WechatySettings"]
