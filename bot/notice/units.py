"""Responsible units as the notice writes them, matched to units.yaml: sets (各村（社区）) and single units."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum

from bot.core.model import UnitKind, UnitsFile
from bot.notice.wording import split_top

V, C, D, S, E = UnitKind.VILLAGE, UnitKind.COMMUNITY, UnitKind.DEPARTMENT, UnitKind.SCHOOL, UnitKind.ENTERPRISE
# How notices name a set, by the kinds of unit in it: a units.yaml set with exactly these kinds is meant.
SET_ALIASES: dict[frozenset[UnitKind], tuple[str, ...]] = {
    frozenset({V, C}): (
        "各村（社区）",
        "各村（居）",
        "各村（居）委",
        "各村（居）委会",
        "各村居",
        "各村社区",
        "各村（社区）居委会",
    ),
    frozenset({V}): ("各村", "各行政村", "各村委会"),
    frozenset({C}): ("各社区", "各居委会"),
    frozenset({D}): ("镇级各部门", "镇属各部门", "镇级相关部门", "各部门", "镇级各单位", "镇属各单位", "各站所"),
    frozenset({E}): ("相关民营企业", "各民营企业", "相关企业", "辖区企业", "各企业"),
    frozenset({S}): ("各学校", "辖区学校", "各中小学", "各中小学校", "各学校（幼儿园）"),
}
_ROLE_NOTE = re.compile(r"[（(](?:牵头|配合|负责|主责|协助)[）)]$")
NEAR_CUTOFF = 0.6


class How(StrEnum):
    EXACT = "exact"  # the name in units.yaml, character for character
    ALIAS = "alias"  # a usual way of writing it (镇文化站 for 文化站, 各村（居） for 各村（社区）): certain
    NEAR = "near"  # the closest name, not certain: the clerk confirms it
    NONE = "none"  # nothing close: an error


@dataclass(frozen=True)
class UnitMatch:
    text: str
    ref: str | None
    how: How
    suggestions: tuple[str, ...] = ()  # "id（名称）", best first

    @property
    def label(self) -> str:
        return self.suggestions[0] if self.suggestions else (self.ref or "")


def split_units(text: str) -> list[str]:
    names = split_top(text.replace("\n", "、"), "、，,；; \u3000")
    return [_ROLE_NOTE.sub("", n).strip() for n in names if _ROLE_NOTE.sub("", n).strip()]


def _norm(text: str) -> str:
    return "".join(text.split()).replace("(", "（").replace(")", "）")


class UnitMatcher:
    """Matches names against one town's units.yaml. `town_names` (金溪镇, 金溪) are prefixes a notice may add."""

    def __init__(self, units: UnitsFile, town_names: tuple[str, ...] = ()) -> None:
        self._units = units
        self._prefixes = tuple(sorted({*town_names, "镇"}, key=len, reverse=True))
        self._labels = {u.id: f"{u.id}（{u.name}）" for u in units.units} | {
            s.id: f"{s.id}（{s.name}）" for s in units.unit_sets
        }
        self._names = {_norm(u.name): u.id for u in units.units} | {_norm(s.name): s.id for s in units.unit_sets}

    def _short(self, name: str) -> str:
        for prefix in self._prefixes:
            if name.startswith(prefix) and len(name) > len(prefix) + 1:
                return name[len(prefix) :]
        return name

    def _alias(self, name: str) -> str | None:
        for kinds, aliases in SET_ALIASES.items():
            if name in aliases:
                for s in self._units.unit_sets:
                    if frozenset(s.kinds) == kinds and not s.units and not s.except_units:
                        return s.id
        short = self._short(name)
        by_short = [u.id for u in self._units.units if self._short(_norm(u.name)) == short]
        if len(by_short) == 1:
            return by_short[0]
        # 武装部 for 镇人民武装部: a unique unit whose name ends with what the notice wrote.
        ending = [u.id for u in self._units.units if len(short) >= 3 and _norm(u.name).endswith(short)]
        return ending[0] if len(ending) == 1 else None

    def match(self, text: str) -> UnitMatch:
        name = _norm(text)
        if name in self._names:
            return UnitMatch(text, self._names[name], How.EXACT)
        if (ref := self._alias(name)) is not None:
            return UnitMatch(text, ref, How.ALIAS)
        close = difflib.get_close_matches(name, list(self._names), n=3, cutoff=0.3)
        suggestions = tuple(self._labels[self._names[c]] for c in close)
        near = difflib.get_close_matches(name, list(self._names), n=2, cutoff=NEAR_CUTOFF)
        if len(near) == 1 or (near and difflib.SequenceMatcher(None, name, near[0]).ratio() >= 0.8):
            return UnitMatch(text, self._names[near[0]], How.NEAR, suggestions)
        return UnitMatch(text, None, How.NONE, suggestions)

    def all_labels(self) -> tuple[str, ...]:
        return tuple(self._labels.values())
