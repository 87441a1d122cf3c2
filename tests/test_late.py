"""`LateBound`: bound once, read after; reading early or binding twice is a wiring mistake that says what it was."""

from __future__ import annotations

import pytest

from bot.late import LateBound


def test_read_after_binding() -> None:
    later: LateBound[int] = LateBound("the answer")
    assert later.peek() is None
    later.bind(42)
    assert (later.get(), later.peek()) == (42, 42)


def test_reading_before_binding_names_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match="the pipeline is not bound yet"):
        LateBound[str]("the pipeline").get()


def test_binding_twice_is_refused_even_after_none() -> None:
    later: LateBound[int | None] = LateBound("the queue")
    later.bind(None)
    assert later.get() is None
    with pytest.raises(RuntimeError, match="the queue is bound already"):
        later.bind(1)
