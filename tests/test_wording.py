"""A whole year's outbox read as a township clerk would: 金溪 2024 and generated second towns (2025)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.config.campaign import Sources, load
from tests.outsider import shuanghe_sources
from tests.townmaker import write_town
from tests.wording import defects, simulate_year


def test_jinxi_2024_reads_right_all_year(jinxi: Sources, tmp_path: Path) -> None:
    sent = simulate_year(jinxi, tmp_path / "data", 2024)
    assert len(sent) > 500
    assert defects(load(jinxi), sent) == {}
    june = [s for s in sent if s.job.key == "2024-06/announce"]
    assert june and all(s.job.at.date().isoformat() < "2024-06-01" for s in june)
    january = next(s for s in sent if s.job.key == "2024-01/announce")
    assert "学习贯彻习近平总书记重要回信精神" in january.text


@pytest.mark.parametrize("seed", [1, 2])
def test_a_generated_second_town_passes_check_and_reads_right_all_year(
    jinxi: Sources, tmp_path: Path, seed: int
) -> None:
    town = Sources(write_town(tmp_path / "town", seed), jinxi.messages)
    loaded = load(town)  # check at the first try: no ConfigError
    sent = simulate_year(town, tmp_path / "data", 2025)
    assert defects(loaded, sent) == {}
    # The units reached privately got their arrangement privately, told to send photos to this chat.
    private = [s for s in sent if s.target.kind == "person" and s.job.kind.value == "proof_request"]
    assert private and all("直接发给我" in s.text for s in private)


def test_the_checks_catch_the_old_wording(jinxi: Sources, tmp_path: Path) -> None:
    """The checks above can fail: last year's templates and timing, put back, are each caught."""
    chase = jinxi.messages / "chase.j2"
    chase.write_text(
        chase.read_text(encoding="utf-8").replace("{{ activity.title | quoted }}", "“{{ activity.title }}”")
    )
    announce = jinxi.messages / "announce.j2"
    announce.write_text(announce.read_text(encoding="utf-8").replace("{{ target.place }}", "村（社区）"))
    remind = jinxi.messages / "remind.j2"
    remind.write_text(remind.read_text(encoding="utf-8").replace("{{ due | cn_time }}", "晚上6点"))
    found = defects(load(jinxi), simulate_year(jinxi, tmp_path / "data", 2024))
    assert {
        "doubled quotation marks",
        "村（社区） placeholder where villagers read",
        "deadline said as 晚上6点",
    } <= set(found)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clip_names_never_collide_in_generated_plans(jinxi: Sources, tmp_path: Path, seed: int) -> None:
    from bot.core.clips import clip_folder, clip_stem, colliding_clips

    loaded = load(Sources(write_town(tmp_path / "town", seed), jinxi.messages))
    pairs = [(j, t) for j in loaded.plan.jobs if j.broadcast for t in j.targets]
    names = {f"{clip_folder(j)}/{clip_stem(j, t)}.mp3" for j, t in pairs}
    assert len(names) == len(pairs) > 0 and colliding_clips(loaded.plan) == {}
    assert all(re.fullmatch(r"[a-z0-9_.-]+\.mp3", n.split("/")[1]) for n in names)


def test_a_run_with_its_own_data_dir_writes_nothing_into_the_checkout(tmp_path: Path) -> None:
    """`laba simulate` with only BOT_DATA_DIR set, from the checkout: clips land under the data folder, 0644."""
    root = Path(__file__).resolve().parents[1]
    before = sorted(p for p in root.iterdir() if p.name not in (".venv", ".git"))
    env = {**os.environ, "BOT_DATA_DIR": str(tmp_path / "data"), "BOT_TTS_ENGINE": "offline"}
    env.pop("BOT_AUDIO_DIR", None)
    env.pop("BOT_DATABASE_URL", None)
    args = [sys.executable, "-m", "bot", "simulate", "--from", "2024-05-17", "--to", "2024-05-17"]
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p for p in root.iterdir() if p.name not in (".venv", ".git")) == before
    assert not any((root / "audio_out").glob("20*"))
    clips = list((tmp_path / "data" / "audio").rglob("*.mp3"))
    sheets = list((tmp_path / "data" / "audio").rglob("*-bofangdan.txt"))
    assert len(clips) >= 7 and sheets
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in clips + sheets)


@pytest.fixture
def shuanghe(jinxi: Sources, tmp_path: Path) -> Sources:
    """双河镇 2025, written by an outsider from the README alone (issue 10), with the shipped templates."""
    return shuanghe_sources(tmp_path, jinxi.messages)


def test_the_outsiders_town_passes_check(shuanghe: Sources) -> None:
    from bot.cli import main as laba

    result = CliRunner().invoke(
        laba, ["check", "--schedules", str(shuanghe.schedules), "--messages", str(shuanghe.messages)]
    )
    assert result.exit_code == 0, result.output
    assert "✗" not in result.output and "双河镇" in result.output


def test_the_outsiders_town_reads_right_all_year(shuanghe: Sources, tmp_path: Path) -> None:
    sent = simulate_year(shuanghe, tmp_path / "data", 2025)
    assert len(sent) > 500
    assert defects(load(shuanghe), sent) == {}
    # A month's two activities in one announcement, in the order they happen (宣传周 5/19, then 端午 5/30).
    may = next(s.text for s in sent if s.job.key == "2025-05/announce")
    assert may.index("全国城市生活垃圾分类宣传周") < may.index("端午赶场") and "2项" in may
