"""The campaign commands: check, plan, preview, run, simulate, send."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bot.app import App, run_daemon, simulate
from bot.channels.base import OutgoingFile, mention_prefix
from bot.cli.base import (
    STATUS_CN,
    build_app,
    channel_option,
    date_range,
    default_year,
    handle_errors,
    main,
    messages_option,
    parse_instant,
    schedules_option,
    sources_from_env,
)
from bot.clock import ShiftedClock, SystemClock, VirtualClock
from bot.config.campaign import load
from bot.config.plan_checks import season_warnings
from bot.core.planner import PlannedJob, Target, admin_targets, group_target, person_target
from bot.core.render import ProofFacts, cn_date, format_instant
from bot.health import HealthLine
from bot.pipeline import Outcome, job_label
from bot.settings import Settings
from bot.store.base import DeliveryStatus


@main.command(
    help=(
        "检查镇里的计划文件，并把每条消息试着生成一遍；有错就逐条列出（文件、行号、"
        "位置、提示），退出码 2。\n\n"
        "加 --online 还会连一下微信和在线语音，报告能不能用（有一项不通，"
        "退出码 1）。"
    )
)
@schedules_option
@messages_option
@channel_option
@click.option("--online", is_flag=True, help="同时连一下微信和在线语音，报告能不能用。")
@handle_errors
def check(schedules: Path, messages: Path, channel: str | None, online: bool) -> None:
    """Validate the town's files and render every message; exit 2 listing every problem.

    With --online, also report whether each network service is reachable (exit 1 if one is not)."""
    # Imported here: the robots' report, the quiz's line and the voice check are for `check` only, not `run`.
    from bot.cli.audio import tts_health
    from bot.cli.robots import robots_report
    from bot.sorting.quiz_report import quiz_check_line

    loaded = load(sources_from_env(schedules, messages, channel))
    c = loaded.campaign
    targets = sum(len(j.targets) for j in loaded.plan.jobs)
    years = "、".join(str(p.year) for p in c.plans)
    click.echo(
        f"✓ {c.town.name}：{len(c.units)} 个单位，{sum(len(u.groups) for u in c.units)} 个群，"
        f"{years} 年计划共 {sum(len(p.activities) for p in c.plans)} 项活动、{len(loaded.plan.jobs)} 个发送任务"
        f"（{targets} 条消息），模板全部渲染通过。"
    )
    outside = _outside_plan_years(loaded.plan.jobs, {p.year for p in c.plans})
    if outside:
        click.echo(f"  · {outside}")
    for warning in (*loaded.plan.warnings, *season_warnings(c, SystemClock().now())):
        click.echo(f"  ! {warning}")
    for robots_line in robots_report(c, Settings.from_env(channel=channel)):
        click.echo(robots_line)
    click.echo(f"  {quiz_check_line(loaded)}")
    for problem in loaded.warnings:
        click.echo(f"  ! {problem}")
    if not online:
        return
    app = build_app(schedules, messages, channel, SystemClock())
    try:
        lines = asyncio.run(_online_health(app))
    finally:
        app.close()
    lines.append(asyncio.run(tts_health(Settings.from_env())))
    from bot.cli.web import console_health

    lines.append(console_health(Settings.from_env()))
    for line in lines:
        click.echo(str(line))
    if not all(line.ok for line in lines):
        sys.exit(1)


def _outside_plan_years(jobs: tuple[PlannedJob, ...], years: set[int]) -> str:
    """The jobs counted in a year's plan that go out in another year (January's clips on the previous 12-31): a
    `plan` or `simulate` of the calendar year leaves them out, so `check` names their days."""
    outside = [j for j in jobs if j.at.year not in years]
    if not outside:
        return ""
    days = sorted({j.at.date() for j in outside})
    shown = "、".join(f"{d.year}年{cn_date(d)}" for d in days[:3]) + ("等" if len(days) > 3 else "")
    labels = "、".join(dict.fromkeys(job_label(j) for j in outside[:3])) + ("等" if len(outside) > 3 else "")
    return (
        f"其中 {len(outside)} 个任务在计划年之外发出（{shown}：{labels}）；"
        f"laba plan 和 laba simulate 的日期要包括这几天才看得到它们"
    )


async def _online_health(app: App) -> list[HealthLine]:
    try:
        await asyncio.wait_for(app.channel.start(), timeout=30)
    except Exception as exc:  # the report is the point: any failure to connect is a line in it
        return [HealthLine(app.channel.name, False, f"连接失败：{exc}")]
    try:
        return await app.channel.health()
    finally:
        await app.channel.close()


def _job_json(job: PlannedJob, text: str) -> dict[str, Any]:
    return {
        "key": job.key,
        "at": job.at.isoformat(),
        "kind": job.kind.value,
        "activity": job.activity_id,
        "event": job.event.id if job.event else None,
        "label": job_label(job),
        "targets": [t.id for t in job.targets],
        "target_names": [t.name for t in job.targets],
        "text": text,
        "broadcast": (
            {
                "produce_at": job.broadcast.produce_at.isoformat(),
                "plays": [p.isoformat() for p in job.broadcast.plays],
                "repeats": job.broadcast.repeats,
                "voice": job.broadcast.voice.name,
            }
            if job.broadcast
            else None
        ),
    }


@main.command(help="按时间顺序列出计划要发的任务（和正式运行时发的完全一样）。")
@schedules_option
@messages_option
@click.option(
    "--from", "from_", help="从哪天开始，例如 5月1日、2024/05/01 或 2024-05-01（也可以带时间 2024-05-01T09:00）。"
)
@click.option("--to", metavar="日期", help="到哪天为止（含这一天），例如 5月31日 或 2024-05-31。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（给程序读）。")
@handle_errors
def plan(schedules: Path, messages: Path, from_: str | None, to: str | None, as_json: bool) -> None:
    """List the planned jobs in time order (the same jobs the daemon runs)."""
    start, end = date_range(from_, to, schedules)
    loaded = load(sources_from_env(schedules, messages))
    jobs = loaded.plan.between(start, end)
    rows = [_job_json(j, loaded.renderer.render(j, j.targets[0], ProofFacts())) for j in jobs]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for warning in loaded.plan.warnings:
        click.echo(f"! {warning}", err=True)
    day = None
    for job in jobs:
        if job.at.date() != day:
            day = job.at.date()
            click.echo(f"\n{day.year}年{cn_date(day)}")
        names = "、".join(t.name for t in job.targets[:3]) + (
            f" 等 {len(job.targets)} 个" if len(job.targets) > 3 else ""
        )
        click.echo(f"  {job.at:%H:%M}  {job_label(job)}  → {names}")
        click.echo(f"         {job.key}")
    rest = len(loaded.plan.jobs) - len(jobs)
    others = f"（计划里共 {len(loaded.plan.jobs)} 个，另外 {rest} 个不在所选日期内）" if rest else ""
    click.echo(f"\n共 {len(jobs)} 个任务{others}。用 laba preview <任务编号> 查看每个群收到的内容。")


@main.command(help="看某个任务发给每个群/每个人的内容。任务编号用 laba plan 显示的那个，例如 2024-05/announce。")
@schedules_option
@messages_option
@click.argument("key", metavar="任务编号")
@handle_errors
def preview(schedules: Path, messages: Path, key: str) -> None:
    """Show the message each target of job KEY gets (KEY as printed by `laba plan`)."""
    loaded = load(sources_from_env(schedules, messages))
    job = loaded.plan.by_key().get(key)
    if job is None:
        raise click.UsageError(f"没有任务“{key}”。{_month_hint(loaded.plan.jobs, key)}")
    click.echo(f"{job_label(job)}　{job.at.year}年{cn_date(job.at)} {job.at:%H:%M}　共 {len(job.targets)} 个收件方")
    for target in job.targets:
        click.echo(f"\n──── {target.name}（{target.id}）────")
        # As the group sees it: the @mentions first, as the outbox writes them (WeChat shows them the same way).
        click.echo(mention_prefix(target) + loaded.renderer.render(job, target, ProofFacts()))


def _month_hint(jobs: Sequence[PlannedJob], key: str) -> str:
    """Every job of the month the mistyped key names (by when it goes out: activity keys don't start with the
    month), or where to look them up."""
    month = key[:7]
    near = [j.key for j in jobs if f"{j.at:%Y-%m}" == month]
    return f"{month[:4]}年{int(month[5:])}月的任务有：{'、'.join(near)}" if near else "用 laba plan 查看任务编号"


@main.command(help="正式运行：每项任务到点就发，改了计划文件会自动重新读取，按 Ctrl-C 停止。")
@schedules_option
@messages_option
@channel_option
@click.option(
    "--now", "now_", help="从这个时间开始计时（例如 2024-05-19T08:00 或 5月19日），之后按真实时间走。用来演示。"
)
@click.option("--reload-seconds", default=5.0, show_default=True, help="每隔几秒看一次计划文件有没有改动。")
@handle_errors
def run(schedules: Path, messages: Path, channel: str | None, now_: str | None, reload_seconds: float) -> None:
    """Run the daemon: send each job at its time, pick up edits, until Ctrl-C."""
    clock = ShiftedClock(parse_instant(now_, year=default_year(schedules))) if now_ else SystemClock()
    app = build_app(schedules, messages, channel, clock, daemon=True)
    if app.broken is not None:
        click.echo(
            f"注意：计划文件有 {len(app.broken.problems)} 处错误，先按上次检查无误的计划运行，并已告知管理员：",
            err=True,
        )
        for problem in app.broken.problems:
            click.echo(f"  ✗ {problem}", err=True)
    # The daemon says what it does (jobs sent, late, missed, reloads); APScheduler's own chatter only with -v.
    logging.getLogger("bot").setLevel(logging.INFO)
    click.echo(f"laba 运行中：{app.loaded.campaign.town.name}，现在是 {format_instant(clock.now())}。按 Ctrl-C 停止。")
    for warning in season_warnings(app.loaded.campaign, clock.now()):
        click.echo(f"! {warning}", err=True)

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_daemon(app, clock, stop, reload_seconds)

    try:
        asyncio.run(main_loop())
    finally:
        app.close()
    click.echo("laba 已停止。")


def _outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "key": o.job_key,
        "target": o.target,
        "at": o.scheduled_at.isoformat(),
        "status": o.status.value if o.fresh else DeliveryStatus.SKIPPED.value,
        "detail": o.note + o.detail if o.fresh else f"已有记录（{STATUS_CN[o.status]}），本次不再发送",
    }


@main.command(
    name="simulate",
    help=(
        "在虚拟时钟上把一段日期从头到尾跑一遍：真实地生成、记录，和正式运行一样。\n\n"
        "默认是预演：本该经群机器人或微信发出的消息都只写进发件箱（注明本该走哪条路线），"
        "不会真的发到任何群里。加 --live 才真的发出去。"
    ),
)
@schedules_option
@messages_option
@channel_option
@click.option("--from", "from_", required=True, help="从哪天开始，例如 5月1日、2024/05/01 或 2024-05-01。")
@click.option("--to", required=True, metavar="日期", help="到哪天为止（含这一天），例如 5月31日 或 2024-05-31。")
@click.option("--json", "as_json", is_flag=True, help='输出 JSON：{"deliveries": [...]}（给程序读）。')
@click.option("--live", is_flag=True, help="真的经群机器人和微信发出去（不加就只写进发件箱）。")
@handle_errors
def simulate_command(
    schedules: Path, messages: Path, channel: str | None, from_: str, to: str, as_json: bool, live: bool
) -> None:
    """Run the real pipeline over a date range on a virtual clock, recording as the daemon would. Without --live
    a rehearsal: robots and the default channel write to the outbox, nothing leaves the machine."""
    start, end = date_range(from_, to, schedules)
    assert start is not None and end is not None  # both options are required
    clock = VirtualClock(start)
    echo = sys.stderr if as_json else sys.stdout
    # A rehearsal's retry waits pass on its virtual clock; live, a failing robot is given real time to recover.
    sleep = asyncio.sleep if live else clock.sleep
    app = build_app(schedules, messages, channel, clock, echo=echo, rehearsal=not live, sleep=sleep)
    try:
        if not live:
            _refuse_the_daemons_database(app)
        outcomes = asyncio.run(simulate(app, clock, start, end))
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps({"deliveries": [_outcome_json(o) for o in outcomes]}, ensure_ascii=False, indent=2))
        return
    _print_log(app, outcomes)


def _refuse_the_daemons_database(app: App) -> None:
    """A rehearsal records what it plays through as sent: on the database the daemon runs on, those messages would
    never go out for real. Exits 2 with what to do instead."""
    from bot.store.ahead import daemon_started
    from bot.store.unavailable import masked_url

    started = daemon_started(app.store, app.loaded.campaign.town.id)
    if started is None:
        return
    where = masked_url(app.settings.database_url) if app.settings else "这个数据库"
    click.echo(
        f"✗ 这个数据库（{where}）从 {format_instant(started)} 起正式运行过，不能在上面预演："
        "预演会把消息记成“已发”，正式运行到时候就不会再发。\n"
        "  请用单独的数据目录预演，例如：BOT_DATA_DIR=/tmp/试跑 laba simulate …（真要发出去才加 --live）",
        err=True,
    )
    sys.exit(2)


def _print_log(app: App, outcomes: list[Outcome]) -> None:
    by_key = app.loaded.plan.by_key()
    day = None
    current = None
    groups: dict[str, list[str]] = {}

    def flush() -> None:
        if current is None:
            return
        for status, names in groups.items():
            click.echo(f"           {status} {len(names)}：{'、'.join(names)}")

    for o in outcomes:
        if o.job_key != current:
            flush()
            groups = {}
            current = o.job_key
            job = by_key[o.job_key]
            if job.at.date() != day:
                day = job.at.date()
                click.echo(f"\n{day.year}年{cn_date(day)}")
            click.echo(f"  {job.at:%H:%M}  {job_label(job)}  [{job.key}]")
        label = STATUS_CN[o.status] if o.fresh else f"已有记录（{STATUS_CN[o.status]}）"
        groups.setdefault(label, []).append(o.target_name)
    flush()
    fresh = [o for o in outcomes if o.fresh]
    sent = sum(1 for o in fresh if o.status is DeliveryStatus.SENT)
    relayed = sum(1 for o in fresh if o.status is DeliveryStatus.RELAYED)
    other = len(fresh) - sent - relayed
    by_hand = f"，交人工代发 {relayed} 条（算作送达，用 laba relay 查看）" if relayed else ""
    click.echo(f"\n本次发送 {sent} 条{by_hand}，其他 {other} 条，已有记录未重发 {len(outcomes) - len(fresh)} 条。")


@main.command(help="现在就给一个群或一个人发一条消息（免打扰时段要加 --force）。")
@schedules_option
@messages_option
@channel_option
@click.option(
    "--to", "to", required=True, metavar="群或人", help="发给谁：群编号（units.yaml 里群的 id）、群名，或联系人编号。"
)
@click.option("--file", "file", type=click.Path(path_type=Path, dir_okay=False), help="也发送这个文件（先发文件）。")
@click.option("--force", is_flag=True, help="免打扰时段也照发。")
@click.option("--now", "now_", hidden=True, help="Pretend it is this instant (tests, demos).")
@click.argument("text", metavar="消息内容", required=False, default="")
@handle_errors
def send(
    schedules: Path,
    messages: Path,
    channel: str | None,
    to: str,
    file: Path | None,
    text: str,
    force: bool,
    now_: str | None,
) -> None:
    """Send TEXT (and/or --file) to one group or person now, over the group's route (robot, default, relay);
    inside quiet hours only with --force."""
    if not text and file is None:
        raise click.UsageError("要写发送的内容，或用 --file 指定文件")
    if file is not None and not file.is_file():
        raise click.BadParameter(f"找不到文件 {file}", param_hint="--file")
    clock = ShiftedClock(parse_instant(now_)) if now_ else SystemClock()
    app = build_app(schedules, messages, channel, clock)
    try:
        target = _find_target(app, to)
        quiet = app.loaded.campaign.rules.quiet_hours
        if quiet.contains(clock.now().time()) and not force:
            raise click.UsageError(
                f"现在（{clock.now():%H:%M}）是免打扰时段（{quiet.start:%H:%M}—{quiet.end:%H:%M}），"
                f"{'群里的人' if target.kind == 'group' else target.name}可能在休息。确实要现在发，请加 --force。"
            )
        key = f"send/{clock.now():%Y%m%dT%H%M%S.%f}"
        outcome = asyncio.run(_send_one(app, target, text, key, file))
    finally:
        app.close()
    if outcome.status is DeliveryStatus.RELAYED:
        click.echo(f"没有自动渠道能送到 {target.name}，已交人工代发（{outcome.detail}，用 laba relay 查看）。")
        return
    if outcome.status is not DeliveryStatus.SENT:
        click.echo(f"发送失败：{outcome.detail}", err=True)
        sys.exit(1)
    click.echo(f"已发送到 {target.name}。")


async def _send_one(app: App, target: Target, text: str, key: str, file: Path | None = None) -> Outcome:
    await app.channel.start()
    try:
        return await app.pipeline.send_now(target, text, key, OutgoingFile(file, file.name) if file else None)
    finally:
        await app.channel.close()


def _find_target(app: App, wanted: str) -> Target:
    c = app.loaded.campaign
    for unit in c.units:
        for g in unit.groups:
            if wanted in (g.id, g.name):
                return group_target(g, unit)
        for p in (*unit.contacts, *([unit.broadcast_operator] if unit.broadcast_operator else [])):
            if wanted == p.id:
                return person_target(p, unit)
    for t in admin_targets(c):
        if wanted == t.id:
            return t
    # The example is one of this town's own groups (never 金溪's changchun-villagers in another town).
    example = next((g for u in c.units for g in u.groups), None)
    like = f"（如 {example.id} 或 {example.name}）" if example else ""
    raise click.UsageError(f"没有叫“{wanted}”的群或联系人。用 units.yaml 里的群 id 或群名{like}，或联系人的 id。")
