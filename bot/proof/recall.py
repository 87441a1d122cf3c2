"""What each sender recently said and how their photos were filed, for `bot.proof.attribution` to decide what follows.

In memory only: after a restart photos follow the last filed activity (the store's `last_filed`), or the bot asks;
photos still waiting for an answer are in the ledger as pending either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.proof.attribution import Naming, Photo


class SenderRecall:
    def __init__(self, keep_for: Callable[[], timedelta]) -> None:
        # Read at each call: the intake's settings may be replaced while it runs.
        self._keep_for = keep_for
        self._namings: dict[str, list[Naming]] = {}
        self._photos: dict[str, list[Photo]] = {}

    def namings(self, sender: str) -> list[Naming]:
        return self._namings.get(sender, [])

    def photos(self, sender: str) -> list[Photo]:
        return self._photos.get(sender, [])

    def remember(self, sender: str, at: datetime, naming: Naming | None, *photos: Photo) -> None:
        """Keep `naming` and `photos` of `sender`, and forget what is older than `keep_for`, everyone's: the memory
        stays as small as the last while's traffic."""
        since = at - self._keep_for()
        namings = {s: [n for n in said if n.at >= since] for s, said in self._namings.items()}
        namings.setdefault(sender, []).extend([naming] if naming else [])
        self._namings = {s: said for s, said in namings.items() if said}
        known = {s: {p.evidence_id: p for p in filed if p.at >= since} for s, filed in self._photos.items()}
        known.setdefault(sender, {}).update((p.evidence_id, p) for p in photos)
        self._photos = {s: list(filed.values()) for s, filed in known.items() if filed}
