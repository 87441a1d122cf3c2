"""Who may use the console: argon2id password hashes, sessions, and a growing wait after wrong passwords.

A wrong password is counted per account and per address; from the third one in a row the next try must wait
2, 4, 8 … seconds (at most five minutes) after the last failure, and is refused without checking the password until
then. Nothing sleeps on the server: the page says how long to wait. Every failure is logged (the app's log and the
ledger's log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.store.web import Account, Session, WebStore

log = logging.getLogger(__name__)

ROLES: Final = ("admin", "viewer")
SESSION_LIFETIME: Final = timedelta(hours=12)
FREE_TRIES: Final = 2
MAX_WAIT: Final = timedelta(minutes=5)
MIN_PASSWORD: Final = 8

# Hashing with argon2id at the library's defaults (64 MiB, 3 passes): ~50 ms, memory-hard.
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"密码至少 {MIN_PASSWORD} 位")
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def wait_after(failures: int) -> timedelta:
    """How long after the last failure the next try must wait, given the failures in a row so far."""
    if failures <= FREE_TRIES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_TRIES)), MAX_WAIT)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: a session (and its cookie token), or what to tell the person."""

    token: str = ""
    session: Session | None = None
    refusal: str = ""


class Accounts:
    def __init__(self, store: WebStore) -> None:
        self.store = store

    def _wait_left(self, key: str, now: datetime) -> timedelta:
        failures, last = self.store.failures(key)
        if last is None:
            return timedelta(0)
        return max(last + wait_after(failures) - now, timedelta(0))

    def sign_in(self, user_id: str, password: str, address: str, now: datetime) -> SignIn:
        """Check the password (unless a wait is still running); CPU-heavy: call it off the event loop."""
        keys = (f"user:{user_id}", f"ip:{address}")
        left = max(self._wait_left(k, now) for k in keys)
        if left > timedelta(0):
            log.warning("控制台登录：%r（来自 %s）被拒绝，还要等 %d 秒", user_id, address, left.seconds)
            return SignIn(refusal=f"密码错误次数太多，请 {int(left.total_seconds()) + 1} 秒后再试。")
        account = self.store.account(user_id)
        ok = account is not None and password_matches(account.password_hash, password)
        if not ok or account is None:
            counts = [self.store.add_failure(k, now) for k in keys]
            log.warning("控制台登录失败：%r（来自 %s），连续第 %d 次", user_id, address, max(counts))
            return SignIn(refusal="账号或密码不对。")
        self.store.clear_failures(*keys)
        token, session = self.store.open_session(account.id, now, SESSION_LIFETIME)
        log.info("控制台登录：%s（来自 %s）", account.id, address)
        return SignIn(token, session)

    def account(self, user_id: str) -> Account | None:
        return self.store.account(user_id)
