"""Where things live, from the environment: the embedded defaults need no credentials and no network."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CHANNELS = ("outbox", "wechaty")
# edge: edge-tts, falling back to offline (espeak-ng) when it keeps failing; offline: espeak-ng only;
# none: no clips at all, operators get the script to read aloud (a town without loudspeaker audio, or tests).
TTS_ENGINES = ("edge", "offline", "none")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    channel: str
    audio_dir: Path = Path("audio_out")
    tts_engine: str = "edge"
    edge_tts_url: str | None = None  # a relay or a loopback stand-in; default the public service
    web_listen: str = "127.0.0.1:8080"  # where the web console listens (host:port), or "off"
    public_url: str = ""  # the console's address as people reach it (behind a proxy); links are made only when set

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, channel: str | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("BOT_DATA_DIR", "data"))
        url = env.get("BOT_DATABASE_URL") or f"sqlite:///{(data_dir / 'laba.db').as_posix()}"
        return cls(
            data_dir=data_dir,
            database_url=url,
            channel=channel or env.get("BOT_CHANNEL", "outbox"),
            audio_dir=Path(env.get("BOT_AUDIO_DIR", "audio_out")),
            tts_engine=env.get("BOT_TTS_ENGINE", "edge"),
            edge_tts_url=env.get("BOT_EDGE_TTS_URL") or None,
            web_listen=env.get("BOT_WEB_LISTEN", "127.0.0.1:8080").strip() or "127.0.0.1:8080",
            public_url=env.get("BOT_PUBLIC_URL", "").strip().rstrip("/"),
        )

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"
