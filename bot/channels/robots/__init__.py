"""Official group robots (WeCom 群机器人, DingTalk 自定义机器人): one robot per group, found by its address."""

from bot.channels.robots.channel import PublicFiles, RobotChannel, posting_robots
from bot.channels.robots.config import RobotConfig, kind_of
from bot.channels.robots.http import Pacer
from bot.channels.robots.wire import RobotProblem, RobotRefused, mask

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
