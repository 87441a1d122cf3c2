"""The ledger's reports on the April scenario: the HTML page in a real browser (Debian's chromium through
Playwright), the XLSX read back with openpyxl, the year view, and the `laba report` / `laba ledger` commands."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources
from bot.proof.ledger import Ledger, UnitRow, month_ledger, year_ledger
from bot.proof.report import Thumbnails, month_html, month_xlsx, year_html, year_xlsx
from tests.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.proof import scenario
from tests.proof.conftest import Town, make_town
from tests.proof.test_month import play_on_memory

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=TOWN_ZONE)


@pytest.fixture
def april(jinxi: Sources, tmp_path: Path) -> Iterator[tuple[Town, Ledger]]:
    for town in make_town(jinxi, tmp_path, scenario.SETTINGS):
        play_on_memory(town)
        yield town, month_ledger(town.loaded, town.store, town.intake.evidence, 2024, 4)


def test_the_html_report_in_a_real_browser(april: tuple[Town, Ledger], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    town, ledger = april
    page_file = tmp_path / "ledger-2024-04.html"
    page_file.write_text(month_html(ledger, "金溪镇", Thumbnails(town.intake.evidence.files), NOW), encoding="utf-8")
    shot = tmp_path / "ledger.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri())
            assert page.title() == "金溪镇2024年4月垃圾分类宣传工作台账"
            section = page.locator('section[data-activity="2024-04"]')
            assert "已提交 4 个，待核对 2 个，未提交 7 个" in section.locator(".summary").inner_text()

            def status(unit: str) -> str:
                return section.locator(f'tr[data-unit="{unit}"] .status').inner_text()

            assert [status(u) for u in ("changchun", "shanling", "shanba", "taiping")] == [
                "已提交",
                "待核对",
                "待核对",
                "未提交",
            ]
            changchun = section.locator('tr[data-unit="changchun"] figure img')
            assert changchun.count() == 3
            for i in range(3):
                img = changchun.nth(i)
                assert img.is_visible()
                assert img.evaluate("e => e.complete && e.naturalWidth > 0")  # the thumbnail really decoded
            shanling = section.locator('tr[data-unit="shanling"]')
            assert "重复照片" in shanling.inner_text()
            assert "拍摄时间不在活动期间" in section.locator('tr[data-unit="shanba"]').inner_text()
            pingxi = section.locator('tr[data-unit="pingxi"]').inner_text()
            assert "未收下：文件太大" in pingxi and "未收下：图片像素太多" in pingxi
            assert section.locator('tr[data-unit="taiping"] figure').count() == 0
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


def test_the_xlsx_report_read_back(april: tuple[Town, Ledger], tmp_path: Path) -> None:
    town, ledger = april
    out = tmp_path / "ledger-2024-04.xlsx"
    month_xlsx(ledger, "金溪镇", Thumbnails(town.intake.evidence.files), out)
    wb = load_workbook(out)
    [name] = wb.sheetnames
    ws = wb[name]
    assert ws["A1"].value == "金溪镇2024年4月“敲门行动”入户宣传台账"  # the month said once
    rows = {r[0]: r for r in ws.iter_rows(min_row=3, max_col=5, values_only=True)}
    assert len(rows) == 13
    assert rows["长春村"][1:4] == ("已提交", 3, 3)
    assert rows["杉岭村"][1] == "待核对" and rows["杉岭村"][4] == "重复照片"
    assert rows["山坝村"][4] == "拍摄时间不在活动期间"
    assert rows["太平村"][1:3] == ("未提交", 0)
    # Every kept photo is embedded: 3 长春村 + 4 杉岭村 + 3 望岭村 + 3 平溪村 + 3 山坝村 + 3 文化站.
    assert len(ws._images) == 19


def test_the_year_view(april: tuple[Town, Ledger], tmp_path: Path) -> None:
    town, _ = april
    year = year_ledger(town.loaded, town.store, town.intake.evidence, 2024)
    assert len(year.activities) == 12
    page = year_html(year, "金溪镇", NOW)
    assert "已提交（3张）" in page and "待核对（3张）" in page and "（0" not in page
    out = tmp_path / "ledger-2024.xlsx"
    year_xlsx(year, "金溪镇", out)
    ws = load_workbook(out).active
    header = [c.value for c in ws[2]]
    assert header[0] == "单位" and header[4] == "4月“敲门行动”入户宣传" and len(header) == 13
    changchun = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == "长春村")
    assert changchun[4] == "已提交（3张）" and changchun[1] == "未提交"
    assert ws.freeze_panes == "B3"  # the unit names stay in view across twelve activities
    school = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == "金溪中心校")
    assert school[4] == "—"  # not responsible in April


def test_report_and_ledger_commands(
    april: tuple[Town, Ledger], jinxi: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    town, _ = april
    monkeypatch.setenv("BOT_DATA_DIR", str(town.data_dir))
    monkeypatch.delenv("BOT_DATABASE_URL", raising=False)
    common = ["--schedules", str(jinxi.schedules), "--messages", str(jinxi.messages)]
    runner = CliRunner()

    result = runner.invoke(main, ["report", *common, "--month", "2024-04"])
    assert result.exit_code == 0, result.output
    assert "4月“敲门行动”入户宣传：已提交 4，待核对 2，未提交 7（金溪社区、太平村" in result.output
    html = town.data_dir / "reports" / "ledger-2024-04.html"
    assert "data:image/jpeg;base64," in html.read_text(encoding="utf-8")

    out = tmp_path / "o.xlsx"
    assert (
        runner.invoke(main, ["report", *common, "--month", "2024-04", "--format", "xlsx", "--out", str(out)]).exit_code
        == 0
    )
    assert len(load_workbook(out).active._images) == 19
    assert runner.invoke(main, ["report", *common, "--year", "2024", "--format", "xlsx"]).exit_code == 0
    assert (town.data_dir / "reports" / "ledger-2024.xlsx").is_file()
    bad = runner.invoke(main, ["report", *common, "--month", "2024-13"])
    assert bad.exit_code == 2 and "看不懂" in bad.output

    listing = runner.invoke(main, ["ledger", "list", *common, "--month", "2024-04"])
    assert "长春村：已提交，有效照片 3 张" in listing.output and "重复照片" in listing.output

    rejected = runner.invoke(main, ["ledger", "reject", *common, "1", "--reason", "看不清", "--by", "冉晓燕"])
    assert rejected.exit_code == 0 and rejected.output.startswith("已驳回编号 1（长春村 4月")
    again = runner.invoke(main, ["ledger", "reject", *common, "1", "--by", "冉晓燕"])
    assert again.exit_code == 1 and "之前已经驳回" in again.output
    moved = runner.invoke(main, ["ledger", "reassign", *common, "2", "--unit", "太平村", "--by", "谭志勇"])
    assert moved.exit_code == 0 and "改到 太平村 4月" in moved.output
    log = runner.invoke(main, ["ledger", "log", *common, "--id", "1"]).output
    assert "冉晓燕  驳回  编号 1  看不清" in log
    assert "intake" not in log and "accepted" not in log and "evidence:" not in log  # Chinese for people
    assert "已批准" in runner.invoke(main, ["ledger", "bindings", *common]).output
    # 长春村 lost one photo to the rejection and one to 太平村: it is missing again, and 太平村 still is.
    assert town.store.units_with_proof("2024-04", 3) == {"shanling", "wangling", "pingxi", "shanba", "wenhuazhan"}


def test_every_ledger_command_has_help() -> None:
    runner = CliRunner()
    for args in (
        ["report"],
        ["ledger"],
        *[["ledger", c] for c in ("list", "reject", "reassign", "bindings", "approve", "log")],
    ):
        result = runner.invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and len(result.output.splitlines()) > 3, args
        command = main.get_command(click.Context(main), args[0])
        assert command is not None
        if len(args) > 1:
            assert isinstance(command, click.Group)
            command = command.commands[args[1]]
        assert command.help
        assert all(p.help for p in command.params if isinstance(p, click.Option)), args


FORMULAS = ['=HYPERLINK("http://example.invalid","点我")', "+86-138", "-1+1", "@SUM(A1:A9)", "=1+1"]


def _renamed(ledger: Ledger, names: list[str]) -> Ledger:
    """The ledger with its first units renamed (as a clerk could name them in units.yaml)."""
    rename = dict(zip([r.unit.id for r in ledger.activities[0].rows], names, strict=False))

    def row(r: UnitRow) -> UnitRow:
        return replace(r, unit=r.unit.model_copy(update={"name": rename[r.unit.id]})) if r.unit.id in rename else r

    activities = tuple(replace(a, rows=tuple(row(r) for r in a.rows)) for a in ledger.activities)
    return replace(ledger, title="=1+2", activities=activities)


def test_cells_that_start_like_formulas_are_written_as_text(april: tuple[Town, Ledger], tmp_path: Path) -> None:
    town, ledger = april
    month, year = tmp_path / "month.xlsx", tmp_path / "year.xlsx"
    month_xlsx(_renamed(ledger, FORMULAS), "金溪镇", Thumbnails(town.intake.evidence.files), month)
    year_ledger_ = year_ledger(town.loaded, town.store, town.intake.evidence, 2024)
    year_xlsx(_renamed(year_ledger_, FORMULAS), "=金溪镇", year)
    for path in (month, year):
        ws = load_workbook(path).worksheets[0]
        names = {c.value: c for c in ws["A"] if c.value in FORMULAS}
        assert set(names) == set(FORMULAS), path
        assert all(c.data_type == "s" and c.quotePrefix for c in names.values()), path
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row), path
    assert load_workbook(year).worksheets[0]["A1"].value.startswith("=金溪镇")
