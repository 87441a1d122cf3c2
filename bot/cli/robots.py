"""The routes commands: `laba relay` (人工代发: what is waiting, and `done` once forwarded by hand), and the
robots.yaml helpers `check` and `groups` use."""

from __future__ import annotations

import sys

import click

from bot.channels.robots.file import load_robots
from bot.channels.robots.wire import KIND_CN
from bot.cli.base import handle_errors, main
from bot.clock import SystemClock
from bot.core.model import Campaign
from bot.core.planner import group_target
from bot.core.render import cn_date
from bot.core.routes import RouteKind, route_for
from bot.errors import ConfigError, Problem
from bot.settings import Settings
from bot.store.relay import RelayQueue
from bot.store.sql import SqlStore, open_store


def robots_report(campaign: Campaign, settings: Settings) -> list[str]:
    """`check`'s lines about robots.yaml (warnings only). Raises ConfigError for a bad file."""
    robots = load_robots(settings.robots_path, campaign)
    lines = [f"  ! {w}" for w in robots.warnings]
    if robots.robots:
        kinds = [KIND_CN[r.kind] for r in robots.robots.values()]
        counts = "、".join(f"{k} {kinds.count(k)} 个" for k in sorted(set(kinds)))
        lines.insert(0, f"✓ {settings.robots_path}：{counts}，地址格式都对。")
    return lines


def group_routes(campaign: Campaign, settings: Settings, channel: str | None = None) -> dict[str, str]:
    """Each group's route in the clerk's words, keys masked. Raises ConfigError for a bad robots.yaml."""
    robots = load_robots(settings.robots_path, campaign).robots
    default = channel or settings.channel
    out = {}
    for unit in campaign.units:
        for group in unit.groups:
            route = route_for(campaign, group_target(group, unit), frozenset(robots), default == "wechaty")
            if route.kind is RouteKind.ROBOT:
                config = robots[group.id]
                out[group.id] = f"{KIND_CN[config.kind]} {config.masked_webhook}"
            elif route.kind is RouteKind.RELAY:
                out[group.id] = "人工代发（via: relay）"
            else:
                out[group.id] = f"默认渠道（{'个人微信' if default == 'wechaty' else '发件箱，需人工转发'}）"
    return out


def _queue() -> tuple[RelayQueue, SqlStore]:
    settings = Settings.from_env()
    store = open_store(settings.database_url, SystemClock().zone)
    return RelayQueue(store), store


@main.group(invoke_without_command=True)
@click.pass_context
@handle_errors
def relay(ctx: click.Context) -> None:
    """人工代发：列出没有自动渠道能送到、等人手工转发的消息（群、内容、从什么时候起）。

    转发后运行 laba relay done 编号 --by 姓名 记下来。"""
    if ctx.invoked_subcommand is not None:
        return
    queue, store = _queue()
    try:
        items = queue.waiting()
    finally:
        store.close()
    if not items:
        click.echo("没有等待人工转发的消息。")
        return
    for item in items:
        since = f"{item.queued_at.year}年{cn_date(item.queued_at)} {item.queued_at:%H:%M}"
        click.echo(f"\n#{item.id}  发给「{item.target_name}」（{item.target}），{since}起等待")
        click.echo(f"    原因：{item.reason}")
        if item.file_path:
            click.echo(f"    文件：{item.file_path}")
        for line in item.text.splitlines():
            click.echo(f"    {line}")
    click.echo(
        f"\n共 {len(items)} 条待转发。转发后运行：laba relay done {' '.join(str(i.id) for i in items)} --by 姓名"
    )


@relay.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("--by", "by", default="", help="谁转发的（姓名），记进台账。")
@handle_errors
def done(ids: tuple[str, ...], by: str) -> None:
    """记下编号 IDS 的消息已经人工转发（谁、什么时候）。"""
    numbers = []
    for raw in ids:
        if not raw.lstrip("#").isdigit():
            raise ConfigError([Problem("laba relay done", "编号", raw, "编号要写数字", "用 laba relay 查看编号")])
        numbers.append(int(raw.lstrip("#")))
    queue, store = _queue()
    try:
        marked, earlier, unknown = queue.done(numbers, by or "未署名", SystemClock().now())
    finally:
        store.close()
    if marked:
        click.echo(f"已记下人工转发：{'、'.join(f'#{i}' for i in marked)}（{by or '未署名'}）。")
    if earlier:
        click.echo(f"早已记过，未改动：{'、'.join(f'#{i}' for i in earlier)}。")
    if unknown:
        click.echo(f"没有这些编号：{'、'.join(f'#{i}' for i in unknown)}（用 laba relay 查看）。", err=True)
        sys.exit(2)
