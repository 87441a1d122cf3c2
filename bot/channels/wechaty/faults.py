"""The one place where gRPC and transport failures become our errors (httpx's `map_httpcore_exceptions` idea).

Every call to the gateway runs inside `gateway_errors()`. What comes out is a `GatewayError`, itself a
`DeliveryError`, so a send can let it through unchanged and everything else catches one type:

- `GatewayRejected`: the gateway answered with a gRPC status. Permanent when a retry can't help (bad argument,
  unknown id, no permission, wrong token); otherwise transient.
- `GatewayUnreachable`: the connection was refused: nothing reached the gateway, so sending again is safe.
- `GatewayLost`: the connection broke or timed out mid-call. For a send (`sending=True`) the request may have
  reached WeChat: *uncertain*, never resent blindly. For a lookup (rooms, contacts) it is transient.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from bot.errors import DeliveryError

log = logging.getLogger(__name__)

_PERMANENT = {Status.INVALID_ARGUMENT, Status.NOT_FOUND, Status.PERMISSION_DENIED, Status.UNAUTHENTICATED}


class GatewayError(DeliveryError):
    """A call to the gateway failed. `detail` says how in the clerk's words (health lines, alerts, the ledger);
    `technical` is the exception as Python named it, for the log line an engineer reads."""

    detail: str
    technical: str = ""


# What a gRPC status means to the town office, and what to check. Statuses not listed read as "网关出错".
_STATUS_CN = {
    Status.UNAVAILABLE: "网关暂时不可用",
    Status.UNAUTHENTICATED: "网关不认这个令牌（请核对 WECHATY_PUPPET_SERVICE_TOKEN）",
    Status.PERMISSION_DENIED: "网关说没有权限",
    Status.NOT_FOUND: "网关找不到这个群或联系人",
    Status.INVALID_ARGUMENT: "网关不接受这条消息的内容",
    Status.DEADLINE_EXCEEDED: "网关太久没有回应",
    Status.RESOURCE_EXHAUSTED: "网关说发得太频繁",
    Status.ALREADY_EXISTS: "已有另一个程序连着这个网关（同一个令牌只能有一个大喇叭在运行）",
}


def plain_cause(exc: BaseException) -> str:
    """The transport failure in the clerk's words, with what to check; never a Python class name."""
    if isinstance(exc, ConnectionRefusedError):
        return "网关拒绝连接（网关程序没有在运行，或者地址、端口不对）"
    if isinstance(exc, socket.gaierror):
        return "找不到网关的地址（请核对网关的主机名）"
    if isinstance(exc, ssl.SSLError):
        return "加密连接（TLS）没有建立（请核对网关的证书和 TLS 设置）"
    if isinstance(exc, TimeoutError):
        return "连接网关超时（网络不通或网关没有响应）"
    if isinstance(exc, StreamTerminatedError):
        return "网关中断了连接"
    if isinstance(exc, ConnectionError):
        return "和网关的连接断了"
    return "和网关之间的网络出错"


class GatewayRejected(GatewayError):
    def __init__(self, status: Status, message: str | None) -> None:
        self.status = status
        self.detail = _STATUS_CN.get(status, "网关出错（详见运行记录）")
        self.technical = f"{status.name}: {message}"
        # The message is what the ledger and the admins read: Chinese only; the gateway's own words go to the log.
        log.warning("微信网关拒绝了请求：%s（%s）", self.detail, self.technical)
        super().__init__(f"微信网关拒绝了消息：{self.detail}", permanent=status in _PERMANENT)


class GatewayUnreachable(GatewayError):
    def __init__(self, cause: BaseException | str) -> None:
        # A string: our own finding (no connection yet), already in the clerk's words.
        if isinstance(cause, str):
            self.detail = self.technical = cause
        else:
            self.detail, self.technical = plain_cause(cause), describe(cause)
        super().__init__(f"连不上微信网关：{self.detail}")


class GatewayLost(GatewayError):
    def __init__(self, exc: BaseException, *, sending: bool) -> None:
        self.detail, self.technical = plain_cause(exc), describe(exc)
        if sending:
            super().__init__(
                f"发送途中和微信网关断开（{self.detail}），可能已发出，为免重复不再自动重发", uncertain=True
            )
        else:
            super().__init__(f"和微信网关断开（{self.detail}），稍后重试")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextmanager
def gateway_errors(*, sending: bool = False) -> Iterator[None]:
    """Turn grpclib's and the socket's exceptions raised inside the block into `GatewayError`s. `sending`: the
    block hands a message to the gateway (a broken connection then leaves it uncertain)."""
    try:
        yield
    except GatewayError:
        raise
    except GRPCError as exc:
        raise GatewayRejected(exc.status, exc.message) from exc
    except (ConnectionRefusedError, socket.gaierror) as exc:  # nothing reached the gateway
        raise GatewayUnreachable(exc) from exc
    except (StreamTerminatedError, OSError, TimeoutError) as exc:
        raise GatewayLost(exc, sending=sending) from exc
