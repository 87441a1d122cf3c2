"""`laba user add|passwd|remove`, `laba web` and the console's line in `check --online`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main
from bot.cli.web import console_health
from bot.clock import TOWN_ZONE
from bot.settings import Settings
from bot.store.sql import open_store
from bot.store.web import WebStore
from bot.web.accounts import password_matches

ROOT = Path(__file__).resolve().parents[2]


def laba(env: dict[str, str], *args: str, stdin: str = "") -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


@contextmanager
def accounts(env: dict[str, str]) -> Iterator[WebStore]:
    store = open_store(env["BOT_DATABASE_URL"], TOWN_ZONE)
    try:
        yield WebStore(store)
    finally:
        store.close()


def test_add_an_admin_and_a_viewer_change_a_password_remove(env: dict[str, str]) -> None:
    added = laba(env, "user", "add", "admin-ran", "--password-stdin", stdin="first-password\n")
    assert added.exit_code == 0, added.output
    assert "冉晓燕" in added.output and "first-password" not in added.output
    assert laba(env, "user", "add", "guest", "--viewer", "--password-stdin", stdin="guest-password\n").exit_code == 0
    assert laba(env, "user", "passwd", "admin-ran", "--password-stdin", stdin="second-password\n").exit_code == 0
    with accounts(env) as web:
        account = web.account("admin-ran")
        assert account is not None and account.role == "admin"
        assert password_matches(account.password_hash, "second-password")
        assert account.password_hash.startswith("$argon2id$")
        assert web.account("guest").role == "viewer"  # type: ignore[union-attr]
        assert laba(env, "user", "remove", "guest").exit_code == 0
        assert web.account("guest") is None
    assert laba(env, "user", "remove", "guest").exit_code == 1


def test_an_unknown_admin_or_a_short_password_is_refused_with_exit_2(env: dict[str, str]) -> None:
    unknown = laba(env, "user", "add", "somebody", "--password-stdin", stdin="long-enough-pw\n")
    assert unknown.exit_code == 2
    assert "不是 town.yaml 里的管理员" in unknown.output and "admin-ran" in unknown.output
    short = laba(env, "user", "add", "admin-tan", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "太短" in short.output and "short" not in short.output


def test_check_online_says_where_the_console_listens(tmp_path: Path) -> None:
    base = Settings(tmp_path, "sqlite://", "outbox")
    assert console_health(base).ok and "127.0.0.1:8080" in console_health(base).detail
    exposed = Settings(tmp_path, "sqlite://", "outbox", web_listen="0.0.0.0:8080")
    line = console_health(exposed)
    assert not line.ok and "HTTPS" in line.detail
    proxied = Settings(tmp_path, "sqlite://", "outbox", web_listen="0.0.0.0:8080", public_url="https://laba.example.cn")
    assert console_health(proxied).ok
    assert "已关闭" in console_health(Settings(tmp_path, "sqlite://", "outbox", web_listen="off")).detail


def test_laba_web_serves_the_console_alone(env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--listen", "127.0.0.1:0", "--now", "2024-04-08T10:00"],
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+/", line)
            if found:
                url = found.group(0)
                break
        assert url, "laba web did not print its address"
        page = urllib.request.urlopen(url + "login").read().decode()
        assert "金溪镇" in page and "登录" in page
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()
