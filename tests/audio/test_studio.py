"""Producing clips: edge-tts (loopback) with the offline fallback, the finished file checked by decoding it, the
cache, and the output folder with playlists and play sheets."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.audio.base import AudioError, ClipRequest
from bot.audio.edge import EdgeTts
from bot.audio.loopback import LoopbackEdgeTts, Mode
from bot.audio.offline import OfflineTts, to_pinyin
from bot.audio.produce import split_sentences
from bot.audio.studio import Studio
from bot.cli import main
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources
from bot.core.planner import Voice
from tests.audio.conftest import assert_broadcast_ready, no_sleep

SCRIPT = "长春村的村民朋友们，大家好！垃圾分类，从我做起。谢谢大家！"
FAILURES: list[Mode] = ["no_audio", "drop", "truncate", "forbidden", "unavailable", "stall"]


def request(script: str = SCRIPT, **changes: object) -> ClipRequest:
    base = ClipRequest(
        script=script,
        title="5月垃圾分类广播：宣传周",
        town="金溪镇",
        activity="全国城市生活垃圾分类宣传周",
        day=datetime(2024, 5, 19, 7, 30, tzinfo=TOWN_ZONE),
        month="2024-05",
        stem="2024-05.xuanchuanzhou.changchun",
        voice=Voice(),
        repeats=2,
        pause_seconds=2.0,
        loudness_lufs=-16.0,
        true_peak_dbtp=-1.5,
        bitrate_kbps=64,
        operator_id="changchun-gb",
        operator_name="王强",
        unit_name="长春村",
        plays=(datetime(2024, 5, 19, 7, 30, tzinfo=TOWN_ZONE), datetime(2024, 5, 19, 18, 30, tzinfo=TOWN_ZONE)),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def studio(out: Path, server: LoopbackEdgeTts, offline: OfflineTts | None = None, *, stall: bool = False) -> Studio:
    edge = EdgeTts(server.url, timeout=0.5 if stall else 10.0, attempts=2, sleep=no_sleep)
    return Studio(out, [edge, offline or OfflineTts()])


def test_a_clip_from_edge_tts_is_broadcast_ready(tmp_path: Path, edge_server: LoopbackEdgeTts) -> None:
    clip = asyncio.run(studio(tmp_path, edge_server).produce(request()))
    assert clip.engine == "edge-tts" and not clip.cached and clip.fallback == ""
    assert clip.path == tmp_path / "2024-05" / "2024-05.xuanchuanzhou.changchun.mp3"
    # 3 sentences in one request; the loopback speaks 0.25 s per character (24): chime 1.4 s + 2 × 6 s + pauses.
    assert [r.text for r in edge_server.requests] == ["".join(split_sentences(SCRIPT))]
    d = assert_broadcast_ready(clip.path, min_seconds=14.0, max_seconds=18.0)
    assert d.tags["TIT2"] == "5月垃圾分类广播：宣传周" and d.tags["TPE1"] == "金溪镇"
    assert d.tags["TALB"] == "全国城市生活垃圾分类宣传周" and d.tags["TDRC"] == "2024-05-19"
    assert abs(clip.seconds - d.seconds) < 0.2


@pytest.mark.parametrize("mode", FAILURES)
def test_when_edge_tts_keeps_failing_the_offline_voice_makes_the_clip(
    tmp_path: Path, edge_server: LoopbackEdgeTts, mode: Mode
) -> None:
    edge_server.default = mode
    clip = asyncio.run(studio(tmp_path, edge_server, stall=mode == "stall").produce(request()))
    assert clip.engine == "espeak-ng"
    assert "edge-tts" in clip.fallback
    assert len(edge_server.requests) >= 2  # retried before falling back
    assert_broadcast_ready(clip.path, min_seconds=8.0, max_seconds=40.0)


def test_a_short_clip_is_as_loud_as_a_long_one(tmp_path: Path, edge_server: LoopbackEdgeTts) -> None:
    # ffmpeg's loudnorm gets clips under 3 s wrong; the fixed gain measured on the whole clip does not.
    clip = asyncio.run(studio(tmp_path, edge_server).produce(request("请注意。", repeats=1, stem="short")))
    d = assert_broadcast_ready(clip.path, min_seconds=2.5, max_seconds=4.5)
    assert d.seconds < 4.5


def test_when_no_engine_works_nothing_is_written(tmp_path: Path, edge_server: LoopbackEdgeTts) -> None:
    edge_server.default = "unavailable"
    broken = OfflineTts("/nonexistent/espeak-ng")
    with pytest.raises(AudioError) as caught:
        asyncio.run(studio(tmp_path, edge_server, broken).produce(request()))
    assert "HTTP 503" in str(caught.value) and "espeak-ng" in str(caught.value)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_an_unchanged_clip_comes_from_the_cache(tmp_path: Path, edge_server: LoopbackEdgeTts) -> None:
    s = studio(tmp_path, edge_server)
    first = asyncio.run(s.produce(request()))
    again = asyncio.run(s.produce(request()))
    other_village = asyncio.run(s.produce(request(stem="2024-05-xuanchuanzhou-shanling", operator_id="shanling-gb")))
    slower = asyncio.run(s.produce(request(voice=Voice(rate="-20%"))))
    assert [first.cached, again.cached, other_village.cached, slower.cached] == [False, True, True, False]
    assert s.synthesised == 2 and len(edge_server.requests) == 2
    assert other_village.path.read_bytes() == first.path.read_bytes()


def test_after_a_failure_edge_tts_rests_and_the_next_clips_go_straight_offline(
    tmp_path: Path, edge_server: LoopbackEdgeTts
) -> None:
    edge_server.default = "unavailable"
    s = studio(tmp_path, edge_server)
    asyncio.run(s.produce(request()))
    tried = len(edge_server.requests)
    clip = asyncio.run(s.produce(request("另一段广播稿。", stem="other")))
    assert clip.engine == "espeak-ng" and "HTTP 503" in clip.fallback  # the real cause, every time
    assert len(edge_server.requests) == tried


def test_offline_text_is_toned_pinyin_with_numbers_as_words() -> None:
    assert to_pinyin("2024年5月20日，大家好！") == "er4 ling2 er4 si4 nian2 wu3 yue4 er4 shi2 ri4 , da4 jia1 hao3 ."


def test_a_months_clips_for_every_village_with_playlists_and_play_sheets_then_from_the_cache(
    jinxi: Sources, tmp_path: Path, edge_server: LoopbackEdgeTts
) -> None:
    out = tmp_path / "audio_out"
    env = {
        "BOT_SCHEDULES_DIR": str(jinxi.schedules),
        "BOT_MESSAGES_DIR": str(jinxi.messages),
        "BOT_AUDIO_DIR": str(out),
        "BOT_EDGE_TTS_URL": edge_server.url,
        "BOT_TTS_ENGINE": "edge",
    }
    first = CliRunner().invoke(main, ["audio", "--month", "2024-05"], env=env)
    assert first.exit_code == 0, first.output
    assert "做好 14 段广播音频（新合成 14 段，来自缓存 0 段）" in first.stdout
    assert str(out / "2024-05") in first.stdout
    folder = out / "2024-05"
    operators = ["jinxi-shequ-gb", "changchun-gb", "shanling-gb", "wangling-gb", "pingxi-gb", "shanba-gb", "taiping-gb"]
    for operator in operators:
        playlist = (folder / f"{operator}.m3u").read_text(encoding="utf-8").splitlines()
        assert playlist[0] == "#EXTM3U"
        files = [line for line in playlist if not line.startswith("#")]
        assert len(files) == 2 and all((folder / f).is_file() and f.isascii() for f in files)
        sheet = (folder / f"{operator}-bofangdan.txt").read_text(encoding="utf-8")
        assert "广播播放单" in sheet and sheet.count("□ ") == 12 and "连播2遍" in sheet
    changchun = (folder / "changchun-gb-bofangdan.txt").read_text(encoding="utf-8")
    assert "长春村　广播员：王强" in changchun and "□ 5月19日（周日）上午7点30分" in changchun
    assert_broadcast_ready(folder / "2024-05.xuanchuanzhou.changchun.mp3", min_seconds=20, max_seconds=200)
    requests = len(edge_server.requests)

    second = CliRunner().invoke(main, ["audio", "--activity", "2024-05"], env=env)
    assert second.exit_code == 0, second.output
    assert "做好 14 段广播音频（新合成 0 段，来自缓存 14 段）" in second.stdout
    assert len(edge_server.requests) == requests


def test_audio_command_rejects_month_and_activity_together(jinxi: Sources, tmp_path: Path) -> None:
    env = {"BOT_SCHEDULES_DIR": str(jinxi.schedules), "BOT_MESSAGES_DIR": str(jinxi.messages)}
    both = CliRunner().invoke(main, ["audio", "--month", "2024-05", "--activity", "2024-05"], env=env)
    unknown = CliRunner().invoke(main, ["audio", "--activity", "nope"], env=env)
    assert both.exit_code == 2 and unknown.exit_code == 2
    assert "2024-05" in unknown.stderr
