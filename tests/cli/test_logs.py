"""Log lines a person reads: the town's time whatever the server's zone, Chinese, no Python reprs."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.cli.logs import TownFormatter


def test_log_lines_are_in_town_time_and_chinese() -> None:
    record = logging.LogRecord("bot.pipeline", logging.WARNING, __file__, 1, "已发送：%s", ("5月活动通知",), None)
    record.created = datetime.fromisoformat("2024-05-20T01:00:00+00:00").timestamp()
    line = TownFormatter().format(record)
    assert line == "2024-05-20 09:00:00 注意 已发送：5月活动通知"
