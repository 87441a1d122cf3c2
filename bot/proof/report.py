"""Reports of the ledger for the town office: an HTML page (thumbnails inline, opens anywhere, prints) and an XLSX
workbook (photos embedded), for a month or a whole year.

Both are written from a `Ledger` value; nothing here touches the database. Thumbnails come from `Thumbnails`
(made from the stored photo on first use, then kept); a photo missing on disk shows as a placeholder, never as an
error.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.proof.images import EXTENSIONS, thumbnail
from bot.proof.ledger import EVIDENCE_STATUS_CN, STATUS_CN, ActivityLedger, Ledger, UnitRow
from bot.store.evidence import FLAG_CN, Evidence, FileStore

Thumbs = Callable[[str], bytes | None]


class Thumbnails:
    """`Thumbs` over the evidence files: the kept thumbnail, else one made from the stored photo and kept."""

    def __init__(self, files: FileStore) -> None:
        self._files = files

    def __call__(self, sha256: str) -> bytes | None:
        if not sha256:
            return None
        kept = self._files.thumb(sha256)
        if kept is not None:
            return kept
        original = self._files.original(sha256, sorted(set(EXTENSIONS.values())))
        if original is None:
            return None
        data = thumbnail(original.read_bytes())
        self._files.put_thumb(sha256, data)
        return data


_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px} h2{font-size:18px;margin-top:28px;border-bottom:2px solid #2a6;padding-bottom:4px}
table{border-collapse:collapse;width:100%} th,td{border:1px solid #ccc;padding:6px;vertical-align:top;font-size:14px}
th{background:#f3f3f3} .status{font-weight:bold;white-space:nowrap}
.submitted{color:#176c2e} .flagged{color:#b36b00} .missing{color:#b00020}
.photos{display:flex;flex-wrap:wrap;gap:6px} figure{margin:0;width:132px;font-size:12px}
figure img{width:128px;height:96px;object-fit:cover;border:1px solid #aaa;display:block}
figure.off img{opacity:.35} .flag{color:#b36b00} .note{font-size:13px;color:#444}
.summary{margin:8px 0 16px} .muted{color:#777}
.wide{overflow-x:auto} table.year th.unit{position:sticky;left:0;background:#f3f3f3;text-align:left;white-space:nowrap}
table.year td{white-space:nowrap}
@media print{figure img{width:96px;height:72px}}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _when(at: datetime) -> str:
    return f"{at.month}月{at.day}日 {at:%H:%M}"


def _figure(item: Evidence, thumbs: Thumbs) -> str:
    data = thumbs(item.sha256) if item.sha256 else None
    src = f"data:image/jpeg;base64,{base64.b64encode(data).decode()}" if data else ""
    img = f'<img src="{src}" alt="照片 {item.id}">' if src else '<div class="muted">（无缩略图）</div>'
    tags = [FLAG_CN[f] for f in item.flags]
    if item.status.value != "accepted":
        tags.insert(0, EVIDENCE_STATUS_CN[item.status] + (f"：{item.reason}" if item.reason else ""))
    flags = "".join(f'<div class="flag">{_e(t)}</div>' for t in tags)
    off = "" if item.counts else ' class="off"'
    taken = f"<div>拍摄 {_e(_when(item.exif_at))}</div>" if item.exif_at else ""
    return (
        f'<figure{off} data-evidence="{item.id}">{img}<figcaption>编号 {item.id} · {_e(item.sender_name)}'
        f"<div>收到 {_e(_when(item.received_at))}</div>{taken}{flags}</figcaption></figure>"
    )


def _row(row: UnitRow, min_photos: int, thumbs: Thumbs) -> str:
    figures = "".join(_figure(i, thumbs) for i in row.items if i.kind != "note")
    notes = "".join(
        f'<div class="note">说明（编号 {i.id}，{_e(_when(i.received_at))}）：{_e(i.text)}</div>'
        for i in row.items
        if i.kind == "note"
    )
    return (
        f'<tr data-unit="{_e(row.unit.id)}"><td>{_e(row.unit.name)}</td>'
        f'<td class="status {row.status}">{row.status_cn}</td>'
        f"<td>{row.counted} / {min_photos}</td>"
        f'<td><div class="photos">{figures}</div>{notes}</td></tr>'
    )


def _activity(a: ActivityLedger, thumbs: Thumbs) -> str:
    w = a.window
    head = (
        f'<section data-activity="{_e(w.activity.id)}"><h2>{_e(w.label)}</h2>'
        f'<div class="summary">要交：{_e("、".join(w.activity.proof.items))}；每个单位至少 {w.min_photos} 张照片；'
        f"截止 {_e(_when(w.due))}。责任单位 {len(a.rows)} 个：已提交 {a.count('submitted')} 个，"
        f"待核对 {a.count('flagged')} 个，未提交 {a.count('missing')} 个。</div>"
    )
    rows = "".join(_row(r, w.min_photos, thumbs) for r in a.rows)
    columns = "<tr><th>单位</th><th>状态</th><th>有效照片/要求</th><th>材料</th></tr>"
    return head + f"<table>{columns}{rows}</table></section>"


def month_html(ledger: Ledger, town: str, thumbs: Thumbs, generated: datetime, extra: str = "") -> str:
    """The month's ledger page; `extra` is appended as is (HTML: the weekly quiz's section)."""
    body = "".join(_activity(a, thumbs) for a in ledger.activities) or '<p class="muted">这个月没有要交材料的活动。</p>'
    if ledger.unfiled:
        figures = "".join(_figure(i, thumbs) for i in ledger.unfiled)
        body += f'<section data-activity="unfiled"><h2>未归档的材料</h2><div class="photos">{figures}</div></section>'
    return _page(f"{town}{ledger.title}垃圾分类宣传工作台账", body + extra, generated)


def year_html(ledger: Ledger, town: str, generated: datetime) -> str:
    head = "".join(f"<th>{_e(a.window.label)}</th>" for a in ledger.activities)
    rows = []
    for unit_id, name, unit_rows in year_grid(ledger):
        cells = [
            '<td class="muted">—</td>' if row is None else f'<td class="status {row.status}">{_e(year_cell(row))}</td>'
            for row in unit_rows
        ]
        rows.append(f'<tr data-unit="{_e(unit_id)}"><th class="unit">{_e(name)}</th>{"".join(cells)}</tr>')
    totals = "".join(
        f"<td>已交 {a.count('submitted') + a.count('flagged')} / {len(a.rows)}</td>" for a in ledger.activities
    )
    table = (
        '<div class="wide"><table class="year"><tr><th class="unit">单位</th>'
        f'{head}</tr>{"".join(rows)}<tr><th class="unit">合计</th>{totals}</tr></table></div>'
    )
    return _page(f"{town}{ledger.title}垃圾分类宣传工作台账（全年）", table, generated)


def year_grid(ledger: Ledger) -> list[tuple[str, str, list[UnitRow | None]]]:
    """Units down (id, name), activities across; None where the unit isn't responsible for the activity."""
    units: dict[str, str] = {}
    for a in ledger.activities:
        for r in a.rows:
            units.setdefault(r.unit.id, r.unit.name)
    by_unit = [{r.unit.id: r for r in a.rows} for a in ledger.activities]
    return [(unit_id, name, [rows.get(unit_id) for rows in by_unit]) for unit_id, name in units.items()]


