"""What both robot APIs share: reading an answer, telling a refusal from a throttle, splitting long text.

Pure: no I/O. Every error names the group and never the robot's key or secret whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.errors import DeliveryError

RobotKind = Literal["wecom", "dingtalk"]

KIND_CN: Mapping[RobotKind, str] = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人"}

# The codes that mean "too fast, try again later"; the server did not post the message.
RATE_CODES: Mapping[RobotKind, frozenset[int]] = {"wecom": frozenset({45009}), "dingtalk": frozenset({130101})}
# "System busy": not posted, worth another try by the pipeline.
BUSY_CODES: frozenset[int] = frozenset({-1})

# What a clerk has to do about each permanent code, in the words of the group's settings page.
_FIXES: Mapping[tuple[RobotKind, int], str] = {
    (
        "wecom",
        93000,
    ): "机器人地址无效：机器人可能已被移出群，或地址抄错了。请在群设置里重新复制机器人地址，填进 robots.yaml",
    ("wecom", 40058): "消息太长，超过了企业微信的限制（这是程序的问题，请告诉维护人员）",
    ("wecom", 40008): "消息类型不对（这是程序的问题，请告诉维护人员）",
    ("wecom", 40007): "文件上传后失效了，请重发",
    ("dingtalk", 300001): "机器人地址里的 access_token 不存在：机器人可能已被删除，或地址抄错了。请重新复制机器人地址",
    ("dingtalk", 400013): "机器人已停用或不在群里。请在钉钉群设置 → 智能群助手里检查机器人",
    ("dingtalk", 400101): "机器人已停用或不在群里。请在钉钉群设置 → 智能群助手里检查机器人",
}


def mask(secret: str) -> str:
    """All but the last 4 characters hidden: enough to tell two keys apart, useless to post with."""
    return "****" + secret[-4:] if len(secret) > 4 else "****"


def fix_for(kind: RobotKind, code: int, errmsg: str) -> str:
    """The clerk's fix for a permanent refusal."""
    if (kind, code) in _FIXES:
        return _FIXES[(kind, code)]
    if kind == "dingtalk" and code == 310000:
        if "keyword" in errmsg:
            return "消息里没有机器人设置的自定义关键词：请在 robots.yaml 里把 keyword 写成钉钉机器人安全设置里的关键词"
        if "ip" in errmsg:
            return "服务器的 IP 不在机器人的 IP 白名单里：请在钉钉机器人安全设置里加上，或改用加签"
        return "加签不对：请把钉钉机器人安全设置里“加签”的密钥（SEC 开头）填进 robots.yaml 的 secret"
    return f"请检查群里的机器人设置（错误码 {code}：{errmsg}）"


@dataclass(frozen=True)
class RobotProblem:
    """A permanent refusal, said so the admins can fix it: which group, which robot, what to do."""

    group: str
    kind: RobotKind
    code: int
    errmsg: str
    fix: str


class RobotRefused(DeliveryError):
    """The robot's server answered and refused for good (bad address, signature, keyword, disabled robot).

    Certainly not posted. Carries the problem for the admins' alert."""

    def __init__(self, problem: RobotProblem) -> None:
        super().__init__(
            f"{KIND_CN[problem.kind]}（群 {problem.group}）拒绝了消息：错误码 {problem.code} {problem.errmsg}；"
            f"{problem.fix}",
            permanent=True,
        )
        self.problem = problem


class RobotThrottled(DeliveryError):
    """The server said "too fast" (not posted): wait and try again."""

    def __init__(self, group: str, code: int) -> None:
        super().__init__(f"群 {group} 的机器人发送太频繁（错误码 {code}），稍后重试")
        self.code = code


def check_answer(kind: RobotKind, group: str, answer: Any) -> dict[str, Any]:
    """The answer if errcode is 0; raises RobotThrottled, a transient DeliveryError (busy) or RobotRefused.

    Any answer carrying an errcode means the server did not post the message, so none of these is uncertain."""
    if not isinstance(answer, dict) or not isinstance(answer.get("errcode"), int):
        raise DeliveryError(f"群 {group} 的机器人回答看不懂，不知道发出去没有：{str(answer)[:200]}", uncertain=True)
    code: int = answer["errcode"]
    if code == 0:
        return answer
    errmsg = str(answer.get("errmsg", ""))
    if code in RATE_CODES[kind]:
        raise RobotThrottled(group, code)
    if code in BUSY_CODES:
        raise DeliveryError(f"群 {group} 的机器人服务忙（错误码 {code}：{errmsg}），稍后重试")
    raise RobotRefused(RobotProblem(group, kind, code, errmsg, fix_for(kind, code, errmsg)))


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` UTF-8 bytes, cut at paragraph breaks, else line breaks, else characters.

    No part is empty or only whitespace; the line breaks at a cut are dropped (each part is its own message)."""
    if len(text.encode("utf-8")) <= limit:
        return [text]
    parts: list[str] = []
    for paragraph in _pieces(text, "\n\n", limit):
        for line in _pieces(paragraph, "\n", limit):
            parts.extend(_hard_cut(line, limit))
    return _merge(parts, limit)


def _pieces(text: str, sep: str, limit: int) -> list[str]:
    if len(text.encode("utf-8")) <= limit:
        return [text]
    chunks = text.split(sep)
    return [c + sep for c in chunks[:-1]] + [chunks[-1]]


def _hard_cut(text: str, limit: int) -> list[str]:
    out: list[str] = []
    current = ""
    size = 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size = "", 0
        current += ch
        size += n
    if current:
        out.append(current)
    return out


def _merge(parts: list[str], limit: int) -> list[str]:
    """Greedily join adjacent pieces back while they fit, so a long text isn't sent as dozens of lines."""
    out: list[str] = []
    for part in parts:
        if out and len((out[-1] + part).encode("utf-8")) <= limit:
            out[-1] += part
        elif part:
            out.append(part)
    return [p.strip("\n") or p for p in out if p.strip()]
