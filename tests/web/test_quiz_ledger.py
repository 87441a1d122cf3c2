"""The weekly quiz's month on the console's 台账 page and in its downloads (HTML, XLSX): each village's 参与率
(people who answered over the group's size, when the gateway gave one) and 知晓率 (right over answered)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.campaign import Sources
from bot.store.quiz import GroupSize, QuizAnswer, QuizStore
from tests.proof.conftest import at
from tests.web.conftest import Site, start_site


def _answers(site: Site) -> None:
    store = site.app.store
    quiz = QuizStore(store)
    for n, (unit, choice) in enumerate([("changchun", "B"), ("changchun", "A"), ("shanling", "B")]):
        quiz.record(
            QuizAnswer(
                "quiz/2024-W15",
                2024,
                4,
                f"wx{n}",
                f"村民{n}",
                f"{unit}-villagers",
                unit,
                choice,
                choice == "B",
                f"m{n}",
                at(4, 10, 10) + timedelta(minutes=n),
            )
        )


@pytest.fixture
def site(jinxi: Sources, tmp_path: Path) -> Iterator[Site]:
    # On a WeChat gateway the quiz is on by default: no town setting needed.
    yield from start_site(jinxi, tmp_path, channel_setting="wechaty")


def _rows(page: str) -> list[str]:
    """The quiz table's rows, cells joined by "|"."""
    table = page.split("每周一题（本月")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return ["|".join(re.findall(r"<td>(.*?)</td>", r)) for r in rows if "<td>" in r]


def test_the_ledger_page_and_downloads_show_each_villages_rates(site: Site) -> None:
    _answers(site)
    store = site.app.store
    # The gateway counted 长春村's group when the quiz ran; it gave no count for 杉岭村's.
    QuizStore(store).record_size(
        GroupSize("quiz/2024-W15", "changchun-villagers", "changchun", 2024, 4, 20, at(4, 10, 10))
    )
    client = site.client()
    client.sign_in()
    page = client.get("/ledger?month=2024-04").text
    assert 'id="quiz"' in page
    for html_page in (page, client.get("/ledger/download?month=2024-04&format=html").text):
        rows = _rows(html_page)
        # 村 | 参与人数 | 群成员 | 参与率 | 回答人次 | 答对人次 | 知晓率
        assert "长春村|2|20|10%|2|1|50%" in rows
        assert "杉岭村|1|不详|群人数不详|1|1|100%" in rows  # no count: no rate made up
        assert "望岭村|0|不详|群人数不详|0|0|0%" in rows  # asked, nobody answered: listed all the same
    xlsx = client.get("/ledger/download?month=2024-04&format=xlsx")
    assert xlsx.status == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.body))["每周一题"]
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert ["村（社区）", "参与人数", "群成员", "参与率", "回答人次", "答对人次", "知晓率"] in cells
    assert ["长春村", 2, 20, "10%", 2, 1, "50%"] in cells
    assert ["杉岭村", 1, "不详", "群人数不详", 1, 1, "100%"] in cells
