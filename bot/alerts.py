"""Alerts to the admins: rendered from a `messages/` template, sent once per key, held over quiet hours."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.config.campaign import LoadedCampaign
from bot.core.planner import PlannedJob, Target, admin_targets
from bot.core.render import TemplateError
from bot.delivery import Outcome, Stopping, job_label
from bot.store.base import DeliveryStatus

log = logging.getLogger(__name__)
# Ends the one alert of an episode (a full disk): the later failures of the same episode are not told one by one.
EPISODE_NOTE = "。在这个问题解决之前，后面的消息也会同样失败，都记为发送失败，不再逐条提醒"

# Sends one alert text to one admin under the alert's key (the pipeline's `send_now`, one try, alert priority).
SendAlert = Callable[[Target, str, str], Awaitable[Outcome]]


@dataclass
class Alerter:
    current: Callable[[], LoadedCampaign]
    clock: Clock
    send: SendAlert
    # Alerts that came in quiet hours: (template, key, variables), sent by `flush` once the hours end.
    deferred: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)

    async def alert(self, template: str, key: str, variables: Mapping[str, Any]) -> None:
        """Tell every admin, once per key (the store dedups across restarts and runners).

        In quiet hours the alert waits for `flush` at the end of them. An alert that can't be delivered is logged;
        it never raises into the caller (an alert about a failed alert would loop, and a failure must never end a
        job for the other targets)."""
        try:
            await self._alert(template, key, variables)
        except (asyncio.CancelledError, Stopping):
            raise
        except Exception:
            log.exception("给管理员的提醒 %s 没能发出", key)

    async def _alert(self, template: str, key: str, variables: Mapping[str, Any]) -> None:
        loaded = self.current()
        if loaded.campaign.rules.quiet_hours.contains(self.clock.now().time()):
            self.deferred.append((template, key, variables))
            log.warning("免打扰时段，给管理员的提醒等到早上再发：%s", key)
            return
        try:
            text = loaded.renderer.render_named(template, variables)
        except TemplateError:
            log.exception("提醒模板 %s 出错", template)
            return
        told = False
        for admin in admin_targets(loaded.campaign):
            outcome = await self.send(admin, text, key)
            told = told or outcome.fresh
            if outcome.fresh and outcome.status is not DeliveryStatus.SENT:
                log.error("没能提醒 %s：%s\n%s", admin.name, outcome.detail, text)
        if told:  # an alert already given (same key: the same episode) is not logged again either
            log.warning("已提醒管理员：%s", text.splitlines()[0])

    async def flush(self) -> None:
        pending, self.deferred = self.deferred, []
        for template, key, variables in pending:
            await self.alert(template, key, variables)

    async def missed(self, missed: Iterable[tuple[PlannedJob, list[Outcome]]], grace: timedelta) -> None:
        """Tell the admins which deliveries were recorded MISSED just now (fresh outcomes), by job, naming the groups
        and people that did not get them."""
        rows: list[dict[str, Any]] = []
        keys: list[str] = []
        for job, outcomes in missed:
            names = [o.target_name for o in outcomes if o.fresh and o.status is DeliveryStatus.MISSED]
            if names:
                rows.append({"at": job.at, "label": job_label(job), "targets": len(names), "names": names})
                keys.extend(f"{job.key}>{o.target}" for o in outcomes if o.fresh)
        if not rows:
            return
        key = "alert/missed/" + hashlib.sha256(",".join(sorted(keys)).encode()).hexdigest()[:16]
        await self.alert("alert_missed", key, {"jobs": rows, "grace_minutes": int(grace.total_seconds() // 60)})

    async def unconfirmed(self, rows: list[tuple[str, str]]) -> None:
        """Tell the admins which deliveries may or may not have arrived: (what, to whom) pairs."""
        if not rows:
            return
        key = "alert/unconfirmed/" + ",".join(sorted(f"{k}>{t}" for k, t in rows))
        await self.alert("alert_unconfirmed", key, {"deliveries": [{"label": k, "target": t} for k, t in rows]})

    async def failed(
        self, job: PlannedJob, target: Target, attempt: int, attempts: int, error: str, episode: str = ""
    ) -> None:
        """One failed delivery. With an `episode` (a condition that fails every message alike, e.g. a full disk):
        one alert per episode, naming the first message it stopped; each failure is still recorded FAILED."""
        if episode:
            variables = {"attempts": 0, "label": job_label(job), "target": target.name, "error": error + EPISODE_NOTE}
            await self.alert("alert_failed", f"alert/episode/{episode}", variables)
            return
        await self.alert(
            "alert_failed",
            f"alert/failed/{job.key}/{target.id}/{attempt}",
            {"attempts": attempts, "label": job_label(job), "target": target.name, "error": error},
        )
