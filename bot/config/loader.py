"""Load `schedules/<town>/` (town.yaml, units.yaml, plan-*.yaml) into one cross-checked `Campaign`.

All files are read and every problem is collected before anything is returned: a broken edit raises one
`ConfigError` listing each problem with its file, line, place and value, and nothing is half-applied.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.config.salvage import Salvage, parse_place
from bot.config.timing_checks import due_inside_event, rule_time_problems
from bot.config.yamlfile import Loc, YamlDoc, place, read_yaml
from bot.core.clips import ANNOUNCE_CLIP
from bot.core.model import Activity, Campaign, GroupKind, PlanFile, TownFile, UnitKind, UnitsFile
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
        msg = _message_cn(err)
        hint = _hint_for(err["type"], loc)
        value = err.get("input") if err["type"] != "missing" else "（缺少）"
        if err["type"] == "extra_forbidden":
            msg = f"不认识的键 {loc[-1]!s}"
            value = loc[-1]
        out.append(Problem(doc.path, place(loc), value, msg, hint, doc.line_of(loc)))
    return out


# pydantic's own words are English and technical; a clerk reads these instead (by error type).
_MESSAGES_CN = {
    "missing": "缺少这一项",
    "int_parsing": "要写整数",
    "int_type": "要写整数",
    "int_from_float": "要写整数",
    "float_parsing": "要写数字",
    "float_type": "要写数字",
    "bool_parsing": "要写 true 或 false",
    "bool_type": "要写 true 或 false",
    "string_type": "要写文字",
    "string_too_short": "不能为空",
    "list_type": "要写成列表（每项一行，以 - 开头，或写成 [甲, 乙]）",
    "tuple_type": "要写成列表（每项一行，以 - 开头，或写成 [甲, 乙]）",
    "dict_type": "要写成 键: 值 的形式",
    "model_type": "要写成 键: 值 的形式",
    "model_attributes_type": "要写成 键: 值 的形式",
    "date_type": "要写日期，例如 5月20日",
    "time_type": '要写时间，例如 "09:00"',
    "timedelta_type": "要写时长，例如 30m 或 1h",
}


def _message_cn(err: Any) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in _MESSAGES_CN:
        return _MESSAGES_CN[kind]
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", "、").replace(", ", "、")
        return f"只能写 {expected}" if expected else "这里的写法不对"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    if kind == "too_short":
        return f"至少要写 {ctx.get('min_length', 1)} 项"
    if kind == "too_long":
        return f"最多写 {ctx.get('max_length')} 项"
    return "这里的写法不对"


def _keys_at(doc: YamlDoc, loc: Loc) -> Iterable[Any]:
    node = doc.value_at(loc)
    return node.keys() if isinstance(node, dict) else ()


def _hint_for(kind: str, loc: Loc) -> str:
    if kind == "extra_forbidden":
        return "检查拼写；能写哪些键见 README 的“怎样写计划”一节"
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
    return load_campaign_checked(folder)[0]


def load_campaign_checked(folder: Path) -> tuple[Campaign, tuple[Problem, ...]]:
    """As `load_campaign`, also returning the warnings (problems marked `warning`: the plan works as written)."""
    checked = check_campaign(folder)
    if checked.errors:
        raise ConfigError(list(checked.errors))
    assert checked.campaign is not None
    return checked.campaign, checked.warnings


@dataclass(frozen=True)
class Checked:
    """Every problem of a town's files. `campaign` is the whole campaign when there are no errors; with errors, what
    still validates and cross-checks (for further checks only, never to run), or None when too little is left."""

    campaign: Campaign | None
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    salvage: Salvage


def check_campaign(folder: Path) -> Checked:
    """Read and cross-check a town's folder, going on past schema errors wherever the rest can still be checked."""
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

    salvage = Salvage()
    town = _validated(docs[TOWN_FILE], TownFile, None, problems, salvage)
    units = _validated(docs[UNITS_FILE], UnitsFile, None, problems, salvage)
    plans: list[tuple[YamlDoc, PlanFile]] = []
    for doc in plan_docs:
        _default_activity_ids(doc)
        plan = _validated(doc, PlanFile, _year_context(doc), problems, salvage)
        if plan is not None:
            plans.append(plan)
        elif units is not None:
            problems.extend(_raw_responsible_refs(doc, units[1]))
    town_doc, town_ok = town or (docs[TOWN_FILE], None)
    units_doc, units_ok = units or (docs[UNITS_FILE], None)
    found = [salvage.restore(p) for p in _cross_check(town_doc, town_ok, units_doc, units_ok, plans)]
    found = _without_lost_refs(found, salvage, docs[UNITS_FILE])
    errors = [*problems, *(p for p in found if not p.warning)]
    warnings = tuple(p for p in found if p.warning)
    if not errors:
        assert town is not None and units is not None
        return Checked(_campaign(town[1], units[1], plans), (), warnings, salvage)
    partial = _partial(town, units, plan_docs, errors, salvage)
    return Checked(partial, tuple(errors), warnings, salvage)


