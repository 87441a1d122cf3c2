"""The YAML schema of the dictionary's files: the shipped `bot/sorting/data/*.yaml` and a town's `sorting.yaml`.

Both have the same shape: groups of items sharing a category, a disposal note, a reason and a source. An item is
written `名称/别名/别名` (the first is its name) or as a mapping when it needs its own note, reason or category.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator

from bot.core.model import Frozen
from bot.sorting.model import CATEGORY_WORDS, Category, Item


def _category(value: object) -> object:
    if isinstance(value, str):
        found = CATEGORY_WORDS.get(value.strip())
        if found is None:
            raise ValueError(
                "分类写 可回收物、有害垃圾、厨余垃圾 或 其他垃圾（也可写 recyclable/hazardous/kitchen/other）"
            )
        return found
    return value


CategoryField = Annotated[Category, BeforeValidator(_category)]


def _names(value: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in value.split("/") if n.strip())


class ItemEntry(Frozen):
    name: str = Field(min_length=1)
    also: tuple[str, ...] = ()
    category: CategoryField | None = None
    note: str | None = None
    reason: str | None = None
    contested: bool = False

    @field_validator("name")
    @classmethod
    def _one_name(cls, value: str) -> str:
        if "/" in value:
            raise ValueError("name 只写一个名称；别名写在 also 里")
        return value


def _entry(value: object) -> object:
    # The short form "名称/别名/别名": most items need nothing more than their group gives.
    if isinstance(value, str):
        names = _names(value)
        if not names:
            raise ValueError("物品名称不能为空")
        return {"name": names[0], "also": list(names[1:])}
    return value


Entry = Annotated[ItemEntry, BeforeValidator(_entry)]


class ItemGroup(Frozen):
    theme: str = Field(min_length=1)
    category: CategoryField
    note: str = Field(min_length=1, description="投放要求: one line")
    reason: str = ""
    source: str = ""
    items: tuple[Entry, ...] = Field(min_length=1)


class DictionaryFile(Frozen):
    """One shipped file (`bot/sorting/data/*.yaml`) or a town's `sorting.yaml`."""

    source: str = ""
    categories: dict[CategoryField, str] = Field(
        default_factory=dict, description="a town's own names for the categories (湿垃圾、干垃圾 …)"
    )
    groups: tuple[ItemGroup, ...] = ()

    @field_validator("categories")
    @classmethod
    def _names_given(cls, value: dict[Category, str]) -> dict[Category, str]:
        for category, name in value.items():
            if not name.strip():
                raise ValueError(f"{category.value} 的名称不能为空")
        return value


def items_of(doc: DictionaryFile) -> list[Item]:
    """The file's items, each with its group's category, note, reason and source unless it sets its own."""
    out = []
    for group in doc.groups:
        for entry in group.items:
            out.append(
                Item(
                    name=entry.name,
                    category=entry.category or group.category,
                    note=entry.note or group.note,
                    also=entry.also,
                    reason=entry.reason if entry.reason is not None else group.reason,
                    theme=group.theme,
                    source=group.source or doc.source,
                    contested=entry.contested,
                )
            )
    return out
