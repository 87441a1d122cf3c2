"""Where things live, from the environment: the embedded defaults need no credentials and no network."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CHANNELS = ("outbox",)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    channel: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, channel: str | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("BOT_DATA_DIR", "data"))
        url = env.get("BOT_DATABASE_URL") or f"sqlite:///{(data_dir / 'laba.db').as_posix()}"
        return cls(data_dir=data_dir, database_url=url, channel=channel or env.get("BOT_CHANNEL", "outbox"))

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"
