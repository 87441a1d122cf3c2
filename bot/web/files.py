"""The DingTalk download links: `BOT_PUBLIC_URL/files/<hash>/<name>` serves a file the robots published under
`$BOT_DATA_DIR/public/<hash>/` (`bot.channels.robots.PublicFiles`). DingTalk robots can't carry files, so the
group gets this link, tapped on a phone without signing in.

Only what the robots published answers: the hash must be one of theirs (24 hex digits) and the name is compared
with the folder's entries, never joined into a path, so no `..` or other name reaches another file. No listing:
a hash alone, or a name not in its folder, is 404.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Final
from urllib.parse import quote

from aiohttp import web

from bot.web.security import CONSOLE_KEY

DIGEST: Final = re.compile(r"[0-9a-f]{24}")  # PublicFiles' content hash, as it puts it in the link


def published(public: Path, digest: str, name: str) -> Path | None:
    """The regular file `name` in `public/<digest>/`, or None. Symlinks are not followed (nothing the robots
    published is one)."""
    if not DIGEST.fullmatch(digest):
        return None
    try:
        with os.scandir(public / digest) as entries:
            for entry in entries:
                if entry.name == name and entry.is_file(follow_symlinks=False):
                    return Path(entry.path)
    except OSError:
        return None
    return None


async def public_file(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    name = request.match_info["name"]
    found = await asyncio.to_thread(published, console.settings.data_dir / "public", request.match_info["digest"], name)
    if found is None:
        raise web.HTTPNotFound(text="没有这个文件，可能链接抄错了或文件已经清理。", content_type="text/plain")
    # A download, not a page: nothing in it runs in the console's origin.
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return web.FileResponse(
        found, headers={"Content-Disposition": disposition, "Cache-Control": "private, max-age=3600"}
    )
