"""The 代发 page over the relay queue: each waiting message with 复制 and 已转发; 已转发 closes it through the same
code as `laba relay done`, so it leaves the page and `laba relay` agrees (who, when)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.channels.relay import RelayDesk
from bot.cli import main
from bot.config.campaign import Sources
from bot.core.planner import group_target
from bot.store.relay import RelayQueue
from tests.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.web.conftest import PASSWORD, Site, start_site


@pytest.fixture
def site(jinxi: Sources, tmp_path: Path) -> Iterator[Site]:
    yield from start_site(jinxi, tmp_path, public_url="http://laba.example.cn")


def _relay_two(site: Site) -> RelayQueue:
    """Two messages handed to the relay the way the routes hand them (`RelayDesk.queue`)."""
    queue = RelayQueue(site.console.store)
    desk = RelayDesk(queue, site.clock.now)
    campaign = site.app.loaded.campaign
    for group_id, text in (
        ("shanling-villagers", "杉岭村的乡亲们：本周六清理河道"),
        ("taiping-work", "太平村：请交照片"),
    ):
        group, unit = campaign.group(group_id)
        site.run(desk.queue(group_target(group, unit), text, None, "units.yaml 里设为 via: relay（人工代发）"))
    return queue


def _laba_relay(tmp_path: Path, env: dict[str, str]) -> str:
    data = tmp_path / "data"
    env = env | {"BOT_DATA_DIR": str(data), "BOT_DATABASE_URL": f"sqlite:///{data / 'laba.db'}"}
    result = CliRunner().invoke(main, ["relay"], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt chromium)")
def test_forwarded_in_the_browser_leaves_the_list_and_laba_relay_agrees(
    site: Site, tmp_path: Path, env: dict[str, str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    queue = _relay_two(site)
    first, second = queue.waiting()
    assert f"#{first.id}" in _laba_relay(tmp_path, env)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(site.url.rstrip("/") + "/relay")
            page.get_by_label("账号").fill("admin-ran")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            cards = page.locator("#queued .relay")
            expect(cards).to_have_count(2)
            expect(cards.first.locator("pre")).to_have_text("杉岭村的乡亲们：本周六清理河道")
            expect(cards.first.get_by_role("button", name="复制")).to_have_attribute("data-copy", first.text)
            cards.first.get_by_role("button", name="已转发").click()
            expect(page.locator(".said")).to_contain_text(f"#{first.id} 已手动转发")
            expect(cards).to_have_count(1)
            expect(cards.first).to_contain_text("太平村：请交照片")
        finally:
            browser.close()
    listing = _laba_relay(tmp_path, env)
    assert f"#{first.id} " not in listing and f"#{second.id} " in listing
    done = next(i for i in queue.all() if i.id == first.id)
    assert done.done_by == "admin-ran" and done.done_at == site.clock.now()


def test_forwarded_twice_changes_nothing_and_needs_an_admin(site: Site) -> None:
    queue = _relay_two(site)
    first = queue.waiting()[0]
    viewer = site.client()
    viewer.sign_in("guest")
    assert viewer.post("/relay/done", {"csrf": viewer.csrf("/relay"), "id": str(first.id)}).status == 403
    admin = site.client()
    admin.sign_in()
    assert admin.post("/relay/done", {"id": str(first.id)}).status == 403  # no CSRF token
    for _ in range(2):
        reply = admin.post("/relay/done", {"csrf": admin.csrf("/relay"), "id": str(first.id)})
        assert reply.status == 303
    assert [i.id for i in queue.waiting()] == [queue.all()[1].id]
    page = admin.get("/relay").text
    assert "早已记过转发" in page and "本周六清理河道" not in page
    assert admin.post("/relay/done", {"csrf": admin.csrf("/relay"), "id": "x"}).status == 303
