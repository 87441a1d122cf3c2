"""The year's ledger grid (units × activities) from one aggregate query: what the 台账 page shows for a whole year
without loading every record.

The rule is `Store.units_with_proof`'s, which the chase, the summary and `laba report` ask: a unit has handed in when
it has a manual `proofs` record or at least max(min_photos, 1) counted photos (the SQL clause of
`bot.store.evidence.counted_units`); it is flagged when one of its accepted items carries a flag. Here the counts of
all activities come from one GROUP BY (served by the `ix_evidence_ledger` covering index) instead of one query per
activity; `tests/web/test_grid.py` holds the two to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import case, func, select

from bot.config.campaign import LoadedCampaign
from bot.proof.ledger import STATUS_CN, Status
from bot.proof.windows import ActivityWindow, windows
from bot.store.evidence_records import EvidenceStatus
from bot.store.proof_counts import counted_clause
from bot.store.schema import evidence, proofs
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

    def row_html(self, unit_id: str) -> Markup:
        """A unit's cells as table markup: 7,000 cells through a template's expressions cost more than the query.
        Only our own constants and numbers go in, so nothing needs escaping."""
        out = []
        for w in self.activities:
            c = self.cells.get((unit_id, w.activity.id))
            if c is None:
                out.append('<td class="muted">—</td>')
            else:
                out.append(f'<td class="status {c.status}">{STATUS_CN[c.status]} {c.counted}</td>')
        return Markup("".join(out))


def year_grid(loaded: LoadedCampaign, store: SqlStore, year: int) -> Grid:
    chosen = tuple(w for w in windows(loaded.campaign, loaded.plan) if w.year == year)
    ids = [w.activity.id for w in chosen]
    cells = grid_cells(loaded, store, chosen)
    units = tuple((u.id, u.name) for u in loaded.campaign.units if any((u.id, a) in cells for a in ids))
    return Grid(year, chosen, units, cells)


def grid_cells(
    loaded: LoadedCampaign, store: SqlStore, chosen: tuple[ActivityWindow, ...]
) -> dict[tuple[str, str], Cell]:
    """(unit id, activity id) -> status and count for every responsible unit of the `chosen` activities, from one
    aggregate query (and one over the manual records)."""
    ids = [w.activity.id for w in chosen]
    counted = func.sum(case((counted_clause(), 1), else_=0))
    kept_with_flags = (evidence.c.status == EvidenceStatus.ACCEPTED.value) & (evidence.c.flags != "")
    flagged = func.max(case((kept_with_flags, 1), else_=0))
    stmt = (
        select(evidence.c.activity_id, evidence.c.unit_id, counted, flagged)
        .where(evidence.c.activity_id.in_(ids), evidence.c.unit_id.is_not(None))
        .group_by(evidence.c.activity_id, evidence.c.unit_id)
    )
    manual = select(proofs.c.activity_id, proofs.c.unit_id).where(proofs.c.activity_id.in_(ids)).distinct()
    with store.engine.connect() as conn:
        totals = {(r[0], r[1]): (int(r[2] or 0), bool(r[3])) for r in conn.execute(stmt)}
        recorded = {(r[0], r[1]) for r in conn.execute(manual)}
    cells = {}
    for w in chosen:
        need = max(w.min_photos, 1)
        for unit in loaded.campaign.responsible_units(w.activity):
            key = (w.activity.id, unit.id)
            n, flags = totals.get(key, (0, False))
            done = n >= need or key in recorded
            status: Status = "missing" if not done else ("flagged" if flags else "submitted")
            cells[(unit.id, w.activity.id)] = Cell(status, n)
    return cells
