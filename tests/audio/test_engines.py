"""The `TtsEngine` contract, run against every engine: `EdgeTts` on the loopback edge-tts service and `OfflineTts`
(Debian's espeak-ng). What the producer relies on, whichever engine speaks: PCM in the one shared format, about as
long as the text takes to say, never silence; empty text refused without retrying; every failure a `TtsError`."""

from __future__ import annotations

import array
import asyncio
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.audio.base import BYTES_PER_SECOND, TtsEngine, TtsError
from bot.audio.edge import EdgeTts
from bot.audio.loopback import LoopbackEdgeTts
from bot.audio.offline import OfflineTts
from bot.core.planner import Voice

SHORT = "垃圾分类。"
LONG = "村民朋友们，大家好！垃圾分类从我做起，厨余垃圾请投进绿色的桶，其他垃圾请投进灰色的桶。"
VOICE = Voice("zh-CN-XiaoxiaoNeural", "+0%", "+0%", "+0Hz")


async def no_sleep(_: float) -> None:
    return None


@dataclass(frozen=True)
class Harness:
    engine: TtsEngine
    broken: Callable[[], TtsEngine]  # the same kind of engine, whose service or program fails


@pytest.fixture(params=["edge", "offline"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "edge":
        server: LoopbackEdgeTts = request.getfixturevalue("edge_server")

        def broken_edge() -> TtsEngine:
            server.default = "unavailable"
            return EdgeTts(server.url, timeout=10.0, attempts=2, sleep=no_sleep)

        yield Harness(EdgeTts(server.url, timeout=10.0, sleep=no_sleep), broken_edge)
    else:
        # A program that exits with an error, as espeak-ng does when its voice data is missing.
        failing = tmp_path / "espeak-ng"
        failing.write_text("#!/bin/sh\necho 'voice data missing' >&2\nexit 1\n", encoding="utf-8")
        failing.chmod(0o755)
        yield Harness(OfflineTts(), lambda: OfflineTts(str(failing)))


def _rms(pcm: bytes) -> float:
    samples = array.array("h", pcm)
    return math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


def test_speech_is_pcm_in_the_shared_format_and_not_silence(harness: Harness) -> None:
    speech = asyncio.run(harness.engine.synthesize(LONG, VOICE))
    assert speech.engine == harness.engine.name
    assert len(speech.pcm) % 2 == 0  # whole 16-bit samples
    assert speech.seconds == len(speech.pcm) / BYTES_PER_SECOND
    assert _rms(speech.pcm) > 100  # of 32767: audible, not digital silence


def test_longer_text_gives_longer_speech(harness: Harness) -> None:
    short = asyncio.run(harness.engine.synthesize(SHORT, VOICE))
    long = asyncio.run(harness.engine.synthesize(LONG, VOICE))
    assert 0.5 < short.seconds < long.seconds
    assert long.seconds > 3 * short.seconds  # the long text has about ten times the syllables


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_refused_for_good(harness: Harness, text: str) -> None:
    with pytest.raises(TtsError) as caught:
        asyncio.run(harness.engine.synthesize(text, VOICE))
    assert caught.value.retryable is False


def test_a_failing_service_or_program_is_a_tts_error_in_chinese(harness: Harness) -> None:
    with pytest.raises(TtsError) as caught:
        asyncio.run(harness.broken().synthesize(LONG, VOICE))
    message = str(caught.value)
    assert harness.engine.name in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)  # says what went wrong in Chinese
