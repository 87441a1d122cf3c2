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

from collections.abc import Iterator
from contextlib import contextmanager

from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from bot.errors import DeliveryError

_PERMANENT = {Status.INVALID_ARGUMENT, Status.NOT_FOUND, Status.PERMISSION_DENIED, Status.UNAUTHENTICATED}


class GatewayError(DeliveryError):
    """A call to the gateway failed. `detail` says how, for logs and health lines."""

    detail: str


class GatewayRejected(GatewayError):
    def __init__(self, status: Status, message: str | None) -> None:
        self.status = status
        self.detail = f"{status.name}: {message}"
        super().__init__(f"微信网关拒绝了消息（{self.detail}）", permanent=status in _PERMANENT)


class GatewayUnreachable(GatewayError):
    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"连不上微信网关（{detail}）")


class GatewayLost(GatewayError):
    def __init__(self, detail: str, kind: str, *, sending: bool) -> None:
        self.detail = detail
        if sending:
            super().__init__(f"发送途中和微信网关断开（{kind}），可能已发出，为免重复不再自动重发", uncertain=True)
        else:
            super().__init__(f"和微信网关断开（{kind}），稍后重试")


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
    except ConnectionRefusedError as exc:
        raise GatewayUnreachable(describe(exc)) from exc
    except (StreamTerminatedError, OSError, TimeoutError) as exc:
        raise GatewayLost(describe(exc), type(exc).__name__, sending=sending) from exc
