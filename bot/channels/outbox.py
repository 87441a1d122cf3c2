"""The embedded default channel: every delivery becomes a text file under `<data>/outbox/` and a line on stdout.

No credentials, no network. A clerk can open the folder and copy messages into WeChat by hand, which is also how
a town can use laba before it connects a WeChat account.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.channels.base import Handoff, InboundMessage, OutgoingFile, mention_prefix, no_handoff
from bot.core.planner import Target
from bot.errors import DeliveryError
from bot.health import HealthLine

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# No space left, over the quota, or over the largest file this process may write (RLIMIT_FSIZE).
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

log = logging.getLogger(__name__)


class OutboxChannel:
    name = "outbox"

    def __init__(
        self,
        folder: Path,
        now: Callable[[], datetime],
        echo: TextIO | None = sys.stdout,
        *,
        route_note: Callable[[Target], str | None] | None = None,
    ) -> None:
        self._folder = folder
        # A rehearsal (`simulate` without --live) writes here what would have gone by a robot or a gateway: the note
        # says which route, in each file's header and on the console.
        self._route_note = route_note
        self._now = now
        self._echo = echo
        self._closed = asyncio.Event()
        self._seq = 0
        self._disk_full = False  # the last write failed for want of space (said once, until a write succeeds)
        self._full_since = ""  # when this episode of a full disk began: the admins' alert is keyed on it

    async def start(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)

    async def send_text(self, target: Target, text: str, *, handoff: Handoff = no_handoff) -> str:
        text = mention_prefix(target) + text
        header = f"收件: {target.name} ({target.kind}:{target.id})\n时间: {self._now().isoformat()}\n"
        note = self._note(target)
        if note:
            header += f"路线: {note}（预演，没有真的发出）\n"
        header += "\n"
        await handoff(True)
        message_id = self._write(target, ".txt", (header + text + "\n").encode("utf-8"))
        self._say(target, text.splitlines()[0] if text else "")
        return message_id

    async def send_file(self, target: Target, file: OutgoingFile, *, handoff: Handoff = no_handoff) -> str:
        try:
            data = file.path.read_bytes()
        except OSError as exc:
            raise DeliveryError(f"读不到要发送的文件 {file.path}: {exc}", permanent=True) from exc
        suffix = _UNSAFE.sub("_", file.path.suffix or ".bin")
        await handoff(True)
        message_id = self._write(target, suffix, data)
        self._say(target, f"[文件] {file.name}")
        return message_id

    def _write(self, target: Target, suffix: str, data: bytes) -> str:
        now = self._now()
        day = self._folder / now.strftime("%Y-%m-%d")
        self._seq += 1
        # Ids only: a file name is never built from a group's display name or a user's text.
        name = f"{now:%H%M%S}-{_UNSAFE.sub('_', target.id)}-{os.getpid()}-{self._seq:04d}{suffix}"
        tmp = ""
        try:
            day.mkdir(parents=True, exist_ok=True)
            # Written whole or not at all: a half-written message must never look delivered.
            fd, tmp = tempfile.mkstemp(dir=day, prefix=".tmp-", suffix=suffix)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, day / name)
        except OSError as exc:
            if tmp:  # nothing half-written stays behind
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise self._failed(day, exc) from exc
        if self._disk_full:
            self._disk_full = False
            self._console(f"[发件箱] 磁盘又能写了，消息照常写入 {self._folder}")
        return f"outbox:{day.name}/{name}"

    def _failed(self, day: Path, exc: OSError) -> DeliveryError:
        """A write that failed. A full disk fails every retry too: a permanent failure of this send, said on the
        console once until a write succeeds again; each later message is still tried (a small one may fit)."""
        if exc.errno not in DISK_FULL:
            return DeliveryError(f"写不进发件箱 {day}: {exc}")
        if not self._disk_full:
            self._disk_full = True
            self._full_since = f"{self._now():%Y%m%d%H%M%S}-{os.getpid()}-{self._seq}"
            log.error("发件箱 %s 所在磁盘已满（%s）", self._folder, exc)
            self._console(f"[发件箱] 磁盘已满，消息写不进 {self._folder}，都记为发送失败。请尽快清理磁盘。")
        return DeliveryError(
            f"发件箱所在的磁盘已满，消息没有写进 {day}：请清理磁盘，没写进的消息可以用 laba send 补发",
            permanent=True,
            episode=f"disk-full/{self._full_since}",
        )

    def _console(self, line: str) -> None:
        if self._echo is not None:
            print(line, file=self._echo, flush=True)

    def _note(self, target: Target) -> str | None:
        return self._route_note(target) if self._route_note is not None else None

    def _say(self, target: Target, line: str) -> None:
        if self._echo is not None:
            note = self._note(target)
            where = f"发件箱·预演 {note}" if note else "发件箱"
            print(f"[{where}] {self._now():%m-%d %H:%M} → {target.name}: {line}", file=self._echo)

    async def inbound(self) -> AsyncIterator[InboundMessage]:
        # The outbox only sends; replies arrive through a real channel (WeChat).
        await self._closed.wait()
        return
        yield  # pragma: no cover  (makes this an async generator)

    async def health(self) -> list[HealthLine]:
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self._folder, prefix=".health-"):
                pass
        except OSError as exc:
            return [HealthLine("发件箱", False, f"{self._folder} 不可写：{exc}")]
        return [HealthLine("发件箱", True, f"消息写入 {self._folder}（未连接微信，需人工转发）")]

    async def close(self) -> None:
        self._closed.set()
