"""From speech to the broadcast-ready clip: chime, the message N times with pauses, one loudness, MP3, ID3 tags.

Loudness is measured on the whole assembled clip (ffmpeg ebur128, BS.1770) and set with a fixed gain plus a
limiter for the true peak, instead of ffmpeg's loudnorm, which is wrong on clips under about 3 s. The file is
MPEG-1 Layer III, 44.1 kHz, mono, CBR: what village loudspeaker systems accept.
"""

from __future__ import annotations

import array
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.audio.base import BYTES_PER_SECOND, SAMPLE_RATE
from bot.audio.media import PCM_INPUT, Loudness, measure_encoded, measure_pcm, run_ffmpeg

_SENTENCE = re.compile(r"[^。！？!?\n]*[。！？!?]+[”’」』）)]*|[^。！？!?\n]+")
# What LAME's low-pass at 64 kbps mono takes off speech, measured after decoding (0.3–0.6 LU): added to the gain.
ENCODER_LOSS_DB = 0.4
# Headroom below the true-peak target for the limiter: it limits sample peaks, and MP3 encoding overshoots a little.
LIMIT_MARGIN_DB = 1.0


def split_sentences(script: str) -> list[str]:
    """At 。！？ and newlines, punctuation kept; blank pieces dropped. edge-tts itself splits only at spaces."""
    return [s.strip() for s in _SENTENCE.findall(script) if s.strip()]


def batches(sentences: list[str], max_bytes: int = 1200) -> list[str]:
    """Sentences grouped into requests of at most `max_bytes` of UTF-8 (one sentence may exceed it alone)."""
    out: list[str] = []
    current = ""
    for s in sentences:
        if current and len((current + s).encode()) > max_bytes:
            out.append(current)
            current = ""
        current += s
    if current:
        out.append(current)
    return out


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * SAMPLE_RATE) * 2)


@cache
def _chime_shape() -> tuple[float, ...]:
    notes = ((1046.5, 0.0), (1318.5, 0.28), (1568.0, 0.56))
    length = int(1.4 * SAMPLE_RATE)
    acc = [0.0] * length
    for freq, start in notes:
        first = int(start * SAMPLE_RATE)
        for i in range(length - first):
            t = i / SAMPLE_RATE
            envelope = math.exp(-4.0 * t) * min(1.0, t / 0.005)
            w = 2 * math.pi * freq * t
            acc[first + i] += envelope * (math.sin(w) + 0.35 * math.sin(2 * w) + 0.12 * math.sin(3 * w))
    peak = max(abs(x) for x in acc)
    return tuple(x / peak for x in acc)


def chime(peak: float = 0.3) -> bytes:
    """A three-note ascending chime (C6–E6–G6, bell-like partials, exponential decay), about 1.4 s, made here;
    `peak` is its peak amplitude (full scale 1.0)."""
    samples = array.array("h", (round(x * peak * 32767) for x in _chime_shape()))
    if sys.byteorder == "big":  # pragma: no cover - PCM here is little-endian
        samples.byteswap()
    return samples.tobytes()


def peak_of(pcm: bytes) -> float:
    samples = array.array("h", pcm)
    if sys.byteorder == "big":  # pragma: no cover
        samples.byteswap()
    return max(max(samples, default=0), -min(samples, default=0)) / 32768


