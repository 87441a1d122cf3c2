"""Notices for the import tests: the 2024 seed (as published text, and as a .docx built here with its table) and a
2025 notice of another town, 青山镇, laid out differently (a title row merged across the table, a 序号 column, a month
cell merged over two rows, a units cell merged over two rows, a month range, events only in the body)."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.table import Table

ROOT = Path(__file__).resolve().parents[2]
# The seed notice as published (shared/seed/000_78f639f54b693a6d.txt), kept here so the tests stand alone.
SEED = ROOT / "tests" / "notice" / "data" / "jinxi-2024.txt"


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def _seed_parts(text: str) -> tuple[list[str], list[list[str]], list[str]]:
    """The seed split the plain way a person would copy it into Word: paragraphs before the table, 3-cell rows,
    paragraphs after it."""
    lines = text.split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.startswith("\t"))
    last = max(i for i, ln in enumerate(lines) if ln.startswith("\t"))
    cells = [ln.strip() for ln in lines[first : last + 1] if ln.startswith("\t") and ln.strip()]
    rows = [cells[i : i + 3] for i in range(0, len(cells), 3)]
    before = [ln.replace("[bookmark: _GoBack]", "").strip() for ln in lines[:first] if ln.strip()]
    after = [ln.strip() for ln in lines[last + 1 :] if ln.strip()]
    return before, rows, after


def seed_docx(path: Path) -> Path:
    before, rows, after = _seed_parts(seed_text())
    document = docx.Document()
    for line in before:
        document.add_paragraph(line)
    table = document.add_table(rows=len(rows), cols=3)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    for line in after:
        document.add_paragraph(line)
    document.save(str(path))
    return path


QINGSHAN_BODY = [
    "青山府发〔2025〕3号",
    "青山镇人民政府关于印发《青山镇2025年生活垃圾分类宣传工作方案》的通知",
    "各村（居）委、镇属各部门：",
    "现将《青山镇2025年生活垃圾分类宣传工作方案》印发给你们，请认真贯彻执行。",
    "青山镇人民政府",
    "2025年1月8日",
    "一、工作重点",
    "（一）开展志愿服务。3月5日至3月11日开展“学雷锋·清洁家园”志愿服务周，以“人人动手 清洁家园”为主题，"
    "组织志愿者清理房前屋后。",
    "（二）抓好入户宣传。组织开展“清洁家园”入户宣传，做到有入户照片、有签字台账，确保户户知晓。",
    "（三）推进校园宣传。5月12日开展“垃圾分类进校园”开放日活动，邀请家长走进校园。",
    "（四）办好知识竞赛。9月20日举办垃圾分类知识竞赛决赛，各村（居）组织群众观看。",
    "（五）11月9日开展“垃圾分类进万家”宣传日活动。",
    "附件：2025年青山镇生活垃圾分类宣传活动安排表",
]
# 序号, 时间, 活动内容, 责任单位, 备注 — None where the cell above is merged down over this one.
QINGSHAN_ROWS: list[tuple[str, str | None, str, str | None, str]] = [
    ("1", "3月", "开展“学雷锋·清洁家园”志愿服务周活动", "各村（居）、镇属各部门", ""),
    ("2", "5月", "开展“垃圾分类进校园”活动", "青山小学、文化服务中心", ""),
    ("3", None, "开展“清洁家园”入户宣传", "各村（居）", "全年常态化"),
    ("4", "6—7月", "结合世界环境日，开展“美丽乡村”垃圾分类主题宣传", "各村（居）、社会事务办、镇派出所", ""),
    ("5", "9月", "开展垃圾分类知识竞赛", "文化服务中心、青山小学", ""),
    ("6", "12月", "开展“垃圾分类·温暖过冬”活动", None, ""),
]


def qingshan_docx(path: Path, rows: list[tuple[str, str | None, str, str | None, str]] | None = None) -> Path:
    rows = QINGSHAN_ROWS if rows is None else rows
    document = docx.Document()
    for line in QINGSHAN_BODY:
        document.add_paragraph(line)
    table = document.add_table(rows=len(rows) + 2, cols=5)
    table.cell(0, 0).merge(table.cell(0, 4)).text = "2025年青山镇生活垃圾分类宣传活动安排表"
    for c, text in enumerate(("序号", "时间", "活动内容", "责任单位", "备注")):
        table.cell(1, c).text = text
    for r, row in enumerate(rows, 2):
        for c, cell in enumerate(row):
            if cell is not None:
                table.cell(r, c).text = cell
        for c, cell in enumerate(row):
            if cell is None:
                _merge_down(table, r, c)
    document.add_paragraph("青山镇党政办公室 2025年1月8日印发")
    document.save(str(path))
    return path


def _merge_down(table: Table, row: int, col: int) -> None:
    top = table.cell(row - 1, col)
    text = top.text
    top.merge(table.cell(row, col)).text = text  # Word joins merged texts; the notice shows the one above


QINGSHAN_TOWN = """\
town:
  id: qingshan
  name: 青山镇
  full_name: 青山镇人民政府
office_group: qingshan-office
admins:
  - {id: admin-li, name: 李芳, role: 党政办公室, wechat: qingshan-lifang}
"""

QINGSHAN_UNITS = """\
units:
  - id: shiqiao
    name: 石桥村
    kind: village
    groups:
      - {id: shiqiao-villagers, name: 石桥村村民群, kind: villagers}
      - {id: shiqiao-work, name: 石桥村两委工作群, kind: work}
  - id: qingshan-shequ
    name: 青山社区
    kind: community
    groups:
      - {id: qingshan-shequ-work, name: 青山社区工作群, kind: work}
  - id: dangzhengban
    name: 党政办公室
    kind: department
    groups:
      - {id: qingshan-office, name: 青山镇垃圾分类专班群, kind: office}
      - {id: dangzhengban-work, name: 青山镇党政办工作群, kind: work}
  - id: wenfu
    name: 文化服务中心
    kind: department
    groups:
      - {id: wenfu-work, name: 青山镇文化服务中心工作群, kind: work}
  - id: shehuishiwu
    name: 社会事务办公室
    kind: department
    groups:
      - {id: shehuishiwu-work, name: 青山镇社会事务办工作群, kind: work}
  - id: qingshan-school
    name: 青山小学
    kind: school
    groups:
      - {id: qingshan-school-work, name: 青山小学教职工群, kind: work}
unit_sets:
  - id: cun
    name: 各村（社区）
    kinds: [village, community]
  - id: bumen
    name: 镇级各部门
    kinds: [department]
"""

PAICHUSUO = """\
  - id: paichusuo
    name: 青山派出所
    kind: department
"""
PAICHUSUO_GROUP = """\
    groups:
      - {id: paichusuo-work, name: 青山派出所工作群, kind: work}
"""


def qingshan_folder(root: Path) -> Path:
    folder = root / "schedules" / "qingshan"
    folder.mkdir(parents=True)
    (folder / "town.yaml").write_text(QINGSHAN_TOWN, encoding="utf-8")
    (folder / "units.yaml").write_text(QINGSHAN_UNITS, encoding="utf-8")
    return folder


def add_paichusuo(folder: Path, with_group: bool) -> None:
    path = folder / "units.yaml"
    text = path.read_text(encoding="utf-8")
    unit = PAICHUSUO + (PAICHUSUO_GROUP if with_group else "")
    path.write_text(text.replace("unit_sets:\n", unit + "unit_sets:\n"), encoding="utf-8")
