"""A second town written the way a clerk who has only read the README would write it, varied by a seed.

Two activities in some months, events inside 春节 and 国庆 and across a month boundary, a due date on a 调休
Sunday and one in the next month, units reached only privately, long and similar titles, emoji and full-width
group names. Used by the wording tests: whatever the seed, the town must pass `check` and read right all year.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

TOWNS = [("huaxi", "花溪镇"), ("qingshan", "青山镇"), ("baishui", "白水镇")]
VILLAGES = ["桃源村", "石桥村", "柏林村", "龙潭村", "新华村", "红星村"]
LONG = "垃圾分类进村入户宣传活动暨农村人居环境整治“清洁家园”专项行动"


def _village(i: int, name: str, *, operator: bool, full_width: bool) -> dict[str, Any]:
    ident = f"cun{i}"
    topic = f"{name}村民群（一组）" if full_width else f"{name}村民群🌾"
    unit: dict[str, Any] = {
        "id": ident,
        "name": name,
        "kind": "village",
        "groups": [
            {"id": f"{ident}-villagers", "name": topic, "kind": "villagers"},
            {"id": f"{ident}-work", "name": f"{name}两委工作群", "kind": "work"},
        ],
        "contacts": [{"id": f"{ident}-shuji", "name": f"书记{i}", "wechat": f"shuji-{ident}"}],
    }
    if operator:
        unit["broadcast_operator"] = {"id": f"{ident}-gb", "name": f"广播员{i}", "wechat": f"gb-{ident}"}
    return unit


def units_yaml(rng: random.Random) -> dict[str, Any]:
    names = rng.sample(VILLAGES, 4)
    units = [_village(i, n, operator=True, full_width=i % 2 == 0) for i, n in enumerate(names)]
    units.append(
        {
            "id": "shequ",
            "name": "集镇社区",
            "kind": "community",
            "groups": [
                {"id": "shequ-villagers", "name": "集镇社区居民群🏠", "kind": "villagers"},
                {"id": "shequ-work", "name": "集镇社区工作群", "kind": "work"},
            ],
            "contacts": [{"id": "shequ-zhuren", "name": "社区主任", "wechat": "shequ-zr"}],
            "broadcast_operator": {"id": "shequ-gb", "name": "社区广播员", "wechat": "shequ-gb"},
        }
    )
    units.append(
        {
            "id": "office",
            "name": "党政办",
            "kind": "department",
            "groups": [
                {"id": "town-office", "name": "垃圾分类专班群", "kind": "office"},
                {"id": "office-work", "name": "党政办工作群", "kind": "work"},
            ],
            "contacts": [{"id": "office-zhuanban", "name": "专干", "wechat": "zhuanban"}],
        }
    )
    # Reached only privately: no group at all.
    units.append(
        {
            "id": "huanbao",
            "name": "生态环境办",
            "kind": "department",
            "contacts": [{"id": "huanbao-zhuren", "name": "环保办主任", "wechat": "hb-zr"}],
        }
    )
    units.append(
        {
            "id": "xuexiao",
            "name": "中心小学",
            "kind": "school",
            "contacts": [{"id": "xuexiao-deyu", "name": "德育主任", "wechat": "xx-dy"}],
        }
    )
    units.append(
        {
            "id": "chaoshi",
            "name": "便民超市",
            "kind": "enterprise",
            "groups": [{"id": "chaoshi-work", "name": "便民超市🛒联络群", "kind": "work"}],
            "contacts": [{"id": "chaoshi-dianzhang", "name": "店长", "wechat": "cs-dz"}],
        }
    )
    sets = [
        {"id": "cun-shequ", "name": "各村（社区）", "kinds": ["village", "community"]},
        {"id": "bumen", "name": "镇级各部门", "kinds": ["department"]},
    ]
    return {"units": units, "unit_sets": sets}


def _activity(month: int, title: str, **more: Any) -> dict[str, Any]:
    return {"month": month, "title": title, "content": f"开展{title}。", **more}


def plan_yaml(rng: random.Random) -> dict[str, Any]:
    everyone = ["cun-shequ", "bumen", "chaoshi"]
    acts = [
        _activity(
            1,
            "“垃圾分类·文明过年”活动",
            responsible=everyone,
            # inside 春节 (1月28日–2月4日) and across the month boundary
            events=[{"id": "chunjie", "name": "春节期间垃圾分类宣传", "start": "1月28日", "end": "2月4日"}],
        ),
        _activity(
            2,
            "元宵节垃圾分类宣传",
            responsible=["cun-shequ"],
            events=[{"id": "yuanxiao", "name": "元宵节", "start": "2月12日"}],
        ),
        _activity(3, "“3.5”学雷锋志愿服务", responsible=everyone, proof={"min_photos": 3}),
        _activity(
            4,
            "劳动节前后环境整治",
            responsible=["cun-shequ", "bumen"],
            events=[{"id": "laodong", "name": "劳动节环境整治周", "start": "4月28日", "end": "5月3日"}],
        ),
        _activity(
            5,
            "全国城市生活垃圾分类宣传周",
            theme="践行新时尚 分类志愿行",
            responsible=everyone,
            events=[
                {
                    "id": "xuanchuanzhou",
                    "name": "全国城市生活垃圾分类宣传周",
                    "start": "5月19日",
                    "end": "5月25日",
                    "theme": "践行新时尚 分类志愿行",
                }
            ],
            proof={"due": "5月28日"},
        ),
        _activity(
            6,
            "“小手拉大手”进校园",
            responsible=["xuexiao", "huanbao"],
            events=[{"id": "liuyi", "name": "六一儿童节", "start": "6月1日"}],
        ),
        _activity(7, "主题党日垃圾分类", responsible=everyone),
        _activity(8, "机关单位垃圾分类", responsible=["bumen"]),
        # due on 9月28日, a Sunday that is a 调休 workday
        _activity(9, "开学季“给家长的一封信”", responsible=["xuexiao"], proof={"due": "9月28日"}),
        _activity(
            10,
            "国庆假期景区垃圾分类",
            responsible=everyone,
            events=[{"id": "guoqing", "name": "国庆假期宣传", "start": "10月1日", "end": "10月7日"}],
        ),
        # proof due in the next month: a final tally after it
        _activity(11, "垃圾分类“九进”宣传", responsible=everyone, proof={"due": "12月5日"}),
        _activity(12, "公共场所垃圾分类", responsible=everyone),
    ]
    # Two activities in some months, with long and similar titles (same first 30 characters).
    for month in rng.sample([3, 7, 8, 12], 2):
        acts.append(_activity(month, LONG + "（第一阶段）", id=f"2025-{month:02d}-a", responsible=["cun-shequ"]))
        acts.append(
            _activity(
                month,
                LONG + "（第二阶段）",
                id=f"2025-{month:02d}-b",
                responsible=["cun-shequ", "huanbao"],
                events=[{"id": "jieduan", "name": "第二阶段集中行动日", "start": f"{month}月20日"}],
            )
        )
    rng.shuffle(acts)
    return {"year": 2025, "title": "2025年生活垃圾分类宣传计划", "activities": acts}


def town_yaml(rng: random.Random) -> dict[str, Any]:
    ident, name = rng.choice(TOWNS)
    return {
        "town": {"id": ident, "name": name, "timezone": "Asia/Shanghai"},
        "office_group": "town-office",
        "admins": [{"id": "admin-zhuanban", "name": "专干", "wechat": "admin-zb"}],
    }


def write_town(folder: Path, seed: int) -> Path:
    """Writes town.yaml, units.yaml and plan-2025.yaml into `folder` (created); returns it."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (
        ("town.yaml", town_yaml(rng)),
        ("units.yaml", units_yaml(rng)),
        ("plan-2025.yaml", plan_yaml(rng)),
    ):
        (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder
