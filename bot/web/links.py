"""Upload links in proof requests and chases: `BOT_PUBLIC_URL/u/<token>` for the message's unit and activity.

A token is random, stored (`upload_links`), the same for the request and the chase of one unit and activity, valid
until the activity's proof window closes (its due time plus the town's proof grace), and revocable from the 台账
page. It names nothing: the unit and activity are looked up by it on the server."""

from __future__ import annotations

from collections.abc import Callable

from bot.clock import Clock
from bot.core.model import JobKind
from bot.core.planner import PlannedJob, Target
from bot.core.render import quoted
from bot.proof.windows import ActivityWindow
from bot.settings import Settings
from bot.store.sql import SqlStore
from bot.store.web import WebStore

WITH_LINK = (JobKind.PROOF_REQUEST, JobKind.CHASE)


class UploadLinks:
    """`PipelineHooks.links`: the line to append to a proof request or chase for a unit's group."""

    def __init__(
        self, web: WebStore, windows: Callable[[], tuple[ActivityWindow, ...]], public_url: str, clock: Clock
    ) -> None:
        self._web = web
        self._windows = windows
        self._base = public_url.rstrip("/")
        self._clock = clock

    def url(self, unit_id: str, activity_id: str) -> str | None:
        window = next((w for w in self._windows() if w.activity.id == activity_id), None)
        if window is None or unit_id not in window.units:
            return None
        link = self._web.link_for(unit_id, activity_id, window.closes, self._clock.now())
        return f"{self._base}/u/{link.token}"

    def __call__(self, job: PlannedJob, target: Target) -> str:
        if job.kind not in WITH_LINK or job.activity is None or target.unit is None:
            return ""
        # A month's merged arrangement asks for each of the unit's activities: one link each, named when several.
        acts = job.covers if len(job.covers) > 1 else (job.activity,)
        urls = [(a, url) for a in acts if (url := self.url(target.unit, a.id))]
        if len(urls) == 1:
            return f"\n用手机交照片（不用登录）：{urls[0][1]}"
        return "".join(f"\n用手机交{quoted(a.title)}的照片（不用登录）：{url}" for a, url in urls)


def upload_links_for(
    store: SqlStore, windows: Callable[[], tuple[ActivityWindow, ...]], settings: Settings, clock: Clock
) -> UploadLinks | None:
    """The daemon's `PipelineHooks.links` when BOT_PUBLIC_URL is set: over the store's web tables and the proof
    intake's `windows`."""
    if not settings.public_url:
        return None
    return UploadLinks(WebStore(store), windows, settings.public_url, clock)
