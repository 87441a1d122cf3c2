"""A loopback gateway per test, spoken to over real sockets, with and without TLS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.channels.wechaty import LoopbackPuppet, WechatyChannel, WechatySettings
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.alert_kinds import Alert
from bot.store.rooms import RoomDirectory

WAIT = 10.0  # seconds: a bound on waiting for a condition, never a sleep


@dataclass
class Alerts:
    """A recording alert sink (what the app wires to the pipeline's alerts)."""

    seen: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)
    # Whether the channel said it could deliver each alert itself.
    deliverable: list[bool] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, alert: Alert, can_deliver: bool) -> None:
        self.seen.append((alert.kind.template, alert.key, alert.variables))
        self.deliverable.append(can_deliver)
        self.changed.set()

    def templates(self) -> list[str]:
        return [t for t, _, _ in self.seen]


def settings_for(puppet: LoopbackPuppet, tmp_path: Path, **overrides: Any) -> WechatySettings:
    values: dict[str, Any] = {
        "endpoint": puppet.endpoint,
        "token": puppet.token,
        "tls": puppet.tls,
        "gap_seconds": (0.0, 0.0),
        "login_wait_seconds": WAIT,
        "watchdog_seconds": 60.0,
        "qr_dir": tmp_path / "qr",
    }
    values.update(overrides)
    return WechatySettings(**values)


def town_groups(loaded: LoadedCampaign) -> dict[str, str]:
    return {g.id: g.name for u in loaded.campaign.units for g in u.groups}


@pytest.fixture
def loaded(jinxi: Sources) -> LoadedCampaign:
    return load(jinxi)


@pytest.fixture(params=[False, True], ids=["plain", "tls"])
def tls(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


Scenario = Callable[[LoopbackPuppet, WechatyChannel, dict[str, str], Alerts], Awaitable[None]]


@pytest.fixture
def world(loaded: LoadedCampaign, tmp_path: Path) -> Callable[..., None]:
    """Run `scenario(puppet, channel, rooms, alerts)` against a started gateway populated with the 金溪 groups."""

    def run(scenario: Scenario, *, tls: bool = False, logged_in: bool = True, **overrides: Any) -> None:
        async def main() -> None:
            async with LoopbackPuppet(tls=tls, logged_in=logged_in) as puppet:
                rooms = puppet.add_town(loaded.campaign)
                alerts = Alerts()
                channel = WechatyChannel(
                    settings_for(puppet, tmp_path, **overrides),
                    groups=lambda: town_groups(loaded),
                    rooms=RoomDirectory("wechaty"),
                    echo=None,
                    alert_sink=alerts,
                    backoff_seconds=(0.02, 0.2),
                    send_wait_seconds=WAIT,
                )
                try:
                    await scenario(puppet, channel, rooms, alerts)
                finally:
                    await channel.close()

        asyncio.run(main())

    return run
