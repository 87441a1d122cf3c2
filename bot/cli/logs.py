"""Log lines for people: the town's time (whatever the server's zone), Chinese level names, no Python reprs."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TextIO

from bot.clock import TOWN_ZONE

LEVELS_CN = {"DEBUG": "调试", "INFO": "信息", "WARNING": "注意", "ERROR": "错误", "CRITICAL": "严重"}


class TownFormatter(logging.Formatter):
    """`2024-05-20 09:00:03 信息 已发送：5月活动通知：… → 长春村村民群` in Asia/Shanghai time."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelcn)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, TOWN_ZONE).strftime(datefmt or "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        record.levelcn = LEVELS_CN.get(record.levelname, record.levelname)
        return super().format(record)


def setup_logging(verbose: bool, stream: TextIO) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TownFormatter())
    root = logging.getLogger()
    # Replace only our own handler (a second `main` in one process, as in tests): others' handlers stay.
    root.handlers[:] = [h for h in root.handlers if not isinstance(h.formatter, TownFormatter)] + [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
