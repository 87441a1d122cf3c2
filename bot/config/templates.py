"""Read the message templates (`messages/*.j2`) as text; the core renders them."""

from __future__ import annotations

from pathlib import Path

from bot.core.render import REQUIRED_TEMPLATES
from bot.errors import ConfigError, Problem


def read_templates(folder: Path) -> dict[str, str]:
    """Every `*.j2` in the folder, keyed by file name. Raises ConfigError if the folder or a required one is missing."""
    if not folder.is_dir():
        raise ConfigError(
            [
                Problem(
                    folder,
                    "",
                    str(folder),
                    "找不到消息模板目录",
                    "不写 --messages（也不设 BOT_MESSAGES_DIR）就用大喇叭自带的模板；"
                    "自己改过的模板目录里要有 announce.j2 等文件",
                )
            ]
        )
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.j2")):
        try:
            out[path.name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(path, "", exc.reason, "模板不是 UTF-8 编码", "用 UTF-8 保存"))
    # Loudspeaker scripts live one folder down and are named by their path: "broadcast/announce.j2".
    for path in sorted((folder / "broadcast").glob("*.j2")):
        try:
            out[f"broadcast/{path.name}"] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(path, "", exc.reason, "模板不是 UTF-8 编码", "用 UTF-8 保存"))
    for name in REQUIRED_TEMPLATES:
        if f"{name}.j2" not in out:
            problems.append(
                Problem(folder / f"{name}.j2", "", f"{name}.j2", "缺少模板文件", "从 laba 自带的 messages/ 复制一份")
            )
    if problems:
        raise ConfigError(problems)
    return out
