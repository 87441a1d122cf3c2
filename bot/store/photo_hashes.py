"""Finding earlier copies of a photo: the same bytes (SHA-256) or nearly the same picture (perceptual hash)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from bot.store.schema import evidence

if TYPE_CHECKING:
    import numpy as np

_HASHES_SINCE: Final = (
    select(evidence.c.id, evidence.c.sha256, evidence.c.phash)
    .where(evidence.c.phash.is_not(None), evidence.c.id > bindparam("upto"))
    .order_by(evidence.c.id)
)


class PhotoHashes:
    """Every kept photo's id and 64-bit hash, and the first id of each file, cached in this process.

    numpy arrays, made on the first comparison (numpy is loaded then, not when the daemon starts)."""

    def __init__(self) -> None:
        self._ids: np.ndarray[Any, np.dtype[np.int64]] | None = None
        self._bits: np.ndarray[Any, np.dtype[np.uint64]] | None = None
        self._first_of_sha: dict[str, int] = {}
        self._hashes_upto = 0

    def similar(self, conn: Connection, sha256: str, phash: str, max_distance: int) -> tuple[int | None, int | None]:
        """(id of the first earlier photo with these exact bytes, id of the first earlier photo within
        `max_distance` bits of `phash`); either may be None.

        Photos are only ever added with their hashes (refused items have none; hashes never change), so the
        (id, sha256, hash) list is cached and each call fetches only the rows with a higher id, by any process.
        (On PostgreSQL two runners filing at the same instant could commit ids out of order and miss each other's
        photo; inbound messages come through one channel stream, so one process files them.)"""
        import numpy as np

        if self._ids is None or self._bits is None:
            self._ids, self._bits = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        rows = conn.execute(_HASHES_SINCE, {"upto": self._hashes_upto}).all()
        if rows:
            for r in rows:
                self._first_of_sha.setdefault(r[1], r[0])
            self._ids = np.concatenate([self._ids, np.array([r[0] for r in rows], dtype=np.int64)])
            self._bits = np.concatenate([self._bits, np.array([int(r[2], 16) for r in rows], dtype=np.uint64)])
            self._hashes_upto = rows[-1][0]
        exact = self._first_of_sha.get(sha256)
        close = np.flatnonzero(np.bitwise_count(self._bits ^ np.uint64(int(phash, 16))) <= max_distance)
        return exact, (int(self._ids[close[0]]) if len(close) else None)
