"""EdgeTts against the loopback service: the real edge-tts client, every failure the real service has shown."""

from __future__ import annotations

import asyncio

import pytest

from bot.audio.base import TtsError
from bot.audio.edge import EdgeTts, endpoint_url
from bot.audio.loopback import LoopbackEdgeTts, Mode
from bot.core.planner import Voice

TEXT = "村民朋友们，大家好！垃圾分类从我做起。"
FAILURES: list[Mode] = ["no_audio", "drop", "truncate", "forbidden", "unavailable", "stall"]


def engine(server: LoopbackEdgeTts, sleeps: list[float], *, attempts: int = 3, stall: bool = False) -> EdgeTts:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    # The stall's timeout is the only wait in these tests: short, and it is the behaviour under test. Otherwise
    # generous, so a loaded machine never turns a slow answer into a "stall".
    return EdgeTts(server.url, timeout=0.5 if stall else 10.0, attempts=attempts, first_backoff=2.0, sleep=sleep)


def test_speech_comes_back_decoded_with_the_voice_settings(edge_server: LoopbackEdgeTts) -> None:
    voice = Voice("zh-CN-YunxiNeural", "-10%", "+5%", "-2Hz")
    speech = asyncio.run(engine(edge_server, []).synthesize(TEXT, voice))
    assert speech.engine == "edge-tts"
    assert 3.0 < speech.seconds < 5.0  # the loopback speaks 0.25 s per character: 16 characters
    [request] = edge_server.requests
    assert request.text == TEXT
    assert request.voice is not None and "zh-CN, YunxiNeural" in request.voice
    assert (request.rate, request.volume, request.pitch) == ("-10%", "+5%", "-2Hz")


@pytest.mark.parametrize("mode", FAILURES)
def test_a_failure_is_retried_with_backoff(edge_server: LoopbackEdgeTts, mode: Mode) -> None:
    edge_server.modes.append(mode)
    sleeps: list[float] = []
    speech = asyncio.run(engine(edge_server, sleeps, stall=mode == "stall").synthesize(TEXT, Voice()))
    assert 3.0 < speech.seconds < 5.0
    # After a 403 edge-tts adjusts its clock and reconnects by itself: that reconnect already succeeds.
    assert sleeps == ([] if mode == "forbidden" else [2.0])
    assert edge_server.requests[0].mode == mode and edge_server.requests[-1].mode == "ok"


@pytest.mark.parametrize("mode", FAILURES)
def test_a_failure_that_persists_is_an_error_never_a_broken_clip(edge_server: LoopbackEdgeTts, mode: Mode) -> None:
    edge_server.default = mode
    sleeps: list[float] = []
    with pytest.raises(TtsError) as caught:
        asyncio.run(engine(edge_server, sleeps, stall=mode == "stall").synthesize(TEXT, Voice()))
    assert caught.value.retryable
    assert "试了 3 次" in str(caught.value)
    assert sleeps == [2.0, 4.0]  # exponential backoff between the three attempts
    expected = {
        "no_audio": ("没有返回声音",),
        "drop": ("没有返回声音",),
        # edge-tts saves the truncated MP3 without an error: cut mid-frame it fails to decode, else it is too short.
        "truncate": ("不是能播放的 MP3", "秒之间"),
        "forbidden": ("HTTP 403",),
        "unavailable": ("HTTP 503",),
        "stall": ("卡住",),
    }
    assert any(text in str(caught.value) for text in expected[mode]), caught.value


def test_403_is_retried_once_by_edge_tts_itself_after_adjusting_its_clock(edge_server: LoopbackEdgeTts) -> None:
    edge_server.modes.append("forbidden")
    speech = asyncio.run(engine(edge_server, [], attempts=1).synthesize(TEXT, Voice()))
    assert speech.seconds > 3.0
    assert [r.mode for r in edge_server.requests] == ["forbidden", "ok"]


def test_empty_text_and_bad_settings_are_not_retried(edge_server: LoopbackEdgeTts) -> None:
    sleeps: list[float] = []
    with pytest.raises(TtsError) as empty:
        asyncio.run(engine(edge_server, sleeps).synthesize("  \n", Voice()))
    with pytest.raises(TtsError) as bad:
        asyncio.run(engine(edge_server, sleeps).synthesize(TEXT, Voice(rate="10%")))
    assert not empty.value.retryable and not bad.value.retryable
    assert sleeps == [] and edge_server.requests == []


def test_health_reports_reachable_and_unreachable(edge_server: LoopbackEdgeTts) -> None:
    up = asyncio.run(engine(edge_server, []).health())
    edge_server.default = "unavailable"
    down = asyncio.run(engine(edge_server, []).health())
    assert up.ok and up.part == "edge-tts"
    assert not down.ok and "503" in down.detail and "离线" in down.detail


def test_the_endpoint_gets_a_query_edge_tts_can_append_to() -> None:
    assert endpoint_url("ws://127.0.0.1:9/v1").startswith("ws://127.0.0.1:9/v1?TrustedClientToken=")
    assert endpoint_url("ws://relay/v1?TrustedClientToken=x") == "ws://relay/v1?TrustedClientToken=x"
    assert endpoint_url(None).startswith("wss://speech.platform.bing.com/")


def test_an_unreachable_service_is_told_in_chinese_without_python_reprs() -> None:
    """Issue 10 M5: aiohttp's text (`ssl:<ssl.SSLContext object at 0x…>`) never reaches an admin or the log."""
    import socket

    with socket.socket() as s:  # a port nothing listens on: bound, never listening, so a connect is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        url = f"ws://127.0.0.1:{port}/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=loopback"
        with pytest.raises(TtsError) as caught:
            asyncio.run(EdgeTts(url, timeout=10.0, attempts=1).synthesize(TEXT, Voice()))
    text = str(caught.value)
    assert "连不上在线语音服务器 127.0.0.1" in text, text
    assert not any(bad in text for bad in ("<", "0x", "object", "Cannot connect", "Error")), text
