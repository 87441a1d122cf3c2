"""The web console's commands: `web` (serve it alone over the store) and `user add|passwd|remove` (its accounts)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.app import build
from bot.channels.outbox import OutboxChannel
from bot.cli.base import handle_errors, main, messages_option, parse_instant, schedules_option
from bot.clock import ShiftedClock, SystemClock
from bot.config.campaign import Sources, load
from bot.errors import ConfigError, Problem
from bot.health import HealthLine
from bot.settings import Settings
from bot.store.sql import open_store
from bot.store.web import WebStore


def _listen(settings: Settings, listen: str | None) -> tuple[str, int]:
    from bot.web.hook import parse_listen

    try:
        parsed = parse_listen(listen or settings.web_listen)
    except ValueError as exc:
        raise ConfigError([Problem("BOT_WEB_LISTEN", "", listen or settings.web_listen, str(exc), "")]) from None
    if parsed is None:
        raise click.UsageError("BOT_WEB_LISTEN=off：网页控制台已关闭。用 --listen 127.0.0.1:8080 指定地址。")
    return parsed


@main.command(name="web")
@schedules_option
@messages_option
@click.option("--now", "now_", help="让时钟从这个时刻开始走（如 2024-05-19T08:00），控制台的“今天”跟着它。")
@click.option("--listen", help="在哪个地址和端口打开（主机:端口，默认取 BOT_WEB_LISTEN，否则 127.0.0.1:8080）。")
@handle_errors
def web_command(schedules: Path, messages: Path, now_: str | None, listen: str | None) -> None:
    """只打开网页控制台，用同一个数据库（放在另一台电脑上，或者主程序停着的时候）。

    它自己不发消息：在这里按“暂停”，主程序几秒钟内从数据库里看到。"""
    from bot.web.console import console_for
    from bot.web.server import ConsoleServer

    settings = Settings.from_env()
    host, port = _listen(settings, listen)
    clock = ShiftedClock(parse_instant(now_)) if now_ else SystemClock()
    # The plan as the daemon runs it (the quiz depends on BOT_CHANNEL), but this console never sends: the outbox.
    sources = Sources.from_settings(schedules, messages, settings)
    app = build(sources, settings, clock, OutboxChannel(settings.outbox_dir, clock.now, None), echo=None)
    console = console_for(app, settings, sources)

    async def serve() -> None:
        server = ConsoleServer(console, host, port)
        url = await server.start()
        click.echo(f"网页控制台：{url}（{app.loaded.campaign.town.name}，按 Ctrl-C 停止）", err=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await server.close()

    try:
        asyncio.run(serve())
    finally:
        app.close()


def console_health(settings: Settings) -> HealthLine:
    """`check --online`: where the console listens, and whether it is open beyond loopback without HTTPS."""
    from bot.web.hook import parse_listen

    try:
        parsed = parse_listen(settings.web_listen)
    except ValueError as exc:
        return HealthLine("网页控制台", False, str(exc))
    if parsed is None:
        return HealthLine("网页控制台", True, "已关闭（BOT_WEB_LISTEN=off）")
    host, port = parsed
    where = f"监听 {host}:{port}"
    loopback = host in ("127.0.0.1", "::1", "localhost")
    https = settings.public_url.startswith("https://")
    if not loopback and not https:
        return HealthLine(
            "网页控制台",
            False,
            f"{where}，对外开放却没有 HTTPS：请放在带 HTTPS 的反向代理后面，并设 BOT_PUBLIC_URL=https://…",
        )
    public = (
        f"，外部地址 {settings.public_url}" if settings.public_url else "，没有设 BOT_PUBLIC_URL（消息里不带上传链接）"
    )
    return HealthLine("网页控制台", True, where + public)


@main.group()
def user() -> None:
    """网页控制台的账号：镇里的管理员（town.yaml 里的编号）和只能看的账号。"""


def _password(from_stdin: bool) -> str:
    from bot.web.accounts import MIN_PASSWORD

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再输一遍")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(
            [Problem("密码", "", "*" * len(password), f"太短，至少 {MIN_PASSWORD} 位", "换一个长一点的密码")]
        )
    return password


@contextmanager
def _accounts() -> Iterator[WebStore]:
    store = open_store(Settings.from_env().database_url, SystemClock().zone)
    try:
        yield WebStore(store)
    finally:
        store.close()


@user.command(name="add")
@schedules_option
@messages_option
@click.argument("user_id")
@click.option("--password-stdin", is_flag=True, help="从标准输入的第一行读密码（给脚本用）。")
@click.option("--viewer", is_flag=True, help="只能看、不能改的账号。")
@handle_errors
def user_add(schedules: Path, messages: Path, user_id: str, password_stdin: bool, viewer: bool) -> None:
    """开通账号：账号是 town.yaml 里管理员的编号；加 --viewer 可以是任意新名字（只能看）。"""
    from bot.web.accounts import hash_password

    admins = {a.id: a.name for a in load(Sources(schedules, messages)).campaign.admins}
    if not viewer and user_id not in admins:
        listed = "、".join(admins) or "（没有）"
        raise ConfigError(
            [
                Problem(
                    str(schedules / "town.yaml"),
                    "admins",
                    user_id,
                    "不是 town.yaml 里的管理员",
                    f"管理员有：{listed}；只读账号加 --viewer",
                )
            ]
        )
    password = _password(password_stdin)
    with _accounts() as web:
        if web.account(user_id) is not None:
            raise click.ClickException(f"账号 {user_id} 已经有了；改密码用 laba user passwd {user_id}")
        web.put_account(user_id, "viewer" if viewer else "admin", hash_password(password), SystemClock().now())
    kind = "只读账号" if viewer else f"管理员账号（{admins[user_id]}）"
    click.echo(f"已开通{kind}：{user_id}")


@user.command(name="passwd")
@click.argument("user_id")
@click.option("--password-stdin", is_flag=True, help="从标准输入的第一行读新密码（给脚本用）。")
@handle_errors
def user_passwd(user_id: str, password_stdin: bool) -> None:
    """给这个账号换新密码（所有已登录的地方都会退出）。"""
    from bot.web.accounts import hash_password

    with _accounts() as web:
        account = web.account(user_id)
        if account is None:
            raise click.ClickException(f"没有账号 {user_id}；开通用 laba user add {user_id}")
        web.put_account(user_id, account.role, hash_password(_password(password_stdin)), SystemClock().now())
    click.echo(f"已改密码：{user_id}（已在所有设备上退出登录）")


@user.command(name="remove")
@click.argument("user_id")
@handle_errors
def user_remove(user_id: str) -> None:
    """注销这个账号，所有已登录的地方都会退出。"""
    with _accounts() as web:
        removed = web.remove_account(user_id)
    if not removed:
        raise click.ClickException(f"没有账号 {user_id}")
    click.echo(f"已删除账号：{user_id}")
