"""Which way each delivery goes: a group's own robot, the default channel, or the relay (人工代发). Pure.

Groups: `via: relay` always goes to the relay; a group with a robot goes by it; any other by the default channel.
People (robots can't write to a person): privately where the default channel reaches people (a personal-WeChat
gateway); otherwise into the person's unit work group by its robot with an @mention (admins and relay people, who
belong to no unit, into the office group); otherwise to the relay — never only into the local outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from bot.core.model import Campaign, Group, GroupKind, Unit
from bot.core.planner import Target, group_target, villager_targets


class RouteKind(StrEnum):
    ROBOT = "robot"
    DEFAULT = "default"
    RELAY = "relay"


@dataclass(frozen=True)
class Route:
    """`target` is where the message really goes: for a person routed into a group, that group with an @mention."""

    kind: RouteKind
    target: Target
    why: str  # in the clerk's words, for `laba groups` and the relay list


def route_for(campaign: Campaign, target: Target, robots: frozenset[str], default_reaches_people: bool) -> Route:
    if target.kind == "group":
        return _group_route(campaign, target, robots)
    if default_reaches_people:
        return Route(RouteKind.DEFAULT, target, "私信")
    for group, unit in _home_groups(campaign, target):
        if group.id in robots and group.via != "relay":
            mentioned = replace(group_target(group, unit), mentions=(target,))
            return Route(RouteKind.ROBOT, mentioned, f"在「{group.name}」里 @ 本人")
    return Route(RouteKind.RELAY, target, "机器人不能私信个人，本人所在的工作群也没有机器人")


def _group_route(campaign: Campaign, target: Target, robots: frozenset[str]) -> Route:
    try:
        group, _ = campaign.group(target.id)
    except KeyError:
        group = None
    if group is not None and group.via == "relay":
        return Route(RouteKind.RELAY, target, "units.yaml 里设为 via: relay（人工代发）")
    if target.id in robots:
        return Route(RouteKind.ROBOT, target, "群机器人")
    return Route(RouteKind.DEFAULT, target, "默认渠道")


def _home_groups(campaign: Campaign, person: Target) -> list[tuple[Group, Unit]]:
    """The groups a person can be @-ed in: their unit's work groups; for people of no unit, the office group."""
    if person.unit:
        try:
            unit = campaign.unit(person.unit)
        except KeyError:
            return []
        return [(g, unit) for g in unit.groups if g.kind is GroupKind.WORK]
    try:
        return [campaign.group(campaign.office_group)]
    except KeyError:
        return []


def reply_groups(campaign: Campaign, robots: frozenset[str], default_takes_replies: bool) -> frozenset[str]:
    """The villagers' groups whose replies reach the bot, so the weekly quiz can go there: those the default
    channel sends to, when that channel hears the groups (a WeChat gateway; the outbox hears nothing). A robot
    only posts and the relay people post by hand: their groups' answers never come back."""
    if not default_takes_replies:
        return frozenset()
    return frozenset(
        t.id for t in villager_targets(campaign) if _group_route(campaign, t, robots).kind is RouteKind.DEFAULT
    )
