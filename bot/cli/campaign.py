"""The campaign commands: check, plan, preview, run, simulate, send."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from bot.app import App, run_daemon, simulate
from bot.cli.audio import tts_health
from bot.cli.base import (
    STATUS_CN,
    build_app,
    channel_option,
    handle_errors,
    main,
    messages_option,
    parse_instant,
    schedules_option,
)
from bot.clock import ShiftedClock, SystemClock, VirtualClock
from bot.config.campaign import Sources, load
from bot.core.planner import PlannedJob, Target, admin_targets, group_target, person_target
from bot.core.render import ProofFacts, cn_date
from bot.health import HealthLine
from bot.pipeline import Outcome, job_label
from bot.settings import Settings
from bot.store.base import DeliveryStatus


@main.command()
@schedules_option
@messages_option
@channel_option
@click.option("--online", is_flag=True, help="Also connect to the network services (channel, TTS) and report on them.")
@handle_errors
def check(schedules: Path, messages: Path, channel: str | None, online: bool) -> None:
    """Validate the town's files and render every message; exit 2 listing every problem.

    With --online, also report whether each network service is reachable (exit 1 if one is not)."""
    loaded = load(Sources(schedules, messages))
    c = loaded.campaign
    targets = sum(len(j.targets) for j in loaded.plan.jobs)
    years = "、".join(str(p.year) for p in c.plans)
    click.echo(
        f"✓ {c.town.name}：{len(c.units)} 个单位，{sum(len(u.groups) for u in c.units)} 个群，"
        f"{years} 年计划共 {sum(len(p.activities) for p in c.plans)} 项活动、{len(loaded.plan.jobs)} 个发送任务"
        f"（{targets} 条消息），模板全部渲染通过。"
    )
    for warning in loaded.plan.warnings:
        click.echo(f"  ! {warning}")
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


@main.command()
@schedules_option
@messages_option
@click.option("--from", "from_", help="First day (2024-05-01) or instant.")
@click.option("--to", help="Last day, inclusive (2024-05-31), or instant (exclusive).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@handle_errors
def plan(schedules: Path, messages: Path, from_: str | None, to: str | None, as_json: bool) -> None:
    """List the planned jobs in time order (the same jobs the daemon runs)."""
    loaded = load(Sources(schedules, messages))
    start = parse_instant(from_) if from_ else None
    end = parse_instant(to, end_of_day=True) if to else None
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
    click.echo(f"\n共 {len(jobs)} 个任务。用 laba preview <任务编号> 查看每个群收到的内容。")


@main.command()
@schedules_option
@messages_option
@click.argument("key")
@handle_errors
def preview(schedules: Path, messages: Path, key: str) -> None:
    """Show the message each target of job KEY gets (KEY as printed by `laba plan`)."""
    loaded = load(Sources(schedules, messages))
    job = loaded.plan.by_key().get(key)
    if job is None:
        near = [k for k in loaded.plan.by_key() if k.startswith(key.split("/")[0])][:8]
        hint = f"这个月的任务有：{'、'.join(near)}" if near else "用 laba plan 查看任务编号"
        raise click.UsageError(f"没有任务 {key!r}。{hint}")
    click.echo(f"{job_label(job)}　{job.at.year}年{cn_date(job.at)} {job.at:%H:%M}　共 {len(job.targets)} 个收件方")
    for target in job.targets:
        click.echo(f"\n──── {target.name}（{target.id}）────")
        click.echo(loaded.renderer.render(job, target, ProofFacts()))


@main.command()
@schedules_option
@messages_option
@channel_option
@click.option("--now", "now_", help="Start the clock at this instant (e.g. 2024-05-19T08:00) and tick on in real time.")
@click.option("--reload-seconds", default=5.0, show_default=True, help="How often to look for edited files.")
@handle_errors
def run(schedules: Path, messages: Path, channel: str | None, now_: str | None, reload_seconds: float) -> None:
    """Run the daemon: send each job at its time, pick up edits, until Ctrl-C."""
    clock = ShiftedClock(parse_instant(now_)) if now_ else SystemClock()
    app = build_app(schedules, messages, channel, clock)
    # The daemon says what it does (jobs sent, late, missed, reloads); APScheduler's own chatter only with -v.
    logging.getLogger("bot").setLevel(logging.INFO)
    click.echo(
        f"laba 运行中：{app.loaded.campaign.town.name}，现在是 {clock.now():%Y-%m-%d %H:%M %Z}。按 Ctrl-C 停止。"
    )

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
        "detail": o.detail if o.fresh else f"已有记录（{STATUS_CN[o.status]}），本次不再发送",
    }


@main.command(name="simulate")
@schedules_option
@messages_option
@channel_option
@click.option("--from", "from_", required=True, help="First day (2024-05-01).")
@click.option("--to", required=True, help="Last day, inclusive (2024-05-31).")
@click.option("--json", "as_json", is_flag=True, help='Print {"deliveries": [...]} as JSON.')
@handle_errors
def simulate_command(schedules: Path, messages: Path, channel: str | None, from_: str, to: str, as_json: bool) -> None:
    """Run the real pipeline over a date range on a virtual clock, recording as the daemon would."""
    start, end = parse_instant(from_), parse_instant(to, end_of_day=True)
    clock = VirtualClock(start)
    app = build_app(schedules, messages, channel, clock, echo=sys.stderr if as_json else sys.stdout)
    try:
        outcomes = asyncio.run(simulate(app, clock, start, end))
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps({"deliveries": [_outcome_json(o) for o in outcomes]}, ensure_ascii=False, indent=2))
        return
    _print_log(app, outcomes)


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
    click.echo(f"\n本次发送 {sent} 条，其他 {len(fresh) - sent} 条，已有记录未重发 {len(outcomes) - len(fresh)} 条。")


@main.command()
@schedules_option
@messages_option
@channel_option
@click.option("--to", "to", required=True, help="A group id (changchun-villagers), a group's name, or a person id.")
@click.argument("text")
@handle_errors
def send(schedules: Path, messages: Path, channel: str | None, to: str, text: str) -> None:
    """Send TEXT to one group or person now."""
    clock = SystemClock()
    app = build_app(schedules, messages, channel, clock)
    try:
        target = _find_target(app, to)
        outcome = asyncio.run(_send_one(app, target, text, f"send/{clock.now():%Y%m%dT%H%M%S.%f}"))
    finally:
        app.close()
    if outcome.status is not DeliveryStatus.SENT:
        click.echo(f"发送失败：{outcome.detail}", err=True)
        sys.exit(1)
    click.echo(f"已发送到 {target.name}。")


async def _send_one(app: App, target: Target, text: str, key: str) -> Outcome:
    await app.channel.start()
    try:
        return await app.pipeline.send_now(target, text, key)
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
    raise click.UsageError(f"没有叫 {wanted!r} 的群或联系人。用 units.yaml 里的群 id（如 changchun-villagers）或群名。")
