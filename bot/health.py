"""What `laba check --online` and the admins' #状态 report: one line per part that can be down."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HealthLine:
    part: str  # what was checked, as the admins call it: 微信, 发件箱, edge-tts …
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.part}：{self.detail}"
