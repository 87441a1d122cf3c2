"""The offline voice: Debian's espeak-ng, voice `cmn-latn-pinyin`, fed toned pinyin from pypinyin.

Robotic but correct syllables, no network, no model download. espeak-ng's own `cmn` voice reads unknown characters
as English, so the text becomes pinyin with tone numbers first ("cun1 min2"), numbers and dates already words.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from bot.audio.base import Speech, TtsError
from bot.audio.edge import check_length
from bot.audio.media import MediaError, decode
from bot.core.planner import Voice
from bot.core.spoken import say

ESPEAK_VOICE = "cmn-latn-pinyin"
BASE_WORDS_PER_MINUTE = 250  # pinyin syllables a minute: about 4 a second, a natural pace for Chinese
_PAUSE_LONG = re.compile(r"[。！？!?；;\n]")
_PAUSE_SHORT = re.compile(r"[，、：,:“”\"‘’（）()《》·—-]")


def to_pinyin(text: str) -> str:
    """Speakable text → "cun1 min2 peng2 you3 men5 , da4 jia1 hao3 ." (tone 5 for the neutral tone)."""
    out: list[str] = []
    for item in lazy_pinyin(say(text), style=Style.TONE3, neutral_tone_with_five=True, v_to_u=True):
        item = _PAUSE_LONG.sub(" . ", item)
        item = _PAUSE_SHORT.sub(" , ", item)
        out.append(item.strip())
    return re.sub(r"\s+", " ", " ".join(o for o in out if o)).strip()


def _percent(value: str) -> int:
    return int(value.rstrip("%"))


class OfflineTts:
    """espeak-ng through a subprocess; `rate` and `volume` map onto its speed and amplitude, `pitch` onto its pitch."""

    name = "espeak-ng"

    def __init__(self, executable: str | None = None, *, timeout: float = 60.0) -> None:
        self.executable = executable or shutil.which("espeak-ng") or "espeak-ng"
        self.timeout = timeout

    async def synthesize(self, text: str, voice: Voice) -> Speech:
        pinyin = to_pinyin(text)
        if not pinyin.strip(" .,"):
            raise TtsError("没有要读的文字", retryable=False)
        speed = round(BASE_WORDS_PER_MINUTE * (1 + _percent(voice.rate) / 100))
        amplitude = max(0, min(200, round(100 * (1 + _percent(voice.volume) / 100))))
        pitch = max(0, min(99, 50 + int(voice.pitch.removesuffix("Hz")) // 2))
        args = ["-v", ESPEAK_VOICE, "-s", str(max(80, speed)), "-a", str(amplitude), "-p", str(pitch)]
        # To a file, not --stdout: a streamed WAV header says "length unknown" and ffmpeg calls the end corrupt.
        with tempfile.TemporaryDirectory(prefix="laba-espeak-") as tmp:
            out = Path(tmp) / "speech.wav"
            try:
                proc = await asyncio.create_subprocess_exec(
                    self.executable,
                    *args,
                    "-w",
                    str(out),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
            except OSError as exc:
                raise TtsError(f"找不到 espeak-ng（apt-get install espeak-ng）：{exc}", retryable=False) from exc
            try:
                _, err = await asyncio.wait_for(proc.communicate(pinyin.encode()), timeout=self.timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise TtsError(f"espeak-ng {self.timeout:g} 秒内没有读完") from None
            if proc.returncode != 0:
                raise TtsError(f"espeak-ng 出错（{proc.returncode}）：{err.decode(errors='replace').strip()}")
            wav = out.read_bytes() if out.exists() else b""
        try:
            # espeak-ng's peaks stand far above its loudness; even them out so the clip reaches the target
            # loudness without hard limiting.
            pcm = await decode(
                wav, "acompressor=threshold=0.125:ratio=4:attack=2:release=60:makeup=2,alimiter=limit=0.4:level=false"
            )
        except MediaError as exc:
            raise TtsError(f"espeak-ng 的输出不是声音：{exc}") from exc
        speech = Speech(pcm, self.name)
        check_length(speech, say(text))
        return speech
