"""Errors that reach a person: each names the file, the place inside it, the value and a hint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path


class LabaError(Exception):
    """Base of every error laba raises on purpose; anything else reaching the top is a bug."""


class ExactlyOnceViolation(LabaError, RuntimeError):
    """A claim's record was changed by someone else (another runner, or the sweep of stopped runners' claims)
    while the claimant still held it. It must never happen; when it does, it is investigated, not retried."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the town's files, said so a clerk can find and fix it."""

    file: Path | str
    place: str
    value: object
    message: str
    hint: str = ""
    line: int | None = None
    warning: bool = False  # worth a look, but the plan works as written (`check` prints it, exit stays 0)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        if self.place:
            where += f" {self.place}"
        text = f"{where}: {self.message}（值：{_shown(self.value)}）"
        if self.hint:
            text += f"\n    提示：{self.hint}"
        return text


def _shown(value: object) -> str:
    """A value as a clerk wrote it: text in quotation marks, dates as 2024-05-20, never a Python repr."""
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return "、".join(_shown(v) for v in (value.values() if isinstance(value, dict) else value)) or "（空）"
    return "（空）" if value is None else str(value)


class ConfigError(LabaError):
    """The town's schedule, units or templates are wrong. Carries every problem found, not just the first.

    Raised by loading and checking; the CLI turns it into exit code 2. Nothing was applied when it is raised.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DeliveryError(LabaError):
    """A channel could not hand a message over. `permanent` tells the pipeline not to retry; `uncertain` that the
    message may have gone out anyway (the connection broke mid-send), so it must never be sent again blindly.
    `episode` names a condition that fails every send alike until it clears (a full disk, from when it filled): the
    admins are told once per episode, not once per failed message."""

    def __init__(self, message: str, *, permanent: bool = False, uncertain: bool = False, episode: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent or uncertain
        self.uncertain = uncertain
        self.episode = episode
