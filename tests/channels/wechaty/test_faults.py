"""The one mapping from grpclib's and the socket's exceptions to DeliveryErrors: permanent, transient, uncertain."""

from __future__ import annotations

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from bot.channels.wechaty.faults import GatewayLost, GatewayRejected, GatewayUnreachable, gateway_errors
from bot.errors import DeliveryError


def raised(exc: BaseException, *, sending: bool = False) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught, gateway_errors(sending=sending):
        raise exc
    return caught.value


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(Status.NOT_FOUND, True), (Status.UNAUTHENTICATED, True), (Status.UNAVAILABLE, False), (Status.INTERNAL, False)],
)
def test_a_gateway_status_is_permanent_only_when_a_retry_cant_help(status: Status, permanent: bool) -> None:
    error = raised(GRPCError(status, "nope"), sending=True)
    assert isinstance(error, GatewayRejected) and error.status is status
    assert (error.permanent, error.uncertain) == (permanent, False)
    assert error.technical == f"{status.name}: nope"
    assert status.name not in str(error) and "nope" not in str(error)  # the ledger and the admins read Chinese
    assert error.detail.startswith("网关") and status.name not in error.detail


def test_a_refused_connection_sent_nothing() -> None:
    error = raised(ConnectionRefusedError(111, "Connect call failed"), sending=True)
    assert isinstance(error, GatewayUnreachable)
    assert not error.permanent and not error.uncertain
    assert "网关拒绝连接" in error.detail and "ConnectionRefusedError" in error.technical


@pytest.mark.parametrize("exc", [StreamTerminatedError("Connection lost"), TimeoutError(), BrokenPipeError(32, "x")])
def test_a_broken_send_is_uncertain_and_a_broken_lookup_transient(exc: Exception) -> None:
    send = raised(exc, sending=True)
    assert isinstance(send, GatewayLost) and send.uncertain and send.permanent  # never resent blindly
    assert "可能已发出" in str(send)
    lookup = raised(exc)
    assert isinstance(lookup, GatewayLost) and not lookup.uncertain and not lookup.permanent


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), gateway_errors():
        raise KeyError("a bug, not the network")
