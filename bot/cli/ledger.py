"""The ledger commands: `report` (HTML / XLSX, a month or a year) and `ledger ...` (list, corrections, bindings,
the change log). Corrections made here are logged like the admins' chat commands, under the name given by --by."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click

from bot.app import App
from bot.cli.base import build_app, handle_errors, main, messages_option, parse_month, schedules_option
from bot.clock import TOWN_ZONE, SystemClock
from bot.proof import evidence_dir
from bot.proof.admin import LedgerActions, Result
from bot.proof.intake import ProofIntake
from bot.proof.ledger import EVIDENCE_STATUS_CN, month_ledger, year_ledger
from bot.proof.report import Thumbnails, month_html, month_xlsx, year_html, year_xlsx
from bot.settings import Settings
from bot.sorting.quiz_report import QuizMonth, quiz_html, quiz_lines, quiz_month, quiz_sheet
from bot.store.evidence import FLAG_CN, BindingStatus, EvidenceStore


@dataclass
class LedgerContext:
    app: App
    evidence: EvidenceStore
    actions: LedgerActions
    data_dir: Path


@contextmanager
def _ledger(schedules: Path, messages: Path) -> Iterator[LedgerContext]:
    settings = Settings.from_env()
    app = build_app(schedules, messages, None, SystemClock(), echo=None)
    try:
        evidence = EvidenceStore(app.store, evidence_dir(settings.data_dir))
        intake = ProofIntake(app.holder.get, app.pipeline, evidence)
        yield LedgerContext(app, evidence, LedgerActions(app.holder.get, intake), settings.data_dir)
    finally:
        app.close()


def _month(value: str) -> tuple[int, int]:
    return parse_month(value, datetime.now(TOWN_ZONE).year)


@main.command(help="生成一个月或一年的佐证材料台账：带缩略图的网页（HTML），或嵌入照片的表格（XLSX）。")
@schedules_option
@messages_option
@click.option("--month", "month_", help="哪个月，例如 2024-05 或 2024年5月。")
@click.option("--year", "year_", type=int, help="一整年，例如 2024（代替 --month）。")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "xlsx"]),
    default="html",
    show_default=True,
    help="html：带缩略图的网页（浏览器打开，可以打印）；xlsx：嵌入照片的表格。",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="写到哪里（默认 BOT_DATA_DIR/reports 下）。",
)
@handle_errors
def report(schedules: Path, messages: Path, month_: str | None, year_: int | None, fmt: str, out: Path | None) -> None:
    """Write the ledger (台账) for a month or a year: HTML with thumbnails, or XLSX with the photos embedded."""
    if (month_ is None) == (year_ is None):
        raise click.UsageError("写 --month 2024-05 或 --year 2024（二选一）")
    with _ledger(schedules, messages) as ctx:
        loaded = ctx.app.loaded
        town = loaded.campaign.town.name
        now = ctx.app.clock.now()
        thumbs = Thumbnails(ctx.evidence.files)
        quiz: QuizMonth | None = None
        if month_ is not None:
            year, month = _month(month_)
            ledger = month_ledger(loaded, ctx.app.store, ctx.evidence, year, month)
            quiz = quiz_month(loaded, ctx.app.store, year, month)
            name = f"ledger-{year}-{month:02d}.{fmt}"
        else:
            assert year_ is not None
            ledger = year_ledger(loaded, ctx.app.store, ctx.evidence, year_)
            name = f"ledger-{year_}.{fmt}"
        target = out or ctx.data_dir / "reports" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "html":
            extra = quiz_html(quiz) if quiz else ""
            page = month_html(ledger, town, thumbs, now, extra) if month_ else year_html(ledger, town, now)
            target.write_text(page, encoding="utf-8")
        elif month_:
            sheet = quiz_sheet(quiz) if quiz else None
            month_xlsx(ledger, town, thumbs, target, (sheet,) if sheet else ())
        else:
            year_xlsx(ledger, town, target)
    for a in ledger.activities:
        click.echo(
            f"{a.window.label}：已提交 {a.count('submitted')}，待核对 {a.count('flagged')}，未提交 {a.count('missing')}"
            + (f"（{'、'.join(a.names('missing'))}）" if a.count("missing") else "")
        )
    for line in quiz_lines(quiz) if quiz else []:
        click.echo(line)
    click.echo(f"已写入 {target}")


@main.group(help="佐证材料台账：查看各单位交了什么、修改归属、批准绑定申请、查看修改记录。")
def ledger() -> None:
    """The proof ledger (台账): list what units sent, correct it, approve bindings, read the change log."""


@ledger.command(name="list", help="列出一个月各项活动收到的材料（还有当月收到、还没归到活动的），带编号。")
@schedules_option
@messages_option
@click.option("--month", "month_", required=True, help="哪个月，例如 2024-05 或 2024年5月。")
@handle_errors
def list_(schedules: Path, messages: Path, month_: str) -> None:
    """Every item filed for the month's activities (and unfiled ones received that month), with numbers."""
    year, month = _month(month_)
    with _ledger(schedules, messages) as ctx:
        led = month_ledger(ctx.app.loaded, ctx.app.store, ctx.evidence, year, month)
    for a in led.activities:
        click.echo(f"\n{a.window.label}（至少 {a.window.min_photos} 张）")
        for row in a.rows:
            click.echo(f"  {row.unit.name}：{row.status_cn}，有效照片 {row.counted} 张")
            for i in row.items:
                flags = "、".join(FLAG_CN[f] for f in i.flags)
                state = EVIDENCE_STATUS_CN[i.status] + (f"（{i.reason}）" if i.reason else "")
                click.echo(
                    f"    编号 {i.id}  {WORDS_CN.get(i.kind, i.kind)}  "
                    f"{i.received_at.astimezone(TOWN_ZONE):%m-%d %H:%M}"
                    f"  {i.sender_name}  {state}" + (f"  {flags}" if flags else "")
                )
    if led.unfiled:
        click.echo("\n未归档")
        for i in led.unfiled:
            at = i.received_at.astimezone(TOWN_ZONE)
            click.echo(f"  编号 {i.id}  {at:%m-%d %H:%M}  {i.sender_name}  {EVIDENCE_STATUS_CN[i.status]}")