def _unknown_refs(doc: YamlDoc, units: UnitsFile) -> Iterable[Loc]:
    """The activities naming a unit that isn't there (left out of units.yaml for its own error)."""
    refs = {u.id for u in units.units} | {s.id for s in units.unit_sets}
    activities = doc.data.get("activities") if isinstance(doc.data, dict) else None
    for i, act in enumerate(activities if isinstance(activities, list) else []):
        responsible = act.get("responsible") if isinstance(act, dict) else None
        if isinstance(responsible, list) and not set(map(str, responsible)) <= refs:
            yield ("activities", i)


def _without_lost_refs(found: list[Problem], salvage: Salvage, units_doc: YamlDoc) -> list[Problem]:
    """A unit left out of units.yaml for its own error is still a unit: references to it aren't errors too."""
    pruned = salvage.pruned.get(str(units_doc.path))
    if pruned is None:
        return found
    lost = {str(units_doc.value_at((*loc, "id"))) for loc in pruned.dropped if len(loc) == 2}
    return [p for p in found if not (p.message.startswith("没有这个单位") and str(p.value) in lost)]


def _year_context(doc: YamlDoc) -> dict[str, Any]:
    year = doc.data.get("year") if isinstance(doc.data, dict) else None
    return {"year": year if isinstance(year, int) else None}


def _validated(
    doc: YamlDoc, model: type[M], context: dict[str, Any] | None, problems: list[Problem], salvage: Salvage
) -> tuple[YamlDoc, M] | None:
    """The file's model and the doc to check it against: the whole file, or what of it still validates."""
    result = _validate(doc, model, context)
    if not isinstance(result, list):
        return doc, result
    problems.extend(result)
    return salvage.model(doc, model, context)


def _partial(
    town: tuple[YamlDoc, TownFile] | None,
    units: tuple[YamlDoc, UnitsFile] | None,
    plan_docs: list[YamlDoc],
    errors: list[Problem],
    salvage: Salvage,
) -> Campaign | None:
    """The campaign without every activity that has an error, to check the timing of the rest; None when the town
    or units can't be read, or the office group is wrong (the planner needs both)."""
    if town is None or units is None:
        return None
    if any(str(p.file) == str(town[0].path) and p.place == "office_group" for p in errors):
        return None
    plans = []
    for doc in plan_docs:
        mine = [parse_place(p.place) for p in errors if str(p.file) == str(doc.path)]
        if any(len(loc) < 2 or loc[0] != "activities" for loc in mine):
            continue  # an error about the whole file (its year): none of its timing can be trusted
        drops = tuple({loc[:2] for loc in mine} | set(_unknown_refs(doc, units[1])))
        plan = salvage.model(doc, PlanFile, _year_context(doc), drops)
        if plan is not None:
            plans.append(plan)
    return _campaign(town[1], units[1], plans) if plans else None


def _campaign(town: TownFile, units: UnitsFile, plans: list[tuple[YamlDoc, PlanFile]]) -> Campaign:
    return Campaign(
        town=town.town,
        office_group=town.office_group,
        admins=town.admins,
        rules=town.rules,
        calendar=town.calendar,
        units=units.units,
        unit_sets=units.unit_sets,
        plans=tuple(p for _, p in sorted(plans, key=lambda dp: dp[1].year)),
        relay=town.relay,
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
    town_doc: YamlDoc,
    town: TownFile | None,
    units_doc: YamlDoc,
    units: UnitsFile | None,
    plans: list[tuple[YamlDoc, PlanFile]],
) -> list[Problem]:
    """Every check whose files validated: a broken plan doesn't hide a bad town.yaml rule, nor the reverse."""
    out: list[Problem] = []
    if town is not None:
        out += _check_town(town_doc, town)
    if units is not None:
        out += _check_units(units_doc, units)
        out += _check_plans(units, plans)
    if town is not None and units is not None:
        out += _check_town_against_units(town_doc, town, units)
    return out


def _at(out: list[Problem], *, warning: bool = False) -> Any:
    def at(doc: YamlDoc, loc: Loc, value: object, msg: str, hint: str = "") -> None:
        out.append(Problem(doc.path, place(loc), value, msg, hint, doc.line_of(loc), warning))

    return at


