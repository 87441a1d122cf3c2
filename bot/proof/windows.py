"""When each activity takes proof, and which activity a sender's words point at. Pure: plan in, values out.

The open window of an activity runs from its proof request to the due time plus the town's `proof_grace`. A photo's
EXIF time is expected from the start of the activity's month (or of its first event, if earlier) to the close of
the window.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from bot.core.model import Activity, Campaign, JobKind
from bot.core.planner import Plan, PlannedJob, activity_due
from bot.core.render import required_photos

_CN_MONTHS = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "十一": 11,
    "十二": 12,
}
_MONTH = re.compile(r"(十[一二]|[一二三四五六七八九十]|1[0-2]|0?[1-9])\s*月(?!份?底)")
# Words in every title: they can't tell activities apart.
_COMMON = frozenset({"垃圾", "圾分", "分类", "宣传", "活动", "开展", "全国"})


@dataclass(frozen=True)
class ActivityWindow:
    activity: Activity
    year: int
    opens: datetime  # the proof request
    due: datetime
    closes: datetime  # due + grace
    taken_from: datetime  # earliest plausible EXIF time
    min_photos: int
    units: frozenset[str]

    def open_at(self, instant: datetime) -> bool:
        return self.opens <= instant <= self.closes

    def taken_in(self, instant: datetime) -> bool:
        return self.taken_from <= instant <= self.closes

    @property
    def label(self) -> str:
        """How messages name the activity: 4月“敲门行动”入户宣传."""
        return f"{self.activity.month}月{self.activity.title}"


def windows(campaign: Campaign, plan: Plan) -> tuple[ActivityWindow, ...]:
    """One window per activity that has a proof request in the plan, in plan order."""
    out = []
    seen: set[str] = set()
    for job in plan.jobs:
        if job.kind is not JobKind.PROOF_REQUEST or job.activity is None or job.due is None:
            continue
        # A month's merged work arrangement asks for each of its activities, each with its own due date.
        for act in job.covers or (job.activity,):
            if act.id not in seen:
                seen.add(act.id)
                out.append(_window(campaign, job, act, activity_due(campaign, act) if job.covers else job.due))
    return tuple(out)


def _window(campaign: Campaign, job: PlannedJob, act: Activity, due: datetime) -> ActivityWindow:
    month_start = datetime.combine(job.at.date().replace(day=1), time(0), tzinfo=job.at.tzinfo)
    starts = [month_start] + [datetime.combine(e.start, time(0), tzinfo=job.at.tzinfo) for e in act.events]
    return ActivityWindow(
        activity=act,
        year=job.year,
        opens=job.at,
        due=due,
        closes=due + campaign.rules.proof_grace,
        taken_from=min(starts),
        min_photos=max(required_photos(campaign, act), 1),
        units=frozenset(u.id for u in campaign.responsible_units(act)),
    )


def open_for(all_windows: Iterable[ActivityWindow], unit_id: str | None, at: datetime) -> list[ActivityWindow]:
    """Windows open at `at` (for `unit_id` when known), the one due soonest first."""
    found = [w for w in all_windows if w.open_at(at) and (unit_id is None or unit_id in w.units)]
    return sorted(found, key=lambda w: (w.due, w.activity.id))


def months_in(text: str) -> set[int]:
    out = set()
    for m in _MONTH.finditer(text):
        token = m.group(1)
        out.add(_CN_MONTHS[token] if token in _CN_MONTHS else int(token))
    return out


def without_months(text: str) -> str:
    """`text` with its month expressions (4月, 四月) taken out."""
    return _MONTH.sub("", text)


def _bigrams(text: str) -> set[str]:
    chars = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", " ", text)
    return {chunk[i : i + 2] for chunk in chars.split() for i in range(len(chunk) - 1)} - _COMMON


def pick(candidates: Sequence[ActivityWindow], text: str) -> ActivityWindow | None:
    """The candidate the text points at: a month ("4月", "四月") or words of its title that no other candidate has
    ("敲门"). None when the text points at none of them, or at several equally."""
    if not text.strip() or not candidates:
        return None
    months = months_in(text)
    words = _bigrams(text)
    per = {w.activity.id: _bigrams(w.activity.title) | {w.activity.id} for w in candidates}
    scores = []
    for w in candidates:
        others = set().union(*(v for k, v in per.items() if k != w.activity.id))
        own = per[w.activity.id] - others
        score = len(words & own) + (3 if w.activity.month in months else 0) + (5 if w.activity.id in text else 0)
        scores.append((score, w))
    scores.sort(key=lambda s: -s[0])
    best = scores[0][0]
    if best == 0 or (len(scores) > 1 and scores[1][0] == best):
        return None
    return scores[0][1]


def example_reply(candidates: Sequence[ActivityWindow], wanted: ActivityWindow) -> str:
    """A short reply that `pick` resolves to `wanted` among `candidates`: the example the bot suggests must work.

    Tries the month ("4月"), then each phrase of the title in turn ("第一轮" when two rounds of 敲门行动 are open: a
    secretary types that, not the whole title), then the label, then the activity id; the id always works (+5)."""
    phrases = [p for p in re.split(r"[^\u4e00-\u9fffA-Za-z0-9]+", wanted.activity.title) if len(p) > 1]
    for text in (f"{wanted.activity.month}月", *phrases, wanted.label, wanted.activity.title):
        if pick(candidates, text) is wanted:
            return text
    return wanted.activity.id
