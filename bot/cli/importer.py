"""`laba import`: next year's plan from the town's notice (Word document or the text published online)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.base import handle_errors, main, messages_option, schedules_option

if TYPE_CHECKING:
    from bot.notice import importing


@main.command(name="import")
@click.argument("notice", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--year", type=click.IntRange(2000, 2100), help="计划的年份（默认从通知里读）。")
@schedules_option
@messages_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="写到这个文件，不写进计划目录的 plan-YYYY.yaml。",
)
@click.option("--force", is_flag=True, help="计划文件已存在时用新导入的覆盖（手改的地方会丢，先不加它看看区别）。")
@handle_errors
def import_notice(
    notice: Path, year: int | None, schedules: Path, messages: Path, output: Path | None, force: bool
) -> None:
    """把镇里每年的宣传方案通知变成计划草稿 plan-YYYY.yaml，检查并列出还要核对的事项。

    NOTICE 是通知文件：.docx；.doc/.wps（要装 LibreOffice）；或网上公开的文字存成的 .txt。

    \b
    退出码：
      0  写好了（或和现有文件一样），检查通过
      1  检查有问题（草稿照样写好）；或文件已存在、内容不同、没加 --force（没有改动）
      2  通知读不懂（什么也没写）
    """
    from bot.notice import importing  # python-docx, pypinyin and the calendars: only for this command

    imported = importing.prepare(notice, schedules, year, output)
    if imported.existing is not None and not imported.unchanged and not force:
        click.echo(imported.diff())
        click.echo(
            f"{imported.target} 已经存在，和这次导入的不一样（上面是区别，- 是现有的，+ 是新导入的）。没有改动它。\n"
            "确认要用新导入的覆盖（文件里手改过的地方会丢掉），加 --force 再运行一次。",
            err=True,
        )
        sys.exit(1)
    problems = importing.check(imported, schedules, messages)
    if imported.unchanged:
        click.echo(f"{imported.target} 和这次导入的结果一样，没有改动。")
    else:
        importing.write(imported)
        _report(imported)
    if problems:
        click.echo(f"检查没有通过，发现 {len(problems)} 处问题（改好后运行 laba check）：", err=True)
        for problem in problems:
            click.echo(f"  ✗ {problem}", err=True)
        sys.exit(1)
    click.echo("✓ 检查通过（和 laba check 一样）。核对完上面几项就可以用了。")


def _report(imported: importing.Imported) -> None:
    draft = imported.draft
    events = sum(len(a.events) for a in draft.activities)
    click.echo(f"已写入 {imported.target}：{draft.year}年，{len(draft.activities)} 项活动，{events} 个事件。")
    click.echo("导入时推断的：")
    for line in imported.review.inferred:
        click.echo(f"  · {line}")
    click.echo("请核对，还要镇里定的：")
    for line in imported.review.to_decide:
        click.echo(f"  ? {line}")
