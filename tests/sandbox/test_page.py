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


def test_a_newcomer_at_1280x720_follows_the_readme(sandbox_url: str) -> None:
    """The README's steps on a laptop screen: the input box stays on screen however long the chat, the one 冉晓燕
    (the admin) is answered `#状态` in the office group and privately, each message is shown once even when polls
    overlap, and a robot's group is shown as such and read-only."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(sandbox_url)
            expect(page.locator("#clock")).to_contain_text("2024年05月19日 09:59", timeout=WAIT_MS)
            page.get_by_role("button", name="跳到下一项任务").click()
            expect(page.locator("#result")).to_contain_text("发出 7 条", timeout=WAIT_MS)

            office = page.locator("nav button", has_text="金溪镇垃圾分类工作专班群")
            office.click()
            sender = page.locator("#sender")
            assert sender.locator("option", has_text="冉晓燕").count() == 1
            expect(sender.locator("option:checked")).to_have_text("冉晓燕")  # the default speaker is the admin
            page.locator("#text").fill("#状态")
            page.get_by_role("button", name="发送").click()
            expect(page.locator(".msg.bot .bubble").last).to_contain_text("大喇叭状态", timeout=WAIT_MS)
            for n in range(2, 6):  # a long chat: the help text, four times over
                page.locator("#text").fill("#帮助")
                page.get_by_role("button", name="发送").click()
                expect(page.locator(".msg.bot")).to_have_count(n, timeout=WAIT_MS)
            page.evaluate("Promise.all([poll(), poll(), poll()])")  # overlapping polls add nothing twice
            expect(page.locator(".msg")).to_have_count(10)
            assert page.evaluate("new Set(state.messages.map((m) => m.seq)).size === state.messages.length")
            chat = page.locator("#messages")
            assert chat.evaluate("(el) => el.scrollHeight > el.clientHeight")  # the chat overflows and scrolls …
            expect(page.locator("#text")).to_be_in_viewport(ratio=1)  # … while the input box stays on screen
            expect(page.get_by_role("button", name="发送")).to_be_in_viewport(ratio=1)
            assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")

            # Private chats: one per person, the admin's answered in hers only.
            assert page.locator("nav button", has_text="私聊：冉晓燕").count() == 1
            page.locator("nav button", has_text="私聊：冉晓燕").click()
            page.locator("#text").fill("#状态")
            page.get_by_role("button", name="发送").click()
            expect(page.locator(".msg.bot .bubble")).to_contain_text("大喇叭状态", timeout=WAIT_MS)
            page.locator("nav button", has_text="私聊：谭志勇").click()
            expect(page.locator(".msg")).to_have_count(0)

            # A group reached by a WeCom robot: its reminder is there, marked as the robot's, and nobody speaks.
            page.locator("nav button", has_text="太平村村民群").click()
            expect(page.locator("#title")).to_contain_text("企业微信群机器人")
            expect(page.locator(".msg.bot .bubble").first).to_contain_text("宣传周", timeout=WAIT_MS)
            expect(page.locator("#readonly")).to_be_visible()
            expect(page.locator("#text")).to_be_hidden()
        finally:
            browser.close()
    with urllib.request.urlopen(sandbox_url + "api/state") as resp:  # loopback only
        state = json.load(resp)
    names = [m["name"] for g in state["groups"] for m in g["members"]]
    assert not any("党政办公室村民" in n or "武装部村民" in n for n in names)  # staff in work groups, not villagers
    assert "金溪镇人民武装部工作群" in [g["name"] for g in state["groups"]]
