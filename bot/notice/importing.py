"""`laba import` end to end, around the pure stages: read the town's units, understand the notice, check the draft
with the same loader as `laba check` (in a scratch folder, so a failing draft touches nothing), write it."""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.config.campaign import Sources, load
from bot.config.loader import PLAN_GLOB, TOWN_FILE, UNITS_FILE, _problems_from
from bot.config.yamlfile import read_yaml
from bot.core.model import UnitsFile
from bot.errors import ConfigError, Problem
from bot.notice.draft import DraftPlan, build_draft
from bot.notice.emit import emit_yaml
from bot.notice.reader import NoticeReader, read_notice
from bot.notice.review import Review, review


@dataclass(frozen=True)
class Imported:
    draft: DraftPlan
    review: Review
    target: Path
    text: str
    existing: str | None  # the file already at `target`, if any

    @property
    def unchanged(self) -> bool:
        return self.existing == self.text

    def diff(self) -> str:
        old = (self.existing or "").splitlines(keepends=True)
        new = self.text.splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"{self.target}（现有）", f"{self.target}（新导入）"))


def _units(schedules: Path) -> UnitsFile:
    doc = read_yaml(schedules / UNITS_FILE)
    try:
        return UnitsFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(_problems_from(doc, exc)) from None


def _town_names(schedules: Path) -> tuple[str, ...]:
    """金溪镇 → (金溪镇, 金溪, 黔江区金溪镇人民政府): prefixes a notice may put before a unit's name."""
    data = read_yaml(schedules / TOWN_FILE).data
    town = data.get("town") if isinstance(data, dict) else None
    names = [str(town.get(k)) for k in ("full_name", "name") if town.get(k)] if isinstance(town, dict) else []
    short = [n[:-1] for n in names if n.endswith(("镇", "乡")) and len(n) > 2]
    return tuple(dict.fromkeys(names + short))


def prepare(
    notice_path: Path,
    schedules: Path,
    year: int | None = None,
    output: Path | None = None,
    readers: tuple[NoticeReader, ...] | None = None,
) -> Imported:
    """Read and understand the notice; nothing is written. Raises ConfigError listing every problem."""
    if not (schedules / UNITS_FILE).is_file():
        raise ConfigError(
            [Problem(schedules, "", str(schedules), "这个目录里没有 units.yaml", "用 --schedules 指向镇的计划目录")]
        )
    notice = read_notice(notice_path, readers)
    units, names = _units(schedules), _town_names(schedules)
    draft = build_draft(notice, units, names, year)
    target = output or schedules / f"plan-{draft.year}.yaml"
    existing = target.read_text(encoding="utf-8") if target.is_file() else None
    kept = _existing_ids(existing)
    if kept:
        draft = build_draft(notice, units, names, year, kept)
    notes = review(draft, year_given=year is not None, kept=sum(a.id in kept.values() for a in draft.activities))
    text = emit_yaml(draft, notes, notice_path.name)
    return Imported(draft, notes, target, text, existing)


def _existing_ids(text: str | None) -> dict[tuple[int, str], str]:
    """(month, wording) → id of the activities in the plan file being replaced, ids defaulted as the loader does.
    A file that doesn't parse keeps nothing (the diff still shows it before anything is overwritten)."""
    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("activities"), list):
        return {}
    out: dict[tuple[int, str], str] = {}
    for act in data["activities"]:
        if isinstance(act, dict) and isinstance(act.get("month"), int) and isinstance(act.get("content"), str):
            ident = act.get("id") or f"{data.get('year')}-{act['month']:02d}"
            out.setdefault((act["month"], act["content"].strip()), str(ident))
    return out


def check(imported: Imported, schedules: Path, messages: Path) -> list[Problem]:
    """What `laba check` would say about the town with this plan in place of the year's plan file, from a scratch
    copy of the folder (the town's own files are not touched). Problems name the real files and their lines."""
    with tempfile.TemporaryDirectory(prefix="laba-import-") as tmp:
        folder = Path(tmp)
        scratch = folder / f"plan-{imported.draft.year}.yaml"
        others = [
            p for p in schedules.glob(PLAN_GLOB) if p.name != scratch.name and p.resolve() != imported.target.resolve()
        ]
        for path in [schedules / TOWN_FILE, schedules / UNITS_FILE, *others]:
            shutil.copyfile(path, folder / path.name)
        scratch.write_text(imported.text, encoding="utf-8")
        try:
            load(Sources(folder, messages))
        except ConfigError as exc:
            return [_relocate(p, folder, schedules, scratch, imported.target) for p in exc.problems]
    return []


def _relocate(p: Problem, folder: Path, schedules: Path, scratch: Path, target: Path) -> Problem:
    path = Path(p.file)
    if path == scratch:
        return replace(p, file=target)
    if path.parent == folder:
        return replace(p, file=schedules / path.name)
    return p


def write(imported: Imported) -> None:
    """Write the plan whole or not at all (a temporary file renamed over the target)."""
    imported.target.parent.mkdir(parents=True, exist_ok=True)
    tmp = imported.target.with_name(f".{imported.target.name}.tmp")
    tmp.write_text(imported.text, encoding="utf-8")
    os.replace(tmp, imported.target)
