#!/usr/bin/env python3
"""laba audio benchmark: from synthesized speech to the finished broadcast clip, next to one ffmpeg command.

    python benchmarks/bench_audio.py              # median of 5 runs per input
    python benchmarks/bench_audio.py --json       # the same figures as JSON
    python benchmarks/bench_audio.py --check      # exit 1 if laba takes more than 1.5 x the ffmpeg command

Input: speech as edge-tts delivers it (MPEG-2 Layer III, 24 kHz, 48 kbps, mono), made once by the offline voice
from two real scripts: 金溪镇's May announcement for 长春村 (about 35 s of speech) and a one-line notice (about 2 s).
Timed, laba: what `bot.audio.studio.Studio` does after synthesis: decode and validate the MP3 (`media.decode`),
chime + the message twice with a 2 s pause (`produce.assemble`), measure, gain/limiter, encode MPEG-1 Layer III
44.1 kHz mono CBR 64 kbps with ID3 tags (`produce.finish`), and the atomic write.
Timed, baseline: one ffmpeg command on the same MP3 and the same chime (as a WAV): concat with the same silences,
single-pass `loudnorm=I=-16:TP=-1.5`, the same encoder settings and tags.
Both outputs are then measured (ffmpeg ebur128) to show they meet the target, not only how fast they are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import wave
from pathlib import Path
from time import perf_counter
from typing import Any

from bot.audio.base import SAMPLE_RATE
from bot.audio.media import decode, ffmpeg_exe, measure_file, run_ffmpeg
from bot.audio.offline import OfflineTts
from bot.audio.produce import Tags, assemble, chime, finish, peak_of, write_atomic
from bot.config.campaign import Sources, load
from bot.core.planner import Voice
from bot.core.render import ProofFacts

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5
ACTIVITY = "全国城市生活垃圾分类宣传周"
TAGS = Tags(f"5月垃圾分类广播：{ACTIVITY}", "金溪镇", ACTIVITY, "2024-05-06", "长春村")


async def edge_like_mp3(text: str) -> bytes:
    """Speech in edge-tts's own output format, made offline so the benchmark needs no network."""
    speech = await OfflineTts().synthesize(text, Voice())
    mp3, _ = await run_ffmpeg(
        [
            *("-v", "error", "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"),
            *("-c:a", "libmp3lame", "-b:a", "48k", "-ar", "24000", "-ac", "1", "-f", "mp3", "pipe:1"),
        ],
        speech.pcm,
    )
    return mp3


async def laba_path(mp3: bytes, out: Path) -> None:
    pcm = await decode(mp3)
    finished = await finish(assemble(pcm, 2, 2.0), TAGS)
    write_atomic(out, finished.mp3)


