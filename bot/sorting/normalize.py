"""How people type an item, tidied into the forms the dictionary is indexed by. Pure functions, no I/O.

`light` is applied to every name in the dictionary and to every query: simplified characters (zhconv, phrase-aware:
塑膠袋 → 塑料袋), full-width folded, case folded, digits read out (5号 → 五号), spaces, punctuation and the
particles 的/了 dropped.
`variants` adds, for queries only, the forms without a leading quantity (一个、两袋、这些) and without the words
that describe a state rather than a thing (旧、破、用过、吃剩、过期 …); the dictionary tries them in order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Final

# Words zhconv keeps as they are (they are simplified already) but the mainland says otherwise.
_REGIONAL: Final = (
    ("塑胶", "塑料"),
    ("宝特瓶", "塑料瓶"),
    ("铝箔包", "利乐包"),
    ("卫生筷", "一次性筷子"),
    ("光碟", "光盘"),
)
_NOISE: Final = re.compile(r"[\s\W_]+|[的了呀啊吧呢嘛哦]", re.UNICODE)
# 5号电池 and 五号电池 are one thing: digits are read out, one by one, the same way for names and queries.
_DIGITS: Final = str.maketrans("0123456789", "〇一二三四五六七八九")
_NUMBER: Final = "一二两三四五六七八九十百几半每这那哪些某"
_MEASURE: Final = "个只块张件条根瓶袋包盒支节把片颗粒双套台本捆堆桶罐箱份些点团坨枚对串束卷打扎摞盆碗杯斤两公斤"
_QUANTITY: Final = re.compile(rf"^[{_NUMBER}]+[{_MEASURE}]?")
# States, not things: "用过的纸杯" is a 纸杯. Longest first, so 废旧 goes before 废.
_STATES: Final = tuple(
    sorted(
        (
            "用过",
            "用完",
            "用剩",
            "吃剩",
            "喝剩",
            "吃完",
            "喝完",
            "剩下",
            "过期",
            "变质",
            "发霉",
            "坏掉",
            "坏",
            "破掉",
            "破损",
            "破旧",
            "破",
            "废旧",
            "废弃",
            "废",
            "旧",
            "烂",
            "脏",
            "空",
            "没用",
            "不要",
            "不用",
            "扔掉",
            "丢掉",
            "家里",
            "家用",
            "家",
            "小",
            "大",
        ),
        key=len,
        reverse=True,
    )
)
# Accents the IMEs call 模糊音: southern speakers (and 黔江 is one) mix zh/z, ch/c, sh/s, n/l, -ng/-n, h/f.
_ACCENT: Final = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


@lru_cache(maxsize=1)
def _to_simplified() -> Callable[[str], str]:
    # Imported with the first name or question, not with the daemon: zhconv brings pkg_resources and its table.
    import zhconv

    # zhconv reads its table lazily through a file it never closes (a ResourceWarning); given the path, it closes it.
    zhconv.loaddict(str(Path(zhconv.__file__).with_name("zhcdict.json")))

    def simplified(text: str) -> str:
        return str(zhconv.convert(text, "zh-cn"))

    return simplified


@lru_cache(maxsize=4096)
def light(text: str) -> str:
    """The form every name and query is compared in (see the module doc)."""
    text = unicodedata.normalize("NFKC", text).lower()
    simplified = _to_simplified()(text)
    for regional, mainland in _REGIONAL:
        simplified = simplified.replace(regional, mainland)
    return _NOISE.sub("", simplified).translate(_DIGITS)


def variants(text: str) -> list[str]:
    """`light(text)` first, then the forms without a leading quantity and without leading state words, most
    literal first, without repeats. Never empty unless the query is (the dictionary then says it doesn't know)."""
    first = light(text)
    out = [first] if first else []
    form = first
    unquantified = _QUANTITY.sub("", form)
    if unquantified and unquantified != form:
        out.append(unquantified)
        form = unquantified
    changed = True
    while changed:
        changed = False
        for word in _STATES:
            if form.startswith(word) and len(form) > len(word) + 1:  # keep at least two characters of a thing
                form = _QUANTITY.sub("", form[len(word) :]) or form[len(word) :]
                out.append(form)
                changed = True
                break
    seen: set[str] = set()
    return [v for v in out if not (v in seen or seen.add(v))]  # type: ignore[func-returns-value]


def pinyin(text: str) -> tuple[str, ...]:
    """Toneless syllables of the Chinese characters in `text` (`light` form expected); ASCII letters stay one run."""
    from pypinyin import lazy_pinyin  # its dictionaries take tens of MB: loaded with the first question

    return tuple(lazy_pinyin(text))


def accent(syllables: tuple[str, ...]) -> str:
    """The syllables with the 模糊音 pairs merged and n/l, h/f initials folded: what a slip of the ear keeps."""
    out = []
    for s in syllables:
        for a, b in _ACCENT:
            s = s.replace(a, b)
        if s[:1] == "n":
            s = "l" + s[1:]
        elif s[:1] == "f":
            s = "h" + s[1:]
        out.append(s)
    return "".join(out)


def is_spelled(text: str) -> bool:
    """True for a query typed as pinyin letters (yilaguan, dian chi)."""
    letters = light(text)
    return bool(letters) and letters.isascii() and letters.isalpha()