def _check_town(town_doc: YamlDoc, town: TownFile) -> list[Problem]:
    out: list[Problem] = []
    at = _at(out)
    out += rule_time_problems(town_doc, town.rules)
    if town.rules.min_photos == 0:
        _at(out, warning=True)(
            town_doc,
            ("rules", "min_photos"),
            0,
            "min_photos 是 0：各单位交材料时不要求照片",
            "要照片的话写 1 或更多（计划里可以按活动单独写）",
        )
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
    return out


def _addresses(units: UnitsFile) -> list[tuple[str, Loc]]:
    addresses: list[tuple[str, Loc]] = []
    for i, u in enumerate(units.units):
        for j, g in enumerate(u.groups):
            addresses.append((g.id, ("units", i, "groups", j, "id")))
        for j, c in enumerate(u.contacts):
            addresses.append((c.id, ("units", i, "contacts", j, "id")))
        if u.broadcast_operator is not None:
            addresses.append((u.broadcast_operator.id, ("units", i, "broadcast_operator", "id")))
    return addresses


def _check_units(units_doc: YamlDoc, units: UnitsFile) -> list[Problem]:
    out: list[Problem] = []
    at = _at(out)
    # Ids name deliveries in the store and addresses in channels: one namespace for groups and people.
    for ident, loc in _dupes(_addresses(units)):
        at(units_doc, loc, ident, "群和联系人的编号重复", "每个群、每个人用不同的 id")
    unit_ids = [(u.id, ("units", i, "id")) for i, u in enumerate(units.units)]
    set_ids = [(s.id, ("unit_sets", i, "id")) for i, s in enumerate(units.unit_sets)]
    for ident, loc in _dupes(unit_ids + set_ids):
        at(units_doc, loc, ident, "单位或单位集合的编号重复", "每个单位、每个集合用不同的 id")
    known_units = {u.id for u in units.units}
    set_names = {s.id for s in units.unit_sets}
    for i, s in enumerate(units.unit_sets):
        for field in ("units", "except"):
            for j, ref in enumerate(s.units if field == "units" else s.except_units):
                if ref in set_names:
                    what = "它自己" if ref == s.id else f"另一个单位集合 {ref}"
                    at(
                        units_doc,
                        ("unit_sets", i, field, j),
                        ref,
                        f"单位集合里写了{what}：集合里只能列单位",
                        "直接列出单位的 id，或用 kinds 按类型选（例如 kinds: [village, community]）",
                    )
                elif ref not in known_units:
                    at(
                        units_doc,
                        ("unit_sets", i, field, j),
                        ref,
                        "没有这个单位",
                        _ref_hint(ref, known_units) if known_units else "先在 units 里定义它，或改成已有单位的 id",
                    )
    _check_operators(units_doc, units, _at(out, warning=True))
    return out


def _check_operators(units_doc: YamlDoc, units: UnitsFile, at: Any) -> None:
    # A town with loudspeakers: a village without an operator silently gets no clip.
    if not any(u.broadcast_operator for u in units.units):
        return
    for i, u in enumerate(units.units):
        if u.kind in (UnitKind.VILLAGE, UnitKind.COMMUNITY) and u.broadcast_operator is None:
            at(
                units_doc,
                ("units", i, "id"),
                u.id,
                f"{u.name} 没有广播员（broadcast_operator），收不到广播音频",
                "给它加 broadcast_operator；村里确实没有大喇叭的可以不管这条",
            )


def _check_town_against_units(town_doc: YamlDoc, town: TownFile, units: UnitsFile) -> list[Problem]:
    out: list[Problem] = []
    at = _at(out)
    addresses = {x for x, _ in _addresses(units)}
    for i, a in enumerate(town.admins):
        if a.id in addresses:
            at(town_doc, ("admins", i, "id"), a.id, "管理员编号和 units.yaml 里的群或联系人重复", "换一个 id")

    groups = {g.id: g for u in units.units for g in u.groups}
    office = groups.get(town.office_group)
    if office is None:
        at(town_doc, ("office_group",), town.office_group, "没有这个群", "写 units.yaml 里某个 kind: office 的群的 id")
    elif office.kind is not GroupKind.OFFICE:
        at(town_doc, ("office_group",), town.office_group, f"这个群的 kind 是 {office.kind.value}，不是 office", "")

    return out


# Titles a clerk must never shorten in a message (the title is what villagers and units read).
OFFICIAL_TITLES = ("习近平总书记", "习近平")
# Words of a cadres' meeting: an event's name is what villagers are reminded of.
CADRE_EVENT = re.compile(r"誓师大会|启动仪式|动员大会|推进会|工作会|座谈会")


