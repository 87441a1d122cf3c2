"""What the sandbox page shows: every message of the simulated WeChat and of the loopback group robots, in one
numbered list, each stamped with the sandbox's clock when it happened.

Contracts:
- Each message gets one sequence number, once: the page asks for `since(seq)` and adds what it has not seen, so a
  page that polls twice at once still shows each message once.
- Chats are named by `chat_of`: a group's room id; `private:<person id>` for the bot's private chat with that
  person (one chat per person, whoever wrote first); `robot:<group id>` for a group reached by a robot.
- Times are the sandbox's clock (the campaign's time), not the wall clock the gateway stamps messages with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from bot.channels.robots.loopback import LoopbackRobots, RobotPost
from bot.channels.robots.wire import KIND_CN
from bot.channels.wechaty.loopback import LoopbackPuppet
from bot.channels.wechaty.loopback_world import SYSTEM_SENDER, LoggedMessage
from bot.channels.wechaty.protocol import WireMessageType

PRIVATE = "private:"
ROBOT = "robot:"
_KIND = {WireMessageType.IMAGE: "image", WireMessageType.ATTACHMENT: "file", WireMessageType.TEXT: "text"}


def private_chat(person_id: str) -> str:
    return PRIVATE + person_id


def robot_chat(group_id: str) -> str:
    return ROBOT + group_id


@dataclass(frozen=True)
class Shown:
    """One message as the page shows it."""

    seq: int
    chat: str
    id: str  # the gateway's message id (for /api/file); "" for a robot's post
    from_name: str
    bot: bool
    kind: str  # text, image, file, system
    text: str
    filename: str
    size: int
    time: str


class Feed:
    """Collects the puppet's messages as they happen (a listener) and the robots' posts when asked (`since`)."""

    def __init__(self, puppet: LoopbackPuppet, robots: LoopbackRobots | None, now: Callable[[], datetime]) -> None:
        self._puppet = puppet
        self._robots = robots
        self._now = now
        self._shown: list[Shown] = []
        self._robot_posts = 0
        puppet.listeners.append(self._heard)

    def name(self, contact_id: str) -> str:
        if contact_id == SYSTEM_SENDER:
            return "微信团队"
        contact = self._puppet.contacts.get(contact_id)
        return contact.name if contact else contact_id

    def since(self, seq: int) -> tuple[list[dict[str, object]], int]:
        """The messages numbered `seq` and later (as dicts for JSON), and the number the next one will get."""
        self._collect_robot_posts()
        return [asdict(s) for s in self._shown[max(seq, 0) :]], len(self._shown)

    def _heard(self, m: LoggedMessage) -> None:
        me = self._puppet.self_id
        chat = m.room_id or private_chat(m.to_id if m.from_id == me else m.from_id)
        self._add(
            chat,
            m.id,
            self.name(m.from_id),
            m.from_id == me,
            _KIND.get(m.type, "system"),
            m.text,
            m.filename,
            len(m.data),
        )

    def _collect_robot_posts(self) -> None:
        if self._robots is None:
            return
        posts: list[RobotPost] = self._robots.posts[self._robot_posts :]
        self._robot_posts += len(posts)
        for post in posts:
            who = KIND_CN[post.kind]
            if post.payload.get("msgtype") == "file":  # WeCom: a file uploaded first, then posted by its media id
                media = str(post.payload.get("file", {}).get("media_id", ""))
                _, name, data = self._robots.uploads.get(media, ("", media, b""))
                self._add(robot_chat(post.group), "", who, True, "file", "", name, len(data))
            else:
                self._add(robot_chat(post.group), "", who, True, "text", post.text, "", 0)

    def _add(self, chat: str, mid: str, who: str, bot: bool, kind: str, text: str, filename: str, size: int) -> None:
        when = f"{self._now():%m-%d %H:%M}"
        self._shown.append(Shown(len(self._shown), chat, mid, who, bot, kind, text, filename, size, when))
