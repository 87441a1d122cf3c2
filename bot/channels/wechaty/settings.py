"""`WechatySettings`: where the gateway is and how fast to send, from the environment (Wechaty's own variable names).

`from_env` checks every variable and raises one `ConfigError` naming each bad one, with a hint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.channels.pacing import Pace
from bot.errors import ConfigError, Problem


def server_name(token: str) -> str:
    """The TLS server name a gateway presents: the token's part before its last `_` (`insecure_abc` → insecure)."""
    head, sep, _ = token.rpartition("_")
    return head if sep and head else token


_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class WechatySettings:
    """Where the gateway is and how fast to send. From the environment, with Wechaty's own variable names.

    `gap_seconds` is the (min, max) random pause between two sends; (0, 0) turns pacing off. `hourly_cap` is
    the most sends in any 60 minutes; 0 means no cap.
    """

    endpoint: str
    token: str
    tls: bool = True
    gap_seconds: tuple[float, float] = (5.0, 15.0)
    hourly_cap: int = 120
    throttle_pause_seconds: float = 600.0
    login_wait_seconds: float = 20.0
    outage_alert_seconds: float = 600.0
    watchdog_seconds: float = 75.0
    qr_dir: Path | None = None

    @property
    def host(self) -> str:
        return self.endpoint.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.endpoint.rpartition(":")[2])

    @property
    def sni(self) -> str:
        return server_name(self.token)

    @property
    def pace(self) -> Pace:
        return Pace(self.gap_seconds, self.hourly_cap)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, qr_dir: Path | None = None) -> WechatySettings:
        """Raises ConfigError naming each bad variable."""
        env = os.environ if env is None else env
        problems: list[Problem] = []
        endpoint = env.get("WECHATY_PUPPET_SERVICE_ENDPOINT", "").strip()
        token = env.get("WECHATY_PUPPET_SERVICE_TOKEN", "").strip()
        host, sep, port = endpoint.rpartition(":")
        if not endpoint:
            problems.append(
                Problem(
                    "WECHATY_PUPPET_SERVICE_ENDPOINT",
                    "",
                    "",
                    "没有设置微信网关地址",
                    "写成 主机:端口，如 127.0.0.1:8788（见 README 的“连接真实微信号”）",
                )
            )
        elif not (sep and host and port.isdigit()):
            problems.append(
                Problem(
                    "WECHATY_PUPPET_SERVICE_ENDPOINT",
                    "",
                    endpoint,
                    "网关地址格式不对",
                    "写成 主机:端口，如 127.0.0.1:8788",
                )
            )
        if not token:
            problems.append(
                Problem(
                    "WECHATY_PUPPET_SERVICE_TOKEN", "", "", "没有设置网关令牌", "令牌由网关提供，形如 insecure_<uuid>"
                )
            )
        gap = parse_gap(env.get("BOT_SEND_GAP_SECONDS", "5-15"), problems)
        # Pacing off (gap 0) also lifts the cap unless one is given: tests and benchmarks, never a real account.
        cap_text = env.get("BOT_SEND_HOURLY_CAP", "0" if gap == (0.0, 0.0) else "120").strip()
        if not cap_text.isdigit():
            problems.append(
                Problem(
                    "BOT_SEND_HOURLY_CAP", "", cap_text, "每小时上限应是整数", "如 120（0 表示不设上限，只用于测试）"
                )
            )
            cap_text = "120"
        if problems:
            raise ConfigError(problems)
        no_tls = env.get("WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT", "").strip().lower() in _TRUE
        return cls(endpoint, token, tls=not no_tls, gap_seconds=gap, hourly_cap=int(cap_text), qr_dir=qr_dir)


def parse_gap(text: str, problems: list[Problem]) -> tuple[float, float]:
    """`5-15` (random between), `8` (fixed) or `0` (off)."""
    lo, _, hi = text.strip().partition("-")
    try:
        low = float(lo)
        high = float(hi) if hi else low
    except ValueError:
        low = high = -1.0
    if low < 0 or high < low:
        problems.append(
            Problem(
                "BOT_SEND_GAP_SECONDS", "", text, "发送间隔写法不对", "写成 5-15（随机秒数）、8（固定）或 0（不间隔）"
            )
        )
        return (5.0, 15.0)
    return (low, high)
