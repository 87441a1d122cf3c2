"""Deliveries cut off mid-way (cancelled on shutdown, or an error outside the send such as the database going away).

Each is recorded as RELEASED if nothing left (the next run sends it), UNCONFIRMED if something may have (the admins
are told), SENT if the channel had answered. When the store can't be written at the time, the attempt is kept and
recorded by the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.delivery import Attempt, confirm
from bot.store.base import DeliveryStatus, Store

log = logging.getLogger(__name__)


@dataclass
class Interrupted:
    store: Store
    clock: Clock
    # Interrupted deliveries not yet recorded (the database was down), and unconfirmed ones still to report.
    orphans: list[Attempt] = field(default_factory=list)
    unconfirmed_later: list[tuple[str, str]] = field(default_factory=list)

    def abandon(self, attempt: Attempt, exc: BaseException) -> None:
        """Record a cut-off delivery; if the store can't be written now, the claim is kept for `recover`."""
        claim = attempt.claim
        attempt.done()
        log.warning("发送 %s → %s 中途被打断（%s）", claim.job_key, claim.target, type(exc).__name__)
        try:
            self._settle(attempt)
        except Exception:
            log.warning("现在记不下被打断的 %s → %s（数据库？），稍后再记", claim.job_key, claim.target)
            self.orphans.append(attempt)

    def held(self, job_key: str) -> set[str]:
        """Targets of `job_key` cut off and not yet recorded: unsettled until `recover` records them."""
        return {a.claim.target for a in self.orphans if a.claim.job_key == job_key}

    def recover(self) -> list[tuple[str, str]]:
        """Record interrupted deliveries that could not be recorded when they happened (the database was down).
        Returns the (job key, target) pairs recorded UNCONFIRMED since the last call, for the admins."""
        orphans, self.orphans = self.orphans, []
        for attempt in orphans:
            try:
                self._settle(attempt)
            except Exception:
                log.warning("仍然记不下 %s → %s（数据库？），稍后再记", attempt.claim.job_key, attempt.claim.target)
                self.orphans.append(attempt)
        keys, self.unconfirmed_later = self.unconfirmed_later, []
        return keys

    def _settle(self, attempt: Attempt) -> None:
        now = self.clock.now()
        claim = attempt.claim
        if attempt.left_as is not None:
            # The gateway took it and answered; only the record failed (the database went away): sent, not "maybe".
            # The failed write may have committed before the connection broke: then it is recorded already.
            record = self.store.get(claim.job_key, claim.target)
            if record is None or record.status is DeliveryStatus.SENDING:
                confirm(self.store, self.clock, claim, attempt.left_as, attempt.note)
        elif attempt.handed:
            self.store.mark_unconfirmed(claim, now, "发送途中程序中断，无法确认是否送达")
            self.unconfirmed_later.append((claim.job_key, claim.target))
        elif not self.store.release(
            claim.job_key, claim.target, claim.runner, now, DeliveryStatus.RELEASED, "发出前程序中断，尚未发出"
        ):
            log.error("被打断的 %s → %s 已由另一个程序接手，不再改它的记录", claim.job_key, claim.target)
