"""The year's ledger grid (units × activities) from one aggregate query: what the 台账 page shows for a whole year
without loading every record. The rule is `bot.proof.ledger`'s, on the same SQL clause the chase asks
(`bot.store.evidence.counted_units`): a unit is missing unless `Store.units_with_proof` lists it, flagged when one of
its accepted items carries a flag; a test holds the two to the same answers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from bot.config.campaign import LoadedCampaign
from bot.proof.ledger import STATUS_CN, Status
from bot.proof.windows import ActivityWindow, windows
from bot.store.evidence import EvidenceStatus, _counted_clause, evidence
from bot.store.sql import SqlStore


@dataclass(frozen=True)
class Cell:
    status: Status
    counted: int

    @property
    def status_cn(self) -> str:
        return STATUS_CN[self.status]


@dataclass(frozen=True)
class Grid:
    year: int
    activities: tuple[ActivityWindow, ...]
    units: tuple[tuple[str, str], ...]  # (id, name) in units.yaml order
    cells: dict[tuple[str, str], Cell]  # (unit id, activity id); absent: the unit is not responsible

    def submitted(self, activity_id: str) -> int:
        return sum(1 for (_, a), c in self.cells.items() if a == activity_id and c.status != "missing")

    def responsible(self, activity_id: str) -> int:
        return sum(1 for (_, a) in self.cells if a == activity_id)


def year_grid(loaded: LoadedCampaign, store: SqlStore, year: int) -> Grid:
    chosen = tuple(w for w in windows(loaded.campaign, loaded.plan) if w.year == year)
    ids = [w.activity.id for w in chosen]
    counted = func.sum(case((_counted_clause(), 1), else_=0))
    flagged = func.max(
        case(((evidence.c.status == EvidenceStatus.ACCEPTED.value) & (evidence.c.flags != ""), 1), else_=0)
    )
    stmt = (
        select(evidence.c.activity_id, evidence.c.unit_id, counted, flagged)
        .where(evidence.c.activity_id.in_(ids), evidence.c.unit_id.is_not(None))
        .group_by(evidence.c.activity_id, evidence.c.unit_id)
    )
    with store.engine.connect() as conn:
        totals = {(r[0], r[1]): (int(r[2] or 0), bool(r[3])) for r in conn.execute(stmt)}
    cells = {}
    for w in chosen:
        done = store.units_with_proof(w.activity.id, w.min_photos)
        for unit in loaded.campaign.responsible_units(w.activity):
            n, flags = totals.get((w.activity.id, unit.id), (0, False))
            status: Status = "missing" if unit.id not in done else ("flagged" if flags else "submitted")
            cells[(unit.id, w.activity.id)] = Cell(status, n)
    units = tuple((u.id, u.name) for u in loaded.campaign.units if any((u.id, a) in cells for a in ids))
    return Grid(year, chosen, units, cells)
