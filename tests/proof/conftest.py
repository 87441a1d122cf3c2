"""Photos made on the spot (distinct scenes, EXIF dates, broken files, bombs) and a town wired with the real
pipeline, a real SQLite store and the in-memory channel."""

from __future__ import annotations

import asyncio
import io
import itertools
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from bot import proof
from bot.channels.base import Attachment, InboundMessage
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.inbound import InboundRouter
from bot.pipeline import Pipeline, RetryPolicy
from bot.proof.admin import ProofAdmin
from bot.proof.intake import IntakeSettings, ProofIntake
from bot.store.sql import SqlStore, open_store

_ids = itertools.count(1)


def photo(seed: int, *, size: tuple[int, int] = (640, 480), taken: datetime | None = None, fmt: str = "JPEG") -> bytes:
    """A photo-like picture, different for each seed (random shapes), with an EXIF DateTimeOriginal if `taken`."""
    rng = random.Random(seed)
    im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    w, h = size
    for _ in range(12):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(w // 8, w // 2), y0 + rng.randrange(h // 8, h // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if taken is not None:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = taken.strftime("%Y:%m:%d %H:%M:%S")
        kwargs["exif"] = exif
    im.save(out, fmt, quality=85, **kwargs) if fmt == "JPEG" else im.save(out, fmt, **kwargs)
    return out.getvalue()


def resized(data: bytes, factor: float = 0.8) -> bytes:
    """The same picture re-encoded at another size: a near duplicate."""
    with Image.open(io.BytesIO(data)) as im:
        small = im.resize((int(im.width * factor), int(im.height * factor)))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=70)
    return out.getvalue()


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header declares a huge image (the pixel data is not even there)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def message(
    sender_wechat: str,
    at: datetime,
    *,
    text: str = "",
    photos: tuple[bytes, ...] = (),
    group: str | None = None,
    name: str = "",
    sender: str | None = None,
    names: tuple[str, ...] = (),
    message_id: str | None = None,
) -> InboundMessage:
    attachments = tuple(
        Attachment(names[i] if i < len(names) else f"IMG_{i}.jpg", data) for i, data in enumerate(photos)
    )
    return InboundMessage(
        message_id=message_id or f"m{next(_ids)}",
        sender=sender or f"wxid_{sender_wechat}",
        sender_name=name or sender_wechat,
        sender_wechat=sender_wechat,
        text=text,
        received_at=at,
        kind="image" if photos else "text",
        group=group,
        room_id=f"room-{group}" if group else None,
        attachments=attachments,
    )


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=TOWN_ZONE)


@dataclass
class Town:
    """The pieces `bot.app.build` wires, wired the same way (see `test_build_registers_the_ledger_handlers`)."""

    loaded: LoadedCampaign
    store: SqlStore
    pipeline: Pipeline
    router: InboundRouter
    channel: MemoryChannel
    clock: VirtualClock
    data_dir: Path

    @property
    def intake(self) -> ProofIntake:
        return next(h for h in self.router.handlers if isinstance(h, ProofIntake))

    @property
    def admin(self) -> ProofAdmin:
        return next(h for h in self.router.handlers if isinstance(h, ProofAdmin))

    def say(self, msg: InboundMessage) -> list[str]:
        """Deliver `msg` through the router at its own time, then let its quiet window close (`flush`); the texts
        the bot sent in reply."""
        return self.burst(msg)

    def burst(self, *msgs: InboundMessage) -> list[str]:
        """Deliver `msgs` one after the other (as WeChat delivers a multi-photo post), then let the quiet window
        close; the texts the bot sent in reply."""
        before = len(self.channel.sent)

        async def go() -> None:
            for msg in msgs:
                self.clock.set(msg.received_at)
                await self.router.dispatch(msg)
            await self.intake.flush()

        asyncio.run(go())
        return [m.text for m in self.channel.sent[before:]]

    def run_jobs(self, start: datetime, end: datetime) -> None:
        async def go() -> None:
            for job in self.loaded.plan.between(start, end):
                self.clock.set(job.at)
                await self.pipeline.run_job(job)

        asyncio.run(go())


async def _no_sleep(_: float) -> None:
    return None


def make_town(sources: Sources, tmp_path: Path, settings: IntakeSettings | None = None) -> Iterator[Town]:
    data = tmp_path / "data"
    clock = VirtualClock(at(4, 1, 8))
    channel = MemoryChannel()
    loaded = load(sources)
    store = open_store(f"sqlite:///{data / 'laba.db'}", TOWN_ZONE)
    pipeline = Pipeline(lambda: loaded, store, channel, clock, "test-runner", RetryPolicy(3, 1.0), _no_sleep)
    router = InboundRouter(proof.handlers(lambda: loaded, pipeline, store, data, settings))
    try:
        yield Town(loaded, store, pipeline, router, channel, clock, data)
    finally:
        store.close()


@pytest.fixture
def town(jinxi: Sources, tmp_path: Path) -> Iterator[Town]:
    yield from make_town(jinxi, tmp_path)
