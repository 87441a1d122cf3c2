"""Broadcast jobs: each operator's loudspeaker clip and its play sheet, or the script to read aloud as a fallback.

Production happens after the claim (only the claimant works) or ahead of time into the producer's cache
(`Broadcasts.prepare`). When a clip can't be made the operator gets the script and the admins are told.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.audio.base import AudioError, Clip, ClipProducer
from bot.audio.studio import clip_request
from bot.channels.base import Channel, OutgoingFile
from bot.clock import Clock
from bot.config.campaign import LoadedCampaign
from bot.core.alert_kinds import AUDIO_FAILED, TTS_FALLBACK, Alert
from bot.core.planner import PlannedJob, Target
from bot.core.render import ProofFacts, job_context
from bot.delivery import Attempt, Send, job_label

log = logging.getLogger(__name__)

TellAdmins = Callable[[Alert], Awaitable[None]]


@dataclass(frozen=True)
class Broadcasts:
    loaded: LoadedCampaign
    producer: ClipProducer | None
    channel: Channel
    clock: Clock
    alert: TellAdmins
    # Troubles the admins have been told about, by name, and since when (see `_episode`): the pipeline's, kept
    # across jobs.
    episodes: dict[str, datetime] = field(default_factory=dict)

    async def sender(self, job: PlannedJob, target: Target, facts: ProofFacts, attempt: Attempt) -> tuple[Send, str]:
        """Produce one operator's clip. Returns how to send it and a note for the record. The clip goes as a file,
        then the play sheet as text; if production fails, the play sheet carries the script to read aloud, the
        admins get the script too, and the note records the failure."""
        script = self.loaded.renderer.script(job, target, facts)
        clip: Clip | None = None
        error = "没有开启广播音频制作"  # BOT_TTS_ENGINE=none: a choice, not a failure, so no alert
        if self.producer is not None:
            try:
                clip = await self.producer.produce(clip_request(self.loaded, job, target, script))
            except AudioError as exc:
                error = str(exc)
        sheet = {"title": clip.title, "file": clip.path.name, "seconds": round(clip.seconds)} if clip else None
        ctx = {**job_context(self.loaded.campaign, job, target, facts), "script": script, "clip": sheet}
        text = self.loaded.renderer.render_named(job.kind.value, {**ctx, "error": "" if clip else error})

        async def send_text() -> str:
            return await self.channel.send_text(target, text, handoff=attempt.handoff)

        if clip is None and self.producer is None:
            return send_text, f"{error}，改发广播稿："
        if clip is None:
            log.error("广播音频没做成，改发广播稿：%s → %s：%s", job_label(job), target.name, error)
            key = self._episode("audio_failed")
            await self.alert(AUDIO_FAILED(key, label=job_label(job), target=target.name, error=error, script=script))
            return send_text, f"音频制作失败，改发广播稿（{error}）："
        self._clip_made(clip)
        if clip.fallback:
            await self._tell_fallback(job, clip)
        return self._clip_then_sheet(target, clip, attempt, send_text), ""

    def _clip_then_sheet(self, target: Target, clip: Clip, attempt: Attempt, send_text: Send) -> Send:
        file_id = ""

        async def send_clip() -> str:
            nonlocal file_id
            if not file_id:  # a retry after the play sheet failed must not send the clip twice
                file_id = await self.channel.send_file(
                    target, OutgoingFile(clip.path, clip.path.name), handoff=attempt.handoff
                )
                attempt.partly_sent = True
                log.info("广播音频 %s 已发给 %s（%s）", clip.path.name, target.name, file_id)
            return await send_text()

        return send_clip

    def _episode(self, name: str) -> str:
        """The alert key of the running episode of a trouble (`tts_fallback`, `audio_failed`): every clip meets
        it while it lasts, so the admins are told once per episode (issue 10 M5), not once per clip or per day.
        An episode ends when clips come out right again (`_clip_made`); a restart begins a new one."""
        since = self.episodes.setdefault(name, self.clock.now())
        return f"alert/{name}/{since:%Y-%m-%dT%H:%M:%S}"

    def _clip_made(self, clip: Clip) -> None:
        self.episodes.pop("audio_failed", None)
        if not clip.fallback and not clip.cached:  # the preferred voice spoke just now: it works again
            self.episodes.pop("tts_fallback", None)

    async def _tell_fallback(self, job: PlannedJob, clip: Clip) -> None:
        # While edge-tts is down every clip falls back: once per episode is enough.
        key = self._episode("tts_fallback")
        await self.alert(TTS_FALLBACK(key, engine=clip.engine, error=clip.fallback, label=job_label(job)))

    async def prepare(self, job: PlannedJob, facts: ProofFacts) -> list[Clip]:
        """Produce a broadcast job's clips ahead of delivery (into the producer's cache); sends nothing, claims
        nothing. A failure here is logged and tried again at delivery, which falls back to the script."""
        if job.broadcast is None or self.producer is None:
            return []
        clips = []
        for target in job.targets:
            script = self.loaded.renderer.script(job, target, facts)
            try:
                clip = await self.producer.produce(clip_request(self.loaded, job, target, script))
            except AudioError as exc:
                log.warning("提前制作广播音频失败，到发送时再做：%s → %s：%s", job_label(job), target.name, exc)
                continue
            self._clip_made(clip)
            if clip.fallback:
                await self._tell_fallback(job, clip)
            clips.append(clip)
        return clips
