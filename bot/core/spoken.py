"""Text for the ear: numbers and dates as Chinese words, no emoji or links. Pure.

Used by the broadcast script filters (`say`, `say_date`, `say_number`) and by the offline voice, which would
otherwise read "2024" as an English number and "5月" as "five 月".
"""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.core.workdays import weekday_cn

DIGITS = "零一二三四五六七八九"
_UNITS = ((10**8, "亿"), (10**4, "万"), (1000, "千"), (100, "百"), (10, "十"))


def number_cn(n: int) -> str:
    """12 → 十二, 20 → 二十, 105 → 一百零五, 2024 → 两千零二十四."""
    if n < 0:
        return "负" + number_cn(-n)
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return "十" + (DIGITS[n - 10] if n > 10 else "")
    for size, name in _UNITS:
        if n >= size:
            high, low = divmod(n, size)
            out = ("两" if high == 2 and size >= 1000 else number_cn(high)) + name
            if low:
                out += ("零" if low < size // 10 else "") + _below(low, size)
            return out
    return DIGITS[n]  # unreachable: n < 10 handled above


def _below(low: int, size: int) -> str:
    # Inside a larger number 10–19 keep their 一: 一百一十五, not 一百十五.
    if 10 <= low < 20 and size > 10:
        return "一" + number_cn(low)
    return number_cn(low)


def digits_cn(text: str) -> str:
    """Digit by digit: 2024 → 二零二四."""
    return "".join(DIGITS[int(c)] for c in text)


def say_date(value: date | datetime, *, weekday: bool = True) -> str:
    """5月20日 → 五月二十日，星期一."""
    d = value.date() if isinstance(value, datetime) else value
    out = f"{number_cn(d.month)}月{number_cn(d.day)}日"
    if weekday:
        out += "，星期" + ("天" if d.weekday() == 6 else number_cn(d.weekday() + 1))
    return out


def say_time(value: datetime) -> str:
    """07:30 → 早上七点半."""
    h, m = value.hour, value.minute
    part = "早上" if h < 9 else "上午" if h < 12 else "中午" if h < 13 else "下午" if h < 18 else "晚上"
    hh = h - 12 if h > 12 else h
    minutes = "" if m == 0 else "半" if m == 30 else f"{number_cn(m)}分"
    return f"{part}{'两' if hh == 2 else number_cn(hh)}点{minutes}"


_URL = re.compile(r"https?://\S+|www\.\S+")
# Emoji and pictographs, dingbats, variation selectors, zero-width joiners.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
_YEAR = re.compile(r"(\d{4})\s*年")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_DOTTED = re.compile(r"\d+(?:\.\d+)+")  # “3.19” (a named day) is said 三一九: digit by digit
_PERCENT = re.compile(r"(\d+)\s*%")
_NUMBER = re.compile(r"\d+")


def say(text: str) -> str:
    """Any text made speakable: links and emoji removed, numbers and dates in words, spaces as pauses."""
    text = _URL.sub("", text)
    text = _EMOJI.sub("", text)
    text = _YEAR.sub(lambda m: digits_cn(m[1]) + "年", text)
    text = _MONTH_DAY.sub(lambda m: f"{number_cn(int(m[1]))}月{number_cn(int(m[2]))}日", text)
    text = _DOTTED.sub(lambda m: digits_cn(m[0].replace(".", "")), text)
    text = _PERCENT.sub(lambda m: "百分之" + number_cn(int(m[1])), text)
    text = _NUMBER.sub(lambda m: number_cn(int(m[0])) if len(m[0]) <= 9 else digits_cn(m[0]), text)
    text = re.sub(r"[ \u3000]+", "，", text.strip())
    return text


__all__ = ["digits_cn", "number_cn", "say", "say_date", "say_time", "weekday_cn"]
