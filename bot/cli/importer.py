"""`laba import`: next year's plan from the town's notice (Word document or the text published online)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.base import handle_errors, main, messages_option, schedules_option
from bot.notice import importing


@main.command(name="import")
@click.argument("notice", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--year", type=click.IntRange(2000, 2100), help="The plan's year (default: from the notice).")
@schedules_option
@messages_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write here instead of SCHEDULES/plan-YYYY.yaml.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing plan file (its edits are lost; see the diff first).")
@handle_errors
def import_notice(
    notice: Path, year: int | None, schedules: Path, messages: Path, output: Path | None, force: bool
) -> None:
    """Turn the town's yearly notice (.docx, .doc/.wps via LibreOffice, or .txt) into a draft plan-YYYY.yaml,
    check it as `laba check` does and list what the town must still decide.

    Exit 0: written (or identical) and the check passes; 1: written but the check found problems, or an existing
    file differs and --force was not given (nothing written); 2: the notice can't be read (nothing written)."""
    imported = importing.prepare(notice, schedules, year, output)
    draft = imported.draft
    if imported.unchanged:
        click.echo(f"{imported.target} 和这次导入的结果一样，没有改动。")
        return
    if imported.existing is not None and not force:
        click.echo(imported.diff())
        click.echo(
            f"{imported.target} 已经存在，和这次导入的不一样（上面是区别，- 是现有的，+ 是新导入的）。没有改动它。\n"
            "确认要用新导入的覆盖（文件里手改过的地方会丢掉），加 --force 再运行一次。",
            err=True,
        )
        sys.exit(1)
    problems = importing.check(imported, schedules, messages)
    importing.write(imported)
    events = sum(len(a.events) for a in draft.activities)
    click.echo(f"已写入 {imported.target}：{draft.year}年，{len(draft.activities)} 项活动，{events} 个事件。")
    click.echo("导入时推断的：")
    for line in imported.review.inferred:
        click.echo(f"  · {line}")
    click.echo("请核对，还要镇里定的：")
    for line in imported.review.to_decide:
        click.echo(f"  ? {line}")
    if problems:
        click.echo(f"检查没有通过，发现 {len(problems)} 处问题（改好后运行 laba check）：", err=True)
        for problem in problems:
            click.echo(f"  ✗ {problem}", err=True)
        sys.exit(1)
    click.echo("✓ 检查通过（和 laba check 一样）。核对完上面几项就可以用了。")
