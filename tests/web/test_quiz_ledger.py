"""The weekly quiz's month on the console's 台账 page and in its download: each village's answers and accuracy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.campaign import Sources
from bot.store.quiz import QuizAnswer, QuizStore
from bot.store.sql import SqlStore
from tests.core.test_planner import set_town
from tests.proof.conftest import at
from tests.web.conftest import Site, start_site


def _answers(site: Site) -> None:
    store = site.app.store
    assert isinstance(store, SqlStore)
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
    set_town(jinxi.schedules, rules={"quiz": {"enabled": True}})
    yield from start_site(jinxi, tmp_path)


def test_the_ledger_page_and_download_show_each_villages_quiz(site: Site) -> None:
    _answers(site)
    client = site.client()
    client.sign_in()
    page = client.get("/ledger?month=2024-04").text
    assert 'id="quiz"' in page
    assert "<td>长春村</td><td>2</td><td>1</td><td>50%</td>" in page
    assert "<td>杉岭村</td><td>1</td><td>1</td><td>100%</td>" in page
    report = client.get("/ledger/download?month=2024-04&format=html").text
    assert "每周一题（本月" in report and "<td>长春村</td><td>2</td><td>1</td><td>50%</td>" in report
