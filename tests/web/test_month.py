"""The 台账 month page's ledger (one aggregate query, only the month's records) gives the same rows, statuses,
counts, photos and unfiled items as `laba report`'s `month_ledger`."""

from __future__ import annotations

from bot.proof.ledger import Ledger, month_ledger
from bot.web.month import month_page_ledger
from tests.proof.conftest import at, message, photo
from tests.web.conftest import Site
from tests.web.test_upload import send_photo


def _shape(ledger: Ledger) -> object:
    rows = [
        (a.window.activity.id, r.unit.id, r.status, r.counted, [i.id for i in r.items])
        for a in ledger.activities
        for r in a.rows
    ]
    return ledger.title, rows, [i.id for i in ledger.unfiled]


def test_the_month_page_agrees_with_the_report(april: Site) -> None:
    client = april.client()
    for seed in (1, 2, 3):
        send_photo(client, april.link("changchun"), photo(seed))  # 3 of 3: submitted
    for seed in (4, 5, 4):
        send_photo(client, april.link("shanling"), photo(seed))  # 2 counted + a duplicate
    for seed in (6, 7, 8):
        send_photo(client, april.link("xiangjian"), photo(seed))
    first = april.console.evidence.items(["2024-04"])[-1]
    april.console.actions.reject(first.id, "看不清", "冉晓燕", april.clock.now())
    april.console.store.record_proof("2024-05", "changchun", april.clock.now(), "纸质材料")

    async def stranger() -> None:  # a photo from someone bound to no unit: filed under nothing
        await april.app.router.dispatch(message("stranger", at(4, 8, 11), photos=(photo(9),), group="changchun-work"))
        await april.intake.flush()

    april.run(stranger())
    loaded = april.app.loaded
    evidence = april.console.evidence
    for month in (3, 4, 5):
        page = month_page_ledger(loaded, april.console.store, evidence, 2024, month)
        report = month_ledger(loaded, april.console.store, evidence, 2024, month)
        assert _shape(page) == _shape(report)
    april_page = month_page_ledger(loaded, april.console.store, evidence, 2024, 4)
    statuses = {r.unit.id: (r.status, r.counted) for a in april_page.activities for r in a.rows}
    assert statuses["changchun"] == ("submitted", 3) and statuses["shanling"][0] == "missing"
    assert april_page.unfiled, "the stranger's photo is listed as unfiled"
