"""The channel interface: the one boundary between the pipeline and a messaging network."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from bot.core.planner import Target
from bot.health import HealthLine


@dataclass(frozen=True)
class OutgoingFile:
    """A file to send. `name` is what recipients see; give it a real extension (the network infers the type)."""

    path: Path
    name: str


# The largest file a channel fetches for a message: what the proof intake accepts (`bot.proof.images.Limits`).
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A file that came in with a message, already fetched from the network.

    A file the network announced as larger than `MAX_ATTACHMENT_BYTES` is not fetched: `data` is then empty and
    `unfetched_size` says how large it was announced (or how many bytes came before the fetch was stopped)."""

    name: str
    data: bytes
    mime: str = ""
    unfetched_size: int | None = None


@dataclass(frozen=True)
class InboundMessage:
    """Something a person said to the bot, in a group or privately.

    `group` is the town's group id when the room is one of the configured groups (else None); `room_id` is the
    network's own id of the room (None in a private chat). `sender` is the network's contact id; `sender_wechat`
    the WeChat id or alias when the network tells it, to match against the town's files.
    """

    message_id: str
    sender: str
    sender_name: str
    text: str
    received_at: datetime
    kind: Literal["text", "image", "file", "other"] = "text"
    group: str | None = None
    room_id: str | None = None
    room_name: str = ""
    sender_wechat: str = ""
    mentions: tuple[str, ...] = ()
    mentions_bot: bool = False
    attachments: tuple[Attachment, ...] = ()


# Called by a channel with True immediately before it writes a message to the network (after any pacing wait), and
# with False if it then learns for certain that the write did not happen and it will wait before trying again. The
# pipeline records it, so that after a crash a message that never left is sent again and only one that may have left
# is reported as possibly sent.
Handoff = Callable[[bool], Awaitable[None]]


async def no_handoff(handed: bool) -> None:
    """The handoff of a send nobody tracks (tools, health checks)."""


class Channel(Protocol):
    name: str

    async def start(self) -> None:
        """Connect (log in, open streams). Idempotent."""
        ...

    async def send_text(self, target: Target, text: str, *, handoff: Handoff = no_handoff) -> str:
        """Hand `text` to the network for `target` (with @mentions of `target.mentions` in a group); returns the
        network's message id. `await handoff(True)` comes immediately before the first byte of the message is
        written to the network, never earlier (pacing waits and look-ups come before it).

        Raises `bot.errors.DeliveryError` if the network refused it (`permanent=True` when a retry can't help,
        `uncertain=True` when it may have gone out). Any error raised before `handoff(True)` means the message
        certainly did not leave. Must not retry after a refusal: retries are the pipeline's, so each attempt is
        counted and recorded.
        """
        ...

    async def send_file(self, target: Target, file: OutgoingFile, *, handoff: Handoff = no_handoff) -> str:
        """Like `send_text`, for a file."""
        ...

    def inbound(self) -> AsyncIterator[InboundMessage]:
        """Messages from people, as they arrive. Ends when the channel is closed."""
        ...

    async def health(self) -> list[HealthLine]:
        """Whether messages can go out now, and why not; never raises."""
        ...

    async def close(self) -> None: ...


def mention_prefix(target: Target) -> str:
    """The visible @names for channels without native mentions (the outbox, logs)."""
    return "".join(f"@{m.name}\u2005" for m in target.mentions)
