"""What every `laba` command shares: the group, common options, instants from the command line, exit 2 on bad input."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from bot.app import App, build
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources
from bot.errors import ConfigError
from bot.settings import CHANNELS, Settings
from bot.store.base import DeliveryStatus
from bot.store.unavailable import StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")

STATUS_CN = {
    DeliveryStatus.SENT: "已发送",
    DeliveryStatus.FAILED: "失败",
    DeliveryStatus.MISSED: "错过",
    DeliveryStatus.SKIPPED: "跳过",
    DeliveryStatus.SENDING: "发送中",
    DeliveryStatus.UNCONFIRMED: "未确认",
    DeliveryStatus.RELAYED: "已交人工代发",
}


def parse_instant(value: str, *, end_of_day: bool = False) -> datetime:
    """2024-05-20, 2024-05-20T09:00 or with an offset; naive values are in the town's zone."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            start = datetime.combine(d, time(0), tzinfo=TOWN_ZONE)
            return start + timedelta(days=1) if end_of_day else start
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} 不是日期或时间；写 2024-05-20 或 2024-05-20T09:00") from None
    return dt.replace(tzinfo=TOWN_ZONE) if dt.tzinfo is None else dt.astimezone(TOWN_ZONE)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"发现 {len(exc.problems)} 处错误：", err=True)
            for problem in exc.problems:
                click.echo(f"  ✗ {problem}", err=True)
            sys.exit(2)
        except StoreUnavailable as exc:
            click.echo(f"✗ 数据库打不开：{exc}", err=True)
            sys.exit(2)

    return wrapper


schedules_option = click.option(
    "--schedules",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("schedules/jinxi"),
    show_default=True,
    envvar="BOT_SCHEDULES_DIR",
    help="The town's folder: town.yaml, units.yaml, plan-YYYY.yaml.",
)
messages_option = click.option(
    "--messages",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("messages"),
    show_default=True,
    envvar="BOT_MESSAGES_DIR",
    help="The message templates folder (*.j2).",
)
channel_option = click.option(
    "--channel",
    type=click.Choice(CHANNELS),
    default=None,
    help="How messages go out (default: BOT_CHANNEL, else outbox: files under BOT_DATA_DIR/outbox).",
)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more (info level).")
def main(verbose: bool) -> None:
    """laba (大喇叭): runs a town's garbage-sorting publicity campaign by itself.

    Data: BOT_DATA_DIR (default ./data) and BOT_DATABASE_URL (default a SQLite file in it; postgresql://... works).
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def build_app(
    schedules: Path, messages: Path, channel: str | None, clock: Any, echo: Any = sys.stdout, *, daemon: bool = False
) -> App:
    return build(Sources(schedules, messages), Settings.from_env(channel=channel), clock, echo=echo, daemon=daemon)
