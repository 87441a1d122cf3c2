"""A value wired in once the part that makes it exists: for the few loops in the wiring (the channel tells the
admins through the pipeline, which sends through the channel; the admins' `#计划` lists what the scheduler, started
after the handlers, has queued). Bound once, read through `get` or `peek`; no attribute is set on the parts.

`Lazy` is the other late value: a part built on first use rather than wired in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LateBound(Generic[T]):
    def __init__(self, what: str) -> None:
        self._what = what
        self._value: tuple[T] | None = None  # in a tuple: bound to None is still bound

    def bind(self, value: T) -> None:
        """Wire the value in. RuntimeError if it was bound already (a second wiring is a mistake)."""
        if self._value is not None:
            raise RuntimeError(f"{self._what} is bound already")
        self._value = (value,)

    def peek(self) -> T | None:
        """The value, or None while it is not bound yet."""
        return None if self._value is None else self._value[0]

    def get(self) -> T:
        """The value. RuntimeError naming it while it is not bound yet."""
        if self._value is None:
            raise RuntimeError(f"{self._what} is not bound yet")
        return self._value[0]


class Lazy(Generic[T]):
    """A part built when it is first asked for: `factory` (which imports its modules itself) runs once, on the first
    `get`. For what an idle daemon never needs until a message arrives or a job of that kind fires, so `laba run`
    does not import and build it on its way to ready."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: tuple[T] | None = None

    def get(self) -> T:
        """The part, built now if it was not yet. What the factory raises is raised; it is tried again next time."""
        if self._value is None:
            self._value = (self._factory(),)
        return self._value[0]

    def peek(self) -> T | None:
        """The part if it was built already, else None (nothing is built)."""
        return None if self._value is None else self._value[0]
