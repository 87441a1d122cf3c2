"""Signed-in console pages and actions over HTTP: each page answers, each change goes through the ledger's actions
and its log with the account's name, the pause switch reaches the daemon's pipeline."""

from __future__ import annotations

import asyncio
import re

from bot.store.evidence import EvidenceStatus
from bot.web.hook import PauseSync, console_running
from tests.proof.conftest import at, message, photo
from tests.web.conftest import Site
from tests.web.test_upload import send_photo


def test_every_page_answers_when_signed_in(april: Site) -> None:
    send_photo(april.client(), april.link("changchun"), photo(1))
    client = april.client()
    client.sign_in()
    for path in ("/today", "/relay", "/ledger?month=2024-04", "/ledger/year?year=2024", "/broadcast", "/plan"):
        reply = client.get(path)
        assert reply.status == 200, path
        assert "<title>" in reply.text
    assert client.get("/thumb/1").headers["Content-Type"] == "image/jpeg"
    assert client.get("/photo/1").body == photo(1)
    assert client.get("/photo/999").status == 404
    xlsx = client.get("/ledger/download?month=2024-04&format=xlsx")
    assert xlsx.status == 200 and xlsx.body[:2] == b"PK"
    assert "长春村" in client.get("/ledger/download?month=2024-04&format=html").text


def test_today_shows_sent_and_failed_with_what_to_do(site: Site) -> None:
    site.channel.refuse.add("shanling-work")
    site.run_jobs("proof_request", 4)
    site.clock.set(at(4, 1, 12))
    client = site.client()
    client.sign_in()
    page = client.get("/today").text
    problems = page.split('id="problems"')[1].split("</ul>")[0]
    assert "杉岭村两委工作群" in problems and "失败" in problems and "代发" in problems
    assert "已发" in page and "长春村两委工作群" in page


def test_corrections_from_the_console_are_logged_with_the_account(april: Site) -> None:
    client = april.client()
    send_photo(client, april.link("changchun"), photo(1))
    client.sign_in()
    csrf = client.csrf("/ledger?month=2024-04")
    assert client.post("/ledger/reject", {"csrf": csrf, "id": "1", "reason": "模糊"}).status == 303
    assert "已驳回编号 1" in client.get("/ledger?month=2024-04").text
    assert april.console.evidence.get(1).status is EvidenceStatus.REJECTED  # type: ignore[union-attr]
    client.post("/ledger/reassign", {"csrf": csrf, "id": "1", "to": "杉岭村"})
    moved = april.console.evidence.get(1)
    assert moved is not None and moved.unit_id == "shanling"
    actors = {e.actor for e in april.console.evidence.history("evidence:1") if e.action in ("reject", "reassign")}
    assert actors == {"冉晓燕（网页）"}
    token = april.link("changchun").removeprefix("/u/")
    client.post("/ledger/revoke", {"csrf": csrf, "id": token})
    assert client.get(f"/u/{token}").status == 410


def test_a_pending_binding_is_approved_from_the_console(april: Site) -> None:
    async def bind() -> None:
        await april.app.router.dispatch(message("helper", at(4, 8), text="#绑定 长春村", group="changchun-work"))
        await april.intake.flush()

    april.run(bind())
    client = april.client()
    client.sign_in()
    page = client.get("/ledger?month=2024-04").text
    number = re.search(r'data-binding="(\d+)"', page)
    assert number is not None
    client.post("/ledger/approve", {"csrf": client.csrf("/ledger"), "id": number.group(1)})
    assert april.console.evidence.approved_unit("wxid_helper") == "changchun"


def test_pause_from_the_console_reaches_the_daemons_pipeline_and_chat_pause_reaches_the_console(site: Site) -> None:
    sync = PauseSync(site.console)
    sync.step()
    assert not site.app.pipeline.held
    site.console.web.set_flag("paused", "1", "admin-ran", site.clock.now())  # `laba web` on another machine
    sync.step()
    assert site.app.pipeline.held
    site.app.pipeline.resume()  # #恢复 in chat
    sync.step()
    assert site.console.web.flag("paused")[0] == "0"
    assert not site.app.pipeline.held


