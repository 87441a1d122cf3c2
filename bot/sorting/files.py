"""Reading the dictionary: the shipped `bot/sorting/data/*.yaml` and a town's own `sorting.yaml` (additions,
overrides and its names for the categories). Errors name the file and line like the other town files."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bot.config.loader import _validate
from bot.config.yamlfile import read_yaml
from bot.errors import ConfigError, Problem
from bot.sorting.model import Category, Item, Naming

if TYPE_CHECKING:
    from bot.sorting.dictionary import SortingDictionary
    from bot.sorting.schema import DictionaryFile

# The file's schema, the name folding and the dictionary are imported where a file is read or a dictionary built:
# every load looks for the town's sorting.yaml, but a town without one (or a daemon with no question yet) needs
# none of them.

log = logging.getLogger(__name__)

TOWN_FILE: Final = "sorting.yaml"


def read_file(path: Path) -> DictionaryFile:
    """One dictionary file, validated. Raises ConfigError with every problem (file, line, place, value)."""
    from bot.sorting.normalize import light
    from bot.sorting.schema import DictionaryFile

    doc = read_yaml(path)
    result = _validate(doc, DictionaryFile)
    if isinstance(result, list):
        raise ConfigError(result)
    problems = []
    seen: dict[str, str] = {}
    for i, group in enumerate(result.groups):
        for j, entry in enumerate(group.items):
            for name in (entry.name, *entry.also):
                key = light(name)
                if key in seen and seen[key] != entry.name:
                    loc = ("groups", i, "items", j)
                    problems.append(
                        Problem(
                            path,
                            f"groups[{i}].items[{j}]",
                            name,
                            f"这个名称已经用在“{seen[key]}”上了",
                            "一个名称只能对应一样东西：删掉一个，或把它们合成一条",
                            doc.line_of(loc),
                        )
                    )
                seen[key] = entry.name
    if problems:
        raise ConfigError(problems)
    return result


def shipped_paths() -> list[Path]:
    folder = resources.files("bot.sorting") / "data"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=1)
def shipped_items() -> tuple[Item, ...]:
    """Every item laba ships, in file order. Raises ConfigError if a shipped file is broken (a packaging bug)."""
    from bot.sorting.schema import items_of

    return tuple(item for path in shipped_paths() for item in items_of(read_file(path)))


@dataclass(frozen=True)
class TownSorting:
    """A town's `sorting.yaml`, read: its items and its names for the categories."""

    items: tuple[Item, ...] = ()
    naming: Naming = field(default_factory=Naming)


def read_town(folder: Path) -> TownSorting:
    """The town's `sorting.yaml`, or nothing to add when it has none. Raises ConfigError."""
    path = folder / TOWN_FILE
    if not path.is_file():
        return TownSorting()
    from bot.sorting.schema import items_of

    doc = read_file(path)
    return TownSorting(tuple(items_of(doc)), Naming(dict(doc.categories)))


def build_dictionary(town_folder: Path | None) -> SortingDictionary:
    """The shipped items with the town's added on top (its entries replace ours of the same name). Raises
    ConfigError if the town's sorting.yaml is broken."""
    town = read_town(town_folder) if town_folder is not None else TownSorting()
    return _indexed(town.items, tuple(town.naming.names.items()))


@lru_cache(maxsize=8)
def _indexed(town_items: tuple[Item, ...], names: tuple[tuple[Category, str], ...]) -> SortingDictionary:
    # Indexing is the costly part (pinyin of every name); the same town files give the same, immutable index.
    from bot.sorting.dictionary import SortingDictionary

    return SortingDictionary((*shipped_items(), *town_items), Naming(dict(names)))


class DictionarySource:
    """The town's dictionary, rebuilt when its `sorting.yaml` changes. A broken edit is logged and the last good
    dictionary kept (the daemon must go on answering); `laba check`-style commands call `build_dictionary`."""

    def __init__(self, town_folder: Path) -> None:
        self._folder = town_folder
        self._stamp: tuple[int, int] | None = None
        self._current: SortingDictionary | None = None

    def _file_stamp(self) -> tuple[int, int]:
        try:
            st = (self._folder / TOWN_FILE).stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_size, st.st_mtime_ns)

    def get(self) -> SortingDictionary:
        """Raises ConfigError only the first time (when there is no good dictionary to fall back to)."""
        stamp = self._file_stamp()
        if self._current is None or stamp != self._stamp:
            try:
                self._current = build_dictionary(self._folder)
            except ConfigError as exc:
                if self._current is None:
                    raise
                log.error("%s 有错，仍按原来的词典回答：\n%s", TOWN_FILE, exc)
            self._stamp = stamp
        return self._current
