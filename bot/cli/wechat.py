"""The WeChat commands: groups (configured groups and their resolved room ids) and sandbox (the bot against a
simulated WeChat, with a web page)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from bot.app import App
from bot.channels.rooms import ReportsRooms
from bot.cli.base import (
    build_app,
    channel_option,
    handle_errors,
    main,
    messages_option,
    parse_instant,
    schedules_option,
)
from bot.cli.robots import group_routes
from bot.clock import SystemClock
from bot.config.campaign import Sources, load
from bot.settings import Settings

KIND_CN = {"villagers": "村民群", "work": "工作群", "office": "办公室群"}


def kind_label(group_kind: str, unit_kind: str) -> str:
    """A group's kind as the clerk says it: a community's villagers' group is its 居民群."""
    if group_kind == "villagers" and unit_kind == "community":
        return "居民群"
    return KIND_CN.get(group_kind, group_kind)


@main.command(
    help=(
        "列出配置的微信群：编号、群名、类型、所属单位。\n\n"
        "加 --online（并用 --channel wechaty）还会显示每个群对应的微信群 id，"
        "找不到的说明原因；有找不到的，退出码 1。"
    )
)
@schedules_option
@messages_option
@channel_option
@click.option("--online", is_flag=True, help="连上微信，显示每个群对应的微信群 id，找不到的说明原因。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（给程序读）。")
@handle_errors
def groups(schedules: Path, messages: Path, channel: str | None, online: bool, as_json: bool) -> None:
    """List the configured groups: id, name (the WeChat group's topic), kind and unit.

    With --online (and --channel wechaty), also the room id each resolves to, or why not; exit 1 if one is missing."""
    loaded = load(Sources(schedules, messages))
    rows: list[dict[str, Any]] = [
        {"id": g.id, "name": g.name, "kind": g.kind.value, "unit": u.id, "unit_name": u.name}
        for u in loaded.campaign.units
        for g in u.groups
    ]
    labels = {g.id: kind_label(g.kind.value, u.kind.value) for u in loaded.campaign.units for g in u.groups}
    routes = group_routes(loaded.campaign, Settings.from_env(channel=channel), channel)
    for row in rows:
        row["route"] = routes[row["id"]]
    if online:
        app = build_app(schedules, messages, channel, SystemClock(), echo=sys.stderr)
        try:
            report = asyncio.run(_room_report(app))
        finally:
            app.close()
        for row in rows:
            row["room_id"], row["problem"] = report.get(row["id"], (None, "未知"))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            line = f"{row['id']:<28} {row['name']}（{labels[row['id']]}，{row['unit_name']}）"
            line += f"\n{'':<28} 渠道：{row['route']}"
            if online:
                line += f"\n{'':<28} → {row['room_id']}" if row["room_id"] else f"\n{'':<28} ✗ {row['problem']}"
            click.echo(line)
        click.echo(f"\n共 {len(rows)} 个群。")
        # Units with no group at all are reached privately: say so, or they look forgotten (issue 10 L9).
        private = [u for u in loaded.campaign.units if not u.groups]
        if private:
            click.echo("\n没有群的单位（消息私信发给联系人）：")
            for u in private:
                people = "、".join(f"{c.name}（{c.id}）" for c in u.contacts) or "没有联系人，收不到消息"
                click.echo(f"  {u.name}：私信 {people}")
    if online and any(not row["room_id"] for row in rows):
        sys.exit(1)


async def _room_report(app: App) -> dict[str, tuple[str | None, str]]:
    from bot.channels.routed import routes_of

    # Rooms are the WeChat gateway's: behind the per-group routes it is the default channel.
    routed = routes_of(app.channel)
    channel = routed.default if routed is not None else app.channel
    if not isinstance(channel, ReportsRooms):
        why = f"当前渠道（{app.channel.name}）不连接微信，没有群 id；用 --channel wechaty"
        return {g.id: (None, why) for u in app.loaded.campaign.units for g in u.groups}
    try:
        await channel.start()
        return channel.room_report()
    finally:
        await channel.close()


@main.command(
    help=(
        "在模拟的微信上运行大喇叭，并在 127.0.0.1 开一个网页，可以看每个群收到的消息，"
        "也可以以群成员的身份发文字和照片。按 Ctrl-C 停止。"
    )
)
@schedules_option
@messages_option
@click.option("--now", "now_", default="2024-05-19T09:59", show_default=True, help="模拟时钟从什么时间开始。")
@click.option("--port", default=8765, show_default=True, help="网页在 127.0.0.1 上用的端口（0 表示随便找一个空闲的）。")
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="模拟环境的数据库和文件放在哪里（默认每次新建一个临时文件夹）。",
)
@handle_errors
def sandbox(schedules: Path, messages: Path, now_: str, port: int, data: Path | None) -> None:
    """Run the bot against a simulated WeChat, with a web page on 127.0.0.1 to watch each group and talk to it.

    The clock stands still until you press "跳到下一项任务" on the page: it moves to the next planned job and runs
    it through the real pipeline. Post text and photos as any member of a group. Ctrl-C stops."""
    from bot.sandbox import Sandbox

    folder = data or Path(tempfile.mkdtemp(prefix="laba-sandbox-"))
    box = Sandbox(Sources(schedules, messages), folder, parse_instant(now_), port=port)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        url = await box.start()
        click.echo(f"大喇叭沙盒已启动：{url}")
        click.echo(f"（模拟时间 {box.clock.now():%Y-%m-%d %H:%M}；数据在 {folder}；按 Ctrl-C 停止）")
        sys.stdout.flush()
        try:
            await stop.wait()
        finally:
            await box.close()

    asyncio.run(run())
    click.echo("沙盒已停止。")