def test_the_daemon_hook_serves_the_console(site: Site) -> None:
    import dataclasses
    import urllib.request

    settings = dataclasses.replace(site.console.settings, web_listen="127.0.0.1:0")

    async def go() -> str:
        async with console_running(site.app, settings) as url:
            return await asyncio.to_thread(lambda: urllib.request.urlopen(url + "login").read().decode())

    assert "登录" in site.run(go())


def test_the_hook_can_be_switched_off(site: Site) -> None:
    import dataclasses

    settings = dataclasses.replace(site.console.settings, web_listen="off")

    async def go() -> str:
        async with console_running(site.app, settings) as url:
            return url

    assert site.run(go()) == ""


def test_failures_of_earlier_days_stay_on_top_until_handled(site: Site) -> None:
    site.channel.refuse.add("shanling-work")
    site.run_jobs("proof_request", 4)
    site.clock.set(at(4, 9, 9))  # a week later: April 1st is no longer "today"
    client = site.client()
    client.sign_in()
    problems = client.get("/today").text.split('id="problems"')[1].split("</ul>")[0]
    assert "杉岭村两委工作群" in problems and "4月1日" in problems
    client.post(
        "/relay/forwarded", {"csrf": client.csrf(), "job_key": "2024-04/proof_request", "target": "shanling-work"}
    )
    assert 'id="problems"' not in client.get("/today").text
    history = site.console.evidence.history("delivery:2024-04/proof_request>shanling-work")
    assert [(e.actor, e.action) for e in history] == [("admin-ran", "forwarded")]


def test_broadcast_clips_play_sheets_and_a_zip_per_operator_only_by_listed_names(site: Site) -> None:
    import io
    import json
    import zipfile

    folder = site.console.settings.audio_dir / "2024-04"
    folder.mkdir(parents=True)
    (folder / "changchun-qiaomen.mp3").write_bytes(b"ID3 clip")
    (folder / "changchun-gb.m3u").write_text("#EXTM3U\nchangchun-qiaomen.mp3\n", encoding="utf-8")
    (folder / "changchun-gb-bofangdan.txt").write_text("金溪镇垃圾分类宣传 广播播放单", encoding="utf-8")
    (folder / "secret.txt").write_text("not listed", encoding="utf-8")
    clips = {"changchun-qiaomen.mp3": {"title": "4月垃圾分类广播：敲门行动", "seconds": 61.2, "plays": []}}
    index = {"changchun-gb": {"operator": "王强", "unit": "长春村", "clips": clips}}
    (folder / "index.json").write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    client = site.client()
    client.sign_in()
    page = client.get("/broadcast?month=2024-04").text
    assert "王强" in page and "敲门行动" in page and "广播播放单" in page
    assert client.get("/broadcast/2024-04/clip/changchun-qiaomen.mp3").body == b"ID3 clip"
    assert client.get("/broadcast/2024-04/clip/secret.txt").status == 404
    assert client.get("/broadcast/2024-04/clip/..%2Findex.json").status == 404
    assert client.get("/broadcast/..%2F..%2Fdata/clip/x.mp3").status == 404
    archive = zipfile.ZipFile(io.BytesIO(client.get("/broadcast/2024-04/zip/changchun-gb").body))
    assert sorted(archive.namelist()) == ["changchun-gb-bofangdan.txt", "changchun-gb.m3u", "changchun-qiaomen.mp3"]


def test_the_plan_page_shows_the_calendar_and_what_check_finds_in_the_files(site: Site) -> None:
    client = site.client()
    client.sign_in()
    page = client.get("/plan?month=2024-04").text
    assert "检查通过" in page and "敲门" in page
    sources = site.console.sources
    assert sources is not None
    plan = sources.schedules / "plan-2024.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("min_photos: 3", "min_photos: 三张"), encoding="utf-8")
    broken = client.get("/plan?month=2024-04").text
    assert "文件里有错误" in broken and "plan-2024.yaml" in broken and "三张" in broken
