"""`laba check`, `groups`, `send --file` and `relay` with a robots.yaml, against loopback robots on a thread."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.channels.robots.loopback import LoopbackRobots
from bot.cli import main
from bot.config.campaign import Sources


def laba(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def robots() -> Iterator[LoopbackRobots]:
    """The stand-in served from its own thread's loop, since CliRunner runs each command's own asyncio.run."""
    server = LoopbackRobots()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _write_robots(env: dict[str, str], robots: LoopbackRobots, *, mode: int = 0o600) -> tuple[Path, str, str]:
    wecom = robots.add_wecom("changchun-villagers")
    ding = robots.add_dingtalk("xiangjian-work", secret="SECabcdefgh1234", keyword="垃圾分类")
    path = Path(env["BOT_DATA_DIR"]) / "robots.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"changchun-villagers:\n  webhook: {wecom}\n"
        f"xiangjian-work:\n  webhook: {ding}\n  secret: SECabcdefgh1234\n  keyword: 垃圾分类\n",
        encoding="utf-8",
    )
    os.chmod(path, mode)
    return path, wecom, ding


def _no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        token = secret.split("=")[-1]
        assert token not in text and token[:-4] not in text


def test_check_validates_robots_without_printing_secrets(
    env: dict[str, str], robots: LoopbackRobots, jinxi: Sources
) -> None:
    path, wecom, ding = _write_robots(env, robots, mode=0o644)
    result = laba(env, "check")
    assert result.exit_code == 0, result.output
    assert "企业微信群机器人 1 个" in result.stdout and "钉钉群机器人 1 个" in result.stdout
    assert f"chmod 600 {path}" in result.stdout  # readable by others: a warning
    _no_secret(result.output, wecom, ding, "SECabcdefgh1234")
    path.write_text(
        f"changchun-villagerz:\n  webhook: {wecom}\n"
        "xiangjian-work:\n  webhook: https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789\n"
        "shanling-work:\n  webhook: https://example.cn/hook?key=0123456789abcdef\n",
        encoding="utf-8",
    )
    result = laba(env, "check")
    assert result.exit_code == 2
    assert "发现 3 处错误" in result.stderr
    assert "是不是 changchun-villagers" in result.stderr  # unknown group
    assert "钉钉机器人缺少安全设置" in result.stderr  # no secret, no keyword
    assert "机器人地址不对" in result.stderr and "****cdef" in result.stderr  # malformed, masked
    _no_secret(result.output, wecom, "abcdef0123456789", "0123456789abcdef")


def test_groups_shows_each_route_masked(env: dict[str, str], robots: LoopbackRobots, jinxi: Sources) -> None:
    _, wecom, ding = _write_robots(env, robots)
    units = jinxi.schedules / "units.yaml"
    text = units.read_text(encoding="utf-8").replace("kind: villagers}", "kind: villagers, via: relay}", 1)
    units.write_text(text, encoding="utf-8")
    result = laba(env, "groups")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    route_of = {
        lines[i].split()[0]: lines[i + 1].split("渠道：")[1] for i in range(len(lines) - 1) if "渠道：" in lines[i + 1]
    }
    assert route_of["changchun-villagers"].startswith("企业微信群机器人 http://127.0.0.1")
    assert route_of["changchun-villagers"].endswith(wecom[-4:]) and "****" in route_of["changchun-villagers"]
    assert route_of["xiangjian-work"].startswith("钉钉群机器人")
    assert route_of["jinxi-shequ-villagers"] == "人工代发（via: relay）"
    assert route_of["shanling-villagers"].startswith("默认渠道")
    _no_secret(result.output, wecom, ding)


def test_send_file_and_text_by_robot_and_to_the_relay(
    env: dict[str, str], robots: LoopbackRobots, tmp_path: Path
) -> None:
    _write_robots(env, robots)
    clip = tmp_path / "通知.mp3"
    clip.write_bytes(b"ID3" + b"\x00" * 64)
    result = laba(env, "send", "--force", "--to", "changchun-villagers", "--file", str(clip), "请收听")
    assert result.exit_code == 0, result.output
    file_post, text_post = robots.received("changchun-villagers")
    assert robots.uploads[file_post.payload["file"]["media_id"]][1:] == ("通知.mp3", clip.read_bytes())
    assert text_post.text == "请收听"
    # DingTalk can't carry the file (no BOT_PUBLIC_URL): the file is handed to the relay, the text goes.
    result = laba(env, "send", "--force", "--to", "xiangjian-work", "--file", str(clip))
    assert result.exit_code == 0, result.output
    assert "人工代发" in result.stdout
    listing = laba(env, "relay")
    assert listing.exit_code == 0
    assert "#1  发给「金溪镇乡建中心工作群」" in listing.stdout and str(clip) in listing.stdout
    assert "BOT_PUBLIC_URL" in listing.stdout
    done = laba(env, "relay", "done", "1", "--by", "冉晓燕")
    assert done.exit_code == 0 and "#1" in done.stdout and "冉晓燕" in done.stdout
    assert "没有等待人工转发的消息" in laba(env, "relay").stdout
    unknown = laba(env, "relay", "done", "9")
    assert unknown.exit_code == 2 and "#9" in unknown.stderr
    bad = laba(env, "relay", "done", "abc")
    assert bad.exit_code == 2 and "编号要写数字" in bad.stderr


def test_send_needs_text_or_file(env: dict[str, str]) -> None:
    result = laba(env, "send", "--to", "changchun-villagers")
    assert result.exit_code == 2 and "--file" in result.stderr


def test_simulate_rehearses_without_posting_and_live_posts(
    env: dict[str, str], robots: LoopbackRobots, tmp_path: Path
) -> None:
    _write_robots(env, robots)
    result = laba(env, "simulate", "--from", "2024-05-01", "--to", "2024-05-31")
    assert result.exit_code == 0, result.output
    assert robots.posts == [] and robots.uploads == {}  # not one request reached a robot
    assert "[发件箱·预演 企业微信群机器人]" in result.stdout and "[发件箱·预演 钉钉群机器人]" in result.stdout
    outbox = Path(env["BOT_DATA_DIR"]) / "outbox"
    headers = {p.name.split("-", 1)[1].rsplit("-", 2)[0]: p.read_text("utf-8") for p in outbox.rglob("*.txt")}
    assert "路线: 企业微信群机器人（预演，没有真的发出）" in headers["changchun-villagers"]
    assert "路线: 钉钉群机器人（预演，没有真的发出）" in headers["xiangjian-work"]
    assert "路线:" not in headers["shanling-villagers"]  # the outbox is this town's default channel anyway
    # --live (on a fresh store) really posts into the robots' groups.
    live_env = env | {"BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}", "BOT_DATA_DIR": str(tmp_path / "live")}
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "robots.yaml").write_bytes((Path(env["BOT_DATA_DIR"]) / "robots.yaml").read_bytes())
    result = laba(live_env, "simulate", "--from", "2024-05-01", "--to", "2024-05-31", "--live")
    assert result.exit_code == 0, result.output
    assert robots.received("changchun-villagers") and robots.received("xiangjian-work")


def test_simulate_rehearsal_of_a_wechat_town_reaches_no_gateway(env: dict[str, str], robots: LoopbackRobots) -> None:
    _write_robots(env, robots)
    # No gateway listens at this address: a rehearsal must not even try it.
    wechat = env | {
        "BOT_CHANNEL": "wechaty",
        "WECHATY_PUPPET_SERVICE_ENDPOINT": "127.0.0.1:9",
        "WECHATY_PUPPET_SERVICE_TOKEN": "x",
    }
    result = laba(wechat, "simulate", "--from", "2024-05-01", "--to", "2024-05-07", "--json")
    assert result.exit_code == 0, result.output
    assert robots.posts == []
    outbox = Path(env["BOT_DATA_DIR"]) / "outbox"
    assert any("路线: 个人微信（预演" in p.read_text("utf-8") for p in outbox.rglob("*.txt"))
