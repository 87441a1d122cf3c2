"""The notice as published on a government site and saved as text: body paragraphs, then the plan table with each
cell on its own tab-led line and rows separated by blank lines (a blank line may also fall inside a row)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.notice.document import Notice, header_columns

# Word bookmarks survive the site's export as text: `[bookmark: _GoBack]（四）积极开展…`.
_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
MONTH_CELL = re.compile(r"^\s*\d{1,2}\s*月?\s*(?:[—–\-－~～至到、]+\s*\d{1,2}\s*)?月份?\s*$")


def _clean(line: str) -> str:
    return _BOOKMARK.sub("", line).replace("\u3000", " ").rstrip()


def parse_text(path: Path, text: str) -> Notice:
    """Split published text into body and table. Pure: `path` only names the source in the result."""
    lines = [_clean(ln) for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    start, header = _find_header(lines)
    if start is None:
        body = tuple(ln.strip() for ln in lines if ln.strip())
        return Notice(path, body, (), None)
    cells: list[str] = []
    end = start + len(header)
    while end < len(lines):
        line = lines[end]
        if line.startswith("\t"):
            cells.append(line.strip())
        elif line.strip():
            break  # the first untabbed text after the table (印发 line, signature) ends it
        end += 1
    heading = _heading(lines[:start])
    body = tuple(ln.strip() for ln in (*lines[:start], *lines[end:]) if ln.strip())
    rows = _rows(header, cells)
    return Notice(path, body, heading, (header, *rows))


def _find_header(lines: list[str]) -> tuple[int | None, tuple[str, ...]]:
    for i, line in enumerate(lines):
        if not line.startswith("\t"):
            continue
        run: list[str] = []
        for nxt in lines[i:]:
            if not nxt.startswith("\t") or not nxt.strip():
                break
            run.append(nxt.strip())
        if header_columns(tuple(run)) is not None:
            return i, tuple(run)
    return None, ()


def _heading(before: list[str]) -> tuple[str, ...]:
    """The last few non-blank lines above the table (its title), after any "附件" label."""
    out: list[str] = []
    for line in reversed(before):
        text = line.strip()
        if not text:
            if out:
                break
            continue
        if text in ("附件", "附表") or len(out) == 3:
            break
        out.insert(0, text)
    return tuple(out)


def _rows(header: tuple[str, ...], cells: list[str]) -> list[tuple[str, ...]]:
    """Cells regrouped into rows: a row begins `month column` cells before each month cell; a row with more cells
    than the header had a cell broken over lines (joined into the content), one with fewer inherits the cells above
    (a merged cell, as Word shows it)."""
    cols = header_columns(header)
    assert cols is not None
    n, k, c = len(header), cols["month"], cols["content"]
    cells = [cell for cell in cells if cell]
    starts = [i - k for i, cell in enumerate(cells) if MONTH_CELL.match(cell) and i - k >= 0]
    rows: list[tuple[str, ...]] = []
    for a, b in zip(starts, [*starts[1:], len(cells)], strict=True):
        seg = cells[a:b]
        if len(seg) > n:
            extra = len(seg) - n
            seg = [*seg[:c], "".join(seg[c : c + extra + 1]), *seg[c + extra + 1 :]]
        while len(seg) < n:
            seg.append(rows[-1][len(seg)] if rows else "")
        rows.append(tuple(seg))
    return rows
