"""`LateBound`: bound once, read after; reading early or binding twice is a wiring mistake that says what it was.
`Lazy`: built on first use, once."""

from __future__ import annotations

import pytest

from bot.late import LateBound, Lazy


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


def test_lazy_builds_on_first_get_and_only_once() -> None:
    built: list[int] = []

    def build() -> int:
        built.append(len(built))
        return 7

    lazy = Lazy(build)
    assert (lazy.peek(), built) == (None, [])
    assert (lazy.get(), lazy.get(), lazy.peek(), built) == (7, 7, 7, [0])


def test_lazy_whose_factory_failed_tries_again_next_time() -> None:
    tries: list[str] = []

    def build() -> str:
        tries.append("try")
        if len(tries) == 1:
            raise OSError("disk away")
        return "built"

    lazy = Lazy(build)
    with pytest.raises(OSError, match="disk away"):
        lazy.get()
    assert lazy.peek() is None
    assert lazy.get() == "built"
    assert tries == ["try", "try"]
