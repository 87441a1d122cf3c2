"""The ledger (台账): per activity, per responsible unit, what was sent and where the unit stands.

A unit's status for an activity:

- **submitted** (已提交): it has at least `min_photos` counted photos (accepted, not duplicates; or a manual
  `record_proof` record) and none of its kept items carries a flag;
- **flagged** (待核对): as submitted, but some kept item carries a flag (duplicate, near duplicate, EXIF time outside
  the window). It counts as submitted for the chase and the summary (the unit did its part; the office checks the
  flagged photos and can `#驳回` them, which may turn the unit back to missing);
- **missing** (未提交): anything less.

The chase and the month-end summary ask `Store.units_with_proof`, the same rule, so the ledger, the chase and the
summary never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

from bot.config.campaign import LoadedCampaign
from bot.core.model import Unit
from bot.proof.windows import ActivityWindow, windows
from bot.store.base import Store
from bot.store.evidence import Evidence, EvidenceStatus, EvidenceStore

Status = Literal["submitted", "flagged", "missing"]
STATUS_CN: Final[dict[str, str]] = {"submitted": "已提交", "flagged": "待核对", "missing": "未提交"}
EVIDENCE_STATUS_CN: Final = {
    EvidenceStatus.ACCEPTED: "已收",
    EvidenceStatus.PENDING: "暂存",
    EvidenceStatus.REFUSED: "未收下",
    EvidenceStatus.REJECTED: "已驳回",
}


@dataclass(frozen=True)
class UnitRow:
    unit: Unit
    status: Status
    counted: int
    items: tuple[Evidence, ...]  # everything filed under (activity, unit), refused and rejected ones included

    @property
    def status_cn(self) -> str:
        return STATUS_CN[self.status]

    @property
    def photos(self) -> tuple[Evidence, ...]:
        return tuple(i for i in self.items if i.kind == "photo" and i.sha256)


@dataclass(frozen=True)
class ActivityLedger:
    window: ActivityWindow
    rows: tuple[UnitRow, ...]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.rows if r.status == status)

    def names(self, status: Status) -> list[str]:
        return [r.unit.name for r in self.rows if r.status == status]


@dataclass(frozen=True)
class Ledger:
    title: str
    activities: tuple[ActivityLedger, ...]
    unfiled: tuple[Evidence, ...]  # pending or refused items with no activity, received in the period


def month_ledger(loaded: LoadedCampaign, store: Store, evidence: EvidenceStore, year: int, month: int) -> Ledger:
    chosen = [w for w in windows(loaded.campaign, loaded.plan) if w.year == year and w.activity.month == month]
    return _ledger(loaded, store, evidence, f"{year}年{month}月", chosen, lambda e: _in_month(e, year, month))


def year_ledger(loaded: LoadedCampaign, store: Store, evidence: EvidenceStore, year: int) -> Ledger:
    chosen = [w for w in windows(loaded.campaign, loaded.plan) if w.year == year]
    return _ledger(loaded, store, evidence, f"{year}年", chosen, lambda e: e.received_at.year == year)


def _in_month(e: Evidence, year: int, month: int) -> bool:
    return (e.received_at.year, e.received_at.month) == (year, month)


def _ledger(
    loaded: LoadedCampaign,
    store: Store,
    evidence: EvidenceStore,
    title: str,
    chosen: Iterable[ActivityWindow],
    in_period: Callable[[Evidence], bool],
) -> Ledger:
    chosen = list(chosen)
    items = evidence.items()
    by_key: dict[tuple[str | None, str | None], list[Evidence]] = {}
    for e in items:
        by_key.setdefault((e.activity_id, e.unit_id), []).append(e)
    out = []
    campaign = loaded.campaign
    for w in chosen:
        done = store.units_with_proof(w.activity.id, w.min_photos)
        rows = []
        for unit in campaign.responsible_units(w.activity):
            filed = tuple(by_key.get((w.activity.id, unit.id), ()))
            counted = sum(1 for e in filed if e.counts)
            flagged = any(e.flags for e in filed if e.status is EvidenceStatus.ACCEPTED)
            status: Status = "missing" if unit.id not in done else ("flagged" if flagged else "submitted")
            rows.append(UnitRow(unit, status, counted, filed))
        out.append(ActivityLedger(w, tuple(rows)))
    unfiled = tuple(e for e in items if (e.activity_id is None or e.unit_id is None) and in_period(e))
    return Ledger(title, tuple(out), unfiled)
