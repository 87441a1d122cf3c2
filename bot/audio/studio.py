"""The clip producer: engines in order of preference with fallback, a cache, and the output folder.

Output: `<out>/<YYYY-MM>/<stem>.mp3` (ASCII names: `clip_stem`), per operator an M3U playlist `<operator>.m3u`
and a printable play sheet `<operator>-bofangdan.txt`, rebuilt from `index.json` whenever a clip is added.
Finished clips are cached in `<out>/.cache/` by a hash of script, voice, engine and every production setting, so an
unchanged clip is never synthesised twice (a different village whose script reads the same shares one synthesis).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.audio.base import AudioError, Clip, ClipRequest, Speech, TtsEngine, TtsError
from bot.audio.media import MediaError
from bot.audio.produce import Tags, assemble, batches, finish, silence, split_sentences, write_atomic
from bot.config.campaign import LoadedCampaign
from bot.core.clips import clip_folder, clip_stem
from bot.core.planner import PlannedJob, Target
from bot.core.render import cn_date, cn_time

log = logging.getLogger(__name__)

# Part of every cache key: bump it when production changes how a clip sounds (chime, pauses, loudness method).
PRODUCTION_VERSION = "1"
SENTENCE_GAP_SECONDS = 0.3


def clip_request(loaded: LoadedCampaign, job: PlannedJob, target: Target, script: str) -> ClipRequest:
    """What to produce for one broadcast job and one operator (target), with the town's production settings."""
    if job.broadcast is None:
        raise ValueError(f"job must be a broadcast job, got: {job.key}")
    rule = loaded.campaign.rules.broadcast
    what = job.event.name if job.event else (job.activity.title if job.activity else job.key)
    return ClipRequest(
        script=script,
        title=f"{job.month}月垃圾分类广播：{what}",
        town=loaded.campaign.town.name,
        activity=job.activity.title if job.activity else "",
        day=job.broadcast.plays[0],
        month=clip_folder(job),
        stem=clip_stem(job, target),
        voice=job.broadcast.voice,
        repeats=job.broadcast.repeats,
        pause_seconds=rule.pause_seconds,
        loudness_lufs=rule.loudness_lufs,
        true_peak_dbtp=rule.true_peak_dbtp,
        bitrate_kbps=rule.bitrate_kbps,
        operator_id=target.id,
        operator_name=target.name,
        unit_name=target.unit_name,
        plays=job.broadcast.plays,
    )