def write_chime_wav(path: Path, peak: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(chime(peak))


def baseline_args(speech: Path, chime_wav: Path, out: Path) -> list[str]:
    graph = (
        "[1:a]aresample=44100,asplit=2[s1][s2];"
        "aevalsrc=0:d=0.6:s=44100[g1];aevalsrc=0:d=2.0:s=44100[g2];aevalsrc=0:d=0.5:s=44100[g3];"
        "[0:a][g1][s1][g2][s2][g3]concat=n=6:v=0:a=1,"
        "loudnorm=I=-16:TP=-1.5:LRA=11,aresample=44100[out]"
    )
    metadata = []
    for key, value in (("title", TAGS.title), ("artist", TAGS.town), ("album", TAGS.activity), ("date", TAGS.date)):
        metadata += ["-metadata", f"{key}={value}"]
    return [
        "-v", "error", "-i", str(chime_wav), "-i", str(speech), "-filter_complex", graph, "-map", "[out]",
        "-c:a", "libmp3lame", "-b:a", "64k", "-compression_level", "7", "-ar", "44100", "-ac", "1",
        *metadata, "-id3v2_version", "3", "-write_id3v1", "0", str(out),
    ]  # fmt: skip


async def timed(fn: Any, repeat: int) -> list[float]:
    await fn()  # warm-up: page cache, ffmpeg binary
    runs = []
    for _ in range(repeat):
        start = perf_counter()
        await fn()
        runs.append(perf_counter() - start)
    return runs


async def bench(repeat: int, tmp: Path) -> dict[str, Any]:
    loaded = load(Sources(ROOT / "schedules" / "jinxi", ROOT / "messages"))
    job = loaded.plan.by_key()["2024-05/broadcast"]
    changchun = next(t for t in job.targets if t.id == "changchun-gb")
    inputs = {
        "May announcement (长春村)": loaded.renderer.script(job, changchun, ProofFacts()),
        "one-line notice": "请大家注意：明天上午九点，在村委会开院坝会。",
    }
    rows = []
    for name, text in inputs.items():
        mp3 = await edge_like_mp3(text)
        speech = tmp / "speech.mp3"
        speech.write_bytes(mp3)
        chime_wav = tmp / "chime.wav"
        write_chime_wav(chime_wav, 0.7 * peak_of(await decode(mp3)))
        ours, theirs = tmp / "laba.mp3", tmp / "ffmpeg.mp3"

        async def run_laba(mp3: bytes = mp3, ours: Path = ours) -> None:
            await laba_path(mp3, ours)

        async def run_ffmpeg_command(speech: Path = speech, chime_wav: Path = chime_wav, theirs: Path = theirs) -> None:
            await run_ffmpeg(["-y", *baseline_args(speech, chime_wav, theirs)])

        laba_runs = await timed(run_laba, repeat)
        ffmpeg_runs = await timed(run_ffmpeg_command, repeat)
        laba_loud, ffmpeg_loud = await measure_file(str(ours)), await measure_file(str(theirs))
        seconds = len(await decode(ours.read_bytes())) / (SAMPLE_RATE * 2)
        rows.append(
            {
                "input": name,
                "speech_seconds": round(len(await decode(mp3)) / (SAMPLE_RATE * 2), 1),
                "clip_seconds": round(seconds, 1),
                "laba_s": statistics.median(laba_runs),
                "laba_min": min(laba_runs),
                "laba_max": max(laba_runs),
                "ffmpeg_s": statistics.median(ffmpeg_runs),
                "ffmpeg_min": min(ffmpeg_runs),
                "ffmpeg_max": max(ffmpeg_runs),
                "ratio": statistics.median(laba_runs) / statistics.median(ffmpeg_runs),
                "laba_lufs": laba_loud.integrated_lufs,
                "laba_tp": laba_loud.true_peak_dbtp,
                "ffmpeg_lufs": ffmpeg_loud.integrated_lufs,
                "ffmpeg_tp": ffmpeg_loud.true_peak_dbtp,
            }
        )
    return {
        "python": platform.python_version(),
        "ffmpeg": Path(ffmpeg_exe()).name,
        "machine": f"{platform.system()} {platform.machine()}",
        "repeat": repeat,
        "target_ratio": TARGET_RATIO,
        "rows": rows,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"laba audio benchmark — Python {result['python']}, {result['ffmpeg']}, {result['machine']}; "
        f"median of {result['repeat']} timed runs after 1 warm-up",
        "speech (edge-tts format MP3) → finished clip: chime, 2 repeats with a 2 s pause, -16 LUFS / -1.5 dBTP, "
        "MP3 44.1 kHz mono 64 kbps, ID3",
        "",
    ]
    for r in result["rows"]:
        ok = "OK" if r["ratio"] <= result["target_ratio"] else "MISSED"
        lines += [
            f"{r['input']}: {r['speech_seconds']} s of speech → {r['clip_seconds']} s clip",
            f"   laba (decode, assemble, measure, encode, tags)  {r['laba_s']:.3f} s   "
            f"(min {r['laba_min']:.3f}, max {r['laba_max']:.3f})   {r['laba_lufs']:.1f} LUFS, {r['laba_tp']:.1f} dBTP",
            f"   baseline: one ffmpeg command (loudnorm)       {r['ffmpeg_s']:.3f} s   "
            f"(min {r['ffmpeg_min']:.3f}, max {r['ffmpeg_max']:.3f})   "
            f"{r['ffmpeg_lufs']:.1f} LUFS, {r['ffmpeg_tp']:.1f} dBTP",
            f"   ratio laba / ffmpeg                             {r['ratio']:.2f} ×   "
            f"target ≤ {result['target_ratio']} ×   {ok}",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a ratio is over the target")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="laba-bench-audio-") as tmp:
        result = asyncio.run(bench(args.repeat, Path(tmp)))
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else report(result))
    if args.check and any(r["ratio"] > TARGET_RATIO for r in result["rows"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
