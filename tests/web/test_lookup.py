"""The public lookup page `/q` over HTTP and in a phone-sized browser: no sign-in, the same answers as the groups,
unknown items filed for the office, several items at once, a limit per address."""

from __future__ import annotations

import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.campaign import Sources, load
from bot.errors import ConfigError
from bot.store.sorting import QuestionStore
from bot.web.lookup import PER_MINUTE, RateLimit
from tests.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.proof.conftest import at
from tests.web.conftest import Site, start_site


def ask(site: Site, words: str) -> tuple[int, str]:
    reply = site.client().get("/q?" + urllib.parse.urlencode({"w": words}))
    return reply.status, reply.text


def test_the_page_opens_without_signing_in(site: Site) -> None:
    reply = site.client().get("/q")
    assert reply.status == 200
    assert "垃圾分类查询" in reply.text and 'name="w"' in reply.text
    assert "Content-Security-Policy" in reply.headers


def test_a_known_item_gets_its_category_and_note(site: Site) -> None:
    status, text = ask(site, "废电池是什么垃圾")
    assert status == 200
    assert "【有害垃圾】" in text


def test_several_items_and_an_unknown_one_which_is_filed_for_the_office(site: Site) -> None:
    status, text = ask(site, "塑料瓶和量子纠缠机")
    assert status == 200
    assert "【可回收物】" in text
    assert "量子纠缠机" in text and "还不确定" in text
    unknown = QuestionStore(site.app.store).unknown()
    assert [u.asked for u in unknown] == ["量子纠缠机"]


def test_text_that_names_nothing_says_so(site: Site) -> None:
    status, text = ask(site, "？？")
    assert status == 200
    assert "没看出要查什么" in text


def test_one_address_is_limited_per_minute(site: Site) -> None:
    for _ in range(PER_MINUTE):
        assert ask(site, "电池")[0] == 200
    status, text = ask(site, "电池")
    assert status == 429 and "太频繁" in text
    site.clock.set(site.clock.now() + timedelta(minutes=1, seconds=1))
    assert ask(site, "电池")[0] == 200


def test_behind_the_proxy_each_villager_has_their_own_limit(site: Site) -> None:
    client = site.client()  # on loopback, as the reverse proxy is
    for _ in range(PER_MINUTE):
        reply = client.request("GET", "/q?w=%E7%94%B5%E6%B1%A0", headers={"X-Real-IP": "10.0.0.1"})
        assert reply.status == 200
    assert client.request("GET", "/q?w=%E7%94%B5%E6%B1%A0", headers={"X-Real-IP": "10.0.0.1"}).status == 429
    assert client.request("GET", "/q?w=%E7%94%B5%E6%B1%A0", headers={"X-Real-IP": "10.0.0.2"}).status == 200


def test_the_limit_counts_each_address_alone() -> None:
    limit = RateLimit(limit=2)
    now = at(4, 1, 8)
    assert limit.allow("a", now) and limit.allow("a", now)
    assert not limit.allow("a", now)
    assert limit.allow("b", now)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt chromium)")
def test_on_a_phone_the_form_answers(site: Site) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            page = phone.new_page()
            page.goto(site.url + "q")
            page.fill("input[name=w]", "过期药品怎么扔")
            page.click("button[type=submit]")
            answer = page.locator("#answer")
            answer.wait_for(timeout=20_000)
            assert "【有害垃圾】" in answer.inner_text()
            # Fits the phone: nothing wider than the screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            browser.close()


def test_the_monthly_announcement_links_the_page(site: Site) -> None:
    site.run_jobs("announce", 4)
    [sent] = site.channel.texts_to("changchun-villagers")
    assert "https://laba.example.cn/q" in sent.splitlines()[-1]


def test_without_a_public_address_the_announcement_has_no_link(jinxi: Sources, tmp_path: Path) -> None:
    for site in start_site(jinxi, tmp_path, public_url=""):
        site.run_jobs("announce", 4)
        [sent] = site.channel.texts_to("changchun-villagers")
        assert "/q" not in sent and "查一查" not in sent


def test_check_catches_a_mistake_in_the_link_line(jinxi: Sources) -> None:
    announce = jinxi.messages / "announce.j2"
    announce.write_text(announce.read_text().replace("{{ lookup_url }}", "{{ lookup_link }}"))
    with pytest.raises(ConfigError) as caught:
        load(jinxi)
    assert "announce.j2" in str(caught.value) and "lookup_link" in str(caught.value)