class Studio:
    """`ClipProducer` over `engines` (preferred first). An engine that failed rests for `rest_seconds`: later clips
    go straight to the next one instead of waiting through its retries again."""

    def __init__(
        self,
        out_dir: Path,
        engines: Sequence[TtsEngine],
        *,
        rest_seconds: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not engines:
            raise ValueError("engines must not be empty")
        self.out_dir = out_dir
        self.engines = tuple(engines)
        self.rest_seconds = rest_seconds
        self._monotonic = monotonic
        self._resting_until: dict[str, float] = {}
        self._last_error: dict[str, str] = {}  # why a resting engine failed: every alert names the real cause
        self.synthesised = 0  # how many clips this studio spoke (cache misses), for the CLI and tests

    @property
    def cache_dir(self) -> Path:
        return self.out_dir / ".cache"

    def cache_key(self, request: ClipRequest, engine: str) -> str:
        fields = {
            "script": request.script,
            "voice": asdict(request.voice),
            "engine": engine,
            "repeats": request.repeats,
            "pause": request.pause_seconds,
            "lufs": request.loudness_lufs,
            "tp": request.true_peak_dbtp,
            "kbps": request.bitrate_kbps,
            "tags": [request.title, request.town, request.activity, request.day.date().isoformat()],
            "version": PRODUCTION_VERSION,
        }
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]

    async def produce(self, request: ClipRequest) -> Clip:
        errors: list[str] = []
        for engine in self.engines:
            fallback = "；".join(errors)
            cached = self.cache_dir / f"{self.cache_key(request, engine.name)}.mp3"
            seconds = _cached_seconds(cached)
            if seconds is not None:
                return self._place(request, cached, engine.name, seconds, cached=True, fallback=fallback)
            if self._monotonic() < self._resting_until.get(engine.name, float("-inf")):
                errors.append(f"{engine.name}：{self._last_error.get(engine.name, '失败')}（稍后再试）")
                continue
            try:
                speech = await self._speak(engine, request)
            except TtsError as exc:
                log.warning("%s 没能做好广播音频 %s：%s", engine.name, request.stem, exc)
                self._resting_until[engine.name] = self._monotonic() + self.rest_seconds
                self._last_error[engine.name] = str(exc)
                errors.append(f"{engine.name}：{exc}")
                continue
            try:
                finished = await finish(
                    assemble(speech.pcm, request.repeats, request.pause_seconds),
                    Tags(request.title, request.town, request.activity, f"{request.day:%Y-%m-%d}", request.unit_name),
                    loudness_lufs=request.loudness_lufs,
                    true_peak_dbtp=request.true_peak_dbtp,
                    bitrate_kbps=request.bitrate_kbps,
                )
            except (MediaError, ValueError) as exc:
                raise AudioError(f"音频编码失败：{exc}") from exc
            write_atomic(cached.with_suffix(".json"), json.dumps({"seconds": finished.seconds}).encode())
            write_atomic(cached, finished.mp3)  # last: a clip in the cache always has its length beside it
            self.synthesised += 1
            return self._place(request, cached, engine.name, finished.seconds, cached=False, fallback=fallback)
        raise AudioError("；".join(errors))

    async def _speak(self, engine: TtsEngine, request: ClipRequest) -> Speech:
        parts = [await engine.synthesize(text, request.voice) for text in batches(split_sentences(request.script))]
        if not parts:
            raise TtsError("广播稿是空的", retryable=False)
        return Speech(silence(SENTENCE_GAP_SECONDS).join(p.pcm for p in parts), engine.name)

    def _place(
        self, request: ClipRequest, source: Path, engine: str, seconds: float, *, cached: bool, fallback: str
    ) -> Clip:
        dest = self.out_dir / request.month / f"{request.stem}.mp3"
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".tmp-{os.getpid()}-{dest.name}")
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)  # same bytes, no copy; the rename makes it appear whole
        except OSError:
            tmp.write_bytes(source.read_bytes())
        os.replace(tmp, dest)
        clip = Clip(dest, request.title, seconds, engine, cached, fallback)
        self._index(request, clip)
        return clip

    def _index(self, request: ClipRequest, clip: Clip) -> None:
        folder = self.out_dir / request.month
        index_path = folder / "index.json"
        try:
            index: dict[str, Any] = json.loads(index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            index = {}
        entry = index.setdefault(
            request.operator_id, {"operator": request.operator_name, "unit": request.unit_name, "clips": {}}
        )
        entry["clips"][clip.path.name] = {
            "title": request.title,
            "seconds": round(clip.seconds, 1),
            "repeats": request.repeats,
            "plays": [p.isoformat() for p in request.plays],
            "engine": clip.engine,
        }
        write_atomic(index_path, json.dumps(index, ensure_ascii=False, indent=2).encode())
        clips = sorted(entry["clips"].items(), key=lambda kv: (kv[1]["plays"][:1], kv[0]))
        write_atomic(folder / f"{request.operator_id}.m3u", playlist(clips).encode())
        sheet = play_sheet(request.town, request.month, request.unit_name, request.operator_name, clips)
        write_atomic(folder / f"{request.operator_id}-bofangdan.txt", sheet.encode())


def playlist(clips: list[tuple[str, dict[str, Any]]]) -> str:
    lines = ["#EXTM3U"]
    for name, c in clips:
        lines += [f"#EXTINF:{round(c['seconds'])},{c['title']}", name]
    return "\n".join(lines) + "\n"


def play_sheet(town: str, month: str, unit: str, operator: str, clips: list[tuple[str, dict[str, Any]]]) -> str:
    """A printable sheet: which clip, when, how many times, a box to tick after each play."""
    year, mon = month.split("-")
    lines = [f"{town}垃圾分类宣传 广播播放单", f"{year}年{int(mon)}月　{unit}　广播员：{operator}", ""]
    for i, (name, c) in enumerate(clips, 1):
        lines.append(f"{i}. {c['title']}")
        lines.append(f"   文件：{name}（约{round(c['seconds'])}秒，里面已连播{c['repeats']}遍）")
        lines.append("   播放时间（播完打勾）：")
        for p in c["plays"]:
            at = datetime.fromisoformat(p)
            lines.append(f"   □ {cn_date(at)}{cn_time(at)}")
        lines.append("")
    lines.append("有问题请联系镇党政办公室。")
    return "\n".join(lines) + "\n"


def _cached_seconds(path: Path) -> float | None:
    """The cached clip's length, or None if it is not (fully) in the cache."""
    try:
        return float(json.loads(path.with_suffix(".json").read_text())["seconds"]) if path.is_file() else None
    except (OSError, ValueError, KeyError):
        return None
