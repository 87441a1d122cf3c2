from __future__ import annotations

from pathlib import Path

import docx
import pytest

from bot.errors import ConfigError
from bot.notice.word import read_docx
from tests.notice.notices import qingshan_docx, seed_docx


def test_the_plan_table_is_read_as_a_table_with_merged_cells_as_word_shows_them(tmp_path: Path) -> None:
    n = read_docx(qingshan_docx(tmp_path / "n.docx"))
    assert n.table is not None
    assert n.heading == ("2025年青山镇生活垃圾分类宣传活动安排表",)  # the title row merged across the table
    assert n.table[0] == ("序号", "时间", "活动内容", "责任单位", "备注")
    assert n.table[3][:2] == ("3", "5月")  # the month cell merged down from row 2
    assert n.table[6][3] == "文化服务中心、青山小学"  # the units cell merged down from row 5
    assert n.body[0] == "青山府发〔2025〕3号" and n.body[-1] == "青山镇党政办公室 2025年1月8日印发"


def test_the_seed_as_word(tmp_path: Path) -> None:
    n = read_docx(seed_docx(tmp_path / "seed.docx"))
    assert n.table is not None and len(n.table) == 13
    assert n.heading == ("2024年金溪镇生活垃圾分类宣传", "活动月度计划表")


def test_other_tables_are_kept_as_body_text(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "联系人", "李芳"
    document.save(str(tmp_path / "x.docx"))
    n = read_docx(tmp_path / "x.docx")
    assert n.table is None and n.body == ("联系人 李芳",)


@pytest.mark.parametrize("content", [b"just text", b"PK\x03\x04broken zip"])
def test_not_a_word_document(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.docx"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        read_docx(path)
    (problem,) = err.value.problems
    assert problem.file == path and problem.message == "不是 Word 文档（.docx），打不开"
