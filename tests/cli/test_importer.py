"""`laba import` through click's CliRunner: the seed notice (text and .docx) against the shipped plan, another town's
notice laid out differently, re-import safety, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import docx
import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.config.campaign import Sources, load
from bot.config.yamlfile import read_yaml
from bot.core.model import Activity, PlanFile
from tests.notice.notices import (
    ROOT,
    SEED,
    add_paichusuo,
    qingshan_docx,
    qingshan_folder,
    seed_docx,
    seed_text,
)

SHIPPED = ROOT / "schedules" / "jinxi" / "plan-2024.yaml"


def laba(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def plan_of(path: Path) -> PlanFile:
    data = read_yaml(path).data
    for act in data["activities"]:
        act.setdefault("id", f"{data['year']}-{act['month']:02d}")  # as the loader does for the shipped plan
    return PlanFile.model_validate(data, context={"year": data["year"]})


def facts(activity: Activity) -> dict[str, Any]:
    """What the notice says about an activity: the fields the import must get exactly right."""
    return {
        "month": activity.month,
        "content": activity.content,
        "theme": activity.theme,
        "responsible": activity.responsible,
        "events": [(e.name, e.start, e.end, e.theme, e.id) for e in activity.events],
    }


@pytest.fixture
def town(jinxi: Sources) -> Sources:
    """The 金溪 folder without its 2024 plan: the import writes it anew."""
    (jinxi.schedules / "plan-2024.yaml").unlink()
    return jinxi


def _import_seed(town: Sources, notice: Path) -> Result:
    return laba("import", notice, "--schedules", town.schedules, "--messages", town.messages)


def _seed_as(form: str, folder: Path) -> Path:
    if form == "txt":
        return SEED
    source = seed_docx(folder / "通知.docx")
    if form == "docx":
        return source
    # An old-format Word file made by LibreOffice itself, the way a town's .doc would reach it.
    subprocess.run(
        ["soffice", "--headless", "--convert-to", form, "--outdir", str(folder), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "HOME": str(folder)},
    )
    return folder / f"通知.{form}"


NO_LIBREOFFICE = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")


@pytest.mark.parametrize("form", ["txt", "docx", pytest.param("doc", marks=NO_LIBREOFFICE)])
def test_the_seed_notice_gives_the_shipped_plan(town: Sources, tmp_path: Path, form: str) -> None:
    notice = _seed_as(form, tmp_path)
    result = _import_seed(town, notice)
    assert result.exit_code == 0, result.output
    assert "✓ 检查通过" in result.stdout
    written = town.schedules / "plan-2024.yaml"
    imported, shipped = plan_of(written), plan_of(SHIPPED)
    assert (imported.year, imported.title, imported.source) == (shipped.year, shipped.title, shipped.source)
    assert len(imported.activities) == len(shipped.activities) == 12
    for got, want in zip(imported.activities, shipped.activities, strict=True):
        assert facts(got) == facts(want), want.month
    knock = imported.activities[3]
    assert (
        knock.proof.items
        == shipped.activities[3].proof.items
        == ("宣传图片", "居民签字", "宣传资料（垃圾分类告知书、承诺书、宣传手册）")
    )
    assert [a.id for a in imported.activities][:2] == ["2024-01-xuexiguanche", "2024-02-shishangguonian"]
    assert laba("check", "--schedules", town.schedules, "--messages", town.messages).exit_code == 0


def test_the_draft_reads_as_a_clerk_would_write_it(town: Sources) -> None:
    assert _import_seed(town, SEED).exit_code == 0
    text = (town.schedules / "plan-2024.yaml").read_text(encoding="utf-8")
    assert text.startswith(
        "# 2024年金溪镇生活垃圾分类宣传活动月度计划表\n# 由 laba import 从通知《jinxi-2024.txt》生成"
    )
    assert "金溪府发〔2024〕51号、2024年4月22日印发" in text
    assert (
        "      # 方案（五）：宣传过程做到有宣传图片、有居民签字、有宣传资料（垃圾分类告知书、承诺书、宣传手册）\n"
        in text
    )
    assert "    responsible: [jinxi-school, wenhuazhan, xiangjian]\n" in text
    assert "        start: 5月20日          # 日期见方案正文（二）\n        end: 5月26日\n" in text


def test_reimport_shows_the_difference_and_changes_nothing_without_force(town: Sources) -> None:
    assert _import_seed(town, SEED).exit_code == 0
    written = town.schedules / "plan-2024.yaml"
    edited = written.read_text(encoding="utf-8").replace("title: 公共场所垃圾分类相关活动", "title: 公共场所活动")
    written.write_text(edited, encoding="utf-8")

    again = _import_seed(town, SEED)
    assert again.exit_code == 1
    assert "-    title: 公共场所活动\n+    title: 公共场所垃圾分类相关活动\n" in again.stdout
    assert "没有改动它" in again.stderr and "--force" in again.stderr
    assert written.read_text(encoding="utf-8") == edited

    forced = laba("import", SEED, "--schedules", town.schedules, "--messages", town.messages, "--force")
    assert forced.exit_code == 0, forced.output
    assert "title: 公共场所垃圾分类相关活动" in written.read_text(encoding="utf-8")
    same = _import_seed(town, SEED)
    assert same.exit_code == 0 and "没有改动" in same.stdout


def test_output_and_year_options(town: Sources, tmp_path: Path) -> None:
    out = tmp_path / "草稿" / "plan.yaml"
    result = laba(
        "import", SEED, "--schedules", town.schedules, "--messages", town.messages, "-o", out, "--year", "2025"
    )
    assert result.exit_code == 0, result.output
    plan = plan_of(out)
    assert plan.year == 2025 and plan.activities[5].events[0].start.year == 2025
    assert "命令行 --year 指定" in result.stdout
    assert not (town.schedules / "plan-2025.yaml").exists()


# --- another town, another layout ----------------------------------------------------------------------------


def test_another_towns_notice_imports_after_the_reported_units_are_fixed(tmp_path: Path, jinxi: Sources) -> None:
    folder = qingshan_folder(tmp_path / "qs")
    notice = qingshan_docx(tmp_path / "青山镇通知.docx")
    args = ("import", notice, "--schedules", folder, "--messages", jinxi.messages)

    first = laba(*args)
    assert first.exit_code == 2
    assert "发现 1 处错误" in first.stderr  # the month range is one row to fix, not two
    assert "计划表第4行 责任单位: units.yaml 里没有这个单位或单位集合（值：“镇派出所”）" in first.stderr
    assert not (folder / "plan-2025.yaml").exists()

    add_paichusuo(folder, with_group=False)
    second = laba(*args)
    assert second.exit_code == 1, second.output  # written, but the new unit can't receive anything yet
    assert "青山派出所 没有工作群也没有联系人" in second.stderr
    assert f"{folder / 'plan-2025.yaml'}:" in second.stderr

    add_paichusuo_group(folder)
    assert laba("check", "--schedules", folder, "--messages", jinxi.messages).exit_code == 0
    out = second.stdout
    assert "计划表第4行的责任单位“社会事务办”按最接近的 shehuishiwu（社会事务办公室） 填写，请确认" in out
    assert "计划表第4行“6—7月”拆成了 6月、7月 各一项活动" in out
    assert "5月有 2 项活动" in out
    assert "方案正文里的 11月9日“垃圾分类进万家”宣传日：计划表当月没有活动" in out

    plan = plan_of(folder / "plan-2025.yaml")
    assert [(a.month, a.content) for a in plan.activities] == [
        (3, "开展“学雷锋·清洁家园”志愿服务周活动"),
        (5, "开展“垃圾分类进校园”活动"),
        (5, "开展“清洁家园”入户宣传"),
        (6, "结合世界环境日，开展“美丽乡村”垃圾分类主题宣传"),
        (7, "结合世界环境日，开展“美丽乡村”垃圾分类主题宣传"),
        (9, "开展垃圾分类知识竞赛"),
        (12, "开展“垃圾分类·温暖过冬”活动"),
    ]
    assert len({a.id for a in plan.activities}) == 7
    by_month = {a.month: a for a in plan.activities}
    assert [a.responsible for a in plan.activities] == [
        ("cun", "bumen"),
        ("qingshan-school", "wenfu"),
        ("cun",),
        ("cun", "shehuishiwu", "paichusuo"),
        ("cun", "shehuishiwu", "paichusuo"),
        ("wenfu", "qingshan-school"),
        ("wenfu", "qingshan-school"),  # the units cell merged down from September
    ]
    volunteer = by_month[3].events[0]
    assert (volunteer.name, str(volunteer.start), str(volunteer.end), volunteer.theme) == (
        "“学雷锋·清洁家园”志愿服务周",
        "2025-03-05",
        "2025-03-11",
        "人人动手 清洁家园",
    )
    assert [e.name for e in plan.activities[1].events] == ["“垃圾分类进校园”开放日"]
    assert plan.activities[2].events == () and plan.activities[2].proof.items == ("入户照片", "签字台账")
    assert [(e.id, str(e.start)) for e in by_month[6].events] == [("huanjingri", "2025-06-05")]
    assert by_month[7].events == ()
    assert [(e.name, str(e.start)) for e in by_month[9].events] == [("垃圾分类知识竞赛决赛", "2025-09-20")]


def add_paichusuo_group(folder: Path) -> None:
    path = folder / "units.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "    kind: department\nunit_sets:",
            "    kind: department\n    groups:\n"
            "      - {id: paichusuo-work, name: 青山派出所工作群, kind: work}\nunit_sets:",
        ),
        encoding="utf-8",
    )


# --- bad input: a clear Chinese error, exit 2, nothing written -----------------------------------------------


def _nothing_written(town: Sources) -> bool:
    return sorted(p.name for p in town.schedules.iterdir()) == ["town.yaml", "units.yaml"]


def test_a_file_that_is_not_a_word_document(town: Sources, tmp_path: Path) -> None:
    fake = tmp_path / "通知.docx"
    fake.write_text(seed_text(), encoding="utf-8")
    result = _import_seed(town, fake)
    assert result.exit_code == 2
    assert f"{fake}: 不是 Word 文档（.docx），打不开" in result.stderr and "另存为 .docx" in result.stderr
    assert _nothing_written(town)


def test_a_document_without_a_plan_table(town: Sources, tmp_path: Path) -> None:
    document = docx.Document()
    for line in seed_text().split("\n")[:40]:
        if line.strip() and not line.startswith("\t"):
            document.add_paragraph(line.strip())
    document.add_table(rows=2, cols=2).cell(0, 0).text = "联系人"
    path = tmp_path / "只有正文.docx"
    document.save(str(path))
    result = _import_seed(town, path)
    assert result.exit_code == 2
    assert "通知里没有找到月度计划表" in result.stderr
    assert _nothing_written(town)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("\t12月\n", "\t13月\n"), "计划表第12行 时间: 没有13月，月份应在 1 到 12 之间（值：“13月”）"),
        (
            ("文化站、乡建中心、镇人民武装部", "文化站、乡建中心、镇消防队"),
            "计划表第8行 责任单位: units.yaml 里没有这个单位或单位集合（值：“镇消防队”）",
        ),
    ],
    ids=["month-13", "unknown-unit"],
)
def test_bad_rows_are_reported_with_their_place(
    town: Sources, tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "通知.txt"
    path.write_text(seed_text().replace(*change), encoding="utf-8")
    result = _import_seed(town, path)
    assert result.exit_code == 2
    assert f"{path} {message}" in result.stderr
    assert _nothing_written(town)


def test_an_old_word_file_without_libreoffice_names_the_package(town: Sources, tmp_path: Path) -> None:
    old = tmp_path / "通知.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    result = laba(
        "import", old, "--schedules", town.schedules, "--messages", town.messages, env={"PATH": str(empty_bin)}
    )
    assert result.exit_code == 2
    assert "读 .doc 文件要用 LibreOffice 转换，这台机器上没有安装" in result.stderr
    assert "libreoffice-writer" in result.stderr
    assert _nothing_written(town)


def test_a_missing_file_and_an_unknown_format(town: Sources, tmp_path: Path) -> None:
    missing = _import_seed(town, tmp_path / "没有.docx")
    assert missing.exit_code == 2 and "找不到这个文件" in missing.stderr
    pdf = tmp_path / "通知.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    unknown = _import_seed(town, pdf)
    assert unknown.exit_code == 2 and "不认识这种文件" in unknown.stderr
    assert _nothing_written(town)


def test_the_check_covers_the_towns_other_plans_as_laba_check_does(jinxi: Sources) -> None:
    plan_2024 = jinxi.schedules / "plan-2024.yaml"
    args = ("import", SEED, "--year", "2025", "--schedules", jinxi.schedules, "--messages", jinxi.messages)
    fine = laba(*args)
    assert fine.exit_code == 0, fine.output
    assert laba("check", "--schedules", jinxi.schedules, "--messages", jinxi.messages).exit_code == 0

    plan_2024.write_text(plan_2024.read_text(encoding="utf-8").replace("[jinxi-school,", "[jinxi-schol,"), "utf-8")
    again = laba(*args, "--force")
    assert again.exit_code == 1
    assert f"{plan_2024}:" in again.stderr and "jinxi-schol" in again.stderr


def test_reimporting_over_a_running_plan_keeps_its_activity_ids_so_nothing_is_sent_twice(jinxi: Sources) -> None:
    before = set(load(jinxi).plan.by_key())
    result = laba("import", SEED, "--schedules", jinxi.schedules, "--messages", jinxi.messages, "--force")
    assert result.exit_code == 0, result.output
    assert "现有计划文件里的 12 个活动编号照旧保留" in result.stdout
    assert [a.id for a in plan_of(jinxi.schedules / "plan-2024.yaml").activities] == [
        f"2024-{m:02d}" for m in range(1, 13)
    ]
    # The same delivery keys: the store's records of what was sent still match every job.
    assert set(load(jinxi).plan.by_key()) == before
