"""Loudspeaker clip file names: unique by construction, and the check that no two clips of a plan share one. Pure."""

from __future__ import annotations

from collections import defaultdict

from bot.core.planner import Plan, PlannedJob, Target

ANNOUNCE_CLIP = "tongzhi"  # the part of an activity's own clip name where an event's clip has the event id


def clip_stem(job: PlannedJob, target: Target) -> str:
    """A clip's file name without `.mp3`: activity id, event id (or `tongzhi`), unit id, joined with '.'.

    Unique by construction: activity ids are unique in the town, event ids within their activity, unit ids in the
    town, and no id contains '.'; `check` rejects an event id `tongzhi`. Only [a-z0-9_.-] (ids are slugs), for old
    players and FAT-formatted USB sticks; readable as what it is (2024-05.xuanchuanzhou.changchun)."""
    what = job.event.id if job.event else ANNOUNCE_CLIP
    return ".".join((job.activity_id or job.key.replace("/", "-"), what, target.unit or target.id))


def clip_folder(job: PlannedJob) -> str:
    """The month folder a clip goes to (YYYY-MM)."""
    return f"{job.year}-{job.month:02d}"


def colliding_clips(plan: Plan) -> dict[str, list[str]]:
    """File paths (folder/stem.mp3) that two different broadcast jobs or operators would write: path → job keys."""
    owners: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for job in plan.jobs:
        if job.broadcast is None:
            continue
        for target in job.targets:
            owners[f"{clip_folder(job)}/{clip_stem(job, target)}.mp3"].add((job.key, target.id))
    return {path: sorted(k for k, _ in who) for path, who in owners.items() if len(who) > 1}
