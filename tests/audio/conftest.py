"""Fixtures for the audio tests: the loopback edge-tts service on its own thread, and a decoder-based clip check."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import edge_tts.communicate
import edge_tts.drm
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, MPEGInfo

from bot.audio.edge import DEFAULT_URL
from bot.audio.loopback import LoopbackEdgeTts
from bot.audio.media import measure_file


@pytest.fixture(autouse=True)
def _edge_tts_globals() -> Iterator[None]:
    """edge-tts keeps process-wide state: the URL it dials and a clock skew that a 403 adjusts. Reset both."""
    edge_tts.drm.DRM.clock_skew_seconds = 0
    yield
    edge_tts.drm.DRM.clock_skew_seconds = 0
    setattr(edge_tts.communicate, "WSS_URL", DEFAULT_URL)  # noqa: B010 - the module constant edge-tts dials (see bot.audio.edge)


@pytest.fixture
def edge_server() -> Iterator[LoopbackEdgeTts]:
    """The loopback service on a thread of its own, so both async tests and the CLI (its own asyncio.run) reach it."""
    loop = asyncio.new_event_loop()
    server = LoopbackEdgeTts()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.__aenter__())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="loopback-edge-tts", daemon=True)
    thread.start()
    assert started.wait(10), "the loopback edge-tts server did not start"
    yield server
    asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


async def no_sleep(_: float) -> None:
    return None


@dataclass(frozen=True)
class Decoded:
    version: float
    layer: int
    sample_rate: int
    channels: int
    bitrate: int
    seconds: float
    lufs: float
    true_peak: float
    tags: dict[str, str]


def decoded(path: Path) -> Decoded:
    """What a player sees: the MPEG header (mutagen), the loudness after decoding (ffmpeg ebur128), the ID3 tags."""
    info = MP3(path).info
    assert isinstance(info, MPEGInfo), f"{path} has no MPEG stream"
    loud = asyncio.run(measure_file(str(path)))
    tags = {key: str(frame) for key, frame in ID3(path).items()}
    return Decoded(
        info.version,
        info.layer,
        info.sample_rate,
        info.channels,
        info.bitrate,
        info.length,
        loud.integrated_lufs,
        loud.true_peak_dbtp,
        tags,
    )


def assert_broadcast_ready(path: Path, *, min_seconds: float, max_seconds: float, lufs: float = -16.0) -> Decoded:
    d = decoded(path)
    assert (d.version, d.layer) == (1, 3), "MPEG-1 Layer III"
    assert (d.sample_rate, d.channels, d.bitrate) == (44100, 1, 64000)
    assert min_seconds <= d.seconds <= max_seconds, d.seconds
    assert abs(d.lufs - lufs) <= 1.0, d.lufs
    assert d.true_peak <= -1.0, d.true_peak  # target -1.5 dBTP; MP3 decoding may overshoot by a few tenths
    for frame in ("TIT2", "TPE1", "TALB", "TDRC"):
        assert d.tags.get(frame), f"{frame} missing in {d.tags}"
    assert not list(path.parent.glob(".tmp-*")), "a temporary file was left behind"
    return d
