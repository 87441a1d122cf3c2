"""Broadcast settings and scripts as the town writes them: checked at load, rendered for the ear."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.audio.loopback import LoopbackEdgeTts
from bot.cli import main
from bot.config.campaign import Sources, load
from bot.config.loader import load_campaign
from bot.core.planner import Voice, plan_campaign
from bot.core.render import ProofFacts
from bot.core.spoken import number_cn, say, say_date
from bot.errors import ConfigError


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_numbers_and_dates_are_said_as_words() -> None:
    assert [number_cn(n) for n in (2, 10, 15, 20, 105, 115, 2024)] == [
        "二", "十", "十五", "二十", "一百零五", "一百一十五", "两千零二十四",
    ]  # fmt: skip
    assert say_date(date(2024, 5, 26)) == "五月二十六日，星期天"
    assert say("2024年5月20日起，“3.19”主题周 🌲 详见 https://example.cn 践行新时尚 分类志愿行") == (
        "二零二四年五月二十日起，“三一九”主题周，详见，践行新时尚，分类志愿行"
    )


def test_every_village_gets_its_own_script_in_words(jinxi: Sources) -> None:
    loaded = load(jinxi)
    job = loaded.plan.by_key()["2024-05/broadcast"]
    scripts = {t.id: loaded.renderer.script(job, t, ProofFacts()) for t in job.targets}
    assert len(set(scripts.values())) == 7
    assert scripts["jinxi-shequ-gb"].startswith("金溪社区的居民朋友们，大家好！")
    changchun = scripts["changchun-gb"]
    assert changchun.startswith("长春村的村民朋友们，大家好！") and "请问村里的干部" in changchun
    assert "从五月二十日，星期一开始，到五月二十六日，星期天结束" in changchun
    assert changchun.rstrip().endswith("谢谢大家！")
    assert not any(c.isdigit() for c in "".join(scripts.values()))


def test_voice_and_repeats_per_town_and_per_activity(jinxi: Sources) -> None:
    replace_in(
        jinxi.schedules / "town.yaml",
        "  min_photos: 2 ",
        '  broadcast: {voice: zh-CN-YunjianNeural, rate: "-15%", play_times: ["07:00"], play_days: 2}\n'
        "  min_photos: 2 ",
    )
    replace_in(
        jinxi.schedules / "plan-2024.yaml",
        "    theme: 践行新时尚 分类志愿行\n    responsible",
        "    theme: 践行新时尚 分类志愿行\n    broadcast: {voice: zh-CN-XiaoyiNeural, repeats: 3}\n    responsible",
    )
    by_key = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    may, april = by_key["2024-05/broadcast"].broadcast, by_key["2024-04/broadcast"].broadcast
    assert may is not None and april is not None
    assert may.voice == Voice("zh-CN-XiaoyiNeural", "-15%", "+0%", "+0Hz") and may.repeats == 3
    assert april.voice.name == "zh-CN-YunjianNeural" and april.repeats == 2
    assert [p.isoformat() for p in april.plays] == ["2024-04-01T07:00:00+08:00", "2024-04-02T07:00:00+08:00"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('rate: "10%"', "要带正负号"),
        ('deliver_time: "22:00"', "免打扰"),
        ("produce_days_before: 1", "produce_days_before"),
    ],
)
def test_bad_broadcast_settings_are_errors_at_load(jinxi: Sources, rule: str, message: str) -> None:
    replace_in(jinxi.schedules / "town.yaml", "  min_photos: 2 ", f"  broadcast: {{{rule}}}\n  min_photos: 2 ")
    with pytest.raises(ConfigError) as caught:
        load_campaign(jinxi.schedules)
    assert message in str(caught.value) and "broadcast" in str(caught.value)


def test_check_renders_the_broadcast_scripts(jinxi: Sources) -> None:
    replace_in(jinxi.messages / "broadcast" / "remind.j2", "现在播送", "{{ nonsense }}现在播送")
    with pytest.raises(ConfigError) as caught:
        load(jinxi)
    assert "remind.j2" in str(caught.value) and "nonsense" in str(caught.value)


def test_check_online_reports_whether_edge_tts_answers(
    jinxi: Sources, tmp_path: Path, edge_server: LoopbackEdgeTts
) -> None:
    env = {
        "BOT_SCHEDULES_DIR": str(jinxi.schedules),
        "BOT_MESSAGES_DIR": str(jinxi.messages),
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "BOT_AUDIO_DIR": str(tmp_path / "audio_out"),
        "BOT_CHANNEL": "outbox",
        "BOT_TTS_ENGINE": "edge",
        "BOT_EDGE_TTS_URL": edge_server.url,
    }
    up = CliRunner().invoke(main, ["check", "--online"], env=env)
    assert up.exit_code == 0, up.output
    assert "✓ edge-tts：可以连接" in up.stdout
    edge_server.default = "forbidden"
    down = CliRunner().invoke(main, ["check", "--online"], env=env)
    assert down.exit_code == 1
    assert "✗ edge-tts：" in down.stdout and "HTTP 403" in down.stdout
