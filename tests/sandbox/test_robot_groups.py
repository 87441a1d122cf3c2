"""Which groups the sandbox shows on robots: every town gets its WeCom and DingTalk examples (docs/沙盒.md)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config.campaign import Sources, load
from bot.sandbox import robot_groups
from tests.townmaker import write_town


def test_jinxi_shows_both_robots(jinxi: Sources) -> None:
    chosen = robot_groups(load(jinxi).campaign)
    assert sorted(chosen.values()).count("wecom") == 2  # the last village's 村民群 and 工作群
    assert list(chosen.values()).count("dingtalk") == 1


def test_a_last_unit_without_groups_still_leaves_a_dingtalk_group(jinxi: Sources, tmp_path: Path) -> None:
    # The outsider's town ended with an enterprise reached only privately: the page then showed no DingTalk group.
    folder = write_town(tmp_path / "town", seed=3)
    units = yaml.safe_load((folder / "units.yaml").read_text(encoding="utf-8"))
    units["units"].append(
        {
            "id": "jiancai",
            "name": "建材公司",
            "kind": "enterprise",
            "contacts": [{"id": "jiancai-gao", "name": "高经理", "wechat": "gao-jc"}],
        }
    )
    (folder / "units.yaml").write_text(yaml.safe_dump(units, allow_unicode=True), encoding="utf-8")
    campaign = load(Sources(folder, jinxi.messages)).campaign
    dingtalk = [gid for gid, kind in robot_groups(campaign).items() if kind == "dingtalk"]
    assert dingtalk == ["chaoshi-work"]
