"""Everything a clerk meets on the command line is Chinese: every --help, click's own errors, our errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from bot.cli import main

HAN = re.compile(r"[\u4e00-\u9fff]")
# English a clerk should never read (click's words, pydantic's, Python's).
ENGLISH = re.compile(
    r"Usage:|Options:|Commands:|Show this message|No such|Invalid value|Missing (argument|option)|Error:|"
    r"Traceback|Field required|Input should|datetime\.|is not one of|does not exist"
)


# A value's name click makes from a type or an argument: INTEGER, TEXT, PATH, EVIDENCE_ID.
METAVAR = re.compile(r"\b(INTEGER|TEXT|PATH|FILENAME|DIRECTORY|FLOAT|[A-Z]+_ID)\b")


def laba(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, prog_name="laba")


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def test_every_commands_help_is_chinese(env: dict[str, str]) -> None:
    seen = 0
    for path, command in [((), main), *commands(main)]:
        result = laba(env, *path, "--help")
        assert result.exit_code == 0, path
        out = result.stdout
        assert not ENGLISH.search(out), (path, ENGLISH.search(out))
        assert "用法：" in out and "选项" in out
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and param.help:
                assert HAN.search(param.help), (path, param.opts, param.help)
        assert command.help and HAN.search(command.help.split("\n")[0]), path
        # Values named in Chinese (click's INTEGER, TEXT, an argument's name in capitals: issue 10 L10).
        assert not METAVAR.search(out), (path, METAVAR.search(out))
        seen += 1
    assert seen >= 15


def test_help_shows_the_folders_in_effect(env: dict[str, str], tmp_path: Path) -> None:
    """With BOT_SCHEDULES_DIR set to another town, --help shows that folder, not 金溪's."""
    town = tmp_path / "schedules" / "shuanghe"
    out = laba({**env, "BOT_SCHEDULES_DIR": str(town)}, "plan", "--help").stdout
    assert "jinxi" not in out and "shuanghe" in out, out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("nosuch",), "没有 'nosuch' 这个命令"),
        (("plan", "--nosuch"), "没有 '--nosuch' 这个选项"),
        (("plan", "--from"), "选项 '--from' 后面要写一个值"),
        (("preview",), "缺少参数 '任务编号'"),
        (("simulate", "--from", "2024-05-01"), "缺少选项 '--to'"),
        # The same words as `check` says of a plan file's date (L8: 2月30日 was "看不懂" here).
        (("plan", "--from", "5月32日"), "日期“5月32日”不对：2024年5月没有32日"),
        (("plan", "--from", "2月30日"), "日期“2月30日”不对：2024年2月没有30日"),
        (("plan", "--from", "5月3x"), "日期“5月3x”看不懂"),
        (("plan", "--from", "6月3日", "--to", "6月1日"), "--from（6月3日）在 --to（6月1日）之后"),
        (("simulate", "--from", "2024-05-01", "--to", "2024-05-02", "--channel", "qq"), "只能写其中之一"),
        (("send", "--to", "nobody", "你好"), "没有叫“nobody”的群或联系人"),
        (("send", "--to", "changchun-villagers", "--now", "2024-05-20T22:30", "你好"), "请加 --force"),
        (("ledger", "report"), "没有 'report' 这个命令"),
    ],
)
def test_bad_input_is_said_in_chinese_with_exit_2(env: dict[str, str], args: tuple[str, ...], said: str) -> None:
    result = laba(env, *args)
    assert result.exit_code == 2, result.output
    assert said in result.stderr, result.stderr
    assert not ENGLISH.search(result.stderr), result.stderr
    assert "用法" not in result.stderr or "用 'laba" in result.stderr  # and where to find help


def test_dates_as_the_plan_files_write_them(env: dict[str, str]) -> None:
    outputs = {
        laba(env, "plan", "--from", a, "--to", b, "--json").stdout
        for a, b in [
            ("2024-05-01", "2024-05-31"),
            ("5月1日", "5月31日"),  # the year of the town's only plan
            ("2024/05/01", "2024/5/31"),
            ("2024年5月1日", "2024年5月31日"),
        ]
    }
    assert len(outputs) == 1 and "2024-05/announce" in outputs.pop()


def test_send_in_quiet_hours_goes_with_force(env: dict[str, str]) -> None:
    result = laba(env, "send", "--to", "changchun-villagers", "--now", "2024-05-20T22:30", "--force", "你好")
    assert result.exit_code == 0, result.output
    assert "已发送到 长春村村民群" in result.stdout


def test_months_as_people_write_them() -> None:
    from bot.cli.base import parse_month

    for text in ("2024-05", "2024/5", "2024年5月", "5月", " 05月 "):
        assert parse_month(text, 2024) == (2024, 5), text
    for bad in ("13月", "2024-13", "五月份", "5"):
        with pytest.raises(click.UsageError):
            parse_month(bad, 2024)


def test_a_town_in_its_own_folder_needs_no_copy_of_the_templates(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The outsider's first `check` failed on a relative `messages` default when run outside the checkout.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    without = {k: v for k, v in env.items() if k != "BOT_MESSAGES_DIR"}
    result = CliRunner().invoke(main, ["check"], env={**without, "BOT_MESSAGES_DIR": None}, prog_name="laba")
    assert result.exit_code == 0, result.output
    assert "模板全部渲染通过" in result.output
    missing = laba(env, "check", "--messages", str(elsewhere / "nothing"))
    assert missing.exit_code == 2 and "不写 --messages" in missing.output
