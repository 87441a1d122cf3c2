"""A Word notice (.docx) through python-docx: the plan table read as a table, merged cells as Word shows them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
from docx.document import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from bot.errors import ConfigError, Problem
from bot.notice.document import Notice, header_columns


def read_docx(path: Path) -> Notice:
    """Read a .docx. Raises ConfigError (in Chinese, naming the file) when it is not a Word document."""
    try:
        document: Document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ConfigError(
            [
                Problem(
                    path,
                    "",
                    type(exc).__name__,
                    "不是 Word 文档（.docx），打不开",
                    "用 Word 或 WPS 打开通知，另存为 .docx 再导入；网上复制的文字存成 .txt 也可以",
                )
            ]
        ) from None
    body: list[str] = []
    heading: list[str] = []
    table: tuple[tuple[str, ...], ...] | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if text:
                body.append(text)
            continue
        found = _plan_rows(block) if table is None else None
        if found is None:
            body.extend(_table_text(block))
            continue
        title_rows, table = found
        heading = title_rows or _heading(body)
    return Notice(path, tuple(body), tuple(heading), table)


def _cell_text(cell: object) -> str:
    # A cell with several paragraphs (two numbered activities) keeps them on separate lines.
    return "\n".join(p.text.strip() for p in cell.paragraphs if p.text.strip())  # type: ignore[attr-defined]


def _plan_rows(table: Table) -> tuple[list[str], tuple[tuple[str, ...], ...]] | None:
    """(the table's own title rows, its rows from the header on), or None if it is not a plan table."""
    rows: list[tuple[str, ...]] = []
    for row in table.rows:
        cells = row.cells
        texts: list[str] = []
        for i, cell in enumerate(cells):
            # A horizontally merged cell comes once per grid column it spans: keep it in the first one only.
            texts.append("" if i and cell._tc is cells[i - 1]._tc else _cell_text(cell))
        rows.append(tuple(texts))
    for i, row_texts in enumerate(rows):
        if header_columns(row_texts) is not None:
            return [t for r in rows[:i] for t in dict.fromkeys(r) if t], tuple(rows[i:])
    return None


def _table_text(table: Table) -> list[str]:
    return [" ".join(c.text.strip() for c in row.cells if c.text.strip()) for row in table.rows]


def _heading(body: list[str]) -> list[str]:
    out: list[str] = []
    for text in reversed(body):
        if text in ("附件", "附表") or len(out) == 3:
            break
        out.insert(0, text)
    return out
