"""Dated events in the notice's wording: written dates (`5月20日—26日`, `“3.19”`) and the well-known days an activity
names (六一儿童节, 世界环境日, 国庆, 春节 from the lunar calendar of that year)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from lunardate import LunarDate
from pypinyin import lazy_pinyin

from bot.notice.wording import split_top, strip_verbs, theme_of


@dataclass(frozen=True)
class DraftEvent:
    id: str
    name: str
    start: date
    end: date | None = None
    theme: str = ""
    note: str = ""  # how the date was found, for the clerk: 按农历推算、正文（二）…


@dataclass(frozen=True)
class KnownDay:
    id: str
    name: str
    spellings: tuple[str, ...]
    month: int
    day: int
    lunar: bool = False
    offset: int = 0  # 除夕: the day before 春节

    def on(self, year: int) -> date:
        if not self.lunar:
            return date(year, self.month, self.day)
        solar = LunarDate(year, self.month, self.day).to_solar_date()
        return date(solar.year, solar.month, solar.day) + timedelta(days=self.offset)


# Longer spellings first where one contains another (六一儿童节 before 六一).
KNOWN_DAYS = (
    KnownDay("yuandan", "元旦", ("元旦",), 1, 1),
    KnownDay("chuxi", "除夕", ("除夕",), 1, 1, lunar=True, offset=-1),
    KnownDay("chunjie", "春节", ("春节",), 1, 1, lunar=True),
    KnownDay("yuanxiao", "元宵节", ("元宵节", "元宵"), 1, 15, lunar=True),
    KnownDay("xueleifeng", "学雷锋纪念日", ("学雷锋纪念日", "学雷锋日"), 3, 5),
    KnownDay("zhishujie", "植树节", ("植树节",), 3, 12),
    KnownDay("shijieshuiri", "世界水日", ("世界水日",), 3, 22),
    KnownDay("diqiuri", "世界地球日", ("世界地球日",), 4, 22),
    KnownDay("laodongjie", "劳动节", ("五一劳动节", "五一国际劳动节", "劳动节", "五一"), 5, 1),
    KnownDay("qingnianjie", "青年节", ("五四青年节", "青年节"), 5, 4),
    KnownDay("duanwu", "端午节", ("端午节", "端午"), 5, 5, lunar=True),
    KnownDay("liuyi", "六一儿童节", ("六一儿童节", "六一国际儿童节", "儿童节", "六一"), 6, 1),
    KnownDay("huanjingri", "世界环境日", ("世界环境日",), 6, 5),
    KnownDay("jiandang", "建党节", ("七一建党节", "建党节"), 7, 1),
    KnownDay("jianjun", "建军节", ("八一建军节", "建军节"), 8, 1),
    KnownDay("shengtairi", "全国生态日", ("全国生态日",), 8, 15),
    KnownDay("zhongqiu", "中秋节", ("中秋节", "中秋"), 8, 15, lunar=True),
    KnownDay("jiaoshijie", "教师节", ("教师节",), 9, 10),
    KnownDay("guoqing", "国庆节", ("国庆节", "国庆"), 10, 1),
    KnownDay("chongyang", "重阳节", ("重阳节", "重阳"), 9, 9, lunar=True),
    KnownDay("zhiyuanzhe", "国际志愿者日", ("国际志愿者日",), 12, 5),
)

_DASH = r"\s*[—–\-－~～至到]+\s*"
_DATED = re.compile(rf"(?<![\d年.])(\d{{1,2}})月(\d{{1,2}})[日号](?:{_DASH}(?:(\d{{1,2}})月)?(\d{{1,2}})[日号])?")
_DOTTED = re.compile(r"“(\d{1,2})\.(\d{1,2})”")
# Words that make a clause an event rather than, say, a deadline (5月30日前报送总结).
_EVENTISH = re.compile(r"周|日|节|月|活动|仪式|大会|行动|宣传|赛|评选|会")
_KIND_WORDS = re.compile(r"(?:宣传|主题|活动|服务|志愿)[周月日]|开放日|纪念日|仪式|大会|竞赛|比赛")


def known_days(text: str, year: int) -> list[DraftEvent]:
    """Well-known days named in `text`, in order of mention, each once."""
    found: list[tuple[int, DraftEvent]] = []
    taken: list[range] = []
    for day in KNOWN_DAYS:
        for spelling in day.spellings:
            for m in re.finditer(re.escape(spelling), text):
                span = range(m.start(), m.end())
                if any(set(span) & set(t) for t in taken):
                    continue
                taken.append(span)
                if all(e.id != day.id for _, e in found):
                    note = f"{day.name}按{year}年农历推算" if day.lunar else ""
                    found.append((m.start(), DraftEvent(day.id, day.name, day.on(year), note=note)))
    return [e for _, e in sorted(found, key=lambda p: p[0])]


def event_id(name: str, start: date) -> str:
    """A stable id from the event's name: the pinyin of its kind word (宣传周 → xuanchuanzhou), with the day for a
    dotted date (“3.19”…主题周 → zhutizhou-319); else the pinyin of its first four characters."""
    kind = _KIND_WORDS.search(name)
    han = "".join(ch for ch in name.replace("垃圾分类", "") if "\u4e00" <= ch <= "\u9fff")
    base = "".join(lazy_pinyin(kind[0] if kind else han[:4])) or "huodong"
    base = re.sub(r"[^a-z0-9]", "", base.lower())
    if _DOTTED.search(name):
        base += f"-{start.month}{start.day:02d}" if start.day >= 10 else f"-{start.month}{start.day}"
    return base


def _clause_name(rest: str) -> str:
    clause = split_top(rest, "，,。；;、")
    name = strip_verbs(clause[0].lstrip("是为在起，, ")) if clause else ""
    name = strip_verbs(name)
    return name.removesuffix("活动") if len(name) > 4 else name


def _shape(name: str, start: date, end: date | None) -> tuple[str, date | None]:
    """What villagers are reminded of: the part before 暨 when it is an event of its own (what follows 暨 is a
    ceremony held with it, for cadres, and stays in the activity's wording); a week (…周) named by its first day
    lasts seven days."""
    head, sep, _ = name.partition("暨")
    if sep and _EVENTISH.search(head) and len(head) >= 4:
        name = head
    if end is None and name.endswith("周"):
        end = start + timedelta(days=6)
    return name, end


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def written_dates(text: str, year: int, note: str) -> list[DraftEvent]:
    """Events whose date is written out: `5月20日—26日开展第二届…宣传周` and `开展“3.19”…主题周…活动`. Dates with
    a year (the notice's own date), and clauses that are deadlines (5月30日前报送) are not events."""
    out: list[DraftEvent] = []
    for sentence in re.split(r"(?<=[。；！？])", text):
        for m in _DATED.finditer(sentence):
            rest = sentence[m.end() :]
            if rest.startswith(("前", "之前", "以前", "止", "截止")):
                continue
            start = _date(year, int(m[1]), int(m[2]))
            end = _date(year, int(m[3] or m[1]), int(m[4])) if m[4] else None
            name = _clause_name(rest)
            if start is None or len(name) < 3 or not _EVENTISH.search(name):
                continue
            name, end = _shape(name, start, end)
            out.append(DraftEvent(event_id(name, start), name, start, end, theme_of(sentence), note))
        for m in _DOTTED.finditer(sentence):
            start = _date(year, int(m[1]), int(m[2]))
            clause = split_top(sentence[m.start() :], "，,。；;、")
            name = clause[0].removesuffix("活动") if clause else ""
            if start is not None and _EVENTISH.search(name):
                name, end = _shape(name, start, None)
                out.append(DraftEvent(event_id(name, start), name, start, end, theme_of(sentence), note))
    return out
