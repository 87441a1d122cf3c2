"""双河镇 2025 (tests/towns/shuanghe): a second town written by an outsider from the README alone (issue 10), used
unchanged as a fixture so that nothing of 金溪 is taken for granted."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.config.campaign import Sources

SHUANGHE = Path(__file__).resolve().parent / "towns" / "shuanghe"


def shuanghe_sources(tmp_path: Path, messages: Path) -> Sources:
    """A copy of 双河镇's files under tmp_path, with the given templates."""
    schedules = tmp_path / "schedules" / "shuanghe"
    shutil.copytree(SHUANGHE, schedules)
    return Sources(schedules, messages)
