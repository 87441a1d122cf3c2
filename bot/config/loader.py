"""Load `schedules/<town>/` (town.yaml, units.yaml, plan-*.yaml) into one cross-checked `Campaign`.

All files are read and every problem is collected before anything is returned: a broken edit raises one
`ConfigError` listing each problem with its file, line, place and value, and nothing is half-applied.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from bot.config.yamlfile import Loc, YamlDoc, place, read_yaml
from bot.core.model import Campaign, GroupKind, PlanFile, TownFile, UnitsFile
from bot.errors import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)

TOWN_FILE = "town.yaml"
UNITS_FILE = "units.yaml"
PLAN_GLOB = "plan-*.yaml"


def _problems_from(doc: YamlDoc, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc: Loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        # pydantic appends the union branch or validator name for some errors; keep the path a clerk can find.
        while loc and loc[-1] not in _keys_at(doc, loc[:-1]) and not isinstance(loc[-1], int):
            if err["type"] == "extra_forbidden" or err["type"] == "missing":
                break
            loc = loc[:-1]
        msg = err["msg"].removeprefix("Value error, ")
        hint = _hint_for(err["type"], loc)
        value = err.get("input") if err["type"] != "missing" else "（缺少）"
        if err["type"] == "extra_forbidden":
            msg = f"不认识的键 {loc[-1]!s}"
            value = loc[-1]
        out.append(Problem(doc.path, place(loc), value, msg, hint, doc.line_of(loc)))
    return out


def _keys_at(doc: YamlDoc, loc: Loc) -> Iterable[Any]:
    node = doc.value_at(loc)
    return node.keys() if isinstance(node, dict) else ()


def _hint_for(kind: str, loc: Loc) -> str:
    if kind == "extra_forbidden":
        return "检查拼写；可写的键见 README 的《怎样写计划》"
    if kind == "missing":
        return f"补上 {loc[-1]!s}" if loc else ""
    return ""


def _validate(doc: YamlDoc, model: type[M], context: dict[str, Any] | None = None) -> M | list[Problem]:
    if not isinstance(doc.data, dict):
        return [
            Problem(
                doc.path,
                "",
                type(doc.data).__name__,
                "文件顶层应是 键: 值 的映射",
                "参照 schedules/jinxi/ 里的同名文件",
                1,
            )
        ]
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        return _problems_from(doc, exc)


def _default_activity_ids(doc: YamlDoc) -> None:
    """An activity without `id` gets `YYYY-MM`; the planner's job keys are built from it, so keep it stable."""
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("activities"), list):
        return
    year = data.get("year")
    for act in data["activities"]:
        if isinstance(act, dict) and "id" not in act and isinstance(act.get("month"), int) and isinstance(year, int):
            act["id"] = f"{year}-{act['month']:02d}"


def load_campaign(folder: Path) -> Campaign:
    """Read and cross-check a town's folder. Raises ConfigError with every problem found."""
    problems: list[Problem] = []
    if not folder.is_dir():
        raise ConfigError(
            [Problem(folder, "", str(folder), "找不到计划目录", "用 --schedules 指向含 town.yaml 的目录")]
        )

    docs: dict[str, YamlDoc] = {}
    for name in (TOWN_FILE, UNITS_FILE):
        try:
            docs[name] = read_yaml(folder / name)
        except ConfigError as exc:
            problems.extend(exc.problems)
    plan_paths = sorted(folder.glob(PLAN_GLOB))
    if not plan_paths:
        problems.append(
            Problem(folder, "", PLAN_GLOB, "目录里没有计划文件", "新建 plan-2024.yaml 这样的文件，一年一个")
        )
    plan_docs: list[YamlDoc] = []
    for p in plan_paths:
        try:
            plan_docs.append(read_yaml(p))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)

    town = _validate(docs[TOWN_FILE], TownFile)
    units = _validate(docs[UNITS_FILE], UnitsFile)
    plans: list[tuple[YamlDoc, PlanFile]] = []
    for doc in plan_docs:
        _default_activity_ids(doc)
        year = doc.data.get("year") if isinstance(doc.data, dict) else None
        plan = _validate(doc, PlanFile, {"year": year if isinstance(year, int) else None})
        if isinstance(plan, list):
            problems.extend(plan)
            if isinstance(units, UnitsFile):
                problems.extend(_raw_responsible_refs(doc, units))
        else:
            plans.append((doc, plan))
    for result in (town, units):
        if isinstance(result, list):
            problems.extend(result)
    if problems:
        raise ConfigError(problems)
    assert isinstance(town, TownFile) and isinstance(units, UnitsFile)

    problems.extend(_cross_check(docs[TOWN_FILE], town, docs[UNITS_FILE], units, plans))
    if problems:
        raise ConfigError(problems)
    return Campaign(
        town=town.town,
        office_group=town.office_group,
        admins=town.admins,
        rules=town.rules,
        calendar=town.calendar,
        units=units.units,
        unit_sets=units.unit_sets,
        plans=tuple(p for _, p in sorted(plans, key=lambda dp: dp[1].year)),
    )