def _check_wording(doc: YamlDoc, i: int, act: Activity) -> list[Problem]:
    """Warnings about what people will read: a shortened official title, an event for cadres in the villagers'
    reminders, a "week" with one day."""
    out: list[Problem] = []
    warn = _at(out, warning=True)
    for name in OFFICIAL_TITLES:
        after = act.content.split(name, 1)[1][:4] if name in act.content else ""
        if after and after in act.title and name not in act.title:
            warn(
                doc,
                ("activities", i, "title"),
                act.title,
                f"计划原文是“{name}{after}…”，title 里把“{name}”省掉了",
                f"称谓要写全，例如 title: {act.title.replace(after, name + after, 1)}",
            )
            break
    for j, ev in enumerate(act.events):
        if CADRE_EVENT.search(ev.name):
            warn(
                doc,
                ("activities", i, "events", j, "name"),
                ev.name,
                "事件名称会发到村民群提醒村民，这里写的是干部参加的会议",
                "name 写村民能参加的事（例如“3.19”城市管理服务主题周）；会议写在 content 里，工作安排会发给各单位",
            )
        if ev.end is None and ev.name.endswith("周"):
            warn(
                doc,
                ("activities", i, "events", j, "start"),
                str(ev.start),
                f"“{ev.name}”是一周的活动，却只写了一天，提醒里会说成“某日是…周”",
                "补上 end（结束日期）",
            )
    return out


def _check_activity_dates(doc: YamlDoc, i: int, act: Activity) -> list[Problem]:
    out: list[Problem] = _check_wording(doc, i, act)
    out += due_inside_event(doc, i, act)
    at = _at(out)
    for j, ev in enumerate(act.events):
        if ev.id == ANNOUNCE_CLIP:
            at(
                doc,
                ("activities", i, "events", j, "id"),
                ev.id,
                f"事件编号不能用 {ANNOUNCE_CLIP}：它是每月通知的广播音频文件名的一部分",
                "换一个编号，例如活动名的拼音",
            )
    if act.proof.min_photos == 0:
        _at(out, warning=True)(
            doc,
            ("activities", i, "proof", "min_photos"),
            0,
            "min_photos 是 0：这项活动不要求交照片，通知里也不会提照片张数",
            "要照片的话写 1 或更多；不写就按 town.yaml 的 rules.min_photos",
        )
    due = act.proof.due
    if due is not None and act.events:
        first = min(ev.start for ev in act.events)
        if due < first:
            at(
                doc,
                ("activities", i, "proof", "due"),
                str(due),
                f"交材料的截止日期早于活动的第一个事件（{first.month}月{first.day}日）",
                "截止日期要在活动之后，例如活动结束后两三天",
            )
    return out


def _check_responsible(units: UnitsFile, doc: YamlDoc, i: int, act: Activity, at: Any) -> None:
    """Each responsible unit or unit set exists, has members, and each member can receive the proof request."""
    refs = {u.id for u in units.units} | {s.id for s in units.unit_sets}
    by_id = {u.id: u for u in units.units}
    set_by_id = {s.id: s for s in units.unit_sets}
    for j, ref in enumerate(act.responsible):
        loc: Loc = ("activities", i, "responsible", j)
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


def _check_plan_year(doc: YamlDoc, i: int, act: Activity, year: int, at: Any) -> None:
    """Every date of the activity lies in the plan's year."""
    for j, ev in enumerate(act.events):
        for field in ("start", "end"):
            d = getattr(ev, field)
            if d is not None and d.year != year:
                at(doc, ("activities", i, "events", j, field), str(d), f"日期不在 {year} 年", "检查年份")
    if act.proof.due is not None and act.proof.due.year != year:
        at(doc, ("activities", i, "proof", "due"), str(act.proof.due), f"日期不在 {year} 年", "")


def _check_plans(units: UnitsFile, plans: list[tuple[YamlDoc, PlanFile]]) -> list[Problem]:
    out: list[Problem] = []
    at = _at(out)
    activity_ids: list[tuple[str, tuple[YamlDoc, Loc]]] = []
    years: list[tuple[int, YamlDoc]] = []
    for doc, plan in plans:
        named = re.fullmatch(r"plan-(\d{4})", doc.path.stem)
        if named and int(named[1]) != plan.year:
            # A copied file not yet edited: say so once, not as dozens of duplicate activity ids.
            at(
                doc,
                ("year",),
                plan.year,
                f"文件名是 {doc.path.name}，year 却写的 {plan.year}",
                f"把 year 改成 {named[1]}（各项日期也要改成这一年），或把文件改名为 plan-{plan.year}.yaml",
            )
            continue
        years.append((plan.year, doc))
        for i, act in enumerate(plan.activities):
            activity_ids.append((act.id, (doc, ("activities", i, "id"))))
            out.extend(_check_activity_dates(doc, i, act))
            _check_responsible(units, doc, i, act, at)
            _check_plan_year(doc, i, act, plan.year, at)
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
