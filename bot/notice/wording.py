"""The plan's Chinese wording, taken apart: clauses outside quotes and brackets, short titles, themes, proof items."""

from __future__ import annotations

import re

_OPEN = "“‘（(《〈「【"
_CLOSE = "”’）)》〉」】"
_LEADING_VERBS = ("深入开展", "广泛开展", "持续开展", "积极开展", "组织开展", "开展", "组织", "举办", "举行", "启动")
_CONTEXT = re.compile(r"^(?:结合|围绕|利用|借助|根据|按照|以“[^”]*”为主题$|以.{1,12}为契机$)")
_THEME = re.compile(r"以“([^”]+)”为主题")
TITLE_MAX = 24


def split_top(text: str, seps: str) -> list[str]:
    """Split at any of `seps` outside quotes and brackets: `开展“A、B”活动、C` → [`开展“A、B”活动`, `C`]."""
    out, depth, current = [], 0, ""
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE and depth:
            depth -= 1
        if ch in seps and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    out.append(current)
    return [part.strip() for part in out if part.strip()]


def strip_verbs(text: str) -> str:
    for verb in _LEADING_VERBS:
        if text.startswith(verb) and len(text) > len(verb):
            return text[len(verb) :]
    return text


def theme_of(text: str) -> str:
    """The theme a sentence names: 以“践行新时尚 分类志愿行”为主题 → 践行新时尚 分类志愿行."""
    m = _THEME.search(text)
    return m[1].strip() if m else ""


def propose_title(content: str) -> str:
    """A short name for messages from the plan's wording: the first real clause, without 开展 and framing
    (结合六一儿童节、以“…”为主题), cut at 暨/等 when long. The clerk reviews it; `content` keeps the full wording."""
    text = content.strip().rstrip("。；;.")
    clauses = [c for c in split_top(text, "，,；;") if not _CONTEXT.match(c)] or [text]
    title = strip_verbs(clauses[0])
    items = split_top(title, "、")
    if any(item.startswith(_LEADING_VERBS) for item in items[1:]):
        title = items[0]  # "开展A、开展B": two activities in one row, named by the first
    if len(title) > TITLE_MAX - 6 and "暨" in title:
        title = title.split("暨", 1)[0]
    if len(title) > TITLE_MAX - 6 and "等" in title:
        # "商圈、广场、公园等公共场所…": a list before 等 is named by what follows it.
        head, tail = title.split("等", 1)
        title = tail if "、" in head and len(tail) >= 4 else head
    if len(title) > TITLE_MAX and "、" in title:
        title = strip_verbs(split_top(title, "、")[0])
    if len(title) > TITLE_MAX and "及" in title:
        title = title.split("及", 1)[0]
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1] + "…"
    return title


_PROOF = re.compile(r"做到((?:有[^，。；]+?、?)+)(?=[，。；]|$)")


def proof_items(sentence: str) -> tuple[str, ...]:
    """做到有宣传图片、有居民签字、有宣传资料（告知书、承诺书） → (宣传图片, 居民签字, 宣传资料（告知书、承诺书）)."""
    m = _PROOF.search(sentence)
    if m is None:
        return ()
    parts = split_top(m[1], "、")
    if not all(p.startswith("有") for p in parts):
        return ()
    return tuple(p[1:] for p in parts if len(p) > 1)


def quoted_terms(text: str) -> list[str]:
    return re.findall(r"“([^”]+)”", text)


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。；！？])", text) if s.strip()]
