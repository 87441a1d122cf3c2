from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config.yamlfile import read_yaml
from bot.core.model import PlanFile, UnitsFile
from bot.notice.draft import build_draft
from bot.notice.emit import emit_yaml, flow_list, scalar
from bot.notice.review import review
from bot.notice.word import read_docx
from tests.notice.notices import PAICHUSUO, QINGSHAN_UNITS, qingshan_docx

TRICKY = ["3.19", "yes", "null", "a: b", "#话题", "[列表]", "{x}", "“引号”: 冒号", "- 开头", "100", "@某人", "'单引号'"]


@pytest.mark.parametrize("text", TRICKY)
def test_scalars_read_back_as_the_same_string(text: str) -> None:
    assert yaml.safe_load(f"k: {scalar(text)}") == {"k": text}
    assert yaml.safe_load(f"k: {flow_list([text, '活动照片'])}") == {"k": [text, "活动照片"]}


def test_plain_chinese_stays_plain() -> None:
    assert scalar("开展“敲门行动”入户宣传") == "开展“敲门行动”入户宣传"
    assert flow_list(["宣传资料（告知书、承诺书）"]) == "[宣传资料（告知书、承诺书）]"


def test_the_emitted_plan_reads_back_as_the_draft(tmp_path: Path) -> None:
    units = UnitsFile.model_validate(yaml.safe_load(QINGSHAN_UNITS.replace("unit_sets:\n", PAICHUSUO + "unit_sets:\n")))
    draft = build_draft(read_docx(qingshan_docx(tmp_path / "n.docx")), units, ("青山镇", "青山"))
    path = tmp_path / "plan.yaml"
    path.write_text(emit_yaml(draft, review(draft), "n.docx"), encoding="utf-8")
    plan = PlanFile.model_validate(read_yaml(path).data, context={"year": draft.year})
    assert [a.id for a in plan.activities] == [a.id for a in draft.activities]
    for got, want in zip(plan.activities, draft.activities, strict=True):
        assert (got.month, got.title, got.content, got.theme, got.responsible) == (
            want.month,
            want.title,
            want.content,
            want.theme,
            want.responsible,
        )
        assert [(e.id, e.name, e.start, e.end, e.theme) for e in got.events] == [
            (e.id, e.name, e.start, e.end, e.theme) for e in want.events
        ]
        assert got.proof.items == (want.proof or ("活动照片",))
    # 社会事务办 is only close to 社会事务办公室: written, and flagged for the clerk.
    assert plan.activities[3].responsible == ("cun", "shehuishiwu", "paichusuo")
    assert any("“社会事务办”按最接近的 shehuishiwu" in line for line in review(draft).to_decide)
