"""The last good plan: the town's files as they were when they last loaded without error, kept in the store.

A daemon that restarts while a file is broken (a typo saved at night, a half-copied folder) runs the plan it last
ran instead of refusing to start, and tells the admins what is wrong; it goes back to the files as soon as they load.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.config.campaign import Sources
from bot.store.base import Snapshot, Store

_KINDS = (".yaml", ".yml", ".j2")


def town_key(sources: Sources) -> str:
    """The snapshot's key: the town's folder name (town.yaml itself may be the broken file)."""
    return sources.schedules.name


def files_of(sources: Sources) -> dict[str, str]:
    """Every file `load` reads, by a path relative to its root (`schedules/…`, `messages/…`)."""
    out: dict[str, str] = {}
    for root, prefix in ((sources.schedules, "schedules"), (sources.messages, "messages")):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in _KINDS:
                out[f"{prefix}/{path.relative_to(root).as_posix()}"] = path.read_text(encoding="utf-8")
    return out


def keep(store: Store, sources: Sources, now: datetime) -> None:
    """Remember the files as the last good plan. Call only after they loaded without error."""
    store.save_snapshot(town_key(sources), files_of(sources), now)


def restore(store: Store, sources: Sources, folder: Path) -> tuple[Sources, Snapshot] | None:
    """Write the last good plan under `folder` (replacing what was there) and return where it is; None if the store
    has none for this town."""
    snap = store.snapshot(town_key(sources))
    if snap is None:
        return None
    key = town_key(sources)
    if folder.exists():
        shutil.rmtree(folder)
    # Same channel and robots: only the town's files come from the snapshot.
    restored = replace(sources, schedules=folder / "schedules" / key, messages=folder / "messages")
    roots = {"schedules": restored.schedules, "messages": restored.messages}
    for rel, text in snap.files.items():
        kind, _, rest = rel.partition("/")
        if kind not in roots or ".." in Path(rest).parts:
            continue  # only what `files_of` wrote; never a path outside the folder
        path = roots[kind] / rest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return restored, snap
