"""Photos and thumbnails on disk, named only by their content hash: no user input ever reaches a path."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path


class FileStore:
    """Photos and thumbnails on disk, content-addressed: `<root>/ab/<sha256>.<ext>` and `<root>/thumbs/ab/<sha>.jpg`
    (thumbnails are made when a report first needs them).

    Writes are atomic (temporary file, then rename), so a crash never leaves half a photo under its final name;
    writing the same content twice is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirs: set[Path] = set()

    @staticmethod
    def _check(sha256: str, ext: str) -> None:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"sha256 must be 64 lower-case hex digits, got: {sha256!r}")
        if not ext.isalnum() or not ext.isascii() or len(ext) > 8:
            raise ValueError(f"ext must be a short alphanumeric extension, got: {ext!r}")

    def path(self, sha256: str, ext: str) -> Path:
        self._check(sha256, ext)
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def thumb_path(self, sha256: str) -> Path:
        self._check(sha256, "jpg")
        return self.root / "thumbs" / sha256[:2] / f"{sha256}.jpg"

    def put(self, sha256: str, ext: str, data: bytes) -> Path:
        """Write the file unless a file of the same size is already there (same hash: same content)."""
        return self._write(self.path(sha256, ext), data)

    def put_thumb(self, sha256: str, data: bytes) -> Path:
        return self._write(self.thumb_path(sha256), data)

    def thumb(self, sha256: str) -> bytes | None:
        p = self.thumb_path(sha256)
        return p.read_bytes() if p.is_file() else None

    def original(self, sha256: str, extensions: Iterable[str]) -> Path | None:
        """The stored file with this hash, trying each known extension."""
        for ext in extensions:
            p = self.path(sha256, ext)
            if p.is_file():
                return p
        return None

    def _write(self, path: Path, data: bytes) -> Path:
        try:
            if path.stat().st_size == len(data):
                return path
        except FileNotFoundError:
            pass
        parent = path.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        created = False
        try:
            # Exclusive create: a crash mid-write leaves a short file, which the size check above replaces.
            with open(path, "xb") as f:
                created = True
                f.write(data)
            return path
        except FileExistsError:
            pass  # a short file from a crash, or another process writing the same content right now
        except BaseException:
            if created:  # a write that failed (a full disk) leaves no short file behind
                path.unlink(missing_ok=True)
            raise
        # Unique per process and thread, in the final folder so the rename is atomic.
        tmp = parent / f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path
