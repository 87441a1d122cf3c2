"""The `audio` command: produce the loudspeaker clips now, with playlists and play sheets."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.app import make_studio
from bot.audio.base import AudioError, Clip
from bot.audio.studio import clip_request
from bot.cli.base import handle_errors, main, messages_option, parse_month, schedules_option
from bot.clock import SystemClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.planner import PlannedJob, Target
from bot.core.render import ProofFacts
from bot.health import HealthLine
from bot.settings import TTS_ENGINES, Settings

if TYPE_CHECKING:
    from bot.audio.studio import Studio

PARALLEL_CLIPS = 4


async def tts_health(settings: Settings) -> HealthLine:
    """`check --online`: whether edge-tts answers now (the offline voice needs no network)."""
    if settings.tts_engine != "edge":
        return HealthLine("语音", True, f"不用 edge-tts（BOT_TTS_ENGINE={settings.tts_engine}），不需要联网")
    from bot.audio.edge import EdgeTts  # edge-tts and aiohttp: only for the commands that speak

    return await EdgeTts(settings.edge_tts_url).health()


@main.command(
    help=(
        "现在就制作广播音频（没变的直接用缓存），并显示放在哪里。\n\n"
        "音频放在 BOT_AUDIO_DIR（默认 BOT_DATA_DIR/audio）"
        "下按月份分的文件夹里，每个广播员还有一个播放列表（.m3u）和一张播放单。"
    )
)
@schedules_option
@messages_option
@click.option("--month", help="这个月的全部广播音频，例如 2024-05 或 5月。默认是本月。")
@click.option(
    "--activity", "activity_id", help="某项活动的全部广播音频（活动编号，laba plan 里显示的，例如 2024-05）。"
)
@click.option(
    "--engine",
    type=click.Choice(TTS_ENGINES[:2]),
    default=None,
    help=(
        "用哪种语音：edge（在线语音，连不上时改用离线语音）或 offline（只用离线语音 espeak-ng）"
        "。默认看 BOT_TTS_ENGINE。"
    ),
)
@handle_errors
def audio(schedules: Path, messages: Path, month: str | None, activity_id: str | None, engine: str | None) -> None:
    """Produce the loudspeaker clips now (unchanged ones come from the cache) and print where they are.

    Clips go to BOT_AUDIO_DIR (default BOT_DATA_DIR/audio)/<YYYY-MM>/, with an M3U playlist and a play sheet per
    operator."""
    if month and activity_id:
        raise click.UsageError("--month 和 --activity 只能用一个")
    loaded = load(Sources(schedules, messages))
    settings = Settings.from_env()
    studio = make_studio(settings, engine)
    if studio is None:
        raise click.UsageError("BOT_TTS_ENGINE=none：不制作广播音频。用 --engine edge 或 --engine offline。")
    jobs = _select(loaded, month, activity_id)
    work = [(job, target) for job in jobs for target in job.targets]
    if not work:
        raise click.UsageError("这段时间没有广播音频。用 laba plan 查看广播任务（broadcast）。")
    clips, failures = asyncio.run(_produce(loaded, studio, work))
    folders = sorted({str(c.path.parent) for c in clips})
    cached = sum(1 for c in clips if c.cached)
    click.echo(f"做好 {len(clips)} 段广播音频（新合成 {studio.synthesised} 段，来自缓存 {cached} 段），在：")
    for folder in folders:
        click.echo(f"  {folder}/  （播放列表 *.m3u，播放单 *-bofangdan.txt）")
    fallbacks = sorted({c.fallback for c in clips if c.fallback})
    for reason in fallbacks:
        click.echo(f"  ! 用了离线语音：{reason}", err=True)
    for (job, target), error in failures:
        click.echo(f"  ✗ {job.key} → {target.name}：{error}", err=True)
    if failures:
        sys.exit(1)


def _select(loaded: LoadedCampaign, month: str | None, activity_id: str | None) -> list[PlannedJob]:
    jobs = [j for j in loaded.plan.jobs if j.broadcast is not None]
    if activity_id:
        chosen = [j for j in jobs if j.activity_id == activity_id]
        if not chosen:
            known = "、".join(sorted({j.activity_id or "" for j in jobs}))
            raise click.UsageError(f"没有活动 {activity_id!r}。有广播的活动：{known}")
        return chosen
    if month:
        year, mon = parse_month(month, loaded.campaign.plans[-1].year)
        wanted = f"{year}-{mon:02d}"
    else:
        wanted = f"{SystemClock().now():%Y-%m}"
    return [j for j in jobs if f"{j.year}-{j.month:02d}" == wanted]


async def _produce(
    loaded: LoadedCampaign, studio: Studio, work: Sequence[tuple[PlannedJob, Target]]
) -> tuple[list[Clip], list[tuple[tuple[PlannedJob, Target], str]]]:
    clips: list[Clip] = []
    failures: list[tuple[tuple[PlannedJob, Target], str]] = []
    # A few at a time: the ffmpeg passes use other cores, and edge-tts throttles many parallel connections.
    slots = asyncio.Semaphore(PARALLEL_CLIPS)

    async def one(job: PlannedJob, target: Target) -> None:
        script = loaded.renderer.script(job, target, ProofFacts())
        async with slots:
            try:
                clips.append(await studio.produce(clip_request(loaded, job, target, script)))
            except AudioError as exc:
                failures.append(((job, target), str(exc)))
        bar.update(1)

    with click.progressbar(length=len(work), label="制作广播音频", file=sys.stderr) as bar:
        await asyncio.gather(*(one(job, target) for job, target in work))
    clips.sort(key=lambda c: str(c.path))
    return clips, failures
