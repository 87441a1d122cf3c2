"""Compiled message templates kept in a folder between runs (`$BOT_CACHE_DIR/compiled-templates`; by default the
user's cache folder, `~/.cache/laba`, like Python's bytecode and pip's caches).

Each start checks the plan by rendering every message, which first compiles every template (~30 of them, about
70 ms: the largest part of the check). Kept here, any later run (a restart, `laba check` then `laba run`, another
data folder) with unchanged templates loads their code instead.
Only a cache: Jinja recompiles whenever a template's source checksum, Jinja's own version or Python's differ from
what a file holds, a file that can't be read is passed over (the template is compiled), and a folder that can't be
written costs nothing but the saving. The check itself runs in full either way.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket

from bot.core.render import COMPILED

log = logging.getLogger(__name__)


class KeptTemplates(jinja2.BytecodeCache):
    """`folder` first, then the process's compiled templates (`bot.core.render.COMPILED`); what is compiled goes
    to both, and what only the process had goes to the folder, so the folder holds the newest code for the next
    start. It is trusted like the user's own files: its files are code the renderer runs (the default folder is in
    the user's home, as Python's bytecode cache is)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files = jinja2.FileSystemBytecodeCache(str(folder), "%s.jinja")

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            self._files.load_bytecode(bucket)
        except Exception as exc:  # a damaged or foreign file: compile, and the new code replaces it
            log.debug("编译好的模板 %s 读不了，重新编译：%s", self.folder, exc)
            bucket.reset()
        if bucket.code is None:
            COMPILED.load_bytecode(bucket)
            if bucket.code is not None:  # compiled earlier in this process: the folder gets it for the next one
                self._save(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        COMPILED.dump_bytecode(bucket)
        self._save(bucket)

    def _save(self, bucket: Bucket) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._files.dump_bytecode(bucket)
        except OSError as exc:
            log.debug("编译好的模板存不进 %s：%s", self.folder, exc)
