"""One sorting tip a month for the loudspeaker clips: drawn from the dictionary, the same for every village."""

from __future__ import annotations

from bot.sorting.dictionary import SortingDictionary
from bot.sorting.model import Item


def tip_items(dictionary: SortingDictionary) -> list[Item]:
    """Items worth a tip: settled (not contested), with a reason to say, in a stable order."""
    return sorted((i for i in dictionary.items if i.reason and not i.contested), key=lambda i: (i.theme, i.name))


def monthly_tip(dictionary: SortingDictionary, year: int, month: int) -> str:
    """The tip for a month, in words for the ear: what the item is, which bin, how, and why. Deterministic, so a
    month's clips stay the same (and cached) however often they are made; consecutive months differ."""
    items = tip_items(dictionary)
    if not items:
        return ""
    # A stride coprime with most list lengths walks the themes instead of reading one theme month after month.
    item = items[((year * 12 + month) * 97) % len(items)]
    category = dictionary.category_name(item.category)
    return f"分类小知识：{item.name}属于{category}，{item.note}。{item.reason}。"
