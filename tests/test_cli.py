"""The `laba` command through click's CliRunner, on a copy of the 金溪 files, with data under tmp_path."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.config.campaign import Sources

KINDS = {"announce", "remind", "proof_request", "chase", "summary", "broadcast"}


def laba(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def outbox_files(env: dict[str, str]) -> list[Path]:
    folder = Path(env["BOT_DATA_DIR"]) / "outbox"
    return sorted(p for p in folder.rglob("*.txt") if not p.name.startswith(".tmp-")) if folder.exists() else []


def line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in ln)


# --- check ------------------------------------------------------------------------------------------------------


def test_check_passes_on_the_real_files(env: dict[str, str]) -> None:
    result = laba(env, "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("✓ 金溪镇：17 个单位，25 个群")
    assert "72 个发送任务（574 条消息）" in result.stdout
    assert result.stderr == ""


def test_check_and_plan_counts_agree_and_say_where_the_year_s_early_jobs_are(env: dict[str, str]) -> None:
    # January's clip reaches the operators on the last workday of the previous year (issue 10 L5).
    said = laba(env, "check").stdout
    assert "其中 1 个任务在计划年之外发出（2023年12月29日（周五）：1月广播音频：" in said
    year = laba(env, "plan", "--from", "2024-01-01", "--to", "2024-12-31").stdout
    assert "共 71 个任务（计划里共 72 个，另外 1 个不在所选日期内）" in year
    whole = laba(env, "plan", "--from", "2023-12-29", "--to", "2024-12-31").stdout
    assert "共 72 个任务。" in whole and "2023年12月29日（周五）" in whole


def test_check_exits_2_listing_every_problem(env: dict[str, str], jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    text = plan.read_text(encoding="utf-8")
    text = text.replace("    responsible: [villages, departments]\n", "    responsibel: [villages, departments]\n")
    text = text.replace("        start: 5月20日\n", "        start: 4月31日\n")
    plan.write_text(text, encoding="utf-8")
    result = laba(env, "check")
    assert result.exit_code == 2
    assert "✓" not in result.stdout
    assert "发现 3 处错误" in result.stderr
    assert f"{plan}:{line_of(plan, 'start: 4月31日')} activities[4].events[0].start" in result.stderr
    assert "4月没有31日" in result.stderr and "（值：“4月31日”）" in result.stderr
    assert f"{plan}:{line_of(plan, 'responsibel')} activities[3].responsibel" in result.stderr
    assert "activities[3].responsible" in result.stderr


def test_check_reports_a_broken_template_with_its_line(env: dict[str, str], jinxi: Sources) -> None:
    chase = jinxi.messages / "chase.j2"
    chase.write_text(chase.read_text(encoding="utf-8") + "{{ deadline }}\n", encoding="utf-8")
    result = laba(env, "check")
    assert result.exit_code == 2
    assert f"{chase}:5" in result.stderr and "deadline" in result.stderr


def test_missing_folder_is_exit_2_not_a_traceback(env: dict[str, str], tmp_path: Path) -> None:
    result = laba({**env, "BOT_SCHEDULES_DIR": str(tmp_path / "nowhere")}, "check")
    assert result.exit_code == 2
    assert str(tmp_path / "nowhere") in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- plan and preview ----------------------------------------------------------------------------------------


def test_plan_json(env: dict[str, str]) -> None:
    result = laba(env, "plan", "--from", "2024-05-01", "--to", "2024-05-31", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["key"] for r in rows] == [
        "2024-05/announce",
        "2024-05/proof_request",
        "2024-05/broadcast/xuanchuanzhou",
        "2024-05/remind/xuanchuanzhou/units",
        "2024-05/remind/xuanchuanzhou",
        "2024-05/chase",
        "2024-06/broadcast",
        "2024-06/announce",  # before 六一 (a Saturday, before June's first workday)
        "2024-06/broadcast/liuyi",
        "2024-06/proof_request",
        "2024-06/remind/liuyi",
        "2024-06/remind/liuyi/units",
        "2024-05/summary",
    ]
    for row in rows:
        assert {"key", "at", "kind", "activity", "targets", "text"} <= set(row)
        assert row["at"].endswith("+08:00")
        assert isinstance(row["targets"], list) and row["targets"]
        assert all(isinstance(t, str) for t in row["targets"])
        assert row["text"].strip()
    instants = [datetime.fromisoformat(r["at"]) for r in rows]
    assert instants == sorted(instants)
    assert instants[0].isoformat() == "2024-05-06T09:00:00+08:00"
    assert instants[-1].isoformat() == "2024-05-31T16:00:00+08:00"  # --to is inclusive
    assert {r["kind"] for r in rows} == KINDS
    assert rows[0]["activity"] == "2024-05" and rows[-1]["targets"] == ["jinxi-office"]
    assert rows[0]["text"].startswith("【金溪镇垃圾分类宣传】居民朋友们好！")  # the first target is 金溪社区
    # A broadcast job goes to each village's operator; its text is the play sheet with the script.
    broadcast = rows[6]
    assert broadcast["kind"] == "broadcast" and len(broadcast["targets"]) == 7
    assert broadcast["targets"][1] == "changchun-gb"
    assert broadcast["at"] == "2024-05-29T10:00:00+08:00"
    assert broadcast["broadcast"]["produce_at"] == "2024-05-27T07:30:00+08:00"
    assert broadcast["broadcast"]["plays"][0] == "2024-05-30T07:30:00+08:00"
    assert "金溪社区的居民朋友们，大家好！" in broadcast["text"]


def test_plan_text(env: dict[str, str]) -> None:
    result = laba(env, "plan", "--from", "2024-05-01", "--to", "2024-05-31")
    assert result.exit_code == 0, result.output
    assert "2024年5月6日（周一）" in result.stdout
    assert "2024-05/remind/xuanchuanzhou" in result.stdout
    assert "共 13 个任务" in result.stdout


def test_preview_prints_every_targets_text(env: dict[str, str]) -> None:
    result = laba(env, "preview", "2024-05/remind/xuanchuanzhou")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "共 7 个收件方" in out
    assert out.count("\n──── ") == 7
    assert "──── 长春村村民群（changchun-villagers）────" in out
    assert out.count("村民朋友们，5月20日（周一）起是第二届全国城市生活垃圾分类宣传周") == 6
    assert out.count("居民朋友们，5月20日（周一）起") == 1
    units = laba(env, "preview", "2024-05/remind/xuanchuanzhou/units").stdout
    assert "共 16 个收件方" in units and units.count("【提醒】") == 16
    assert "──── 金溪镇顺达物流站垃圾分类联络群（ent-shunda-work）────" in units
    # The @mentions the group sees, as the outbox writes them (the outsider's preview had none).
    request = laba(env, "preview", "2024-05/proof_request").stdout
    assert "──── 长春村两委工作群（changchun-work）────\n@" in request and "\u2005" in request


def test_preview_unknown_key_exits_with_a_hint(env: dict[str, str]) -> None:
    result = laba(env, "preview", "nonsense")
    assert result.exit_code == 2
    assert "没有任务“nonsense”" in result.stderr and "laba plan" in result.stderr

    near = laba(env, "preview", "2024-05/nonsense")
    assert near.exit_code == 2
    assert "2024年5月的任务有" in near.stderr
    # Every job of the month, the reminders and the chase too (the outsider saw 8 of them).
    may = [k for k in ("2024-05/announce", "2024-05/chase", "2024-05/summary", "2024-05/remind/xuanchuanzhou/units")]
    assert all(k in near.stderr for k in may), near.stderr


# --- simulate and send -----------------------------------------------------------------------------------------


def test_simulate_sends_once_and_a_second_run_sends_nothing(env: dict[str, str]) -> None:
    first = laba(env, "simulate", "--from", "2024-05-01", "--to", "2024-05-31", "--json")
    assert first.exit_code == 0, first.output
    deliveries = json.loads(first.stdout)["deliveries"]
    # May: announce, proof_request, remind to villagers and to units, chase; June (before 六一): announce,
    # proof_request, remind to villagers and to units; May's summary; 3 loudspeaker clips for 7 operators each.
    assert len(deliveries) == 7 + 16 + 7 + 16 + 16 + 7 + 3 + 7 + 3 + 1 + 3 * 7
    assert {d["status"] for d in deliveries} == {"sent"}
    assert [d["at"] for d in deliveries] == sorted(d["at"] for d in deliveries)
    files = outbox_files(env)
    assert len(files) == len(deliveries)
    outbox = Path(env["BOT_DATA_DIR"]) / "outbox"
    assert {outbox / d["detail"].removeprefix("outbox:") for d in deliveries} == set(files)
    assert len(list(outbox.rglob("*.mp3"))) == 3 * 7  # each operator's clips, beside the play sheets
    assert len(list((Path(env["BOT_AUDIO_DIR"]) / "2024-05").glob("*.m3u"))) == 7
    office = next(d for d in deliveries if d["key"] == "2024-05/summary")
    summary_text = (outbox / office["detail"].removeprefix("outbox:")).read_text(encoding="utf-8")
    assert "金溪镇垃圾分类工作专班群" in summary_text and "【2024年5月垃圾分类宣传工作汇总】" in summary_text

    second = laba(env, "simulate", "--from", "2024-05-01", "--to", "2024-05-31", "--json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)["deliveries"]
    assert [(d["key"], d["target"]) for d in again] == [(d["key"], d["target"]) for d in deliveries]
    assert {d["status"] for d in again} == {"skipped"}
    assert outbox_files(env) == files


def test_simulate_log(env: dict[str, str]) -> None:
    result = laba(env, "simulate", "--from", "2024-05-06", "--to", "2024-05-06")
    assert result.exit_code == 0, result.output
    assert "2024-05/announce" in result.stdout and "2024-05/proof_request" in result.stdout
    assert "本次发送 23 条" in result.stdout
    assert len(outbox_files(env)) == 23


def test_send_writes_one_outbox_file(env: dict[str, str]) -> None:
    result = laba(env, "send", "--to", "changchun-villagers", "--now", "2024-05-20T12:00", "测试")
    assert result.exit_code == 0, result.output
    assert "已发送到 长春村村民群" in result.stdout
    (file,) = outbox_files(env)
    body = file.read_text(encoding="utf-8")
    assert "changchun-villagers" in body and body.rstrip().endswith("测试")


def test_send_by_group_name_and_to_unknown(env: dict[str, str]) -> None:
    assert laba(env, "send", "--to", "杉岭村村民群🌲", "--now", "2024-05-20T12:00", "你好").exit_code == 0
    assert len(outbox_files(env)) == 1
    result = laba(env, "send", "--to", "nobody", "你好")
    assert result.exit_code == 2
    assert "nobody" in result.stderr and "jinxi-shequ-villagers" in result.stderr  # the town's first group
    assert len(outbox_files(env)) == 1


def test_send_in_another_town_suggests_its_own_groups_and_help_names_none(
    env: dict[str, str], jinxi: Sources, tmp_path: Path
) -> None:
    """Issue 10 M7: 双河镇's clerk is never pointed at 金溪's changchun-villagers."""
    from tests.outsider import shuanghe_sources

    town = shuanghe_sources(tmp_path / "town", jinxi.messages)
    env = {**env, "BOT_SCHEDULES_DIR": str(town.schedules)}
    result = laba(env, "send", "--to", "nobody", "你好")
    assert result.exit_code == 2
    assert "shiqiao-villagers" in result.stderr and "changchun" not in result.stderr, result.stderr
    assert "changchun" not in laba(env, "send", "--help").stdout


def test_groups_shows_how_a_unit_without_a_group_is_reached(
    env: dict[str, str], jinxi: Sources, tmp_path: Path
) -> None:
    """Issue 10 L9: 双河镇's 渝南建材 has no group, only a contact: `groups` says it is reached privately."""
    from tests.outsider import shuanghe_sources

    town = shuanghe_sources(tmp_path / "town", jinxi.messages)
    result = laba({**env, "BOT_SCHEDULES_DIR": str(town.schedules)}, "groups")
    assert result.exit_code == 0, result.output
    assert "渝南建材有限公司：私信 高志华（yunan-gao）" in result.stdout


