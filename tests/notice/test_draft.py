from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.core.model import UnitsFile
from bot.errors import ConfigError
from bot.notice.document import Notice
from bot.notice.draft import build_draft
from bot.notice.review import review
from tests.notice.notices import QINGSHAN_UNITS

UNITS = UnitsFile.model_validate(yaml.safe_load(QINGSHAN_UNITS))
HEADER = ("时间", "活动内容", "责任单位")


def draft_of(body: tuple[str, ...], *rows: tuple[str, str, str]) -> Notice:
    return Notice(Path("通知.docx"), body, (), (HEADER, *rows))


def test_nothing_the_body_says_is_lost() -> None:
    body = (
        "（一）10月1日开展“国庆清洁日”活动。",
        "（二）各村宣传做到有照片、有台账。",
        "（三）开展“清洁家园”行动，做到有签字、有记录。",
    )
    draft = build_draft(draft_of(body, ("3月", "开展“清洁家园”行动", "各村（社区）")), UNITS, year=2025)
    (act,) = draft.activities
    assert act.proof == ("签字", "记录") and act.proof_source == "方案（三）：做到有签字、有记录"
    assert [(e.name, e.start) for e in draft.unplaced] == [("“国庆清洁日”", date(2025, 10, 1))]
    decide = review(draft).to_decide
    assert any(line.startswith("方案正文里的 10月1日“国庆清洁日”：计划表当月没有活动") for line in decide)
    assert any(line.startswith("方案（二）：各村宣传做到有照片、有台账——没有对上") for line in decide)


def test_two_activities_in_a_month_get_their_own_ids_and_body_events_go_to_the_closer_one() -> None:
    body = ("5月12日开展“垃圾分类进校园”开放日活动。",)
    rows = (("5月", "开展“清洁家园”入户宣传", "各村（社区）"), ("5月", "开展“垃圾分类进校园”活动", "青山小学"))
    draft = build_draft(draft_of(body, *rows), UNITS, year=2025)
    first, second = draft.activities
    assert (first.id, second.id) == ("2025-05-qingjiejiayuan", "2025-05-jinxiaoyuanhuo")
    assert first.events == () and [e.id for e in second.events] == ["kaifangri"]


def test_the_same_title_twice_in_a_month_gets_distinct_ids() -> None:
    rows = (("5月", "开展入户宣传", "各村（社区）"), ("5月", "开展入户宣传。", "青山小学"))
    draft = build_draft(draft_of((), *rows), UNITS, year=2025)
    assert [a.id for a in draft.activities] == ["2025-05-ruhuxuanchuan", "2025-05-ruhuxuanchuan-2"]


def test_no_year_anywhere_is_an_error_with_the_option_to_use() -> None:
    with pytest.raises(ConfigError) as err:
        build_draft(draft_of((), ("5月", "开展宣传", "各村（社区）")), UNITS)
    assert err.value.problems[0].message == "看不出这是哪一年的计划" and "--year" in err.value.problems[0].hint