def assemble(speech: bytes, repeats: int, pause_seconds: float) -> bytes:
    """Chime, a breath, then the speech `repeats` times with `pause_seconds` between, and a short tail.

    The chime peaks a little below the speech, whatever the engine's level: it announces the message without
    dominating the clip's loudness (a loud chime before quiet speech would leave the speech quiet after normalising).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got: {repeats}")
    gap = silence(pause_seconds)
    body = gap.join([speech] * repeats)
    return chime(0.7 * (peak_of(speech) or 0.3)) + silence(0.6) + body + silence(0.5)


@dataclass(frozen=True)
class Tags:
    title: str
    town: str
    activity: str
    date: str  # YYYY-MM-DD
    comment: str = ""


@dataclass(frozen=True)
class Finished:
    mp3: bytes
    seconds: float
    measured: Loudness
    gain_db: float


async def finish(
    pcm: bytes,
    tags: Tags,
    *,
    loudness_lufs: float = -16.0,
    true_peak_dbtp: float = -1.5,
    bitrate_kbps: int = 64,
) -> Finished:
    """Loudness-normalise and encode assembled PCM; returns the MP3 bytes with ID3v2.3 tags (nothing on disk).

    A fixed gain brings the clip to `loudness_lufs`; if that would push the true peak over `true_peak_dbtp`, a limiter
    holds it, which lowers the loudness by an amount known only afterwards: so then the encoded file itself is
    measured, and if it is off by more than 0.5 LU the gain is corrected once and the clip encoded again.
    The whole clip is measured, chime and repeats included: gating makes a part's loudness differ from the whole's.
    Raises ValueError for a silent clip."""
    measured = await measure_pcm(pcm)
    if not math.isfinite(measured.integrated_lufs):
        raise ValueError("the clip is silent: nothing to normalise")
    gain = loudness_lufs - measured.integrated_lufs + ENCODER_LOSS_DB
    limit = measured.true_peak_dbtp + gain > true_peak_dbtp - LIMIT_MARGIN_DB
    mp3 = await _encode(pcm, gain, limit, tags, true_peak_dbtp, bitrate_kbps)
    if not limit:
        # A plain gain is exact; the MP3 encoder's low-pass costs at most a few tenths of a LU.
        return Finished(mp3, len(pcm) / BYTES_PER_SECOND, measured, gain)
    after = await measure_encoded(mp3)
    if abs(after - loudness_lufs) > 0.5:
        correction = loudness_lufs - after
        limit = limit or measured.true_peak_dbtp + gain + correction > true_peak_dbtp - LIMIT_MARGIN_DB
        gain += correction
        mp3 = await _encode(pcm, gain, limit, tags, true_peak_dbtp, bitrate_kbps)
    return Finished(mp3, len(pcm) / BYTES_PER_SECOND, measured, gain)


async def _encode(pcm: bytes, gain: float, limit: bool, tags: Tags, true_peak_dbtp: float, bitrate_kbps: int) -> bytes:
    """One ffmpeg pass: gain (and limiter), MP3 encoder, tags."""
    chain = f"volume={gain:.2f}dB"
    if limit:
        ceiling = 10 ** ((true_peak_dbtp - LIMIT_MARGIN_DB) / 20)
        chain += f",alimiter=limit={ceiling:.4f}:level=false:latency=true:attack=2:release=60"
    metadata: list[str] = []
    for key, value in (
        ("title", tags.title),
        ("artist", tags.town),
        ("album", tags.activity),
        ("date", tags.date),
        ("genre", "Speech"),
        ("comment", tags.comment),
    ):
        if value:
            metadata += ["-metadata", f"{key}={value}"]
    mp3, _ = await run_ffmpeg(
        [
            "-v",
            "error",
            *PCM_INPUT,
            "-af",
            chain,
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{bitrate_kbps}k",
            # LAME's faster search: twice the speed of the default, no audible difference for speech on a loudspeaker.
            "-compression_level",
            "7",
            "-ar",
            str(SAMPLE_RATE),
            "-ac",
            "1",
            *metadata,
            "-id3v2_version",
            "3",
            "-write_id3v1",
            "0",
            "-f",
            "mp3",
            "pipe:1",
        ],
        pcm,
    )
    return mp3


def write_atomic(path: Path, data: bytes) -> None:
    """Whole or not at all: a temporary file in the same folder, fsynced, then renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            # mkstemp makes 0600; clips and play sheets are for the operator's account too (and a web server).
            os.fchmod(fh.fileno(), 0o644)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
