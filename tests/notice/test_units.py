from __future__ import annotations

import pytest

from bot.config.yamlfile import read_yaml
from bot.core.model import UnitsFile
from bot.notice.units import How, UnitMatcher, split_units
from tests.notice.notices import ROOT


@pytest.fixture(scope="module")
def matcher() -> UnitMatcher:
    units = UnitsFile.model_validate(read_yaml(ROOT / "schedules" / "jinxi" / "units.yaml").data)
    return UnitMatcher(units, ("黔江区金溪镇人民政府", "金溪镇", "金溪"))


@pytest.mark.parametrize(
    ("name", "ref", "how"),
    [
        ("各村（社区）", "villages", How.EXACT),
        ("各村(社区)", "villages", How.EXACT),
        ("各村（居）委", "villages", How.ALIAS),
        ("镇属各部门", "departments", How.ALIAS),
        ("相关民营企业", "enterprises", How.EXACT),
        ("金溪中心校", "jinxi-school", How.EXACT),
        ("中心校", "jinxi-school", How.ALIAS),
        ("金溪镇文化站", "wenhuazhan", How.ALIAS),
        ("镇文化站", "wenhuazhan", How.ALIAS),
        ("武装部", "wuzhuangbu", How.ALIAS),
        ("社会事务办", "shehuishiwu", How.NEAR),
        ("镇派出所", None, How.NONE),
    ],
)
def test_names_match_sets_and_units(matcher: UnitMatcher, name: str, ref: str | None, how: How) -> None:
    m = matcher.match(name)
    assert (m.ref, m.how) == (ref, how)


def test_a_near_match_says_what_it_chose(matcher: UnitMatcher) -> None:
    m = matcher.match("综合执法大队")
    assert m.how in (How.ALIAS, How.NEAR) and m.ref == "zhifadui"
    assert matcher.match("社会事务办").label == "shehuishiwu（社会事务办公室）"


def test_unit_lists_split_outside_brackets_and_drop_role_notes() -> None:
    assert split_units("各村（社区）、镇级各部门，文化站（牵头） 乡建中心") == [
        "各村（社区）",
        "镇级各部门",
        "文化站",
        "乡建中心",
    ]
