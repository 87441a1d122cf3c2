"""Ways out to people: each backend delivers text to a group or person and may hear replies."""

from bot.channels.base import Channel, InboundMessage

__all__ = ["Channel", "InboundMessage"]
