"""The sorting dictionary's index and its lookup: pure, built once, then read by every question.

Lookup never guesses. A query resolves only to an item one of its tidied forms names exactly (`normalize`), or whose
pinyin it spells or sounds like when exactly one item sounds that way; anything else is None ("I don't know").
Keys that would name items of two different categories are dropped from the index (and listed in `ambiguous`),
so an ambiguity is answered "don't know" rather than by whichever item came first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Final

from bot.sorting.model import Category, Item, Match, Naming
from bot.sorting.normalize import accent, is_spelled, light, pinyin, variants

# Homophones of one or two syllables are too many to trust (纸/枝/指; 电池/点吃 is fine, 瓶子/平子 is fine, but a
# two-syllable slip through the accent folding lands on too many words): accent-folded matches need three.
MIN_SYLLABLES: Final = 2
MIN_ACCENT_SYLLABLES: Final = 3
MIN_SPELLED_LETTERS: Final = 4


class _ExactFirst(dict[str, Match]):
    """Names exactly as written in the data -> their ready Match; any other text falls to `__missing__`, the
    tolerant path. A hit is then a plain C-level dict lookup: no Python frame at all (the exact benchmark)."""

    def __init__(self, resolve: Callable[[str], Match | None]) -> None:
        super().__init__()
        self._resolve = resolve

    def __missing__(self, text: str) -> Match | None:
        # Never stored: the answer for a miss is computed each time (it can't change, but the cache is `light`'s).
        return self._resolve(text)


class SortingDictionary:
    """Items by every name they go by. Later items replace earlier ones of the same name (a town's own entries
    come after the shipped ones). Safe from any thread: the index is never changed after building.

    `lookup(text)` gives the item `text` names, or None when the dictionary doesn't know it (never a guess).
    """

    lookup: Callable[[str], Match | None]

    def __init__(self, items: Iterable[Item], naming: Naming | None = None) -> None:
        self.naming = naming or Naming()
        self.items: tuple[Item, ...] = _overridden(items)
        self.ambiguous: dict[str, tuple[Item, ...]] = {}
        keyed: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            for key in dict.fromkeys(light(n) for n in item.names):
                if key and item not in keyed[key]:
                    keyed[key].append(item)
        self._light: dict[str, Item] = {}
        for key, found in keyed.items():
            if len({i.category for i in found}) > 1:
                self.ambiguous[key] = tuple(found)
            else:
                self._light[key] = found[0]
        # The fast path: names exactly as written in the data, answered with a ready Match (no tidying, no pinyin).
        self._exact = _ExactFirst(self._resolve)
        for item in self.items:
            for n in item.names:
                if self._light.get(light(n)) is item:
                    self._exact.setdefault(n, Match(n, item, "name" if n == item.name else "synonym"))
        self._sounds: dict[str, Item | None] = {}
        self._accents: dict[str, Item | None] = {}
        for key, item in self._light.items():
            syllables = pinyin(key)
            if len(syllables) >= MIN_SYLLABLES:
                _add_unique(self._sounds, "".join(syllables), item)
            if len(syllables) >= MIN_ACCENT_SYLLABLES:
                _add_unique(self._accents, accent(syllables), item)
        self._by_head: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            self._by_head[light(item.name)[-2:]].append(item)
        self.lookup = self._exact.__getitem__

    def __len__(self) -> int:
        return len(self.items)

    def _resolve(self, text: str) -> Match | None:
        forms = variants(text)
        for i, form in enumerate(forms):
            item = self._light.get(form)
            if item is not None:
                return Match(text, item, "variant" if i else _via(item, form))
        for form in forms:
            item = self._by_sound(form)
            if item is not None:
                return Match(text, item, "pinyin")
        return None

    def _by_sound(self, form: str) -> Item | None:
        if is_spelled(form):
            return self._sounds.get(form) if len(form) >= MIN_SPELLED_LETTERS else None
        syllables = pinyin(form)
        if len(syllables) < MIN_SYLLABLES:
            return None
        item = self._sounds.get("".join(syllables))
        if item is None and len(syllables) >= MIN_ACCENT_SYLLABLES:
            item = self._accents.get(accent(syllables))
        return item

    def similar(self, item: Item) -> Item | None:
        """An item that looks alike but goes in another bin (干电池 → 纽扣电池), worth a word in the answer."""
        for other in self._by_head.get(light(item.name)[-2:], ()):
            if other.category is not item.category and not other.contested:
                return other
        return None

    def category_name(self, category: Category) -> str:
        return self.naming(category)


def _via(item: Item, key: str) -> str:
    return "name" if key == light(item.name) else "synonym"


def _add_unique(index: dict[str, Item | None], key: str, item: Item) -> None:
    # Two different items that sound alike: neither is answered by sound (None marks the key as taken).
    if key in index and index[key] is not item:
        index[key] = None
    else:
        index[key] = item


def _overridden(items: Iterable[Item]) -> tuple[Item, ...]:
    out: dict[str, Item] = {}  # by the light form of the name
    owner: dict[str, str] = {}  # light form of any name -> the light name of the item that has it
    for item in items:
        key = light(item.name)
        # A later item takes over an earlier one that goes by its name (a town's entry for 稻草 replaces ours).
        old = owner.get(key)
        if old is not None:
            out.pop(old, None)
        out[key] = item
        for n in item.names:
            owner[light(n)] = key
    return tuple(out.values())
