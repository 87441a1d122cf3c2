"""`robots.yaml`: group id -> {webhook, secret?, keyword?}. Kept outside the plan files because its addresses are
secrets; validated strictly, and no error or warning ever shows a key or secret whole."""

from __future__ import annotations

import difflib
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.channels.robots.config import RobotConfig, kind_of
from bot.channels.robots.wire import mask
from bot.core.model import Campaign
from bot.errors import ConfigError, Problem

_FIELDS = ("webhook", "secret", "keyword")


@dataclass(frozen=True)
class RobotsFile:
    robots: dict[str, RobotConfig]
    warnings: tuple[str, ...]


def load_robots(path: Path, campaign: Campaign) -> RobotsFile:
    """The robots of `path` (none if the file doesn't exist). Raises ConfigError listing every problem."""
    if not path.exists():
        return RobotsFile({}, ())
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError([Problem(path, "", type(exc).__name__, "读不了机器人配置文件", str(exc)[:200])]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([Problem(path, "", type(raw).__name__, "应当是“群编号: 机器人设置”的列表", _EXAMPLE)])
    groups = {g.id: g for u in campaign.units for g in u.groups}
    robots: dict[str, RobotConfig] = {}
    problems: list[Problem] = []
    warnings: list[str] = []
    for group_id, entry in raw.items():
        config = _entry(path, str(group_id), entry, groups.keys(), problems)
        if config is None:
            continue
        robots[config.group] = config
        if groups[config.group].via == "relay":
            warnings.append(f"{path}：群 {config.group} 在 units.yaml 里设为 via: relay，它的机器人不会用到")
    if problems:
        raise ConfigError(problems)
    if path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.append(f"{path} 别人也能读（里面是机器人密钥）。请运行：chmod 600 {path}")
    return RobotsFile(robots, tuple(warnings))


_EXAMPLE = "例如：\n  changchun-villagers:\n    webhook: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"


def _entry(path: Path, group: str, entry: object, known: object, problems: list[Problem]) -> RobotConfig | None:
    groups = sorted(known)  # type: ignore[call-overload]
    if group not in groups:
        close = difflib.get_close_matches(group, groups, n=1)
        hint = f"是不是 {close[0]}？" if close else f"units.yaml 里的群有：{'、'.join(groups)}"
        problems.append(Problem(path, group, group, "units.yaml 里没有这个群", hint))
        return None
    if not isinstance(entry, dict):
        problems.append(Problem(path, group, type(entry).__name__, "要写成 webhook: 机器人地址", _EXAMPLE))
        return None
    for key in entry:
        if key not in _FIELDS:
            problems.append(Problem(path, f"{group}.{key}", key, "不认识的设置", "只能写 webhook、secret、keyword"))
    webhook, secret, keyword = (str(entry.get(k) or "").strip() for k in _FIELDS)
    kind = kind_of(webhook)
    if kind is None:
        shown = mask(webhook) if webhook else ""
        problems.append(
            Problem(
                path,
                f"{group}.webhook",
                shown,
                "机器人地址不对",
                "从群设置里复制完整地址：企业微信是 …/cgi-bin/webhook/send?key=…，钉钉是 …/robot/send?access_token=…",
            )
        )
        return None
    config = RobotConfig(group, webhook, kind, secret, keyword)
    if kind == "wecom" and (secret or keyword):
        problems.append(
            Problem(path, group, "secret/keyword", "企业微信群机器人没有加签和关键词", "删掉 secret 和 keyword")
        )
    if kind == "dingtalk" and not secret and not keyword:
        problems.append(
            Problem(
                path,
                f"{group}.secret",
                "",
                "钉钉机器人缺少安全设置",
                "把机器人安全设置里“加签”的密钥（SEC 开头）写在 secret，或把自定义关键词写在 keyword",
            )
        )
    if kind == "dingtalk" and secret and not secret.startswith("SEC"):
        problems.append(
            Problem(path, f"{group}.secret", mask(secret), "加签密钥应以 SEC 开头", "从钉钉机器人安全设置里重新复制")
        )
    return config
