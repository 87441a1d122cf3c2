"""`RoutedChannel`: one `Channel` over every way out at once — each group's robot, the default channel (outbox or
Wechaty) and the relay (人工代发) — choosing per delivery by `bot.core.routes`.

A delivery whose path refuses it for good (a removed robot, a wrong signature, a file DingTalk can't carry) is
handed to the relay rather than failed: it was certainly not posted, so a person forwarding it can't duplicate it.
An uncertain failure (maybe posted) is never relayed; it goes up to the pipeline as it is.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Protocol

from bot.channels.base import Channel, Handoff, InboundMessage, OutgoingFile, no_handoff
from bot.channels.relay import RelayDesk
from bot.channels.robots.wire import RobotProblem, RobotRefused
from bot.core.model import Campaign
from bot.core.planner import Target
from bot.core.routes import Route, RouteKind, route_for
from bot.errors import DeliveryError
from bot.health import HealthLine

log = logging.getLogger(__name__)

ProblemSink = Callable[[RobotProblem], Awaitable[None]]


class GroupRobots(Channel, Protocol):
    """The robots as the routes see them: a channel, and the groups it has a robot for (`RobotChannel`, or
    `RehearsalRobots` when nothing may really be posted)."""

    @property
    def groups(self) -> frozenset[str]: ...


class RoutedChannel:
    name = "routed"

    def __init__(
        self,
        default: Channel,
        robots: GroupRobots,
        relay: RelayDesk,
        campaign: Callable[[], Campaign],
        *,
        default_reaches_people: bool,
        problems: ProblemSink | None = None,
    ) -> None:
        """`problems` is told when a robot refuses for good (the app: the admins, once per group and code)."""
        self.default = default
        self.robots = robots
        self.relay = relay
        self._campaign = campaign
        self._reaches_people = default_reaches_people
        self._problems = problems
        # Robots replaced by a reload: closed only with this channel, so a send in flight on one isn't cut off.
        self._retired: list[GroupRobots] = []

    async def replace_robots(self, robots: GroupRobots) -> None:
        """Route by `robots` from now on (robots.yaml was reloaded). The new robots are started first; a delivery
        already on its way by the old ones finishes there."""
        await robots.start()
        self._retired.append(self.robots)
        self.robots = robots

    def route(self, target: Target) -> Route:
        return route_for(self._campaign(), target, self.robots.groups, self._reaches_people)

    async def start(self) -> None:
        await self.default.start()
        await self.robots.start()

    async def close(self) -> None:
        for robots in (*self._retired, self.robots):
            await robots.close()
        self._retired.clear()
        await self.default.close()

    async def send_text(self, target: Target, text: str, *, handoff: Handoff = no_handoff) -> str:
        return await self._send(target, text, None, handoff)

    async def send_file(self, target: Target, file: OutgoingFile, *, handoff: Handoff = no_handoff) -> str:
        return await self._send(target, f"[文件] {file.name}", file, handoff)

    async def send_direct(self, target: Target, text: str) -> str:
        """By the target's automatic path, or else the default channel; never into the relay (the relay's own
        digest uses this: a digest queued for the relay people would never reach them)."""
        route = self.route(target)
        if route.kind is RouteKind.ROBOT:
            try:
                return await self.robots.send_text(route.target, text)
            except DeliveryError as exc:
                if exc.uncertain:
                    raise
                log.warning("代发清单用群机器人发给 %s 没成功，改用默认渠道：%s", target.id, exc)
        return await self.default.send_text(target, text)

    async def _send(self, target: Target, text: str, file: OutgoingFile | None, handoff: Handoff) -> str:
        route = self.route(target)
        if route.kind is RouteKind.RELAY:
            # Queued for a person is handed over: after a crash it is never queued twice.
            await handoff(True)
            return await self.relay.queue(target, text, _path(file), route.why)
        channel: Channel = self.robots if route.kind is RouteKind.ROBOT else self.default
        try:
            if file is not None:
                return await channel.send_file(route.target, file, handoff=handoff)
            return await channel.send_text(route.target, text, handoff=handoff)
        except DeliveryError as exc:
            if not exc.permanent or exc.uncertain:
                raise
            if isinstance(exc, RobotRefused) and self._problems is not None:
                await self._problems(exc.problem)
            log.warning("%s → %s 发不出去，交代发人转发：%s", route.kind, target.id, exc)
            await handoff(True)
            return await self.relay.queue(target, text, _path(file), str(exc))

    async def inbound(self) -> AsyncIterator[InboundMessage]:
        # Only the default channel hears anyone: robots post, they don't listen.
        async for message in self.default.inbound():
            yield message

    async def health(self) -> list[HealthLine]:
        return [*await self.default.health(), *await self.robots.health(), *await self.relay.health()]


def _path(file: OutgoingFile | None) -> Path | None:
    return file.path if file is not None else None


def routes_of(channel: object) -> RoutedChannel | None:
    """The per-group routes (robots, relay) when `channel` has them, else None: every message goes one way."""
    return channel if isinstance(channel, RoutedChannel) else None
