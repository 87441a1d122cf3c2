"""Where laba keeps what only makes it start faster: BOT_CACHE_DIR, else the user's cache folder, never the town's
data folder; without a home, nothing is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, cache_dir


def test_the_cache_folder_is_the_setting_or_the_users_cache() -> None:
    assert cache_dir({"BOT_CACHE_DIR": "/srv/laba-cache", "XDG_CACHE_HOME": "/x"}) == Path("/srv/laba-cache")
    assert cache_dir({"XDG_CACHE_HOME": "/home/zhou/.cache"}) == Path("/home/zhou/.cache/laba")


def test_without_settings_it_is_under_the_home_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir({}) == tmp_path / ".cache" / "laba"


def test_compiled_templates_live_in_the_cache_not_the_data_folder() -> None:
    settings = Settings.from_env({"BOT_DATA_DIR": "/srv/jinxi", "BOT_CACHE_DIR": "/var/cache/laba"})
    assert settings.compiled_templates == Path("/var/cache/laba/compiled-templates")
    assert Settings(Path("d"), "sqlite:///d/laba.db", "outbox").compiled_templates is None
