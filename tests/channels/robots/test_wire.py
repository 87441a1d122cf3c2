"""The pure parts: telling the kind from the address, masking, reading answers, splitting long text."""

from __future__ import annotations

import pytest

from bot.channels.robots import RobotConfig, RobotRefused, kind_of, mask
from bot.channels.robots.wire import RobotThrottled, check_answer, split_text
from bot.errors import DeliveryError


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx", "wecom"),
        ("https://zwwx.example.gov.cn/cgi-bin/webhook/send?key=abc", "wecom"),  # 政务微信: another host
        ("https://oapi.dingtalk.com/robot/send?access_token=8d2e", "dingtalk"),
        ("https://openplatform.dg-work.cn/robot/send?access_token=x", "dingtalk"),  # 专有钉钉
        ("http://127.0.0.1:8080/robot/send?access_token=x", "dingtalk"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", None),  # no key
        ("qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", None),  # no scheme
        ("https://example.cn/hook?key=abc", None),
    ],
)
def test_kind_from_the_address_path(url: str, kind: str | None) -> None:
    assert kind_of(url) == kind


def test_secrets_are_masked_everywhere() -> None:
    assert mask("SECabcdef1234") == "****1234" and mask("abc") == "****"
    config = RobotConfig(
        "g", "https://oapi.dingtalk.com/robot/send?access_token=tok0123456789", "dingtalk", "SECxyz9876"
    )
    assert config.masked_webhook.endswith("access_token=****6789")
    assert "tok0123456789" not in repr(config) and "SECxyz9876" not in repr(config)


def test_answers() -> None:
    assert check_answer("wecom", "g", {"errcode": 0, "errmsg": "ok"})["errcode"] == 0
    with pytest.raises(RobotThrottled):
        check_answer("wecom", "g", {"errcode": 45009, "errmsg": "api freq out of limit"})
    with pytest.raises(RobotThrottled):
        check_answer("dingtalk", "g", {"errcode": 130101, "errmsg": "send too fast"})
    with pytest.raises(RobotRefused) as refused:
        check_answer("dingtalk", "g", {"errcode": 310000, "errmsg": "keywords not in content"})
    assert "关键词" in refused.value.problem.fix and refused.value.permanent
    with pytest.raises(DeliveryError) as busy:
        check_answer("wecom", "g", {"errcode": -1, "errmsg": "system busy"})
    assert not busy.value.permanent
    with pytest.raises(DeliveryError) as odd:
        check_answer("wecom", "g", "<html>")
    assert odd.value.uncertain


def test_split_prefers_paragraphs_then_lines_then_characters() -> None:
    assert split_text("短消息", 2048) == ["短消息"]
    paragraphs = ["甲" * 300, "乙" * 300, "丙" * 300]  # 900 bytes each
    assert split_text("\n\n".join(paragraphs), 2048) == ["甲" * 300 + "\n\n" + "乙" * 300, "丙" * 300]
    lines = "\n".join(["丁" * 400] * 3)  # one paragraph of three 1200-byte lines
    assert split_text(lines, 2048) == ["丁" * 400, "丁" * 400, "丁" * 400]
    one_line = "戊" * 1000  # 3000 bytes, no break at all
    parts = split_text(one_line, 2048)
    assert "".join(parts) == one_line and all(len(p.encode()) <= 2048 for p in parts)


def test_the_package_names_come_from_their_modules_and_an_unknown_one_is_refused() -> None:
    # `bot.channels.robots` imports a module when one of its names is first asked for (PEP 562).
    import bot.channels.robots as robots
    from bot.channels.robots.wire import RobotRefused as from_module

    assert robots.RobotRefused is from_module
    with pytest.raises(AttributeError, match="no attribute 'Robot'"):
        _ = robots.Robot
