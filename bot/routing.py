"""Wiring of the routes: the robots from robots.yaml, the relay desk and the default channel put together into one
`RoutedChannel` (told where robots' refusals go), and the relay's digests and hand-overs as the pipeline's hooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.channels.base import Channel
from bot.channels.outbox import OutboxChannel
from bot.channels.rehearsal import RehearsalRobots
from bot.channels.relay import RelayDesk
from bot.channels.robots.wire import KIND_CN
from bot.channels.routed import ProblemSink, RoutedChannel, routes_of
from bot.clock import Clock
from bot.config.campaign import LoadedCampaign
from bot.core.alert_kinds import ROBOT_FAILED
from bot.core.model import Campaign
from bot.core.planner import Target, person_target
from bot.pipeline import Pipeline, PipelineHooks
from bot.settings import Settings
from bot.store.relay import RelayQueue
from bot.store.sql import SqlStore

if TYPE_CHECKING:
    from bot.channels.robots import Pacer, RobotChannel, RobotConfig, RobotProblem
    from bot.robots_reload import RobotsReloader

log = logging.getLogger(__name__)


def needs_routing(campaign: Campaign, has_robots: bool) -> bool:
    """Routing matters once there is a robot, a group marked `via: relay`, or relay people; a town with none of
    these keeps its one default channel exactly as before."""
    relay_groups = any(g.via == "relay" for u in campaign.units for g in u.groups)
    return has_robots or relay_groups or bool(campaign.relay)


def make_routed(
    settings: Settings,
    clock: Clock,
    default: Channel,
    campaign: Callable[[], Campaign],
    store: SqlStore,
    *,
    problems: ProblemSink | None = None,
    pacer: Pacer | None = None,
    wall_ms: Callable[[], int] | None = None,
) -> Channel:
    """`default` alone, or a RoutedChannel over it, the robots and the relay; `problems` is told when a robot
    refuses for good (`robot_alerts`). Raises ConfigError for a bad robots.yaml (its warnings go to the log).
    `pacer` and `wall_ms` let a simulation keep the robots' time."""
    configured, warnings = read_robots(settings.robots_path, campaign())
    for warning in warnings:
        log.warning("%s", warning)
    if not needs_routing(campaign(), bool(configured)):
        return default
    robots = robot_channel(settings, configured, pacer=pacer, wall_ms=wall_ms)
    relay = RelayDesk(RelayQueue(store), clock.now)
    # Only a personal-WeChat gateway really reaches a person; the outbox reaches no one by itself.
    reaches_people = settings.channel == "wechaty"
    return RoutedChannel(default, robots, relay, campaign, default_reaches_people=reaches_people, problems=problems)


def read_robots(path: Path, campaign: Campaign) -> tuple[dict[str, RobotConfig], tuple[str, ...]]:
    """robots.yaml's robots and warnings (see `bot.channels.robots.file.load_robots`; it raises ConfigError). A
    town without the file, as most are, gets none without loading the robots' modules."""
    if not path.exists():
        return {}, ()
    from bot.channels.robots.file import load_robots

    robots_file = load_robots(path, campaign)
    return robots_file.robots, robots_file.warnings


def robot_channel(
    settings: Settings,
    robots: Mapping[str, RobotConfig],
    *,
    pacer: Pacer | None = None,
    wall_ms: Callable[[], int] | None = None,
) -> RobotChannel:
    """The robots of a robots.yaml, with DingTalk download links where BOT_PUBLIC_URL is set."""
    from bot.channels.robots import PublicFiles, RobotChannel

    public = PublicFiles(settings.data_dir / "public", settings.public_url) if settings.public_url else None
    return RobotChannel(robots, public=public, pacer=pacer, wall_ms=wall_ms)


def make_rehearsal(
    settings: Settings,
    clock: Clock,
    echo: TextIO | None,
    campaign: Callable[[], Campaign],
    store: SqlStore,
    *,
    problems: ProblemSink | None = None,
) -> Channel:
    """For `simulate` without --live: routes decided exactly as `make_routed` decides them (the same robots.yaml,
    the same default channel's reach), but every robot post and every default-channel delivery is written to the
    outbox, marked with the route it would have taken. No robot, no gateway is contacted. The relay queue is the
    real one: a rehearsal records in the store as the daemon would. Raises ConfigError for a bad robots.yaml."""
    configured, _ = read_robots(settings.robots_path, campaign())
    kinds = {group: robot.kind for group, robot in configured.items()}
    default_note = None if settings.channel == "outbox" else DEFAULT_CN.get(settings.channel, settings.channel)

    def note(target: Target) -> str | None:
        return KIND_CN[kinds[target.id]] if target.id in kinds else default_note

    outbox = OutboxChannel(settings.outbox_dir, clock.now, echo, route_note=note)
    if not needs_routing(campaign(), bool(kinds)):
        return outbox
    robots = RehearsalRobots(frozenset(kinds), outbox)
    relay = RelayDesk(RelayQueue(store), clock.now)
    reaches_people = settings.channel == "wechaty"
    return RoutedChannel(outbox, robots, relay, campaign, default_reaches_people=reaches_people, problems=problems)


DEFAULT_CN = {"wechaty": "个人微信"}


def make_reloader(
    settings: Settings, channel: Channel, pipeline: Pipeline, campaign: Callable[[], Campaign]
) -> RobotsReloader:
    """The daemon's robots.yaml watcher over `channel` (see `bot.robots_reload`)."""
    from bot.robots_reload import RobotsReloader

    routed = routes_of(channel)

    def make(robots: dict[str, RobotConfig], old: RobotChannel) -> RobotChannel:
        return robot_channel(settings, robots, pacer=old.pacer)

    return RobotsReloader(settings.robots_path, campaign, pipeline, routed, make)


def robot_alerts(pipeline: Callable[[], Pipeline]) -> ProblemSink:
    """When a robot refuses for good, the admins are told which group and what to fix (once per group and error
    code: the store dedups alerts by key). `pipeline` is late-bound: the channel is built before the pipeline."""

    async def robot_problem(problem: RobotProblem) -> None:
        group, robot = _group_name(pipeline(), problem.group), KIND_CN[problem.kind]
        key = f"alert/robot/{problem.group}/{problem.code}"
        await pipeline().alert(ROBOT_FAILED(key, group=group, robot=robot, code=problem.code, fix=problem.fix))

    return robot_problem


def relay_hooks(channel: Channel, current: Callable[[], LoadedCampaign]) -> PipelineHooks:
    """After each batch, one digest to the relay people; a delivery whose every attempt failed (the path stayed
    down) is handed to the relay instead of left failed. No hooks for a channel without routes."""
    routed = routes_of(channel)
    if routed is None:
        return PipelineHooks()

    async def digest() -> None:
        loaded = current()
        people = [person_target(p) for p in loaded.campaign.relay]
        await routed.relay.flush(people, loaded.renderer.render_named, routed.send_direct)

    async def relay_failed(target: Target, text: str, why: str) -> str:
        return await routed.relay.queue(target, text, None, why)

    return PipelineHooks(batch_done=digest, relay_failed=relay_failed)


def _group_name(pipeline: Pipeline, group_id: str) -> str:
    try:
        group, _ = pipeline.current().campaign.group(group_id)
    except KeyError:
        return group_id
    return group.name
