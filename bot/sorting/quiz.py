"""The weekly quiz's pure parts: which question a town gets in a week, and what a reply chose.

`draw` is deterministic per (town, quiz key): the same week always asks the same item with the same order of
choices, on any machine and after any restart (a seeded `random.Random`, never Python's salted `hash`). Contested
items (categories that differ between city guides) are never asked. Items of the month's activity theme are
preferred when there are any.

`choice_of` accepts what villagers type: "A", "a", "选A", "答案A", "Ａ" (full width), "A。"; anything else is None.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from bot.sorting.model import Category, Item

if TYPE_CHECKING:  # the dictionary's module loads pypinyin: the daemon imports this module at start
    from bot.sorting.dictionary import SortingDictionary

LETTERS: Final = ("A", "B", "C", "D")
_CHOICE: Final = re.compile(r"^(?:我选|选择|选|答案是|答案|答)?\s*([ABCD])\s*[。.!！~～]*$")


@dataclass(frozen=True)
class QuizQuestion:
    key: str
    item: str
    choices: tuple[Category, ...]  # in the order A, B, C, D
    answer: str  # the right letter
    note: str  # how the item is put out, said with the answer

    def view(self, dictionary: SortingDictionary) -> dict[str, Any]:
        """What `quiz.j2` and `quiz_answer.j2` get as `quiz` (the town's category names)."""
        return {
            "item": self.item,
            "choices": [
                {"letter": letter, "name": dictionary.category_name(c)}
                for letter, c in zip(LETTERS, self.choices, strict=True)
            ],
            "answer": self.answer,
            "answer_name": dictionary.category_name(self.choices[LETTERS.index(self.answer)]),
            "note": self.note,
        }


def _seed(town: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{town}/{key}".encode()).digest()[:8], "big")


def draw(dictionary: SortingDictionary, town: str, key: str, theme: str = "") -> QuizQuestion:
    """The week's question. Raises ValueError if the dictionary has no uncontested item."""
    pool = sorted((i for i in dictionary.items if not i.contested), key=lambda i: i.name)
    if not pool:
        raise ValueError("the dictionary has no uncontested item to ask about")
    themed = [i for i in pool if i.theme and theme and (i.theme in theme or theme in i.theme)]
    rng = random.Random(_seed(town, key))
    item: Item = rng.choice(themed or pool)
    choices = list(Category)
    rng.shuffle(choices)
    answer = LETTERS[choices.index(item.category)]
    return QuizQuestion(key, item.name, tuple(choices), answer, item.note)


def choice_of(text: str) -> str | None:
    """The letter a reply chose, or None if it isn't a bare choice."""
    tidy = unicodedata.normalize("NFKC", text).strip().upper()
    m = _CHOICE.match(tidy)
    return m.group(1) if m else None
