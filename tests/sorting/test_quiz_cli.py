"""The weekly quiz in `laba check`, `laba plan` and `simulate`: on by default, so it shows wherever replies reach
the bot (a WeChat gateway) and is said to be absent, with the reason, where they don't (the outbox, robots)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main


def laba(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def _on_wechat(env: dict[str, str]) -> dict[str, str]:
    return {**env, "BOT_CHANNEL": "wechaty", "BOT_TTS_ENGINE": "none"}


def test_check_says_where_the_quiz_goes_or_why_not(env: dict[str, str], tmp_path: Path) -> None:
    outbox = laba(env, "check")
    assert outbox.exit_code == 0, outbox.output
    assert "每周一题：现在的发送渠道是 outbox（BOT_CHANNEL），收不到村民在群里的回复，不出题" in outbox.stdout
    wechat = laba(_on_wechat(env), "check")
    assert wechat.exit_code == 0, wechat.output
    assert "每周一题：每周三 10:00 发到 7 个能收到回复的村民群 / 居民群，共 49 期。" in wechat.stdout
    robots = tmp_path / "robots.yaml"
    robots.write_text(
        "changchun-villagers:\n  webhook: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc\n", encoding="utf-8"
    )
    robots.chmod(0o600)
    with_robot = laba({**_on_wechat(env), "BOT_ROBOTS_FILE": str(robots)}, "check")
    assert with_robot.exit_code == 0, with_robot.output
    assert (
        "发到 6 个能收到回复的村民群 / 居民群，共 49 期；另有 1 个群由群机器人或人工代发，收不到回复"
        in with_robot.stdout
    )


def test_plan_lists_the_quiz_the_daemon_on_wechat_runs(env: dict[str, str]) -> None:
    def keys(environment: dict[str, str]) -> list[str]:
        result = laba(environment, "plan", "--from", "2024-05-01", "--to", "2024-05-31", "--json")
        assert result.exit_code == 0, result.output
        return [row["key"] for row in json.loads(result.stdout)]

    on_outbox, on_wechat = keys(env), keys(_on_wechat(env))
    assert not [k for k in on_outbox if k.startswith("quiz/")]  # the embedded defaults: nothing changed
    quizzes = [k for k in on_wechat if k.startswith("quiz/")]
    # The Wednesdays of May 2024 (1 May is the Labour Day holiday: no quiz that week).
    assert quizzes == [
        "quiz/2024-W19",
        "quiz/2024-W19/answer",
        "quiz/2024-W20",
        "quiz/2024-W20/answer",
        "quiz/2024-W21",
        "quiz/2024-W21/answer",
        "quiz/2024-W22",
        "quiz/2024-W22/answer",
    ]
    assert sorted(set(on_wechat) - set(quizzes)) == sorted(on_outbox)


def test_simulate_rehearses_a_quiz_week_once(env: dict[str, str]) -> None:
    wechat = _on_wechat(env)
    first = laba(wechat, "simulate", "--from", "2024-05-08", "--to", "2024-05-09", "--json")
    assert first.exit_code == 0, first.output
    deliveries = json.loads(first.stdout)["deliveries"]
    quiz = [d for d in deliveries if d["key"].startswith("quiz/2024-W19")]
    assert len(quiz) == 2 * 7 and {d["status"] for d in quiz} == {"sent"}
    outbox = Path(env["BOT_DATA_DIR"]) / "outbox"
    asked = next(d for d in quiz if d["key"] == "quiz/2024-W19" and d["target"] == "changchun-villagers")
    text = (outbox / asked["detail"].removeprefix("outbox:")).read_text(encoding="utf-8")
    assert "每周一题】" in text and "属于哪一类垃圾？" in text and "A." in text and "D." in text
    again = laba(wechat, "simulate", "--from", "2024-05-08", "--to", "2024-05-09", "--json")
    assert again.exit_code == 0, again.output
    assert {d["status"] for d in json.loads(again.stdout)["deliveries"]} == {"skipped"}
