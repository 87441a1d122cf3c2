"""A database that can't be opened: one Chinese line naming what is wrong, the password masked, exit 2 from every
command that opens the store. Real failures: a closed port on loopback, a database and a role the local PostgreSQL
server does not have, URLs that are no URL or name an unknown database type, an SQLite folder that can't be made."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import URL

from bot.cli import main
from bot.store.sql import open_store
from bot.store.unavailable import StoreUnavailable, mask_secret, masked_url

ZONE = ZoneInfo("Asia/Shanghai")
PASSWORD = "s3cret-Pa55word"  # shown as ***********word


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nobody listens on (bound, then closed: the kernel refuses connections to it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    yield port


def opened(url: str) -> str:
    with pytest.raises(StoreUnavailable) as info:
        open_store(url, ZONE).close()
    text = str(info.value)
    assert "\n" not in text and PASSWORD not in text
    return text


def test_no_server_listening(closed_port: int) -> None:
    text = opened(f"postgresql://laba:{PASSWORD}@127.0.0.1:{closed_port}/laba")
    assert text.startswith(f"连不上数据库服务器 127.0.0.1:{closed_port}（postgresql://laba:***********word@127.0.0.1")
    assert "请确认 PostgreSQL 已启动" in text


@pytest.mark.postgres
def test_a_database_the_server_does_not_have(postgres_url: URL) -> None:
    url = postgres_url.set(database="laba_no_such_database", password=PASSWORD)
    text = opened(url.render_as_string(hide_password=False))
    assert text.startswith(
        f"数据库服务器 {postgres_url.host}:{postgres_url.port or 5432} 上没有名为“laba_no_such_database”"
    )
    assert "createdb laba_no_such_database" in text


@pytest.mark.postgres
def test_a_role_the_server_does_not_have(postgres_url: URL) -> None:
    url = postgres_url.set(username="laba_no_such_role", password=PASSWORD)
    text = opened(url.render_as_string(hide_password=False))
    assert "不让用户“laba_no_such_role”登录" in text and "用户名或密码不对" in text


@pytest.mark.parametrize(
    ("url", "start"),
    [
        ("not a url", "BOT_DATABASE_URL 不是数据库地址（not a url）"),
        ("127.0.0.1:5432/laba", "BOT_DATABASE_URL 不是数据库地址"),
        (f"mysql2://laba:{PASSWORD}@db/laba", "BOT_DATABASE_URL 的数据库类型“mysql2”不支持（mysql2://laba:*"),
        ("mysql://laba@db/laba", "BOT_DATABASE_URL 的数据库类型“mysql”不支持"),  # known to SQLAlchemy, no driver
    ],
)
def test_urls_that_are_no_database_url(url: str, start: str) -> None:
    text = opened(url)
    assert text.startswith(start) and "postgresql://用户名:密码@主机:5432/库名" in text


def test_an_sqlite_folder_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the folder should be")
    text = opened(f"sqlite:///{tmp_path / 'data' / 'laba.db'}")
    assert text.startswith(f"打不开数据库文件 {tmp_path / 'data' / 'laba.db'}")


def test_secrets_are_masked_but_their_last_four() -> None:
    assert mask_secret("abcdefghijkl") == "********ijkl"
    assert mask_secret("short") == "*****"  # short secrets are hidden whole
    assert masked_url("postgresql://u:p%40ss-word-1234@h/db") == "postgresql://u:**********1234@h/db"
    assert masked_url("hunter2hunter2") == "**********ter2"  # a password pasted alone
    assert masked_url("127.0.0.1:5432/laba") == "127.0.0.1:5432/laba"
    assert masked_url("postgresql://h/db") == "postgresql://h/db"


STORE_COMMANDS = [
    ["check", "--online"],
    ["run"],
    ["simulate", "--from", "2024-05-01", "--to", "2024-05-02"],
    ["send", "--to", "changchun-villagers", "测试"],
    ["report", "--month", "2024-05"],
    ["ledger", "list", "--month", "2024-05"],
    ["ledger", "reject", "1", "--by", "冉晓燕"],
    ["ledger", "reassign", "1", "--unit", "杉岭村", "--by", "冉晓燕"],
    ["ledger", "bindings"],
    ["ledger", "approve", "1", "--by", "冉晓燕"],
    ["ledger", "log"],
]


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_that_opens_the_store_says_one_line_and_exits_2(
    env: dict[str, str], closed_port: int, args: list[str]
) -> None:
    env = {**env, "BOT_DATABASE_URL": f"postgresql://laba:{PASSWORD}@127.0.0.1:{closed_port}/laba"}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"✗ 数据库打不开：连不上数据库服务器 127.0.0.1:{closed_port}")
    assert result.stderr.count("\n") == 1 and PASSWORD not in result.output
    assert "***********word" in result.stderr


def test_the_daemon_process_exits_2_with_one_line(env: dict[str, str]) -> None:
    child_env = {**os.environ, **env, "BOT_DATABASE_URL": "127.0.0.1:5432/laba"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=child_env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "✗ 数据库打不开：BOT_DATABASE_URL 不是数据库地址（127.0.0.1:5432/laba）。"
        "请写成 postgresql://用户名:密码@主机:5432/库名 或 sqlite:///data/laba.db"
    ]
