"""A stand-in for the edge-tts service on 127.0.0.1, speaking its websocket framing (like httpx's MockTransport).

The real `edge_tts.Communicate` runs against it unchanged (point `EdgeTts(url=server.url)` or `BOT_EDGE_TTS_URL` at
it). Each connection takes the next mode from `modes`, then `default`:

- "ok": turn.start, metadata, the audio in binary frames, turn.end
- "no_audio": turn.start, turn.end
- "drop": turn.start, then the connection is cut
- "truncate": a quarter of the audio, then close without turn.end
- "forbidden" / "unavailable": HTTP 403 / 503 at the handshake
- "stall": turn.start, then nothing until the server closes

The "audio" is a tone shaped like speech (0.25 s per spoken character, MPEG-2 Layer III 24 kHz 48 kbps mono,
as the real service sends), so lengths and loudness can be checked.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from html import unescape
from typing import Literal

from aiohttp import WSMsgType, web

from bot.audio.edge import spoken_chars
from bot.audio.media import run_ffmpeg

Mode = Literal["ok", "no_audio", "drop", "truncate", "forbidden", "unavailable", "stall"]
MODES: tuple[Mode, ...] = ("ok", "no_audio", "drop", "truncate", "forbidden", "unavailable", "stall")
SECONDS_PER_CHAR = 0.25
_PROSODY = re.compile(
    r"<voice name='([^']*)'><prosody pitch='([^']*)' rate='([^']*)' volume='([^']*)'>(.*)</prosody>", re.S
)


@dataclass(frozen=True)
class Request:
    """What the client asked for on one connection (None fields: it never got that far)."""

    mode: Mode
    text: str | None = None
    voice: str | None = None
    rate: str | None = None
    volume: str | None = None
    pitch: str | None = None


async def tone_mp3(seconds: float) -> bytes:
    """A speech-like tone (220 Hz, syllable-rate tremolo, about -20 LUFS) as the service's MP3 format."""
    out, _err = await run_ffmpeg(
        [
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=220:sample_rate=24000:duration={seconds:.3f}",
            "-af",
            "volume=6dB,tremolo=f=4:d=0.8",  # sine's default amplitude is 1/8: about -20 LUFS, as speech is
            "-c:a",
            "libmp3lame",
            "-b:a",
            "48k",
            "-ar",
            "24000",
            "-ac",
            "1",
            "-f",
            "mp3",
            "pipe:1",
        ]
    )
    return out


def _frame(path: str, body: str = "") -> str:
    headers = f"X-RequestId:{uuid.uuid4().hex}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}"
    return f"{headers}\r\n\r\n{body}"


def _audio_frame(data: bytes) -> bytes:
    header = f"X-RequestId:{uuid.uuid4().hex}\r\nContent-Type:audio/mpeg\r\nPath:audio\r\n".encode()
    return len(header).to_bytes(2, "big") + header + data


@dataclass
class LoopbackEdgeTts:
    """`async with LoopbackEdgeTts(modes=["unavailable", "ok"]) as server:` then dial `server.url`."""

    modes: deque[Mode] | list[Mode] = field(default_factory=list)
    default: Mode = "ok"
    requests: list[Request] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    def __post_init__(self) -> None:
        for mode in (*self.modes, self.default):
            if mode not in MODES:
                raise ValueError(f"mode must be one of {', '.join(MODES)}, got: {mode!r}")
        self.modes = deque(self.modes)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=loopback"

    async def __aenter__(self) -> LoopbackEdgeTts:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _next_mode(self) -> Mode:
        assert isinstance(self.modes, deque)
        return self.modes.popleft() if self.modes else self.default

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        mode = self._next_mode()
        if mode == "forbidden":
            self.requests.append(Request(mode))
            return web.Response(status=403, text="Forbidden")
        if mode == "unavailable":
            self.requests.append(Request(mode))
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        ssml = ""
        async for msg in ws:
            if msg.type is WSMsgType.TEXT and "Path:ssml" in msg.data:
                ssml = msg.data
                break
        found = _PROSODY.search(ssml)
        if found is None:
            await ws.close()
            return ws
        voice, pitch, rate, volume, escaped = found.groups()
        text = unescape(escaped)
        self.requests.append(Request(mode, text, voice, rate, volume, pitch))
        await ws.send_str(_frame("turn.start", '{"context":{"serviceTag":"loopback"}}'))
        if mode == "drop":
            # Cut without a closing handshake, as a broken connection would.
            if request.transport is not None:
                request.transport.close()
            return ws
        if mode == "stall":
            await self._closing.wait()
            return ws
        audio = b"" if mode == "no_audio" else await tone_mp3(max(spoken_chars(text), 1) * SECONDS_PER_CHAR)
        if mode == "truncate":
            audio = audio[: len(audio) // 4]
        else:
            meta = {
                "Metadata": [
                    {
                        "Type": "SentenceBoundary",
                        "Data": {"Offset": 1000000, "Duration": 10000000, "text": {"Text": text}},
                    }
                ]
            }
            await ws.send_str(_frame("audio.metadata", json.dumps(meta, ensure_ascii=False)))
        for i in range(0, len(audio), 4096):
            await ws.send_bytes(_audio_frame(audio[i : i + 4096]))
        if mode != "truncate":
            await ws.send_str(_frame("turn.end", "{}"))
        await ws.close()
        return ws
