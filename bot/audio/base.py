"""The interfaces of the audio package, in one place: a TTS engine, a clip producer, and what they exchange."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bot.core.planner import Voice

# Everything between engines and the encoder is raw PCM in one format: signed 16-bit little-endian, mono, 44.1 kHz.
SAMPLE_RATE = 44100
BYTES_PER_SECOND = SAMPLE_RATE * 2


class TtsError(Exception):
    """An engine could not turn text into speech. `retryable` says whether trying again might help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class AudioError(Exception):
    """A clip could not be produced (every engine failed, or encoding failed). Nothing was written."""


@dataclass(frozen=True)
class Speech:
    """Validated speech as PCM (see SAMPLE_RATE) and the engine that spoke it."""

    pcm: bytes
    engine: str

    @property
    def seconds(self) -> float:
        return len(self.pcm) / BYTES_PER_SECOND


class TtsEngine(Protocol):
    name: str  # shown to admins and in the cache key: "edge-tts", "espeak-ng"

    async def synthesize(self, text: str, voice: Voice) -> Speech:
        """Speak `text` (one or more sentences; the caller splits long scripts). Raises TtsError.

        Never returns silence or a partial clip: what comes back has been decoded and its length checked."""
        ...


@dataclass(frozen=True)
class ClipRequest:
    """One broadcast clip for one operator: the script and how to make, name, tag and list it."""

    script: str
    title: str  # Chinese title for the ID3 tag and the play sheet
    town: str
    activity: str
    day: datetime  # first play; the ID3 date
    month: str  # output folder, YYYY-MM
    stem: str  # ASCII file name without extension
    voice: Voice
    repeats: int
    pause_seconds: float
    loudness_lufs: float
    true_peak_dbtp: float
    bitrate_kbps: int
    operator_id: str
    operator_name: str
    unit_name: str
    plays: tuple[datetime, ...]


@dataclass(frozen=True)
class Clip:
    """A finished clip on disk. `fallback` says why the offline engine spoke it (empty when edge-tts did)."""

    path: Path
    title: str
    seconds: float
    engine: str
    cached: bool
    fallback: str = ""


class ClipProducer(Protocol):
    async def produce(self, request: ClipRequest) -> Clip:
        """The finished MP3 for `request`, from the cache when script, voice and settings are unchanged.

        Idempotent. Raises AudioError if no engine could speak it; never leaves a partial file behind."""
        ...
