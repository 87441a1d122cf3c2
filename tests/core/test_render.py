"""Messages: Chinese dates and times, strict templates (errors name file and line), wording per group."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config.campaign import LoadedCampaign, Sources, load
from bot.config.templates import read_templates
from bot.core.planner import PlannedJob, Target
from bot.core.render import ProofFacts, Renderer, TemplateError, cn_date, cn_list, cn_range, cn_time, format_instant
from bot.core.workdays import WorkCalendar
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def loaded() -> LoadedCampaign:
    return load(Sources(ROOT / "schedules" / "jinxi", ROOT / "messages"))


def job(loaded: LoadedCampaign, key: str) -> PlannedJob:
    return loaded.plan.by_key()[key]


def target(j: PlannedJob, target_id: str) -> Target:
    return next(t for t in j.targets if t.id == target_id)


def render(loaded: LoadedCampaign, key: str, target_id: str, facts: ProofFacts | None = None) -> str:
    j = job(loaded, key)
    return loaded.renderer.render(j, target(j, target_id), facts or ProofFacts())


# --- filters ---------------------------------------------------------------------------------------------------


def test_cn_date() -> None:
    assert cn_date(date(2024, 5, 20)) == "5月20日（周一）"
    assert cn_date(date(2024, 12, 1)) == "12月1日（周日）"
    assert cn_date(datetime(2024, 5, 28, 18, tzinfo=SHANGHAI)) == "5月28日（周二）"


@pytest.mark.parametrize(
    ("hour", "minute", "said"),
    [
        (9, 0, "上午9点"),
        (10, 30, "上午10点30分"),
        (12, 0, "中午12点"),
        (15, 30, "下午3点30分"),
        (18, 0, "下午6点"),
        (20, 5, "晚上8点5分"),
        (5, 0, "凌晨5点"),
    ],
)
def test_cn_time(hour: int, minute: int, said: str) -> None:
    assert cn_time(datetime(2024, 5, 20, hour, minute, tzinfo=SHANGHAI)) == said


def test_cn_range_list_and_instant() -> None:
    assert cn_range(date(2024, 5, 20), date(2024, 5, 26)) == "5月20日（周一）至5月26日（周日）"
    assert cn_range(date(2024, 6, 1), None) == "6月1日（周六）"
    assert cn_range(date(2024, 6, 1), date(2024, 6, 1)) == "6月1日（周六）"
    assert cn_list(["长春村", "杉岭村"]) == "长春村、杉岭村"
    assert format_instant(datetime(2024, 5, 28, 18, tzinfo=SHANGHAI)) == "5月28日（周二）下午6点"


# --- strict templates --------------------------------------------------------------------------------------------


def test_unknown_variable_is_a_config_error_naming_the_template_and_line(jinxi: Sources) -> None:
    chase = jinxi.messages / "chase.j2"
    lines = chase.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "请联系{{ contact_phone }}。")
    chase.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(jinxi)
    (problem,) = info.value.problems
    assert problem.file == chase
    assert problem.line == 3
    assert "contact_phone" in problem.message
    assert problem.value == "2024-01/chase"  # the first job that hit it
    assert f"{chase}:3" in str(info.value)


def test_an_error_only_one_target_of_one_job_meets_is_found_at_load(jinxi: Sources) -> None:
    # The check renders every job for every target: a branch taken for one group of one month is not skipped
    # because the other groups and months render the same template without error.
    request = jinxi.messages / "proof_request.j2"
    text = request.read_text(encoding="utf-8")
    trap = "{% if target.id == 'changchun-work' and month == 5 %}{{ changchun_only }}{% endif %}"
    request.write_text(trap + text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(jinxi)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.value) == (request, 1, "2024-05/proof_request")
    assert "changchun_only" in problem.message


def test_unknown_attribute_in_a_loop_reports_its_line(jinxi: Sources) -> None:
    summary = jinxi.messages / "summary.j2"
    text = summary.read_text(encoding="utf-8")
    summary.write_text(text.replace("活动：{{ a.title }}", "活动：{{ a.titel }}"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(jinxi)
    (problem,) = info.value.problems
    assert problem.file == summary
    assert problem.line == 8
    assert "titel" in problem.message


def test_template_syntax_error_names_the_template_and_line(jinxi: Sources) -> None:
    remind = jinxi.messages / "remind.j2"
    lines = len(remind.read_text(encoding="utf-8").splitlines())
    remind.write_text(remind.read_text(encoding="utf-8") + "多写了一行\n{% if %}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(jinxi)
    (problem,) = info.value.problems
    assert problem.file == remind
    assert problem.line == lines + 2
    assert "语法" in problem.message


def test_missing_template_is_a_config_error(jinxi: Sources) -> None:
    (jinxi.messages / "summary.j2").unlink()
    with pytest.raises(ConfigError) as info:
        load(jinxi)
    assert [p.file for p in info.value.problems] == [jinxi.messages / "summary.j2"]


def test_renderer_raises_template_error_with_line(loaded: LoadedCampaign) -> None:
    renderer = Renderer({"announce.j2": "第一行\n第二行{{ activity.nope }}\n"}, loaded.campaign)
    j = job(loaded, "2024-05/announce")
    with pytest.raises(TemplateError) as info:
        renderer.render(j, j.targets[0], ProofFacts())
    assert (info.value.template, info.value.line) == ("announce.j2", 2)


def test_templates_are_sandboxed(loaded: LoadedCampaign) -> None:
    renderer = Renderer({"x.j2": "{{ town.__class__.__mro__ }}"}, loaded.campaign)
    with pytest.raises(TemplateError):
        renderer.render_named("x", {})


# --- the real messages -----------------------------------------------------------------------------------------


def test_summary_lists_missing_units_then_says_all_submitted(loaded: LoadedCampaign) -> None:
    may = job(loaded, "2024-05/announce").activity
    assert may is not None
    responsible = [u.id for u in loaded.campaign.responsible_units(may)]
    some = ProofFacts({"2024-05": frozenset(set(responsible) - {"changchun", "ent-shunda"})})
    text = render(loaded, "2024-05/summary", "jinxi-office", some)
    assert "【2024年5月垃圾分类宣传工作汇总】" in text
    assert "责任单位 16 个，已交材料 14 个，未交 2 个。" in text
    assert "未交：长春村、金溪镇顺达物流站。" in text
    assert "请督促未交单位尽快补交。" in text
    assert "全部单位都已提交" not in text
    # Each activity with its own due date.
    assert "活动：全国城市生活垃圾分类宣传周（材料截止5月28日（周二）下午6点）" in text

    everyone = ProofFacts({"2024-05": frozenset(responsible)})
    done = render(loaded, "2024-05/summary", "jinxi-office", everyone)
    assert "全部单位都已提交。" in done
    assert "未交：" not in done and "督促" not in done

    nothing = render(loaded, "2024-05/summary", "jinxi-office")
    assert "已交材料 0 个，未交 16 个" in nothing


def test_villagers_and_work_groups_get_different_wording(loaded: LoadedCampaign) -> None:
    public = render(loaded, "2024-05/announce", "changchun-villagers")
    work = render(loaded, "2024-05/proof_request", "changchun-work")
    assert public.startswith("【金溪镇垃圾分类宣传】村民朋友们好！")
    assert "活动主题是“践行新时尚 分类志愿行”。" in public and "今年的主题" not in public
    assert "5月20日（周一）至5月26日（周日）" in public
    assert "责任单位" not in public and "照片" not in public
    assert "可以在群里问村里的干部" in public and "村（社区）" not in public
    assert work.startswith("【5月垃圾分类宣传工作安排】长春村：")
    assert "责任单位：各村（社区）、镇级各部门、相关民营企业。" in work
    assert "请在5月28日（周二）下午6点前把宣传周活动照片发到本群，照片不少于2张，请拍清楚活动现场。" in work
    assert "朋友们" not in work


def test_a_unit_reached_privately_is_never_told_to_post_in_the_group(loaded: LoadedCampaign) -> None:
    contact = job(loaded, "2024-05/proof_request").targets[0].mentions[0]
    j = job(loaded, "2024-05/proof_request")
    text = loaded.renderer.render(j, contact, ProofFacts())
    assert "直接发给我" in text and "本群" not in text


def test_titles_in_quotes_are_never_quoted_twice(loaded: LoadedCampaign) -> None:
    chase = render(loaded, "2024-04/chase", "changchun-work")
    assert "4月“敲门行动”入户宣传的佐证材料还没有收到" in chase
    assert "““" not in chase and "””" not in chase


def test_communities_say_jumin_and_villages_say_cunmin(loaded: LoadedCampaign) -> None:
    for key in ("2024-05/announce", "2024-05/remind/xuanchuanzhou"):
        community = render(loaded, key, "jinxi-shequ-villagers")
        village = render(loaded, key, "shanling-villagers")
        assert "居民朋友们" in community and "村民" not in community
        assert "村民朋友们" in village and "居民" not in village


def test_remind_wording(loaded: LoadedCampaign) -> None:
    public = render(loaded, "2024-05/remind/xuanchuanzhou", "changchun-villagers")
    work = render(loaded, "2024-05/remind/xuanchuanzhou/units", "changchun-work")
    assert "5月20日（周一）起是第二届全国城市生活垃圾分类宣传周，到5月26日（周日）结束。" in public
    assert work.startswith(
        "【提醒】长春村：第二届全国城市生活垃圾分类宣传周将于5月20日（周一）开始，到5月26日（周日）结束，主题是"
    )
    single_day = render(loaded, "2024-06/remind/liuyi", "changchun-villagers")
    assert "6月1日（周六）是六一儿童节。" in single_day and "结束" not in single_day


def test_proof_request_uses_the_activity_minimum_photos(loaded: LoadedCampaign) -> None:
    april = render(loaded, "2024-04/proof_request", "changchun-work")
    assert "照片不少于3张" in april  # plan: min_photos 3 in April
    assert "宣传图片、居民签字、宣传资料（垃圾分类告知书、承诺书、宣传手册）" in april
    may = render(loaded, "2024-05/proof_request", "changchun-work")
    assert "照片不少于2张" in may  # town default
    assert "\n\n\n" not in may and not may.endswith("\n")


def test_a_makeup_working_day_says_so() -> None:
    """Issue 10 L1: 2025-01-26 is a Sunday worked for 春节 (调休): a due date on it must not look like a slip."""
    calendar = WorkCalendar()
    assert cn_date(date(2025, 1, 26), calendar) == "1月26日（周日，调休上班）"
    assert cn_date(date(2025, 1, 25), calendar) == "1月25日（周六）"  # an ordinary weekend
    assert cn_date(date(2025, 1, 27), calendar) == "1月27日（周一）"


def test_renderers_share_compiled_templates_but_each_renders_its_own_source(loaded: LoadedCampaign) -> None:
    """A template compiled for one plan load is reused by the next only while its source is the same: an edited
    template (same name) renders the edit, and the first renderer keeps rendering what it was given."""
    first = Renderer({"shared_probe.j2": "旧：{{ town.name }}"}, loaded.campaign)
    assert first.render_named("shared_probe", {}) == f"旧：{loaded.campaign.town.name}"
    same = Renderer({"shared_probe.j2": "旧：{{ town.name }}"}, loaded.campaign)
    assert same.render_named("shared_probe", {}) == f"旧：{loaded.campaign.town.name}"
    edited = Renderer({"shared_probe.j2": "新：{{ town.name }}{{ nope }}"}, loaded.campaign)
    with pytest.raises(TemplateError) as info:  # the edit's own error, with its line: not the old template's code
        edited.render_named("shared_probe", {})
    assert info.value.line == 1
    again = Renderer({"shared_probe.j2": "新：{{ town.name }}\n{{ nope }}"}, loaded.campaign)
    for renderer in (again, Renderer({"shared_probe.j2": "新：{{ town.name }}\n{{ nope }}"}, loaded.campaign)):
        with pytest.raises(TemplateError) as info:  # compiled, then reused: the line is still found
            renderer.render_named("shared_probe", {})
        assert info.value.line == 2
    fixed = Renderer({"shared_probe.j2": "新：{{ town.name }}"}, loaded.campaign)
    assert fixed.render_named("shared_probe", {}) == f"新：{loaded.campaign.town.name}"
    assert first.render_named("shared_probe", {}) == f"旧：{loaded.campaign.town.name}"


def test_a_job_rendered_for_target_after_target_and_facts_after_facts_gives_what_a_fresh_renderer_gives(
    loaded: LoadedCampaign,
) -> None:
    """The renderer keeps a job's shared part for its next target: never for another job or other facts."""
    c = loaded.campaign
    templates = read_templates(ROOT / "messages")
    may = job(loaded, "2024-05/announce").activity
    assert may is not None
    responsible = [u.id for u in c.responsible_units(may)]
    some = ProofFacts({"2024-05": frozenset(responsible[:3])})
    everyone = ProofFacts({"2024-05": frozenset(responsible)})
    keys = ("2024-05/summary", "2024-05/proof_request", "2024-05/announce", "2024-04/proof_request")
    texts: dict[tuple[str, str], set[str]] = {}
    for facts in (ProofFacts(), some, everyone, some):
        for key in keys:
            j = job(loaded, key)
            for t in j.targets[:4]:
                once = loaded.renderer.render(j, t, facts)
                assert once == Renderer(templates, c).render(j, t, facts)
                texts.setdefault((key, t.id), set()).add(once)
    # What is compared changes: one job's text with the targets, and a target's text with the facts.
    assert len({next(iter(seen)) for (key, _), seen in texts.items() if key == "2024-05/proof_request"}) > 1
    assert len(texts["2024-05/summary", job(loaded, "2024-05/summary").targets[0].id]) == 3
