"""Proof of completion: units' photos into the town's ledger (台账), corrections, and reports.

`handlers(...)` gives the inbound handlers `bot.app.build` registers: the admin commands first (so `#驳回` is never
taken for a note), then intake.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.config.campaign import LoadedCampaign
from bot.inbound import InboundHandler
from bot.pipeline import Pipeline
from bot.proof.admin import LedgerActions, ProofAdmin
from bot.proof.intake import IntakeSettings, ProofIntake
from bot.store.evidence import EvidenceStore
from bot.store.sql import SqlStore


def evidence_dir(data_dir: Path) -> Path:
    return data_dir / "evidence"


def handlers(
    current: Callable[[], LoadedCampaign],
    pipeline: Pipeline,
    store: SqlStore,
    data_dir: Path,
    settings: IntakeSettings | None = None,
) -> list[InboundHandler]:
    return list(parts(current, pipeline, store, data_dir, settings))


def parts(
    current: Callable[[], LoadedCampaign],
    pipeline: Pipeline,
    store: SqlStore,
    data_dir: Path,
    settings: IntakeSettings | None = None,
) -> tuple[ProofAdmin, ProofIntake]:
    """The two proof handlers, in the order the router asks them (the admins' ledger commands first)."""
    evidence = EvidenceStore(store, evidence_dir(data_dir))
    intake = ProofIntake(current, pipeline, evidence, settings or IntakeSettings())
    return ProofAdmin(current, pipeline, LedgerActions(current, intake)), intake


__all__ = ["IntakeSettings", "LedgerActions", "ProofAdmin", "ProofIntake", "evidence_dir", "handlers", "parts"]
