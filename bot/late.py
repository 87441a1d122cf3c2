"""A value wired in once the part that makes it exists: for the few loops in the wiring (the channel tells the
admins through the pipeline, which sends through the channel; the admins' `#计划` lists what the scheduler, started
after the handlers, has queued). Bound once, read through `get` or `peek`; no attribute is set on the parts."""

from __future__ import annotations

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