def year_cell(row: UnitRow) -> str:
    """One unit's status for one activity in the year view: 已提交（3张）, or just 未提交 when nothing counts."""
    return f"{row.status_cn}（{row.counted}张）" if row.counted else row.status_cn


def month_heading(town: str, a: ActivityLedger) -> str:
    """金溪镇2024年4月“敲门行动”入户宣传台账: the label already starts with the month, so it is said once."""
    return f"{town}{a.window.opens.year}年{a.window.label}台账"


def _page(title: str, body: str, generated: datetime) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
        f'<p class="muted">生成时间：{generated:%Y-%m-%d %H:%M}（状态：已提交 / 待核对 = 有标记的照片要镇里看一下 / '
        f"未提交；灰色照片不计数）</p>{body}</body></html>"
    )


# -- XLSX ----------------------------------------------------------------------------------------------------


def month_xlsx(
    ledger: Ledger, town: str, thumbs: Thumbs, out: Path, extra: Sequence[tuple[str, list[list[Any]]]] = ()
) -> None:
    """One sheet per activity: a row per unit with its status and counts, its photos embedded to the right. `extra`:
    more sheets after them, each a name and its rows (the weekly quiz's 参与率 and 知晓率)."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image as XLImage
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for a in ledger.activities or ():
        ws = wb.create_sheet(_sheet_name(a.window.label))
        ws.append([month_heading(town, a)])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append(["单位", "状态", "有效照片", "要求", "标记", "编号", "照片"])
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for col, width in zip("ABCDEF", (22, 10, 10, 8, 30, 16), strict=True):
            ws.column_dimensions[col].width = width
        for r_index, row in enumerate(a.rows, start=3):
            flags = sorted({FLAG_CN[f] for i in row.items for f in i.flags})
            ws.append(
                [
                    row.unit.name,
                    row.status_cn,
                    row.counted,
                    a.window.min_photos,
                    "、".join(flags),
                    "、".join(str(i.id) for i in row.items),
                ]
            )
            photos = [i for i in row.photos if thumbs(i.sha256 or "")]
            if photos:
                ws.row_dimensions[r_index].height = 78
            for p_index, item in enumerate(photos):
                data = thumbs(item.sha256 or "")
                assert data is not None
                img = XLImage(io.BytesIO(data))
                scale = 96 / max(img.width, img.height)
                img.width, img.height = int(img.width * scale), int(img.height * scale)
                column = get_column_letter(7 + p_index)
                ws.column_dimensions[column].width = 15
                ws.add_image(img, f"{column}{r_index}")
            for cell in ws[r_index]:
                cell.alignment = Alignment(vertical="top", wrap_text=True)
    if not wb.sheetnames:
        wb.create_sheet("台账").append(["这个月没有要交材料的活动。"])
    for name, rows in extra:
        sheet = wb.create_sheet(_sheet_name(name))
        for cells in rows:
            sheet.append(cells)
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.column_dimensions["A"].width = 22
    _as_text(wb)
    wb.save(out)


def year_xlsx(ledger: Ledger, town: str, out: Path) -> None:
    """One sheet: units down, activities across, the status and counted photos in each cell."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_name(f"{ledger.title}全年")
    ws.append([f"{town}{ledger.title}垃圾分类宣传工作台账"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["单位", *[a.window.label for a in ledger.activities]])
    for _, name, unit_rows in year_grid(ledger):
        ws.append([name, *("—" if row is None else year_cell(row) for row in unit_rows)])
    # Twelve long activity titles across: wrapped headers, and the unit names stay in view when scrolling right.
    ws.column_dimensions["A"].width = 24
    for index in range(len(ledger.activities)):
        ws.column_dimensions[get_column_letter(2 + index)].width = 16
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    ws.freeze_panes = "B3"
    _as_text(wb)
    wb.save(out)


# What a spreadsheet would take for the start of a formula (and OWASP's tab and carriage return).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_text(wb: Any) -> None:
    """Every cell that starts like a formula kept as the text it is: a unit named "=HYPERLINK(…)" in units.yaml
    must not become a link or a calculation when the clerk opens the ledger. openpyxl would store "=…" as a
    formula; the quote prefix also keeps Excel from taking the text for one when the cell is edited."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                    cell.data_type = "s"
                    cell.quotePrefix = True


def _sheet_name(label: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\ .
    cleaned = "".join("_" if c in "[]:*?/\\" else c for c in label)
    return cleaned[:31]


__all__ = ["STATUS_CN", "Thumbnails", "month_html", "month_xlsx", "year_html", "year_xlsx"]
