"""click's own words in Chinese: usage lines, "No such command", "Invalid value", "Missing argument" and the rest.

click marks its messages for gettext (`from gettext import gettext as _` in each module). Rather than ship a
compiled catalogue and depend on the LANGUAGE of whoever runs laba, `install()` points those names in click's
modules at a dictionary lookup; a message not in it stays as click wrote it. Placeholders are click's own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import click

CLICK_CN = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示这段帮助后退出。",
    "Show the version and exit.": "显示版本号后退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Error: {message}": "出错：{message}",
    "Try '{command} {option}' for help.": "用 '{command} {option}' 查看帮助。",
    "No such command {name!r}.": "没有 {name!r} 这个命令。",
    "No such option {name!r}.": "没有 {name!r} 这个选项。",
    "Did you mean {possibility}?": "是不是 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是不是其中之一：{possibilities}？）",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值不对：{message}",
    "Invalid value: {message}": "值不对：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing {param_type}": "缺少",  # click fills in "argument"/"option" in English: the name follows anyway
    "Missing command.": "缺少命令。",
    "Option {name!r} does not take a value.": "选项 {name!r} 后面不用写值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 后面要写一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 后面要写 {nargs} 个值。",
    "Got unexpected extra argument ({args})": "多写了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多写了参数（{args}）",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 要写 {nargs} 个值。",
    "{value!r} is not {choice}.": "{value!r} 不行，只能写 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不行，只能写其中之一：{choices}。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数字。",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内。",
    "{value!r} does not match the format {format}.": "{value!r} 的格式不对，要写成 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 的格式不对，要写成 {formats} 之一。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，这里要写目录。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录，这里要写文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 读不了（没有权限）。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 写不了（没有权限）。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不能执行。",
    "Directory": "目录",
    "directory": "目录",
    "File": "文件",
    "file": "文件",
    "Path": "路径",
    "path": "路径",
    "Could not open file {filename!r}: {message}": "打不开文件 {filename!r}：{message}",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
    "Aborted!": "已取消。",
    "Do you want to continue?": "要继续吗？",
    "Error: invalid input": "出错：输入不对",
    "Repeat for confirmation": "再输入一遍确认",
    "Error: The two entered values do not match.": "出错：两次输入不一样。",
    "Press any key to continue...": "按任意键继续……",
    "deprecated": "已不再使用",
    "Confirm the action without prompting.": "不再询问，直接确认。",
}

_MODULES = ("core", "exceptions", "parser", "types", "decorators", "formatting", "termui", "utils")


def translate(message: str) -> str:
    return CLICK_CN.get(message, message)


def _ntranslate(singular: str, plural: str, n: int) -> str:
    return translate(singular if n == 1 else plural)


def install() -> None:
    """Make click speak Chinese (idempotent). Only click's modules are touched, not gettext for anyone else."""
    for name in _MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = translate  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            patched: Callable[[str, str, int], str] = _ntranslate
            module.ngettext = patched  # type: ignore[attr-defined]


# Values whose name says more than their type: dates, months, and the ids the ledger commands take.
_NAMED = {
    "from_": "日期",
    "month": "月份",
    "month_": "月份",
    "year_": "年份",
    "evidence_id": "材料编号",
    "binding_id": "申请编号",
    "port": "端口",
    "user_id": "账号",
}


def metavar_cn(param: click.Parameter) -> str | None:
    """What a value is called in help (`--year 数字`), for a parameter without its own metavar: click would say
    INTEGER, TEXT or the argument's name in capitals. None where click's own is already readable (choices, flags)."""
    kind = param.type
    if isinstance(param, click.Option) and param.is_flag:
        return None
    if param.name in _NAMED:
        return _NAMED[param.name]
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return "数字"
    if isinstance(kind, click.Path):
        return "目录" if not kind.file_okay else "文件" if not kind.dir_okay else "路径"
    if isinstance(kind, click.types.StringParamType):
        return "文字"
    return None


class ChineseCommand(click.Command):
    """A command whose usage line says [选项] rather than [OPTIONS], and whose values are named in Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is None:
                param.metavar = metavar_cn(param)


class ChineseGroup(click.Group):
    """A group of ChineseCommands (and ChineseGroups): usage `laba [选项] 命令 [参数]...`."""

    command_class = ChineseCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)


ChineseGroup.group_class = ChineseGroup
