"""What still validates in a file that doesn't: so `check` lists every problem of every file in one run.

A file with a schema error (a misspelt key, a wrong kind) is pruned until it validates: an offending key is left out
(its default applies), and an entry that still can't be read (a unit, a group, an activity) is left out whole. The
cross-checks and the timing checks then run on what is left, so a bad key in one activity doesn't hide a due date
before its request in another. Problems found in the pruned copy are mapped back to the original file's places and
lines; the pruned copy is never run, only checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.config.yamlfile import Loc, YamlDoc, place
from bot.errors import Problem

M = TypeVar("M", bound=BaseModel)

MAX_ROUNDS = 12  # each round prunes at least one key or entry; a file needing more is left unchecked


@dataclass(frozen=True)
class Pruned:
    """The pruned copy of a file: `doc` addresses its data; `kept` maps each list (by its original loc) to the
    original indices of the entries left, in order; `dropped` the original locs of the entries left out."""

    doc: YamlDoc
    original: YamlDoc
    kept: dict[Loc, list[int]] = field(default_factory=dict)
    dropped: tuple[Loc, ...] = ()

    def original_loc(self, loc: Loc) -> Loc:
        out: list[str | int] = []
        for part in loc:
            if isinstance(part, int):
                indices = self.kept.get(tuple(out))
                part = indices[part] if indices is not None and part < len(indices) else part
            out.append(part)
        return tuple(out)

    def restore(self, problem: Problem) -> Problem:
        """A problem found in the pruned copy, pointing at the original file's place and line."""
        if str(problem.file) != str(self.original.path) or not problem.place:
            return problem
        loc = self.original_loc(parse_place(problem.place))
        return replace(problem, place=place(loc), line=self.original.line_of(loc))


def parse_place(text: str) -> Loc:
    """`activities[3].events[0].start` -> `('activities', 3, 'events', 0, 'start')` (the inverse of `place`)."""
    return tuple(int(i) if i else k for k, i in re.findall(r"([^.\[\]]+)|\[(\d+)\]", text))


class Salvage:
    """The pruned copies of a town's broken files, and the way back from them to the files' places."""

    def __init__(self) -> None:
        self.pruned: dict[str, Pruned] = {}

    def model(
        self, doc: YamlDoc, model: type[M], context: dict[str, Any] | None = None, drops: tuple[Loc, ...] = ()
    ) -> tuple[YamlDoc, M] | None:
        """What of `doc` validates (leaving out `drops` too), with the pruned doc to check it against."""
        got = salvage(doc, model, context, drops)
        if got is None:
            return None
        self.pruned[str(doc.path)] = got[1]
        return got[1].doc, got[0]

    def restore(self, problem: Problem) -> Problem:
        pruned = self.pruned.get(str(problem.file))
        return pruned.restore(problem) if pruned else problem


def salvage(
    doc: YamlDoc, model: type[M], context: dict[str, Any] | None = None, drops: tuple[Loc, ...] = ()
) -> tuple[M, Pruned] | None:
    """The model of what validates once the broken parts (and `drops`) are left out, or None when nothing
    sensible is left."""
    if not isinstance(doc.data, dict):
        return None
    dropped: set[Loc] = set(drops)
    for _ in range(MAX_ROUNDS):
        data, kept, lines = _pruned(doc, dropped)
        pruned = Pruned(YamlDoc(doc.path, data, lines), doc, kept, tuple(sorted(dropped, key=str)))
        try:
            return model.model_validate(data, context=context), pruned
        except ValidationError as exc:
            before = len(dropped)
            for err in exc.errors():
                loc = _existing(doc, pruned.original_loc(tuple(p for p in err["loc"] if isinstance(p, str | int))))
                _drop_for(loc, err["type"], dropped)
            if len(dropped) == before:
                return None
    return None


def _existing(doc: YamlDoc, loc: Loc) -> Loc:
    # pydantic appends union branches and validator names to some locs: keep the part that is in the file.
    while loc and loc not in doc.lines:
        loc = loc[:-1]
    return loc


def _drop_for(loc: Loc, kind: str, drops: set[Loc]) -> None:
    """Leave out the offending key (its default applies), or, when that's not enough, the entry around it."""
    if loc and isinstance(loc[-1], str) and kind != "missing" and loc not in drops:
        drops.add(loc)
        return
    for cut in range(len(loc), 0, -1):
        if isinstance(loc[cut - 1], int) and loc[:cut] not in drops:
            drops.add(loc[:cut])
            return


def _pruned(doc: YamlDoc, drops: set[Loc]) -> tuple[Any, dict[Loc, list[int]], dict[Loc, int]]:
    kept: dict[Loc, list[int]] = {}
    lines: dict[Loc, int] = {}

    def walk(node: Any, orig: Loc, new: Loc) -> Any:
        if orig in doc.lines:
            lines[new] = doc.lines[orig]
        if isinstance(node, dict):
            out = {k: walk(v, (*orig, k), (*new, k)) for k, v in node.items() if (*orig, k) not in drops}
            # A mapping emptied by pruning is left out too: `proof_due: {workday: prevous}` then falls back to the
            # town's default proof_due (day 25, 18:00), not to an empty rule's generic day 1, 09:00.
            return {k: v for k, v in out.items() if not (v == {} and node[k] != {})}
        if isinstance(node, list):
            indices = [i for i in range(len(node)) if (*orig, i) not in drops]
            kept[orig] = indices
            return [walk(node[i], (*orig, i), (*new, j)) for j, i in enumerate(indices)]
        return node

    return walk(doc.data, (), ()), kept, lines
