"""The issue's "Done when" flow in a real browser (Playwright driving Debian's chromium) against the console on
loopback: sign in (a wrong password refused), today's jobs with their status, 已转发 on a failed message, approve a
pending binding, play a clip; then on a phone-sized page the unit's link from its proof request, three photos (one a
duplicate, one not an image), each outcome shown, and the counts changed in the console's 台账 and in `laba report`."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.audio.offline import OfflineTts
from bot.audio.studio import Studio, clip_request
from bot.cli import main
from bot.config.campaign import Sources
from bot.core.render import ProofFacts
from tests.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.proof.conftest import at, message, photo
from tests.web.conftest import PASSWORD, Site, start_site
from tests.web.test_upload import send_photo

WAIT_MS = 20_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt chromium)")


@pytest.fixture
def site(jinxi: Sources, tmp_path: Path) -> Iterator[Site]:
    # Plain http as public address: the browser reaches the console at http://127.0.0.1, where chromium would drop
    # the Secure cookies an https address asks for (the HTTP tests check those).
    yield from start_site(jinxi, tmp_path, public_url="http://laba.example.cn")


def _prepare(site: Site, audio_dir: Path) -> str:
    """April 1st: the proof requests go out (杉岭村's work group refuses its message), someone asks to bind, a clip is
    made, 长春村 already handed in two photos. Returns the path of 长春村's link from its proof request."""
    site.channel.refuse.add("shanling-work")
    site.run_jobs("proof_request", 4)
    site.clock.set(at(4, 1, 11))

    async def bind() -> None:
        await site.app.router.dispatch(message("new-helper", at(4, 1, 11), text="#绑定 长春村", group="changchun-work"))
        await site.intake.flush()

    site.run(bind())
    loaded = site.app.loaded
    job = loaded.plan.by_key()["2024-04/broadcast"]
    target = job.targets[0]
    studio = Studio(audio_dir, [OfflineTts()])
    site.run(studio.produce(clip_request(loaded, job, target, loaded.renderer.script(job, target, ProofFacts()))))
    text = next(t for t in site.channel.texts_to("changchun-work") if "4月垃圾分类宣传工作安排" in t)
    found = re.search(r"http://laba\.example\.cn(/u/[\w-]+)", text)
    assert found is not None
    client = site.client()
    for seed in (1, 2):
        assert send_photo(client, found.group(1), photo(seed))["status"] == "ok"
    return found.group(1)


def test_console_and_upload_page_in_a_browser(site: Site, jinxi: Sources, tmp_path: Path, env: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    link = _prepare(site, tmp_path / "audio_out")
    files = {"new.jpg": photo(3), "again.jpg": photo(1), "台账.txt": "不是照片".encode()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    base = site.url.rstrip("/")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/today")
            page.get_by_label("账号").fill("admin-ran")
            page.get_by_label("密码").fill("wrong-password")
            page.get_by_role("button", name="登录").click()
            expect(page.locator(".error")).to_contain_text("账号或密码不对")
            page.get_by_label("账号").fill("admin-ran")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            expect(page.locator("h1")).to_contain_text("今天")
            expect(page.locator("#problems")).to_contain_text("杉岭村两委工作群")
            expect(page.locator("#problems .status").first).to_have_text("失败")
            expect(page.locator("main")).to_contain_text("已发")

            page.get_by_role("link", name="代发").click()
            expect(page.locator(".relay pre").first).to_contain_text("杉岭村")
            page.get_by_role("button", name="已转发").first.click()
            expect(page.locator(".relay .ok").first).to_contain_text("已转发：admin-ran")

            page.goto(f"{base}/ledger?month=2024-04")
            expect(page.locator("#bindings")).to_contain_text("new-helper")
            page.locator("#bindings").get_by_role("button", name="批准").click()
            expect(page.locator(".said")).to_contain_text("已批准")

            page.goto(f"{base}/broadcast?month=2024-04")
            audio = page.locator("audio").first
            expect(audio).to_be_attached()
            audio.evaluate("a => { a.muted = true; return a.play(); }")
            page.wait_for_function("document.querySelector('audio').currentTime > 0", timeout=WAIT_MS)

            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            mobile = phone.new_page()
            mobile.goto(base + link)
            expect(mobile.locator("h1")).to_contain_text("长春村")
            expect(mobile.locator("#count")).to_contain_text("2 张")
            mobile.set_input_files("input[type=file]", [str(tmp_path / n) for n in files])
            mobile.get_by_role("button", name="上交").click()
            rows = mobile.locator("#results li")
            expect(rows).to_have_count(3, timeout=WAIT_MS)
            expect(rows.nth(0)).to_contain_text("已收到 长春村")
            expect(rows.nth(1)).to_contain_text("同一张照片")
            expect(rows.nth(2)).to_contain_text("没收下")
            expect(mobile.locator("#count")).to_contain_text("已收到有效照片 3 张")
            phone.close()

            page.goto(f"{base}/ledger?month=2024-04")
            row = page.locator('[data-activity="2024-04"] tr[data-unit="changchun"]')
            expect(row.locator(".count")).to_have_text("3 / 3")
            expect(row.locator(".status")).to_have_text("待核对")
        finally:
            browser.close()
    report_env = {
        **env,
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'laba.db'}",
    }
    result = CliRunner().invoke(main, ["report", "--month", "2024-04"], env=report_env)
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if "敲门" in ln)
    assert "待核对 1" in line and "长春村" not in line
    assert urllib.parse.urlsplit(base).hostname == "127.0.0.1"
