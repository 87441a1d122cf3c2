"""Microsoft Edge's read-aloud voices through edge-tts (pinned): the default engine.

edge-tts follows a private service that breaks every few months, and its client has sharp edges (see
`../shared/briefs/broadcast-audio.md`): it hangs forever on a stalled server, saves a truncated MP3 without an error,
and dials a module constant. So every call here has a timeout, what comes back is decoded and its length checked,
failures are retried with backoff, and the endpoint is set per call from `url` (`BOT_EDGE_TTS_URL`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Iterator

import aiohttp
import edge_tts
import edge_tts.communicate
import edge_tts.constants
import edge_tts.exceptions

from bot.audio.base import Speech, TtsError
from bot.audio.media import MediaError, decode
from bot.core.planner import Voice
from bot.health import HealthLine

Sleep = Callable[[float], Awaitable[None]]

DEFAULT_URL: str = edge_tts.constants.WSS_URL
# A plausible length for speech of n spoken characters (Chinese: about 4 a second, slower at rate -10%). Below the
# minimum is a truncated stream; above the maximum, something else than our text.
MIN_SECONDS_PER_CHAR = 0.08
MAX_SECONDS_PER_CHAR = 1.0
_SPOKEN = re.compile(r"[\w\u3400-\u9fff]")


def spoken_chars(text: str) -> int:
    return len(_SPOKEN.findall(text))


def check_length(speech: Speech, text: str) -> None:
    """Raises TtsError unless the speech is about as long as `text` takes to say."""
    n = max(spoken_chars(text), 1)
    low, high = n * MIN_SECONDS_PER_CHAR, n * MAX_SECONDS_PER_CHAR + 3.0
    if not low <= speech.seconds <= high:
        raise TtsError(
            f"{speech.engine} 返回的语音长 {speech.seconds:.1f} 秒，{n} 个字应在 {low:.1f}–{high:.1f} 秒之间"
        )


def endpoint_url(url: str | None) -> str:
    """The URL edge-tts dials: the real service by default; a relay or a loopback server if given. edge-tts
    appends `&ConnectionId=...`, so the URL must carry a query; one is added if it has none."""
    if not url:
        return DEFAULT_URL
    if "?" not in url:
        url += f"?TrustedClientToken={edge_tts.constants.TRUSTED_CLIENT_TOKEN}"
    return url


# edge-tts reads the module constant `edge_tts.communicate.WSS_URL` when it connects (patching
# `edge_tts.constants.WSS_URL` does nothing). It is process-wide, so calls to two different endpoints at once would
# race: refuse that loudly instead of dialling the wrong one.
_in_flight: dict[str, int] = {}


@contextlib.contextmanager
def _dialling(url: str) -> Iterator[None]:
    others = [u for u, n in _in_flight.items() if n and u != url]
    if others:
        raise RuntimeError(f"edge-tts is already dialling {others[0]}; one endpoint per process at a time")
    _in_flight[url] = _in_flight.get(url, 0) + 1
    setattr(edge_tts.communicate, "WSS_URL", url)  # noqa: B010 - a module constant, read at connect time
    try:
        yield
    finally:
        _in_flight[url] -= 1


class EdgeTts:
    """The edge-tts client with a timeout on every call, validation, and retries with exponential backoff."""

    name = "edge-tts"

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float = 30.0,
        attempts: int = 3,
        first_backoff: float = 2.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got: {timeout}")
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got: {attempts}")
        self.url = endpoint_url(url)
        self.timeout = timeout
        self.attempts = attempts
        self.first_backoff = first_backoff
        self._sleep = sleep

    async def synthesize(self, text: str, voice: Voice) -> Speech:
        if not text.strip():
            # edge-tts would save a 0-byte file without an error.
            raise TtsError("没有要读的文字", retryable=False)
        error = TtsError("edge-tts 没有尝试")
        for attempt in range(1, self.attempts + 1):
            try:
                return await self._once(text, voice)
            except TtsError as exc:
                error = exc
                if not exc.retryable or attempt == self.attempts:
                    break
                await self._sleep(self.first_backoff * 2 ** (attempt - 1))
        # The studio names the engine ("edge-tts：试了 3 次仍失败：…"): not said twice.
        raise TtsError(f"试了 {self.attempts} 次仍失败：{error}", retryable=error.retryable)

    async def _once(self, text: str, voice: Voice) -> Speech:
        try:
            communicate = edge_tts.Communicate(
                text,
                voice.name,
                rate=voice.rate,
                volume=voice.volume,
                pitch=voice.pitch,
                connect_timeout=max(1, int(self.timeout)),
                receive_timeout=max(1, int(self.timeout)),
            )
        except ValueError as exc:  # a voice or prosody value edge-tts rejects: retrying can't help
            raise TtsError(f"edge-tts 不接受这个声音设置：{exc}", retryable=False) from exc
        try:
            with _dialling(self.url):
                audio = await asyncio.wait_for(_collect(communicate), timeout=self.timeout)
        except TimeoutError:
            raise TtsError(f"edge-tts {self.timeout:g} 秒内没有读完（服务卡住了）") from None
        except aiohttp.WSServerHandshakeError as exc:
            raise TtsError(f"edge-tts 服务拒绝连接（HTTP {exc.status}）") from exc
        except aiohttp.ClientError as exc:
            raise TtsError(network_cause(exc)) from exc
        except edge_tts.exceptions.NoAudioReceived as exc:
            raise TtsError("edge-tts 没有返回声音") from exc
        except edge_tts.exceptions.EdgeTTSException as exc:
            raise TtsError(f"edge-tts 出错：{exc.__class__.__name__}: {exc}") from exc
        try:
            pcm = await decode(audio)
        except MediaError as exc:
            raise TtsError(f"edge-tts 返回的不是能播放的 MP3：{exc}") from exc
        speech = Speech(pcm, self.name)
        check_length(speech, text)
        return speech

    async def health(self) -> HealthLine:
        """One short sentence, one attempt: whether the service answers with speech now. Never raises."""
        probe = EdgeTts(self.url, timeout=min(self.timeout, 15.0), attempts=1)
        try:
            speech = await probe.synthesize("你好。", Voice())
        except (TtsError, RuntimeError) as exc:
            return HealthLine("edge-tts", False, f"{exc}（广播音频会改用离线语音）")
        return HealthLine("edge-tts", True, f"可以连接，试读 {speech.seconds:.1f} 秒")


def network_cause(exc: aiohttp.ClientError) -> str:
    """What went wrong reaching the service, in a clerk's words: never aiohttp's own text, which carries English
    and Python reprs (`ssl:<ssl.SSLContext object at 0x…>`)."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "找不到在线语音服务器（这台电脑可能没联网，或者连不上域名解析）"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "和在线语音服务器的加密连接没建立起来（请看这台电脑的系统时间对不对，或者网络是否要求登录）"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"连不上在线语音服务器 {exc.host}:{exc.port}（网络不通，或者被防火墙挡住了）"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "在线语音服务器中途断开了连接"
    return f"连在线语音服务器时网络出错（{exc.__class__.__name__}）"


async def _collect(communicate: edge_tts.Communicate) -> bytes:
    chunks: list[bytes] = []
    async for message in communicate.stream():
        if message["type"] == "audio":
            chunks.append(message["data"])
    return b"".join(chunks)