# --- help ------------------------------------------------------------------------------------------------------


def test_every_command_and_option_has_help(env: dict[str, str]) -> None:
    ctx = click.Context(main)
    names = main.list_commands(ctx)
    assert main.help and names
    top = laba(env, "--help")
    assert top.exit_code == 0
    for name in names:
        command = main.get_command(ctx, name)
        assert command is not None, name
        assert command.help and command.help.strip(), f"{name} has no docstring"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"
        result = laba(env, name, "--help")
        assert result.exit_code == 0, name
        assert command.help.split("\n")[0][:40] in " ".join(result.stdout.split()), name
        assert name in top.stdout


# --- the suite's network guard (tests/conftest.py) ---------------------------------------------------------------


def test_guard_fails_a_test_that_reaches_the_internet() -> None:
    with pytest.raises(pytest.fail.Exception, match="network"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.5)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        with pytest.raises(pytest.fail.Exception, match="network"):
            s.connect(("192.0.2.1", 80))
        with pytest.raises(pytest.fail.Exception, match="network"):
            s.connect_ex(("example.com", 80))


def test_guard_lets_loopback_through() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        with socket.create_connection(("localhost", port), timeout=5):
            pass


def test_outbox_shows_mentions_of_the_units_contacts(tmp_path: Path) -> None:
    env = {"BOT_DATA_DIR": str(tmp_path / "data"), "BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = CliRunner().invoke(main, ["simulate", "--from", "2024-05-06", "--to", "2024-05-06"], env=env)
    assert result.exit_code == 0, result.output
    texts = [p.read_text(encoding="utf-8") for p in (tmp_path / "data" / "outbox").rglob("*changchun-work*.txt")]
    request = [t for t in texts if "5月垃圾分类宣传工作安排" in t]
    assert len(request) == 1 and "@李德华\u2005【5月垃圾分类宣传工作安排】长春村" in request[0]


def test_each_command_is_found_in_the_module_main_imports_for_it() -> None:
    from bot.cli.base import COMMAND_MODULES

    ctx = click.Context(main)
    assert sorted(main.list_commands(ctx)) == sorted(COMMAND_MODULES)
    for name, module in COMMAND_MODULES.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.callback is not None, name
        assert command.callback.__module__ == module, name
