from __future__ import annotations

from datetime import date

from bot.notice.dates import event_id, known_days, written_dates


def test_well_known_days_in_order_of_mention_with_lunar_ones_for_that_year() -> None:
    found = known_days("结合春节、六一儿童节和国庆，开展中秋活动", 2025)
    assert [(e.id, e.name, e.start) for e in found] == [
        ("chunjie", "春节", date(2025, 1, 29)),
        ("liuyi", "六一儿童节", date(2025, 6, 1)),
        ("guoqing", "国庆节", date(2025, 10, 1)),
        ("zhongqiu", "中秋节", date(2025, 10, 6)),
    ]
    assert known_days("春节", 2026)[0].start == date(2026, 2, 17)
    assert found[0].note == "春节按2025年农历推算"
    # 六一 inside 六一儿童节 is the same day, mentioned once.
    assert [e.id for e in known_days("六一儿童节（六一）", 2025)] == ["liuyi"]


def test_written_dates_make_events_and_deadlines_do_not() -> None:
    text = (
        "5月20日—26日开展第二届全国城市生活垃圾分类宣传周，以“践行新时尚 分类志愿行”为主题，加大宣传。"
        "各单位于5月30日前报送总结。2024年4月22日印发。"
    )
    (week,) = written_dates(text, 2024, "正文")
    assert (week.id, week.name, week.start, week.end, week.theme) == (
        "xuanchuanzhou",
        "第二届全国城市生活垃圾分类宣传周",
        date(2024, 5, 20),
        date(2024, 5, 26),
        "践行新时尚 分类志愿行",
    )


def test_a_dotted_date_in_quotes_names_its_event_a_week_of_seven_days_without_the_ceremony_held_with_it() -> None:
    (ev,) = written_dates("开展“3.19”城市管理服务主题周暨誓师大会启动仪式活动、垃圾分类宣传活动", 2024, "")
    assert (ev.id, ev.name, ev.start, ev.end) == (
        "zhutizhou-319",
        "“3.19”城市管理服务主题周",
        date(2024, 3, 19),
        date(2024, 3, 25),
    )


def test_an_impossible_date_is_no_event() -> None:
    assert written_dates("2月30日开展宣传活动。", 2025, "") == []


def test_event_ids_are_pinyin_of_the_kind_word() -> None:
    assert event_id("第二届全国城市生活垃圾分类宣传周", date(2024, 5, 20)) == "xuanchuanzhou"
    assert event_id("垃圾分类知识竞赛决赛", date(2024, 9, 20)) == "jingsai"
    assert event_id("绿色出行", date(2024, 9, 22)) == "lvsechuxing"
