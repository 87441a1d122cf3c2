"""A draft plan as the YAML a clerk would have written: the shipped plan's layout, with a Chinese comment block on
top saying where it came from, what was inferred and what to review."""

from __future__ import annotations

import re
from datetime import date

import yaml

from bot.notice.draft import DraftActivity, DraftPlan
from bot.notice.review import Review
from bot.notice.units import How

# Chinese wording with full-width punctuation, digits, letters and inner spaces is always a plain YAML string
# (no indicator, no `: ` or ` #`, not a number or bool since it holds a Han character): no need to ask the parser.
_PLAIN = re.compile(
    r"[\u4e00-\u9fff“”‘’（）《》〈〉「」【】、，。；：！？·…—\u3000-\u303fA-Za-z0-9]"
    r"[\u4e00-\u9fff“”‘’（）《》〈〉「」【】、，。；：！？·…—\u3000-\u303fA-Za-z0-9. ]*"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _plain(text: str) -> bool:
    return bool(_PLAIN.fullmatch(text)) and bool(_HAN.search(text)) and not text.endswith(" ")


def scalar(text: str) -> str:
    """`text` as a YAML scalar: plain when it reads back as the same string (most Chinese does), else quoted."""
    if _plain(text):
        return text
    try:
        if text and yaml.safe_load(f"k: {text}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return yaml.safe_dump(text, allow_unicode=True, default_style='"', width=10_000).strip().removesuffix("...")


def flow_list(items: tuple[str, ...] | list[str]) -> str:
    def item(text: str) -> str:
        if _plain(text):
            return text
        try:
            if text and yaml.safe_load(f"[{text}]") == [text]:
                return text
        except yaml.YAMLError:
            pass
        return yaml.safe_dump(text, allow_unicode=True, default_style='"', width=10_000).strip()

    return "[" + ", ".join(item(t) for t in items) + "]"


def _cn_date(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _activity(a: DraftActivity) -> list[str]:
    lines = [
        f"  - id: {a.id}",
        f"    month: {a.month}",
        f"    title: {scalar(a.title)}",
        f"    content: {scalar(a.content)}",
    ]
    if a.theme:
        lines.append(f"    theme: {scalar(a.theme)}")
    unsure = [f"“{u.text}”→{u.ref}（请确认）" for u in a.units if u.how is How.NEAR]
    note = f"    # 通知原文：{a.row.units_text}" + ("；" + "，".join(unsure) if unsure else "")
    lines.append(f"    responsible: {flow_list(a.responsible)}{note.removeprefix('  ') if unsure else ''}")
    if a.events:
        lines.append("    events:")
        for e in a.events:
            lines.append(f"      - id: {e.id}")
            lines.append(f"        name: {scalar(e.name)}")
            lines.append(f"        start: {_cn_date(e.start)}" + (f"          # {e.note}" if e.note else ""))
            if e.end is not None:
                lines.append(f"        end: {_cn_date(e.end)}")
            if e.theme:
                lines.append(f"        theme: {scalar(e.theme)}")
    lines.append("    proof:")
    if a.proof_source:
        lines.append(f"      # {a.proof_source}")
    lines.append(f"      items: {flow_list(a.proof or ('活动照片',))}")
    return lines


def emit_yaml(draft: DraftPlan, notes: Review, notice_name: str) -> str:
    """The plan file's text. Re-reading it gives the draft's values (tests hold it to that)."""
    h = draft.header
    origin = "、".join(x for x in (h.doc_number, f"{h.issued.year}年{_cn_date(h.issued)}印发" if h.issued else "") if x)
    head = [
        f"# {h.title or f'{draft.year}年月度计划表'}",
        f"# 由 laba import 从通知《{notice_name}》生成" + (f"（{origin}）" if origin else "") + "。",
        "# content 是计划表原文，不要改；title 是发消息时用的简称，可以改。",
        "# responsible 写 units.yaml 里的单位集合或单位 id。",
        "# 导入时推断的：",
        *(f"#   - {line}" for line in notes.inferred),
        "# 请核对（核对完这几行可以删掉），再运行 laba check：",
        *(f"#   - {line}" for line in notes.to_decide),
        "",
        f"year: {draft.year}",
    ]
    if h.title:
        head.append(f"title: {scalar(h.title)}")
    if draft.source:
        head.append(f"source: {scalar(draft.source)}")
    head += ["", "activities:"]
    body: list[str] = []
    for i, a in enumerate(draft.activities):
        if i:
            body.append("")
        body.extend(_activity(a))
    return "\n".join(head + body) + "\n"
