"""The month's quiz figures as the clerk reads them: 参与率 only with a group size, 知晓率 always, in the summary
message and on the terminal (`laba report`)."""

from __future__ import annotations

from dataclasses import replace

from bot.config.campaign import Sources, load
from bot.core.render import ProofFacts
from bot.sorting.quiz_report import QuizMonth, QuizVillage, quiz_lines

COUNTED = QuizVillage("长春村", answered=12, correct=9, accuracy=75, people=8, members=40, participation=20)
UNCOUNTED = QuizVillage("杉岭村", answered=3, correct=1, accuracy=33, people=3)


def test_the_summary_gives_each_villages_rates_and_says_when_the_size_is_unknown(jinxi: Sources) -> None:
    loaded = load(replace(jinxi, channel="wechaty"))
    job = loaded.plan.by_key()["2024-05/summary"]
    office = next(t for t in job.targets if t.id == "jinxi-office")
    facts = ProofFacts(quiz={"villages": [COUNTED.view(), UNCOUNTED.view()], "weeks": 4})
    text = loaded.renderer.render(job, office, facts)
    assert "每周一题（本月4期）参与情况：" in text
    assert "· 长春村：参与率 20%（8/40人），回答 12 人次，答对 9 人次，知晓率 75%" in text
    assert "· 杉岭村：3 人参与（群人数不详），回答 3 人次，答对 1 人次，知晓率 33%" in text
    assert "每周一题" not in loaded.renderer.render(job, office, ProofFacts())  # no quiz counted: no section


def test_the_terminal_lines() -> None:
    lines = quiz_lines(QuizMonth(4, (COUNTED, UNCOUNTED)))
    assert lines == [
        "每周一题（本月4期）：",
        "  长春村：8 人参与，参与率 20%；回答 12 人次，答对 9 人次，知晓率 75%",
        "  杉岭村：3 人参与，群人数不详，不算参与率；回答 3 人次，答对 1 人次，知晓率 33%",
    ]
    assert quiz_lines(QuizMonth(0, ())) == []
