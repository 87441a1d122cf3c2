"""The sorting dictionary's values: the four national categories (GB/T 19095-2019) and the items filed under them.

The national category is the key everywhere (store, JSON, tests); a town only renames how it is *said*
(湿垃圾/干垃圾, 可腐烂/不可腐烂) through `Naming`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class Category(StrEnum):
    RECYCLABLE = "recyclable"
    HAZARDOUS = "hazardous"
    KITCHEN = "kitchen"
    OTHER = "other"


# The standard's own names, as they are printed on bins; `laba lookup --json` answers with these.
NATIONAL_CN: Final[Mapping[Category, str]] = {
    Category.RECYCLABLE: "可回收物",
    Category.HAZARDOUS: "有害垃圾",
    Category.KITCHEN: "厨余垃圾",
    Category.OTHER: "其他垃圾",
}

# What people (and the shipped data) may write for a category: the key, the national name, common older names.
CATEGORY_WORDS: Final[Mapping[str, Category]] = {
    **{c.value: c for c in Category},
    **{name: c for c, name in NATIONAL_CN.items()},
    "可回收垃圾": Category.RECYCLABLE,
    "餐厨垃圾": Category.KITCHEN,
    "湿垃圾": Category.KITCHEN,
    "易腐垃圾": Category.KITCHEN,
    "干垃圾": Category.OTHER,
}


@dataclass(frozen=True)
class Item:
    """One thing a household throws away. `also` holds synonyms and local names; `contested` marks items whose
    category differs between published city guides (answered with that caveat, never used as a test answer)."""

    name: str
    category: Category
    note: str
    also: tuple[str, ...] = ()
    reason: str = ""
    theme: str = ""
    source: str = ""
    contested: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.also)


@dataclass(frozen=True)
class Match:
    """What a query resolved to and how (`name`, `synonym`, `variant`: after tidying the typing, `pinyin`: a
    homophone or pinyin spelling)."""

    query: str
    item: Item
    via: str


@dataclass(frozen=True)
class Naming:
    """How a town says each category; the national name where it says nothing else."""

    names: Mapping[Category, str] = field(default_factory=dict)

    def __call__(self, category: Category) -> str:
        return self.names.get(category) or NATIONAL_CN[category]
