"""Start-up helpers of the CLI: the garbage collector paused while the app is built, and restored after."""

from __future__ import annotations

import gc

from bot.cli.base import collector_paused


def test_the_collector_is_paused_inside_and_switched_back_on_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_caller_switched_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
