"""The 台账 year grid gives the same status and count per unit and activity as `laba report`'s ledger."""

from __future__ import annotations

from bot.proof.ledger import year_ledger
from bot.web.grid import year_grid
from tests.proof.conftest import photo
from tests.web.conftest import Site
from tests.web.test_upload import send_photo


def test_the_year_grid_agrees_with_the_report(april: Site) -> None:
    client = april.client()
    for seed in (1, 2, 3):
        send_photo(client, april.link("changchun"), photo(seed))  # 3 of 3: submitted
    for seed in (4, 5, 4):
        send_photo(client, april.link("shanling"), photo(seed))  # 2 counted + a duplicate: still missing
    for seed in (6, 7, 8):
        send_photo(client, april.link("xiangjian"), photo(seed))
    first = april.console.evidence.items(["2024-04"])[-1]
    april.console.actions.reject(first.id, "看不清", "冉晓燕", april.clock.now())  # xiangjian back to 2 of 3
    april.console.store.record_proof("2024-05", "changchun", april.clock.now(), "纸质材料")  # a manual record
    loaded = april.app.loaded
    grid = year_grid(loaded, april.console.store, 2024)
    ledger = year_ledger(loaded, april.console.store, april.console.evidence, 2024)
    expected = {(r.unit.id, a.window.activity.id): (r.status, r.counted) for a in ledger.activities for r in a.rows}
    assert {k: (c.status, c.counted) for k, c in grid.cells.items()} == expected
    assert grid.cells[("changchun", "2024-04")].status == "submitted"
    assert grid.cells[("shanling", "2024-04")].status == "missing"
    assert grid.cells[("changchun", "2024-05")].status == "submitted"
