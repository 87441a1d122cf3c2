"""Alerts to the admins: rendered from a `messages/` template, sent once per key, held over quiet hours."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from bot.clock import Clock
from bot.config.campaign import LoadedCampaign
from bot.core.alert_kinds import BY_TEMPLATE, FAILED, MISSED, UNCONFIRMED, Alert
from bot.core.planner import PlannedJob, Target, admin_targets
from bot.core.render import TemplateError
from bot.delivery import Outcome, Stopping, job_label
from bot.store.base import DeferredAlert, DeferredAlerts, DeliveryStatus

log = logging.getLogger(__name__)
# The tag of an instant among a kept alert's variables (JSON has no type for it).
_INSTANT: Final = "$instant"
# Ends the one alert of an episode (a full disk): the later failures of the same episode are not told one by one.
EPISODE_NOTE = "。在这个问题解决之前，后面的消息也会同样失败，都记为发送失败，不再逐条提醒"

# Sends one alert text to one admin under the alert's key (the pipeline's `send_now`, one try, alert priority).
SendAlert = Callable[[Target, str, str], Awaitable[Outcome]]


@dataclass
class Alerter:
    current: Callable[[], LoadedCampaign]
    clock: Clock
    send: SendAlert
    # Alerts that came in quiet hours, kept in the store until `flush` sends them once the hours end.
    held: DeferredAlerts
    # Whether the store may hold alerts to flush: at start (an earlier run may have left some), and after each
    # deferral. Spares the store a read on every flush tick when nothing is held.
    _maybe_held: bool = True

    async def alert(self, alert: Alert) -> None:
        """Tell every admin, once per key (the store dedups across restarts and runners).

        In quiet hours the alert is kept in the store for `flush` at the end of them. An alert that can't be
        delivered is logged; it never raises into the caller (an alert about a failed alert would loop, and a
        failure must never end a job for the other targets)."""
        await self._safely(alert, later=self._quiet())

    async def _safely(self, alert: Alert, *, later: bool) -> None:
        try:
            if later:
                self._defer(alert)
            else:
                await self._tell(alert)
        except (asyncio.CancelledError, Stopping):
            raise
        except Exception:
            log.exception("给管理员的提醒 %s 没能发出", alert.key)

    def _quiet(self) -> bool:
        return self.current().campaign.rules.quiet_hours.contains(self.clock.now().time())

    def _defer(self, alert: Alert) -> None:
        variables = json.dumps(alert.variables, ensure_ascii=False, sort_keys=True, default=_encode)
        self.held.defer(alert.key, alert.kind.template, variables, self.clock.now())
        self._maybe_held = True
        log.warning("免打扰时段，给管理员的提醒等到早上再发：%s", alert.key)

    async def _tell(self, alert: Alert) -> None:
        loaded = self.current()
        try:
            text = loaded.renderer.render_named(alert.kind.template, alert.variables)
        except TemplateError:
            log.exception("提醒模板 %s 出错", alert.kind.template)
            return
        told = False
        for admin in admin_targets(loaded.campaign):
            outcome = await self.send(admin, text, alert.key)
            told = told or outcome.fresh
            if outcome.fresh and outcome.status is not DeliveryStatus.SENT:
                log.error("没能提醒 %s：%s\n%s", admin.name, outcome.detail, text)
        if told:  # an alert already given (same key: the same episode) is not logged again either
            log.warning("已提醒管理员：%s", text.splitlines()[0])

    async def flush(self) -> None:
        """Outside quiet hours: send the alerts kept over them, each then forgotten. Once only: an alert sent but
        not yet forgotten when the process stopped is sent again by the next run, and the store's claim on its key
        keeps the admins from getting it twice. Never raises (a store outage is logged and tried next time)."""
        if not self._maybe_held or self._quiet():
            return
        try:
            self._maybe_held = False
            for kept in self.held.deferred():
                alert = _revived(kept)
                if alert is not None:
                    await self._safely(alert, later=False)
                self.held.forget(kept.key)
        except (asyncio.CancelledError, Stopping):
            self._maybe_held = True
            raise
        except Exception:
            self._maybe_held = True
            log.exception("免打扰时段留下的提醒没能发出")

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
        await self.alert(MISSED(key, jobs=rows, grace_minutes=int(grace.total_seconds() // 60)))

    async def unconfirmed(self, rows: list[tuple[str, str]]) -> None:
        """Tell the admins which deliveries may or may not have arrived: (what, to whom) pairs."""
        if not rows:
            return
        key = "alert/unconfirmed/" + ",".join(sorted(f"{k}>{t}" for k, t in rows))
        await self.alert(UNCONFIRMED(key, deliveries=[{"label": k, "target": t} for k, t in rows]))

    async def failed(
        self, job: PlannedJob, target: Target, attempt: int, attempts: int, error: str, episode: str = ""
    ) -> None:
        """One failed delivery. With an `episode` (a condition that fails every message alike, e.g. a full disk):
        one alert per episode, naming the first message it stopped; each failure is still recorded FAILED."""
        label = job_label(job)
        if episode:
            once = FAILED(
                f"alert/episode/{episode}", attempts=0, label=label, target=target.name, error=error + EPISODE_NOTE
            )
            await self.alert(once)
            return
        key = f"alert/failed/{job.key}/{target.id}/{attempt}"
        await self.alert(FAILED(key, attempts=attempts, label=label, target=target.name, error=error))


def _encode(value: object) -> object:
    """JSON for the variables JSON has no type for: instants (a missed job's time), tagged to come back as such."""
    if isinstance(value, datetime):
        return {_INSTANT: value.isoformat()}
    raise TypeError(f"an alert variable JSON can't keep: {value!r}")


def _decode(obj: dict[str, Any]) -> object:
    return datetime.fromisoformat(obj[_INSTANT]) if obj.keys() == {_INSTANT} else obj


def _revived(kept: DeferredAlert) -> Alert | None:
    """The alert a kept row stands for; None (logged) when this version no longer knows its kind or variables."""
    kind = BY_TEMPLATE.get(kept.template)
    try:
        if kind is None:
            raise ValueError(f"unknown alert template {kept.template}")
        return kind(kept.key, **json.loads(kept.variables, object_hook=_decode))
    except ValueError:
        log.exception("免打扰时段留下的提醒 %s 已无法发出，丢弃", kept.key)
        return None