def _ref_hint(ref: str, refs: set[str]) -> str:
    close = difflib.get_close_matches(ref, sorted(refs), n=1)
    listing = f"可用的有：{'、'.join(sorted(refs))}"
    return f"是不是 {close[0]}？{listing}" if close else listing


def _raw_responsible_refs(doc: YamlDoc, units: UnitsFile) -> list[Problem]:
    """Unknown units in a plan that failed validation elsewhere: reported now, not after the next fix."""
    refs = {u.id for u in units.units} | {s.id for s in units.unit_sets}
    out = []
    activities = doc.data.get("activities") if isinstance(doc.data, dict) else None
    for i, act in enumerate(activities if isinstance(activities, list) else []):
        responsible = act.get("responsible") if isinstance(act, dict) else None
        for j, ref in enumerate(responsible if isinstance(responsible, list) else []):
            if isinstance(ref, str) and ref not in refs:
                loc: Loc = ("activities", i, "responsible", j)
                out.append(
                    Problem(
                        doc.path,
                        place(loc),
                        ref,
                        "没有这个单位或单位集合",
                        _ref_hint(ref, refs),
                        doc.line_of(loc),
                    )
                )
    return out


def _dupes(items: Iterable[tuple[str, Loc]]) -> list[tuple[str, Loc]]:
    items = list(items)
    counts = Counter(i for i, _ in items)
    seen: set[str] = set()
    out = []
    for ident, loc in items:
        if counts[ident] > 1:
            if ident in seen:
                out.append((ident, loc))
            seen.add(ident)
    return out


