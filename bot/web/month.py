"""The 台账 month page's ledger at district size: statuses and counts from the year grid's aggregate query
(`bot.web.grid.grid_cells`), and only the month's own records loaded for the photos, where
`bot.proof.ledger.month_ledger` (the report's) reads every evidence record and asks once per activity.
`tests/web/test_month.py` holds the two to the same answers.
"""

from __future__ import annotations

from datetime import datetime

from bot.config.campaign import LoadedCampaign
from bot.proof.ledger import ActivityLedger, Ledger, UnitRow
from bot.proof.windows import windows
from bot.store.evidence import Evidence, EvidenceStore
from bot.store.sql import SqlStore
from bot.web.grid import grid_cells


def month_page_ledger(
    loaded: LoadedCampaign, store: SqlStore, evidence: EvidenceStore, year: int, month: int
) -> Ledger:
    chosen = tuple(w for w in windows(loaded.campaign, loaded.plan) if w.year == year and w.activity.month == month)
    cells = grid_cells(loaded, store, chosen)
    by_key: dict[tuple[str | None, str | None], list[Evidence]] = {}
    for e in evidence.items([w.activity.id for w in chosen]) if chosen else []:
        by_key.setdefault((e.activity_id, e.unit_id), []).append(e)
    activities = []
    for w in chosen:
        rows = []
        for unit in loaded.campaign.responsible_units(w.activity):
            cell = cells[(unit.id, w.activity.id)]
            rows.append(UnitRow(unit, cell.status, cell.counted, tuple(by_key.get((w.activity.id, unit.id), ()))))
        activities.append(ActivityLedger(w, tuple(rows)))
    # The report's period is the calendar month in the town's zone.
    start = datetime(year, month, 1, tzinfo=store.zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=store.zone)
    return Ledger(f"{year}年{month}月", tuple(activities), tuple(evidence.unfiled(start, end)))
