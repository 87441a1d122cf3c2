"""The answers to chat commands and proof, as templates in `messages/`: their names and the sample variables
`laba check` renders each with (so a clerk's edit that breaks one is caught before the daemon would need it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from bot.core.model import Campaign, UnitKind

_SAMPLE_AT: Final = datetime(2024, 5, 20, 9, tzinfo=UTC)

SAMPLES: Final[dict[str, dict[str, Any]]] = {
    "command_refused": {"name": "村民", "command": "状态"},
    "admin_help": {"example_unit": "示例村"},
    "admin_hold": {"admin": "管理员", "already": False},
    "admin_resume": {"admin": "管理员", "already": False},
    "admin_plan": {"jobs": [{"at": _SAMPLE_AT, "label": "示例", "targets": 1}]},
    "admin_status": {
        "held": False,
        "health": [{"part": "微信", "ok": False, "detail": "示例"}],
        "sent": 1,
        "groups": 1,
        "people": 0,
        "relayed": 1,
        "last": {"at": _SAMPLE_AT, "label": "示例"},
        "failed": 1,
        "next": {"at": _SAMPLE_AT, "label": "示例"},
    },
    "bind_reply": {"outcome": "requested", "name": "村民", "unit": "示例村", "words": "示例", "example": "示例村"},
    "bind_request": {"name": "村民", "wechat": "wxid_示例", "unit": "示例村", "id": 1},
    "ledger_binding": {"outcome": "approved", "id": 1, "name": "村民", "unit": "示例村", "filed": 1},
    "ledger_item": {"outcome": "rejected", "id": 1, "where": "示例村 示例活动", "reason": "示例"},
    "proof_ack": {
        "filed": [
            {
                "unit": "示例村",
                "label": "示例活动",
                "photos": 2,
                "ids": "1、2",
                "total": 2,
                "missing": 1,
                "flagged": [
                    {"id": 2, "duplicate": True, "near": False, "duplicate_of": 1, "exif_at": _SAMPLE_AT},
                ],
            }
        ],
        "refused": [{"place": 3, "reason": "示例"}],
        "not_photo": True,
        "kept": {"count": 1, "ids": "4"},
        "note": {"unit": "示例村", "label": "示例活动", "id": 5},
        "moved": {"unit": "示例村", "ids": "6", "label": "示例活动", "total": 3, "missing": 0},
        "stranger": None,
        "ask": {"options": ["示例活动"], "example": "示例"},
    },
}


def example_unit(campaign: Campaign) -> str:
    """A unit name for the examples the bot gives: this town's first village (else its first unit), so an example
    always works here (never 金溪's 长春村 in another town)."""
    villages = [u for u in campaign.units if u.kind is UnitKind.VILLAGE]
    return (villages or list(campaign.units))[0].name
