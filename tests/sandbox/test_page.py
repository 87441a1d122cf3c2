"""The sandbox page in a real browser (Playwright driving Debian's chromium): a scheduled message appears in the
right group; a photo posted from the page reaches the bot. The sandbox runs as `python -m bot sandbox`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.wechaty.loopback import image_bytes
from tests.helpers import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 15_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt chromium)")


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0", "--data", str(tmp_path / "sandbox")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:  # the first line names the URL (or the process ends and the loop does too)
            found = re.search(r"http://127\.0\.0\.1:\d+/", line)
            if found:
                url = found.group(0)
                break
        assert url, "the sandbox did not print its URL"
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_scheduled_message_shows_in_its_group_and_a_photo_reaches_the_bot(sandbox_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    photo = tmp_path / "现场照片.png"
    photo.write_bytes(image_bytes(30_000, seed=7))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(sandbox_url)
            expect(page.locator("#clock")).to_contain_text("2024年05月19日 09:59", timeout=WAIT_MS)
            expect(page.locator("#upcoming")).to_contain_text("5月活动提醒")
            page.get_by_role("button", name="跳到下一项任务").click()
            expect(page.locator("#result")).to_contain_text("发出 7 条", timeout=WAIT_MS)
            # The reminder is in the villagers' group with the emoji in its name …
            page.locator("nav button", has_text="杉岭村村民群🌲").click()
            expect(page.locator("#title")).to_have_text("杉岭村村民群🌲")
            expect(page.locator(".msg.bot .bubble").first).to_contain_text("宣传周", timeout=WAIT_MS)
            # … and not in a group it wasn't for: the office group got nothing from this job.
            page.locator("nav button", has_text="金溪镇垃圾分类工作专班群").click()
            expect(page.locator(".msg.bot")).to_have_count(0)

            page.locator("nav button", has_text="长春村两委工作群").click()
            page.locator("#sender").select_option(label="李德华")
            page.locator("#photo").set_input_files(str(photo))
            page.get_by_role("button", name="发照片").click()
            expect(page.locator(".msg img").first).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#heard")).to_contain_text(
                f"李德华：照片（{photo.stat().st_size} 字节）", timeout=WAIT_MS
            )
        finally:
            browser.close()
    with urllib.request.urlopen(sandbox_url + "api/state") as resp:  # loopback only
        state = json.load(resp)
    [heard] = [h for h in state["heard"] if h["kind"] == "照片"]
    assert heard["group"] == "长春村两委工作群" and heard["bytes"] == photo.stat().st_size
