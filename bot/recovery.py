"""Claims left behind by runners that stopped (killed, crashed, powered off) while delivering.

Every runner says it is alive (`Store.heartbeat`, wall-clock time) while it works. A SENDING record whose runner
has stopped is decided by whether its message was handed to the network (`handed_at`): if not, it certainly did
not leave and is RELEASED, to be sent again by whoever runs the job next; if so, it may have left and becomes
UNCONFIRMED, reported to the admins and never resent.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.base import DeliveryRecord, DeliveryStatus, InFlight, Store

log = logging.getLogger(__name__)

# A live runner beats at least this often (the daemon's sweep job, and every claim).
HEARTBEAT_SECONDS = 10.0
# Silence after which a runner on another machine counts as stopped; a runner on this machine whose process is gone
# counts as stopped at once.
DEAD_AFTER = timedelta(seconds=60)


def runner_id(host: str | None = None, pid: int | None = None, tag: str = "") -> str:
    """`host:pid:tag`: enough to tell, on the same machine, whether the runner's process still exists."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}:{tag}"


def process_gone(runner: str) -> bool:
    """True if `runner` ran on this machine and its process no longer exists. False when unknown."""
    host, _, rest = runner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by another user
    return False


def abandoned(
    in_flight: Iterable[InFlight],
    wall_now: datetime,
    me: str,
    *,
    dead_after: timedelta = DEAD_AFTER,
    gone: Callable[[str], bool] = process_gone,
) -> list[DeliveryRecord]:
    """The SENDING records whose runner has stopped (pure: the caller gives the facts). Never our own."""
    out = []
    for item in in_flight:
        runner = item.record.runner
        if runner == me:
            continue
        silent = item.runner_seen_at is None or item.runner_seen_at < wall_now - dead_after
        if gone(runner) or silent:
            out.append(item.record)
    return out


@dataclass(frozen=True)
class Recovered:
    released: tuple[DeliveryRecord, ...]  # never left: to be sent again (or recorded missed if too late)
    unconfirmed: tuple[DeliveryRecord, ...]  # may have left: reported, never resent


def recover(store: Store, me: str, wall_now: datetime, now: datetime) -> Recovered:
    """Decide every abandoned claim in the store. Safe to run in several runners at once: each change is
    conditional, so a record is decided by exactly one of them."""
    store.heartbeat(me, wall_now)
    released, unconfirmed = [], []
    for record in abandoned(store.in_flight(), wall_now, me):
        if record.handed_at is not None:
            if store.resolve_stale(record.job_key, record.target, now, "发送途中程序停止，无法确认是否送达"):
                unconfirmed.append(record)
        elif store.release(
            record.job_key, record.target, record.runner, now, DeliveryStatus.RELEASED, "发出前程序停止，尚未发出"
        ):
            released.append(record)
    if released or unconfirmed:
        log.warning(
            "上次程序停止时正在发的消息：%d 条还没发出（会重新发），%d 条可能已发出（已告知管理员）",
            len(released),
            len(unconfirmed),
        )
    return Recovered(tuple(released), tuple(unconfirmed))