def _finish(result: Result) -> None:
    click.echo(result.text)
    if not result.ok:
        sys.exit(1)


by_option = click.option("--by", "actor", required=True, help="谁改的（记进修改记录）。")


@ledger.command(help="驳回这个编号的材料（和群里的 #驳回 一样）：材料仍留在台账里，但不再计数。")
@schedules_option
@messages_option
@click.argument("evidence_id", type=int)
@click.option("--reason", default="", help="原因（不会发给别人，只记进修改记录）。")
@by_option
@handle_errors
def reject(schedules: Path, messages: Path, evidence_id: int, reason: str, actor: str) -> None:
    """Reject item EVIDENCE_ID (like #驳回 in chat): it stays in the ledger, no longer counts."""
    with _ledger(schedules, messages) as ctx:
        result = ctx.actions.reject(evidence_id, reason, actor, ctx.app.clock.now())
    _finish(result)


@ledger.command(help="把这个编号的材料改到别的单位或活动（和群里的 #改派 一样）。")
@schedules_option
@messages_option
@click.argument("evidence_id", type=int)
@click.option("--unit", default="", help="改到哪个单位（编号或名称）。")
@click.option("--activity", default="", help="改到哪项活动（编号如 2024-05，或写 5月、敲门 这样的词）。")
@by_option
@handle_errors
def reassign(schedules: Path, messages: Path, evidence_id: int, unit: str, activity: str, actor: str) -> None:
    """Move item EVIDENCE_ID to another unit and/or activity (like #改派 in chat)."""
    with _ledger(schedules, messages) as ctx:
        result = ctx.actions.reassign(evidence_id, f"{unit} {activity}".strip(), actor, ctx.app.clock.now())
    _finish(result)


@ledger.command(help="列出绑定申请（#绑定）和处理情况。")
@schedules_option
@messages_option
@handle_errors
def bindings(schedules: Path, messages: Path) -> None:
    """List binding requests (#绑定) and their state."""
    with _ledger(schedules, messages) as ctx:
        rows = ctx.evidence.bindings()
        names = {u.id: u.name for u in ctx.app.loaded.campaign.units}
    state = {BindingStatus.PENDING: "待确认", BindingStatus.APPROVED: "已批准", BindingStatus.REJECTED: "已拒绝"}
    for b in rows:
        who = f"{b.sender_name}（{b.sender_wechat or b.sender}）"
        decided = f"，{b.decided_by} {b.decided_at:%m-%d %H:%M}" if b.decided_at else ""
        click.echo(f"{b.id}  {who} → {names.get(b.unit_id, b.unit_id)}  {state[b.status]}{decided}")
    if not rows:
        click.echo("没有绑定申请。")


@ledger.command(help="批准这个编号的绑定申请（加 --deny 是拒绝），和群里的 #批准 / #拒绝 一样。")
@schedules_option
@messages_option
@click.argument("binding_id", type=int)
@click.option("--deny", is_flag=True, help="拒绝（不写就是批准）。")
@by_option
@handle_errors
def approve(schedules: Path, messages: Path, binding_id: int, deny: bool, actor: str) -> None:
    """Approve (or with --deny refuse) binding request BINDING_ID, like #批准 / #拒绝 in chat."""
    with _ledger(schedules, messages) as ctx:
        result, _ = ctx.actions.decide(binding_id, not deny, actor, ctx.app.clock.now())
    _finish(result)


@ledger.command(name="log", help="台账的每一次修改：什么时候、谁、改了什么。")
@schedules_option
@messages_option
@click.option("--id", "evidence_id", type=int, help="只看这份材料的修改。")
@handle_errors
def log_(schedules: Path, messages: Path, evidence_id: int | None) -> None:
    """Every change to the ledger: when, who, what."""
    with _ledger(schedules, messages) as ctx:
        entries = ctx.evidence.history(f"evidence:{evidence_id}" if evidence_id is not None else None)
    for e in entries:
        click.echo(
            f"{e.at.astimezone(TOWN_ZONE):%Y-%m-%d %H:%M}  {e.actor}  {ACTION_CN.get(e.action, e.action)}  "
            f"{_subject_cn(e.subject)}  {_words_cn(e.detail)}"
        )


# The change log stores short English words (stable, for programs); people read them in Chinese.
ACTION_CN = {
    "intake": "收到",
    "file": "归档",
    "reject": "驳回",
    "reassign": "改派",
    "bind_request": "申请绑定",
    "bind_approved": "批准绑定",
    "bind_rejected": "拒绝绑定",
    "bind_pending": "绑定待批",
}
WORDS_CN = {
    "photo": "照片",
    "note": "文字说明",
    "file": "文件",
    "accepted": "已收",
    "pending": "暂存",
    "refused": "未收下",
    "rejected": "已驳回",
    "None": "（无）",
}


def _subject_cn(subject: str) -> str:
    kind, _, ident = subject.partition(":")
    return {"evidence": f"编号 {ident}", "binding": f"绑定申请 {ident}"}.get(kind, subject)


def _words_cn(detail: str) -> str:
    return " ".join(WORDS_CN.get(word, word) for word in detail.split(" "))
