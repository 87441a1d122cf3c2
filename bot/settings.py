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
    robots_file: Path | None = None  # BOT_ROBOTS_FILE; None means $BOT_DATA_DIR/robots.yaml
    web_listen: str = "127.0.0.1:8080"  # where the web console listens (host:port), or "off"
    # BOT_PUBLIC_URL: the console's address as people reach it (behind a proxy): upload links and DingTalk download
    # links for files are made only when it is set
    public_url: str = ""
    # BOT_CACHE_DIR: what laba keeps only to start faster (compiled message templates), per user like pip's and
    # Python's own caches, shared by every command and every data folder; None keeps nothing between runs
    cache_dir: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, channel: str | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("BOT_DATA_DIR", "data"))
        url = env.get("BOT_DATABASE_URL") or f"sqlite:///{(data_dir / 'laba.db').as_posix()}"
        return cls(
            data_dir=data_dir,
            database_url=url,
            channel=channel or env.get("BOT_CHANNEL", "outbox"),
            # Under the data folder by default: a run with its own BOT_DATA_DIR writes nothing into the checkout.
            audio_dir=Path(env.get("BOT_AUDIO_DIR") or data_dir / "audio"),
            tts_engine=env.get("BOT_TTS_ENGINE", "edge"),
            edge_tts_url=env.get("BOT_EDGE_TTS_URL") or None,
            robots_file=Path(env["BOT_ROBOTS_FILE"]) if env.get("BOT_ROBOTS_FILE") else None,
            web_listen=env.get("BOT_WEB_LISTEN", "127.0.0.1:8080").strip() or "127.0.0.1:8080",
            public_url=env.get("BOT_PUBLIC_URL", "").strip().rstrip("/"),
            cache_dir=cache_dir(env),
        )

    @property
    def compiled_templates(self) -> Path | None:
        return self.cache_dir / "compiled-templates" if self.cache_dir is not None else None

    @property
    def robots_path(self) -> Path:
        return self.robots_file or self.data_dir / "robots.yaml"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def cache_dir(env: Mapping[str, str]) -> Path | None:
    """BOT_CACHE_DIR, else the user's cache folder (XDG_CACHE_HOME or ~/.cache) / laba; None without a home."""
    if env.get("BOT_CACHE_DIR"):
        return Path(env["BOT_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "laba"
    try:
        return Path.home() / ".cache" / "laba"
    except RuntimeError:  # no HOME and no password entry (a bare container user): start without the cache
        return None
