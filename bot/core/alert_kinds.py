"""Every kind of alert to the admins, as one typed value each: its `messages/` template and the variables its
sender passes (with sample values, which `laba check` renders each template with).

An `Alert` is one occurrence: a kind, the key the store dedups it by (one alert per key, across restarts and
runners) and its variables, checked against the kind's names when it is made, so a sender and the template can't
drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

_SAMPLE_AT: Final = datetime(2024, 5, 20, 9, tzinfo=UTC)


@dataclass(frozen=True)
class AlertKind:
    template: str
    # The variables the template is given, with sample values; every alert of this kind passes exactly these names.
    sample: Mapping[str, Any]

    def __call__(self, key: str, **variables: Any) -> Alert:
        """One alert of this kind under `key`. ValueError when the variables are not exactly the kind's."""
        return Alert(self, key, variables)


@dataclass(frozen=True, eq=False)
class Alert:
    kind: AlertKind
    key: str
    variables: Mapping[str, Any]

    def __post_init__(self) -> None:
        given, wanted = set(self.variables), set(self.kind.sample)
        if given != wanted:
            raise ValueError(
                f"alert {self.kind.template} ({self.key}) must pass the variables {sorted(wanted)}, "
                f"got: {sorted(given)}"
            )


MISSED: Final = AlertKind(
    "alert_missed",
    {"jobs": [{"at": _SAMPLE_AT, "label": "示例", "targets": 1, "names": ["示例群"]}], "grace_minutes": 60},
)
PLAN_ERROR: Final = AlertKind("alert_plan_error", {"problems": ["示例"]})
UNCONFIRMED: Final = AlertKind("alert_unconfirmed", {"deliveries": [{"label": "示例", "target": "示例群"}]})
FAILED: Final = AlertKind("alert_failed", {"attempts": 3, "label": "示例", "target": "示例群", "error": "示例"})
AUDIO_FAILED: Final = AlertKind(
    "alert_audio_failed", {"label": "示例", "target": "示例广播员", "error": "示例", "script": "示例广播稿。"}
)
TTS_FALLBACK: Final = AlertKind("alert_tts_fallback", {"engine": "espeak-ng", "error": "示例", "label": "示例"})
WECHAT_LOGOUT: Final = AlertKind("alert_wechat_logout", {"account": "大喇叭", "reason": "已在其他设备登录"})
WECHAT_DOWN: Final = AlertKind(
    "alert_wechat_down", {"minutes": 10, "endpoint": "127.0.0.1:8788", "error": "Connection refused"}
)
WECHAT_THROTTLED: Final = AlertKind("alert_wechat_throttled", {"notice": "发送消息过于频繁", "pause_minutes": 10})
ROBOT_FAILED: Final = AlertKind(
    "alert_robot_failed", {"group": "示例群", "robot": "企业微信群机器人", "code": 93000, "fix": "示例"}
)

ALERT_KINDS: Final = (
    MISSED,
    PLAN_ERROR,
    UNCONFIRMED,
    FAILED,
    AUDIO_FAILED,
    TTS_FALLBACK,
    WECHAT_LOGOUT,
    WECHAT_DOWN,
    WECHAT_THROTTLED,
    ROBOT_FAILED,
)
# By template name: how an alert kept in the store (by its template's name) is known again after a restart.
BY_TEMPLATE: Final[Mapping[str, AlertKind]] = {kind.template: kind for kind in ALERT_KINDS}
