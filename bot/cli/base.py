"""What every `laba` command shares: the group, common options, instants from the command line, exit 2 on bad input."""

from __future__ import annotations

import asyncio
import gc
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar

import click

from bot.app import App, build
from bot.cli.chinese import ChineseGroup
from bot.cli.chinese import install as speak_chinese
from bot.cli.logs import setup_logging
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources
from bot.core.model import no_such_day
from bot.delivery import Sleep
from bot.errors import ConfigError
from bot.settings import CHANNELS, Settings
from bot.store.base import DeliveryStatus
from bot.store.unavailable import StoreUnavailable

speak_chinese()  # click's own messages ("No such command", "Missing argument") in Chinese

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


_DATE = re.compile(
    r"(?:(?P<y>\d{4})\s*[-/年.]\s*)?(?P<m>\d{1,2})\s*[-/月.]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"(?:(?:\s+|T)(?P<hh>\d{1,2})[:：](?P<mm>\d{2}))?"
)


def default_year(schedules: Path) -> int:
    """The year a date without one (5月1日) means: the town's only plan year, else this year in the town."""
    years = {int(p.stem[5:]) for p in schedules.glob("plan-*.yaml") if p.stem[5:].isdigit()}
    return years.pop() if len(years) == 1 else datetime.now(TOWN_ZONE).year


def parse_instant(value: str, *, end_of_day: bool = False, year: int | None = None) -> datetime:
    """A day or an instant in the town's zone, written as the plan files write dates: 5月20日, 2024年5月20日,
    2024/05/20, 2024-05-20, optionally with a time (2024-05-20T09:00, 5月20日 09:00), or ISO with an offset.
    A bare day is its start (or, with `end_of_day`, the start of the next day: an inclusive last day)."""
    text = value.strip()
    m = _DATE.fullmatch(text)
    try:
        if m is None:
            dt = datetime.fromisoformat(text)  # with seconds or an offset
            return dt.replace(tzinfo=TOWN_ZONE) if dt.tzinfo is None else dt.astimezone(TOWN_ZONE)
        y = int(m["y"]) if m["y"] else (year or datetime.now(TOWN_ZONE).year)
        try:
            day = date(y, int(m["m"]), int(m["d"]))
        except ValueError:
            raise click.UsageError(f"日期“{value}”不对：{no_such_day(y, int(m['m']), int(m['d']))}") from None
        if m["hh"] is not None:
            return datetime.combine(day, time(int(m["hh"]), int(m["mm"])), tzinfo=TOWN_ZONE)
    except ValueError:
        raise click.UsageError(f"日期“{value}”看不懂：写 5月20日、2024/05/20、2024-05-20 或 2024-05-20T09:00") from None
    start = datetime.combine(day, time(0), tzinfo=TOWN_ZONE)
    return start + timedelta(days=1) if end_of_day else start


_MONTH = re.compile(r"(?:(?P<y>\d{4})\s*[-/年.]\s*)?(?P<m>\d{1,2})\s*月?")


def parse_month(value: str, year: int) -> tuple[int, int]:
    """A month as people write it: 2024-05, 2024/5, 2024年5月, or 5月 (in `year`)."""
    m = _MONTH.fullmatch(value.strip())
    if m is None or not 1 <= int(m["m"]) <= 12 or (m["y"] is None and "月" not in value):
        raise click.UsageError(f"月份“{value}”看不懂：写 5月、2024年5月 或 2024-05")
    return (int(m["y"]) if m["y"] else year), int(m["m"])


def date_range(from_: str | None, to: str | None, schedules: Path) -> tuple[datetime | None, datetime | None]:
    """--from and --to (the last day inclusive); a start after the end is a usage error, not an empty list."""
    year = default_year(schedules)
    start = parse_instant(from_, year=year) if from_ else None
    end = parse_instant(to, end_of_day=True, year=year) if to else None
    if start is not None and end is not None and start >= end:
        raise click.UsageError(f"--from（{from_}）在 --to（{to}）之后：开始要早于结束")
    return start, end


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


class EnvDefaultOption(click.Option):
    """An option whose help shows the value in effect: its environment variable's when set (a town's own
    BOT_SCHEDULES_DIR), else the default; click would show `schedules/jinxi` whatever the environment says."""

    def get_default(self, ctx: click.Context, call: bool = True) -> Any:
        value = os.environ.get(self.envvar) if isinstance(self.envvar, str) else None
        return Path(value) if value else super().get_default(ctx, call=call)