def _cross_check(
    town_doc: YamlDoc, town: TownFile, units_doc: YamlDoc, units: UnitsFile, plans: list[tuple[YamlDoc, PlanFile]]
) -> list[Problem]:
    out: list[Problem] = []

    def at(doc: YamlDoc, loc: Loc, value: object, msg: str, hint: str = "") -> None:
        out.append(Problem(doc.path, place(loc), value, msg, hint, doc.line_of(loc)))

    try:
        ZoneInfo(town.town.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        at(town_doc, ("town", "timezone"), town.town.timezone, "不认识的时区", "写 Asia/Shanghai")

    # Ids name deliveries in the store and addresses in channels: one namespace for groups and people.
    addresses: list[tuple[str, Loc]] = []
    for i, u in enumerate(units.units):
        for j, g in enumerate(u.groups):
            addresses.append((g.id, ("units", i, "groups", j, "id")))
        for j, c in enumerate(u.contacts):
            addresses.append((c.id, ("units", i, "contacts", j, "id")))
        if u.broadcast_operator is not None:
            addresses.append((u.broadcast_operator.id, ("units", i, "broadcast_operator", "id")))
    for ident, loc in _dupes(addresses):
        at(units_doc, loc, ident, "群和联系人的编号重复", "每个群、每个人用不同的 id")
    unit_ids = [(u.id, ("units", i, "id")) for i, u in enumerate(units.units)]
    set_ids = [(s.id, ("unit_sets", i, "id")) for i, s in enumerate(units.unit_sets)]
    for ident, loc in _dupes(unit_ids + set_ids):
        at(units_doc, loc, ident, "单位或单位集合的编号重复", "每个单位、每个集合用不同的 id")
    for i, a in enumerate(town.admins):
        if a.id in {x for x, _ in addresses}:
            at(town_doc, ("admins", i, "id"), a.id, "管理员编号和 units.yaml 里的群或联系人重复", "换一个 id")

    known_units = {u.id for u in units.units}
    for i, s in enumerate(units.unit_sets):
        for field in ("units", "except"):
            for j, ref in enumerate(s.units if field == "units" else s.except_units):
                if ref not in known_units:
                    at(
                        units_doc,
                        ("unit_sets", i, field, j),
                        ref,
                        "没有这个单位",
                        "先在 units 里定义它，或改成已有单位的 id",
                    )

    groups = {g.id: g for u in units.units for g in u.groups}
    office = groups.get(town.office_group)
    if office is None:
        at(town_doc, ("office_group",), town.office_group, "没有这个群", "写 units.yaml 里某个 kind: office 的群的 id")
    elif office.kind is not GroupKind.OFFICE:
        at(town_doc, ("office_group",), town.office_group, f"这个群的 kind 是 {office.kind.value}，不是 office", "")

    quiet = town.rules.quiet_hours
    for rule_name in ("announce", "remind", "remind_units", "proof_request", "chase", "summary"):
        t: time = getattr(town.rules, rule_name).time
        if quiet.contains(t):
            at(
                town_doc,
                ("rules", rule_name, "time"),
                t.strftime("%H:%M"),
                f"发送时间落在免打扰时段 {quiet.start:%H:%M}—{quiet.end:%H:%M} 内",
                "改到白天，或调整 rules.quiet_hours",
            )
    deliver = town.rules.broadcast.deliver_time
    if quiet.contains(deliver):
        at(
            town_doc,
            ("rules", "broadcast", "deliver_time"),
            deliver.strftime("%H:%M"),
            f"发给广播员的时间落在免打扰时段 {quiet.start:%H:%M}—{quiet.end:%H:%M} 内",
            "改到白天，或调整 rules.quiet_hours（播放时间 play_times 不受免打扰限制）",
        )

    refs = {u.id for u in units.units} | {s.id for s in units.unit_sets}
    by_id = {u.id: u for u in units.units}
    set_by_id = {s.id: s for s in units.unit_sets}
    activity_ids: list[tuple[str, tuple[YamlDoc, Loc]]] = []
    years: list[tuple[int, YamlDoc]] = []
    for doc, plan in plans:
        years.append((plan.year, doc))
        for i, act in enumerate(plan.activities):
            activity_ids.append((act.id, (doc, ("activities", i, "id"))))
            for j, ref in enumerate(act.responsible):
                loc = ("activities", i, "responsible", j)
                if ref not in refs:
                    at(doc, loc, ref, "没有这个单位或单位集合", _ref_hint(ref, refs))
                    continue
                members = (
                    [by_id[ref]]
                    if ref in by_id
                    else [
                        u
                        for u in units.units
                        if (u.kind in set_by_id[ref].kinds or u.id in set_by_id[ref].units)
                        and u.id not in set_by_id[ref].except_units  # as Campaign.members resolves it
                    ]
                )
                if not members:
                    at(doc, loc, ref, "这个单位集合里一个单位也没有", "在 units.yaml 里给它加成员")
                for u in members:
                    if not any(g.kind is GroupKind.WORK for g in u.groups) and not u.contacts:
                        at(
                            doc,
                            loc,
                            ref,
                            f"{u.name} 没有工作群也没有联系人，收不到取证通知",
                            f"在 units.yaml 给 {u.id} 加 kind: work 的群或 contacts",
                        )
            for j, ev in enumerate(act.events):
                for field in ("start", "end"):
                    d = getattr(ev, field)
                    if d is not None and d.year != plan.year:
                        at(doc, ("activities", i, "events", j, field), str(d), f"日期不在 {plan.year} 年", "检查年份")
            if act.proof.due is not None and act.proof.due.year != plan.year:
                at(doc, ("activities", i, "proof", "due"), str(act.proof.due), f"日期不在 {plan.year} 年", "")
            for ident, loc in _dupes((e.id, ("activities", i, "events", j, "id")) for j, e in enumerate(act.events)):
                at(doc, loc, ident, "同一活动里事件编号重复", "")
    counts = Counter(i for i, _ in activity_ids)
    for ident, (doc, loc) in activity_ids:
        if counts[ident] > 1:
            at(doc, loc, ident, "活动编号重复（同一个月有两项活动时要各写一个 id）", "例如 id: 2024-06-liuyi")
    for y, n in Counter(y for y, _ in years).items():
        if n > 1:
            for yy, doc in years:
                if yy == y:
                    at(doc, ("year",), y, "两个计划文件写了同一年", "一年只留一个 plan 文件")
    return out
