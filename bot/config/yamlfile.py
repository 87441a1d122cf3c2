"""YAML with line numbers: errors point at the line a clerk has to fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError, Problem

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDoc:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest parent that has one."""
        while True:
            if loc in self.lines:
                return self.lines[loc]
            if not loc:
                return None
            loc = loc[:-1]

    def value_at(self, loc: Loc) -> object:
        node: Any = self.data
        for part in loc:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node


def place(loc: Loc) -> str:
    """`('activities', 3, 'events', 0, 'start')` -> `activities[3].events[0].start`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Loader(yaml.SafeLoader):
    pass


# Parsing (to nodes, with their line numbers) in libyaml's C parser when PyYAML has it: about 14x faster than the
# pure-Python one (50 ms of CPU at every start and reload for the 金溪 files). Building values stays in `_Loader`.
_Composer: type = getattr(yaml, "CSafeLoader", _Loader)


def read_yaml(path: Path) -> YamlDoc:
    """Parse one file. Raises ConfigError naming the file and line for a missing file or broken YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(path, "", str(path), "文件不存在", "检查 --schedules 指向的目录")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [Problem(path, "", exc.reason, "文件不是 UTF-8 编码", "用 UTF-8 保存（记事本另存为时选 UTF-8）")]
        ) from None
    try:
        root = yaml.compose(text, Loader=_Composer)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(
            [Problem(path, "", (exc.problem or "").strip(), "YAML 格式错误", "检查这一行的缩进、冒号和引号", line)]
        ) from None
    if root is None:
        return YamlDoc(path, {}, {})
    lines: dict[Loc, int] = {}
    data = _build(root, (), lines, path, _Loader(""))
    return YamlDoc(path, data, lines)


def _build(node: yaml.Node, loc: Loc, lines: dict[Loc, int], path: Path, loader: _Loader) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in out:
                raise ConfigError(
                    [
                        Problem(
                            path,
                            place((*loc, key)),
                            key,
                            "同一个键写了两次",
                            "删掉重复的一个",
                            key_node.start_mark.line + 1,
                        )
                    ]
                )
            out[key] = _build(value_node, (*loc, key), lines, path, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*loc, i), lines, path, loader) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
