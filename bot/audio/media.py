"""ffmpeg, from the imageio-ffmpeg wheel (static, with libmp3lame and ebur128): decode, measure, encode.

All calls are asynchronous subprocesses fed through pipes; nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from functools import cache

import imageio_ffmpeg

from bot.audio.base import SAMPLE_RATE

# Our own PCM on stdin: 16-bit mono at SAMPLE_RATE (every step between decode and encode works on this).
PCM_INPUT = ("-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0")


class MediaError(Exception):
    """ffmpeg refused the input or failed; the message carries its last lines of output."""


@cache
def ffmpeg_exe() -> str:
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


async def run_ffmpeg(args: list[str], data: bytes = b"") -> tuple[bytes, str]:
    """Run ffmpeg with `data` on stdin; returns (stdout, stderr). Raises MediaError on a non-zero exit."""
    proc = await asyncio.create_subprocess_exec(
        ffmpeg_exe(),
        "-hide_banner",
        *(("-y",) if data else ("-nostdin", "-y")),
        *args,
        stdin=asyncio.subprocess.PIPE if data else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(data or None)
    text = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = " / ".join(text.strip().splitlines()[-3:])
        raise MediaError(f"ffmpeg exited {proc.returncode}: {tail}")
    return out, text


async def decode(data: bytes, audio_filter: str = "") -> bytes:
    """Any audio ffmpeg reads (MP3, WAV) → PCM s16le mono 44.1 kHz, through `audio_filter` if given.
    Raises MediaError if it isn't audio (a corrupt frame is an error, not skipped)."""
    if not data:
        raise MediaError("no audio data")
    filters = ["-af", audio_filter] if audio_filter else []
    pcm, _ = await run_ffmpeg(
        [
            "-v",
            "error",
            "-xerror",
            "-i",
            "pipe:0",
            *filters,
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "pipe:1",
        ],
        data,
    )
    return pcm


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float


_INTEGRATED = re.compile(r"Integrated loudness:\s+I:\s+(-?[\d.]+|-inf)\s+LUFS", re.S)
_PEAK = re.compile(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf)\s+dBFS", re.S)


def _db(text: str) -> float:
    return float("-inf") if text == "-inf" else float(text)


def parse_ebur128(stderr: str) -> Loudness:
    i, p = _INTEGRATED.search(stderr), _PEAK.search(stderr)
    if i is None or p is None:
        raise MediaError("ffmpeg ebur128 printed no summary")
    return Loudness(_db(i[1]), _db(p[1]))


async def measure_pcm(pcm: bytes) -> Loudness:
    """EBU R128 integrated loudness and true peak of PCM (see SAMPLE_RATE), via ffmpeg's ebur128 filter."""
    _, err = await run_ffmpeg(
        [
            "-nostats",
            *PCM_INPUT,
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        pcm,
    )
    return parse_ebur128(err)


async def measure_encoded(data: bytes) -> float:
    """Integrated loudness (LUFS) of an encoded file's bytes: what a listener's decoder will hear."""
    _, err = await run_ffmpeg(["-nostats", "-i", "pipe:0", "-af", "ebur128", "-f", "null", "-"], data)
    found = _INTEGRATED.search(err)
    if found is None:
        raise MediaError("ffmpeg ebur128 printed no summary")
    return _db(found[1])


async def measure_file(path: str) -> Loudness:
    _, err = await run_ffmpeg(["-nostats", "-i", path, "-af", "ebur128=peak=true", "-f", "null", "-"])
    return parse_ebur128(err)
