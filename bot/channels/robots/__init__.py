"""Official group robots (WeCom 群机器人, DingTalk 自定义机器人): one robot per group, found by its address.

The names below are imported from their modules when first asked for (PEP 562): a daemon whose town has no
robots.yaml never loads the robots' HTTP client, and the routes' modules can name the robots' errors cheaply.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from bot.channels.robots.channel import PublicFiles, RobotChannel, posting_robots
    from bot.channels.robots.config import RobotConfig, kind_of
    from bot.channels.robots.http import Pacer
    from bot.channels.robots.wire import RobotProblem, RobotRefused, mask

_MODULE_OF: Final = {
    **dict.fromkeys(("PublicFiles", "RobotChannel", "posting_robots"), "bot.channels.robots.channel"),
    **dict.fromkeys(("RobotConfig", "kind_of"), "bot.channels.robots.config"),
    "Pacer": "bot.channels.robots.http",
    **dict.fromkeys(("RobotProblem", "RobotRefused", "mask"), "bot.channels.robots.wire"),
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "Pacer",
    "PublicFiles",
    "RobotChannel",
    "RobotConfig",
    "RobotProblem",
    "RobotRefused",
    "kind_of",
    "mask",
    "posting_robots",
]
