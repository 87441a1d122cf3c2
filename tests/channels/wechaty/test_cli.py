"""`laba groups`, `check --online`, `send` with `--channel wechaty`, against a loopback gateway in another thread."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from bot.channels.wechaty import LoopbackPuppet
from bot.cli import main
from bot.config.campaign import Sources, load


@pytest.fixture
def gateway(jinxi: Sources) -> Iterator[LoopbackPuppet]:
    """A gateway serving on its own event loop, so the CLI can run its own `asyncio.run`."""
    puppet = LoopbackPuppet(tls=True)
    puppet.add_town(load(jinxi).campaign)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(puppet.start(), loop).result(10)
    try:
        yield puppet
    finally:
        asyncio.run_coroutine_threadsafe(puppet.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def laba(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_groups_lists_the_configured_groups(env: dict[str, str]) -> None:
    result = laba(env, "groups", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 25
    emoji = next(r for r in rows if r["id"] == "shanling-villagers")
    assert emoji == {
        "id": "shanling-villagers",
        "name": "杉岭村村民群🌲",
        "kind": "villagers",
        "unit": "shanling",
        "unit_name": "杉岭村",
        "route": "默认渠道（发件箱，需人工转发）",  # no robots.yaml: every group by the default channel
    }
    text = laba(env, "groups")
    assert "杉岭村村民群🌲（村民群，杉岭村）" in text.stdout and "共 25 个群" in text.stdout
    assert "金溪社区居民群（居民群，金溪社区）" in text.stdout  # a community's villagers' group is its 居民群


def test_groups_online_resolves_room_ids_over_tls(env: dict[str, str], gateway: LoopbackPuppet) -> None:
    env = {**env, **gateway.env(), "BOT_CHANNEL": "wechaty"}
    result = laba(env, "groups", "--online", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["shanling-villagers"]["room_id"] == gateway.room_by_topic("杉岭村村民群🌲").id
    assert all(r["room_id"] and r["problem"] == "" for r in rows.values())


def test_a_missing_group_is_a_clear_warning(env: dict[str, str], gateway: LoopbackPuppet) -> None:
    gateway.room_by_topic("平溪村两委工作群").topic = "平溪村工作群（旧）"
    env = {**env, **gateway.env(), "BOT_CHANNEL": "wechaty"}
    result = laba(env, "groups", "--online")
    assert result.exit_code == 1
    assert "✗ 机器人所在的群里没有叫“平溪村两委工作群”的群" in result.stdout
    check = laba(env, "check", "--online")
    assert check.exit_code == 1
    assert "✓ 微信：已登录" in check.stdout
    assert "✗ 微信群：25 个群中 1 个找不到——机器人所在的群里没有叫“平溪村两委工作群”的群" in check.stdout


def test_send_to_a_group_id(env: dict[str, str], gateway: LoopbackPuppet) -> None:
    env = {**env, **gateway.env()}
    result = laba(
        env, "send", "--channel", "wechaty", "--to", "changchun-villagers", "--force", "今晚8点村委会开院坝会"
    )
    assert result.exit_code == 0, result.output
    [sent] = gateway.sent_by_bot()
    assert sent.room_id == gateway.room_by_topic("长春村村民群").id and sent.text == "今晚8点村委会开院坝会"


def test_groups_online_on_the_outbox_says_why(env: dict[str, str]) -> None:
    result = laba(env, "groups", "--online")
    assert result.exit_code == 1
    assert "当前渠道（outbox）不连接微信" in result.stdout
