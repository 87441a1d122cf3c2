"""Why the database at `BOT_DATABASE_URL` can't be opened, said in one Chinese line a clerk can act on.

`explain` turns what SQLAlchemy, psycopg and SQLite raise while connecting into `StoreUnavailable`; the CLI prints
it and exits 2. Passwords are never printed whole (all but the last 4 characters masked).
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError, OperationalError

SETTING = "BOT_DATABASE_URL"
EXAMPLE = "postgresql://用户名:密码@主机:5432/库名 或 sqlite:///data/laba.db"

_NO_PERMISSION = "42501"  # SQLSTATE insufficient_privilege (creating the tables)
_NO_DATABASE = re.compile(r'database ".*" does not exist|数据库 ".*" 不存在')
_NO_ROLE = re.compile(r'role ".*" does not exist|角色 ".*" 不存在')
_BAD_PASSWORD = re.compile(r"password authentication failed|密码认证失败|口令认证失败|no password supplied")


class StoreUnavailable(Exception):
    """The database could not be opened. `str(exc)` is one line saying what is wrong and what to do; nothing
    was written."""


class BadDatabaseOption(ArgumentError):
    """A parameter in the URL's query has a value laba can't use; `str(exc)` says which and what it should be."""


def mask_secret(secret: str) -> str:
    """All but the last 4 characters hidden; a secret of 8 characters or fewer is hidden whole."""
    return "*" * len(secret) if len(secret) <= 8 else "*" * (len(secret) - 4) + secret[-4:]


def masked_url(url: str | URL) -> str:
    """The URL as a person may see it: the password masked. Text that is no URL is shown as typed if it looks like
    an attempt at one (a slash, words), else masked whole: it may be a password pasted in the wrong place."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        text = str(url)
        return text if "/" in text or " " in text else mask_secret(text)
    if parsed.password is None:
        return parsed.render_as_string(hide_password=False)
    # Rendered with SQLAlchemy's own placeholder, then the placeholder replaced: no percent-encoded stars.
    hidden = parsed.render_as_string(hide_password=True)
    return hidden.replace(":***@", f":{mask_secret(str(parsed.password))}@", 1)


def explain(url: str | URL, exc: BaseException) -> StoreUnavailable | None:
    """What went wrong opening the store at `url`, or None if `exc` is not about reaching the database (a bug, or
    a statement the database refused: re-raise it)."""
    shown = masked_url(url)
    if isinstance(exc, NoSuchModuleError | ImportError):  # a scheme SQLAlchemy or its drivers don't know
        scheme = str(url).split("://", 1)[0]
        return StoreUnavailable(f"{SETTING} 的数据库类型“{scheme}”不支持（{shown}）。请写成 {EXAMPLE}")
    if isinstance(exc, BadDatabaseOption):
        return StoreUnavailable(f"{SETTING}（{shown}）：{exc}")
    if isinstance(exc, ArgumentError):
        return StoreUnavailable(f"{SETTING} 不是数据库地址（{shown}）。请写成 {EXAMPLE}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(parsed, shown, exc)
    if not isinstance(exc, DBAPIError):
        return None
    if getattr(exc.orig, "sqlstate", None) == _NO_PERMISSION:
        return StoreUnavailable(
            f"数据库用户“{parsed.username}”没有库“{parsed.database}”的权限（{shown}）。请让管理员授权，或换一个用户"
        )
    if isinstance(exc, OperationalError | InterfaceError):
        return _connection(parsed, shown, _first_line(exc.orig or exc))
    return None


def _sqlite(url: URL, shown: str, exc: BaseException) -> StoreUnavailable | None:
    if not isinstance(exc, OperationalError | OSError):
        return None
    detail = _first_line(exc.orig or exc if isinstance(exc, OperationalError) else exc)
    return StoreUnavailable(
        f"打不开数据库文件 {url.database}（{shown}）：{detail}。请检查 {SETTING} 或 BOT_DATA_DIR 的文件夹是否存在、可写"
    )


def _connection(url: URL, shown: str, detail: str) -> StoreUnavailable:
    """A connection that failed. libpq gives no SQLSTATE for what the server said while refusing a login, so its
    words are read (English and Chinese server messages); anything else is shown as the server said it."""
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if _NO_DATABASE.search(detail):
        return StoreUnavailable(
            f"数据库服务器 {where} 上没有名为“{url.database}”的数据库（{shown}）。"
            f"请先建库（createdb {url.database}），或改正 {SETTING} 里的库名"
        )
    if _NO_ROLE.search(detail) or _BAD_PASSWORD.search(detail):
        return StoreUnavailable(
            f"数据库服务器 {where} 不让用户“{url.username}”登录（{shown}）：用户名或密码不对。请改正 {SETTING}"
        )
    if "FATAL" in detail or "致命错误" in detail:
        return StoreUnavailable(f"数据库服务器 {where} 拒绝了连接（{shown}）：{detail}。请检查 {SETTING}")
    return StoreUnavailable(
        f"连不上数据库服务器 {where}（{shown}）：{detail}。请确认 PostgreSQL 已启动，并检查 {SETTING} 里的主机和端口"
    )


def _first_line(exc: BaseException) -> str:
    """The driver's own words, first line only."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