schedules_option = click.option(
    "--schedules",
    cls=EnvDefaultOption,
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("schedules/jinxi"),
    show_default=True,
    envvar="BOT_SCHEDULES_DIR",
    help="镇的计划目录：里面有 town.yaml、units.yaml、plan-年份.yaml。",
)


def shipped_messages() -> Path:
    """The templates every town shares: `./messages` when run from a checkout (or a town's own copy there), else
    the ones shipped beside the package, so a town in another folder needs no copy of its own."""
    here = Path("messages")
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "messages"


messages_option = click.option(
    "--messages",
    cls=EnvDefaultOption,
    type=click.Path(path_type=Path, file_okay=False),
    default=shipped_messages,
    show_default="大喇叭自带的模板",
    envvar="BOT_MESSAGES_DIR",
    help="消息模板目录（*.j2 文件）。",
)
channel_option = click.option(
    "--channel",
    type=click.Choice(CHANNELS),
    default=None,
    help=(
        "消息怎么发出去：outbox（写进 BOT_DATA_DIR/outbox 发件箱）"
        "或 wechaty（微信）。默认看 BOT_CHANNEL，没设就是 outbox。"
    ),
)


# Which module registers each command: `main` imports a command's module when that command is asked for, so
# `laba run` loads neither the ledger's reports nor the console's accounts. tests/test_cli.py holds this to the
# commands the modules register.
COMMAND_MODULES: Final = {
    **dict.fromkeys(("check", "plan", "preview", "run", "simulate", "send"), "bot.cli.campaign"),
    **dict.fromkeys(("report", "ledger"), "bot.cli.ledger"),
    **dict.fromkeys(("lookup", "sorting"), "bot.cli.sorting"),
    **dict.fromkeys(("web", "user"), "bot.cli.web"),
    **dict.fromkeys(("groups", "sandbox"), "bot.cli.wechat"),
    "audio": "bot.cli.audio",
    "import": "bot.cli.importer",
    "relay": "bot.cli.robots",
}


class LazyGroup(ChineseGroup):
    """The top-level group: imports the module of a command (COMMAND_MODULES) when the command is looked up, and
    every module when all commands are listed (`laba --help`)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(module)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(module)
        return super().list_commands(ctx)


@click.group(
    cls=LazyGroup,
    help=(
        "laba（大喇叭）：按镇里的垃圾分类宣传计划，自动到点发通知、提醒、催交，"
        "收佐证照片，月底汇总。\n\n"
        "数据放在 BOT_DATA_DIR（默认 ./data）；数据库默认是其中的 SQLite 文件，"
        "也可以用 BOT_DATABASE_URL 指向 PostgreSQL。"
        "每个命令都可以加 --help 查看用法。"
    ),
)
@click.option("-v", "--verbose", is_flag=True, help="显示更详细的运行记录。")
def main(verbose: bool) -> None:
    """laba (大喇叭): runs a town's garbage-sorting publicity campaign by itself.

    Data: BOT_DATA_DIR (default ./data) and BOT_DATABASE_URL (default a SQLite file in it; postgresql://... works).
    """
    setup_logging(verbose, sys.stderr)


def build_app(
    schedules: Path,
    messages: Path,
    channel: str | None,
    clock: Any,
    echo: Any = sys.stdout,
    *,
    daemon: bool = False,
    rehearsal: bool = False,
    sleep: Sleep = asyncio.sleep,
) -> App:
    settings = Settings.from_env(channel=channel)
    sources = Sources.from_settings(schedules, messages, settings)
    with collector_paused():
        return build(sources, settings, clock, echo=echo, daemon=daemon, rehearsal=rehearsal, sleep=sleep)


def sources_from_env(schedules: Path, messages: Path, channel: str | None = None) -> Sources:
    """The town's files with the channel and robots the environment names (BOT_CHANNEL, BOT_ROBOTS_FILE): the
    plan a command shows is the one the daemon runs (the weekly quiz depends on them)."""
    return Sources.from_settings(schedules, messages, Settings.from_env(channel=channel))


@contextmanager
def collector_paused() -> Iterator[None]:
    """The garbage collector off while inside (as `bot.__main__` has it while importing): building the app creates
    tens of thousands of objects that live on (the checked plan, compiled templates) and little garbage, and the
    collector's passes over them would cost a quarter of the build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
