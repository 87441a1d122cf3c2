"""The DingTalk download links: a DingTalk robot's file message carries `BOT_PUBLIC_URL/files/<hash>/<name>`, and
that link downloads the file through the console (no session: a villager taps it), while nothing else does."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.base import OutgoingFile
from bot.channels.robots import PublicFiles, RobotChannel
from bot.channels.robots.config import RobotConfig, kind_of
from bot.channels.robots.loopback import LoopbackRobots
from bot.config.campaign import Sources
from bot.core.planner import group_target
from tests.web.conftest import Site, start_site

PUBLIC = "https://laba.example.cn/laba"


@pytest.fixture
def site(jinxi: Sources, tmp_path: Path) -> Iterator[Site]:
    yield from start_site(jinxi, tmp_path, public_url=PUBLIC)


def _post_file(site: Site, file: Path) -> str:
    """Send `file` to 乡建中心's DingTalk robot (loopback) as the daemon does; returns the link the group got."""
    group, unit = site.app.loaded.campaign.group("xiangjian-work")

    async def go() -> str:
        server = LoopbackRobots()
        await server.start()
        try:
            url = server.add_dingtalk(group.id, secret="SECabcdefgh1234", keyword="垃圾分类")
            kind = kind_of(url)
            assert kind is not None
            config = RobotConfig(group.id, url, kind, secret="SECabcdefgh1234", keyword="垃圾分类")
            public = PublicFiles(site.console.settings.data_dir / "public", site.console.settings.public_url)
            robots = RobotChannel({group.id: config}, public=public)
            await robots.start()
            try:
                await robots.send_file(group_target(group, unit), OutgoingFile(file, file.name))
            finally:
                await robots.close()
            (post,) = server.received(group.id)
            return post.text
        finally:
            await server.close()

    text = site.run(go())
    found = re.search(r"下载：(\S+)", text)
    assert found is not None, text
    return found.group(1)


def test_a_dingtalk_file_link_downloads_through_the_console(site: Site, tmp_path: Path) -> None:
    clip = tmp_path / "五月 广播.mp3"
    clip.write_bytes(b"ID3" + bytes(range(256)) * 40)
    link = _post_file(site, clip)
    assert link.startswith(f"{PUBLIC}/files/")
    # The reverse proxy maps BOT_PUBLIC_URL onto the console: the same path, without the public prefix.
    path = link.removeprefix(PUBLIC)
    reply = site.client().get(path)  # no session
    assert reply.status == 200 and reply.body == clip.read_bytes()
    assert "attachment" in reply.headers["Content-Disposition"]
    assert urllib.parse.quote("五月 广播.mp3") in reply.headers["Content-Disposition"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_only_what_the_robots_published_answers(site: Site, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp3"
    clip.write_bytes(b"ID3" + b"\x01" * 100)
    path = _post_file(site, clip).removeprefix(PUBLIC)
    digest = path.split("/")[2]
    client = site.client()
    data = site.console.settings.data_dir
    (data / "secret.txt").write_text("不该被下载", encoding="utf-8")
    for wrong in (
        "/files/",
        f"/files/{digest}",
        f"/files/{digest}/",
        f"/files/{digest}/other.mp3",
        f"/files/{digest}/..%2F..%2Fsecret.txt",
        f"/files/{digest}/%2E%2E",
        "/files/..%2Flaba.db/x",
        "/files/000000000000000000000000/clip.mp3",
        "/files/" + "0" * 64 + "/clip.mp3",
    ):
        reply = client.get(wrong)
        assert reply.status in (302, 404), (wrong, reply.status)
        assert b"ID3" not in reply.body and "不该被下载".encode() not in reply.body
    # A symlink planted in the folder is not followed.
    (data / "public" / digest / "link.txt").symlink_to(data / "secret.txt")
    assert client.get(f"/files/{digest}/link.txt").status == 404
