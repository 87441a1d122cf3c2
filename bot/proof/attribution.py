"""Which open activity a unit's photo belongs to, from what its sender said around it. Pure: facts in, decisions out.

WeChat delivers a photo and the words about it as separate messages, in either order, so a secretary with two
similar activities open (4月敲门行动 第一轮 and 第二轮) writes `下面是第一轮的` and then posts, or posts and then writes
`这张是第二轮的`. The rules, strongest first:

1. Only one activity is open for the unit: that one.
2. The photo's own caption names one.
3. A text the sender sent shortly before (`Timing.named_for`) names one: photos follow the latest naming.
4. The activity the sender's last photos went to (the "last answer" memory, within the intake's `carry_over`).
5. Else nobody knows: the photo waits and the bot asks.

A text naming an activity afterwards applies to the photos just before it that are not settled (`refiled`):

- photos still waiting for an answer;
- photos that only followed the memory (rule 4): an explicit naming always beats the memory;
- photos that followed an earlier naming (rule 3) but came right before this text (`Timing.caption_gap`) and
  nearer to it than to that earlier naming: `第一轮`, photo, `这张是第二轮的` files the photo under 第二轮.

Photos filed by their own caption, by the only open activity or by a text after them are never moved by a later
text, and a text that points forward (`下面是…`, `接下来…`) only applies to what follows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from bot.proof.windows import without_months

# Words with which a text introduces the photos still to come, so it is no caption for the ones before it.
FORWARD_WORDS: Final = ("下面", "以下", "接下来", "后面", "待会", "等下", "马上发", "稍后")
# Words a caption is made of besides the activity's own: "这张是第二轮的照片" says nothing a clerk needs to keep.
_FILLER: Final = frozenset("的是这张那些几下面以上个都为了里和与及也还我们照片图佐证材料发送一下请收")


class Basis(Enum):
    """Why a photo is filed under its activity."""

    ONLY = "only"  # the only activity open for the unit
    CAPTION = "caption"  # the photo's own text named it
    NAMED = "named"  # a text the sender sent shortly before named it
    AFTER = "after"  # a text the sender sent right after named it
    MEMORY = "memory"  # the activity the sender's last photos went to


SETTLED: Final = frozenset({Basis.ONLY, Basis.CAPTION, Basis.AFTER})


@dataclass(frozen=True)
class Timing:
    named_for: timedelta = timedelta(minutes=30)  # a naming applies to the sender's photos this long after it
    caption_gap: timedelta = timedelta(minutes=2)  # a text this soon after a photo may be that photo's caption


@dataclass(frozen=True)
class Naming:
    """A text from a unit's sender that named one of the open activities."""

    at: datetime
    activity_id: str
    forward: bool = False  # it introduces what follows (下面是第一轮的), so it says nothing of what came before


@dataclass(frozen=True)
class Photo:
    """One of the sender's photos as intake filed it."""

    evidence_id: int
    at: datetime
    activity_id: str | None  # None: waiting for an answer
    basis: Basis | None  # None: waiting
    named_at: datetime | None = None  # for Basis.NAMED: when the naming was sent


@dataclass(frozen=True)
class Decision:
    activity_id: str | None  # None: ask
    basis: Basis | None
    named_at: datetime | None = None


def points_forward(text: str) -> bool:
    return any(w in text for w in FORWARD_WORDS)


def for_photo(
    candidates: Sequence[str],
    at: datetime,
    *,
    caption: str | None,
    namings: Iterable[Naming],
    memory: str | None,
    timing: Timing = Timing(),
) -> Decision:
    """The activity (id, among `candidates`, the open ones for the unit) of a photo received `at`: `caption` is what
    its own text names (None: nothing), `namings` the sender's recent namings, `memory` the activity the sender's
    last photos went to (None: none recent)."""
    if len(candidates) == 1:
        return Decision(candidates[0], Basis.ONLY)
    if caption is not None and caption in candidates:
        return Decision(caption, Basis.CAPTION)
    before = [n for n in namings if n.at <= at <= n.at + timing.named_for and n.activity_id in candidates]
    if before:
        latest = max(before, key=lambda n: n.at)
        return Decision(latest.activity_id, Basis.NAMED, latest.at)
    if memory is not None and memory in candidates:
        return Decision(memory, Basis.MEMORY)
    return Decision(None, None)


def refiled(naming: Naming, photos: Iterable[Photo], timing: Timing = Timing()) -> list[int]:
    """Ids of the sender's `photos` a text naming an activity (sent after them) files under it: see the module
    docstring. `photos` are those intake still remembers: pending ones of any age, filed ones of the last while."""
    if naming.forward:
        return []
    out = []
    for p in photos:
        if p.at > naming.at or p.activity_id == naming.activity_id or p.basis in SETTLED:
            continue
        if p.basis is None:
            out.append(p.evidence_id)  # waiting for exactly this answer
        elif p.basis is Basis.MEMORY and naming.at - p.at <= timing.named_for:
            out.append(p.evidence_id)
        elif p.basis is Basis.NAMED and p.named_at is not None:
            since_photo = naming.at - p.at
            if since_photo <= timing.caption_gap and since_photo < p.at - p.named_at:
                out.append(p.evidence_id)
    return out


def is_caption(text: str, title: str, activity_id: str) -> bool:
    """True when `text` only names the activity (`第二轮敲门行动的照片`, `这张是第一轮的`): a caption, not a note worth
    keeping as proof. A note tells something more (`入户42户，签字表见照片`): a figure, or a few words of its own."""
    rest = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", without_months(text.replace(activity_id, "")))
    own = "".join(c for c in rest if c not in title and c not in _FILLER)
    return not any(c.isdigit() for c in own) and len(own) < 3
