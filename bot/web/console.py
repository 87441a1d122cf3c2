"""What every console page works with, put together once from an `App` (the daemon's, or `laba web`'s own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.app import App
from bot.clock import Clock
from bot.config.campaign import LoadedCampaign, Sources
from bot.pipeline import Pipeline
from bot.proof.admin import LedgerActions
from bot.proof.intake import ProofIntake
from bot.proof.windows import ActivityWindow
from bot.settings import Settings
from bot.sorting.answers import SortingAnswers
from bot.store.evidence import EvidenceStore
from bot.store.sql import SqlStore
from bot.store.web import PAUSED, WebStore
from bot.web.accounts import Accounts

CHANNEL_CN = {"outbox": "发件箱", "wechaty": "微信"}


@dataclass
class Console:
    current: Callable[[], LoadedCampaign]
    store: SqlStore
    intake: ProofIntake
    actions: LedgerActions
    web: WebStore
    accounts: Accounts
    clock: Clock
    settings: Settings
    pipeline: Pipeline  # renders messages again (代发) and holds sending when the console runs in the daemon
    in_daemon: bool = False  # the pipeline is the daemon's: pausing applies at once
    sources: Sources | None = None  # to re-check the files on disk for the 计划 page
    sorting: SortingAnswers | None = None  # the groups' answers, reused by the public lookup page `/q`

    @property
    def evidence(self) -> EvidenceStore:
        return self.intake.evidence

    @property
    def route(self) -> str:
        return CHANNEL_CN.get(self.settings.channel, self.settings.channel)

    def window(self, activity_id: str) -> ActivityWindow | None:
        return next((w for w in self.intake.windows() if w.activity.id == activity_id), None)

    def set_paused(self, paused: bool, by: str) -> None:
        """Pause or resume sending, for the daemon wherever it runs (see `bot.web.hook.sync_pause`)."""
        now = self.clock.now()
        self.web.set_flag(PAUSED, "1" if paused else "0", by, now)
        if self.in_daemon:
            self.pipeline.hold() if paused else self.pipeline.resume()
        self.evidence.log(
            actor=by, action="pause" if paused else "resume", subject="console:sending", detail="", at=now
        )

    def paused(self) -> bool:
        if self.in_daemon:
            return self.pipeline.held
        return self.web.paused()


def console_for(app: App, settings: Settings, sources: Sources | None = None, *, in_daemon: bool = False) -> Console:
    """The console over `app`'s store, reusing its proof intake and ledger actions (one duplicate cache)."""
    actions = app.handlers.proof_admin.actions
    web = WebStore(app.store)
    return Console(
        current=app.holder.get,
        store=app.store,
        intake=actions.intake,
        actions=actions,
        web=web,
        accounts=Accounts(web),
        clock=app.clock,
        settings=settings,
        pipeline=app.pipeline,
        in_daemon=in_daemon,
        sources=sources,
        sorting=app.handlers.sorting,
    )


def local(instant: datetime, console: Console) -> datetime:
    return instant.astimezone(console.clock.zone)
