"""The shape issue 11 asks of `bot/`: no class over 300 lines and no function over 60 (migrations and generated
stubs aside), no import cycle between modules, no `isinstance` on a concrete channel outside the channel package
nor on a concrete store anywhere (the rest of the code asks for capabilities, not for a class), and no part wired
by setting its attributes after it is built."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Set
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"
MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 60


def _sources() -> Iterator[tuple[str, Path]]:
    """(dotted module name, path) of every hand-written module of the package."""
    for path in sorted(BOT.rglob("*.py")):
        rel = path.relative_to(BOT.parent)
        if "migrations" in rel.parts or path.stem.endswith(("_pb2", "_pb2_grpc", "_grpc")):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _parsed() -> list[tuple[str, Path, ast.Module]]:
    return [(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path))) for name, path in _sources()]


MODULES = _parsed()


def oversized(tree: ast.Module) -> list[str]:
    """Classes over MAX_CLASS_LINES and functions (methods and nested ones too) over MAX_FUNCTION_LINES."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
            if lines > limit:
                found.append(f"{node.name} (line {node.lineno}): {lines} lines")
    return found


def test_no_class_or_function_is_too_long() -> None:
    found = [f"{path.relative_to(BOT.parent)} {what}" for _, path, tree in MODULES for what in oversized(tree)]
    assert found == []


def test_the_size_check_catches_a_long_function_and_a_long_class() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert oversized(ast.parse(f"def f():\n{body}\n")) == [f"f (line 1): {MAX_FUNCTION_LINES + 1} lines"]
    methods = "\n".join(f"    def m{i}(self):\n        return {i}\n" for i in range(MAX_CLASS_LINES // 3 + 1))
    assert [w.split(" ")[0] for w in oversized(ast.parse(f"class C:\n{methods}"))] == ["C"]


def _is_type_checking(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The package's modules `name` imports when it is loaded: its module-level imports (those inside functions
    and under `if TYPE_CHECKING` run later or never), including those under module-level try/if."""
    found: set[str] = set()
    package = name if (BOT.parent / name.replace(".", "/") / "__init__.py").exists() else name.rpartition(".")[0]
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and not _is_type_checking(node):
            stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base in known:
                found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known)
    found.discard(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules() -> None:
    known = {name for name, _, _ in MODULES}
    graph = {name: module_imports(name, tree, known) for name, _, tree in MODULES}
    assert {"bot.store.schema", "bot.store.db"} <= graph["bot.store.sql"]  # the graph is really built
    assert cycles(graph) == []


def test_the_cycle_check_sees_a_cycle_and_a_type_checking_import_is_none() -> None:
    known = {"bot.a", "bot.b"}
    a = ast.parse("from bot.b import x\n")
    b = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.a import y\nimport bot.a\n")
    assert cycles({"bot.a": module_imports("bot.a", a, known), "bot.b": module_imports("bot.b", b, known)}) == [
        ["bot.a", "bot.b"]
    ]
    b_lazy = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.a import y\n")
    assert cycles({"bot.a": {"bot.b"}, "bot.b": module_imports("bot.b", b_lazy, known)}) == []


def implementations(package: str, method: str) -> frozenset[str]:
    """Classes of `package` that implement `method` (a body, not a protocol's stub): its concrete parts."""
    names = set()
    for name, _, tree in MODULES:
        if not name.startswith(package):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            protocol = any(isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases)
            functions = (ast.FunctionDef, ast.AsyncFunctionDef)
            implements = any(isinstance(f, functions) and f.name == method and f.body for f in node.body)
            if implements and not protocol:
                names.add(node.name)
    return frozenset(names)


@functools.cache
def concrete_channels() -> frozenset[str]:
    """Classes of the channel package that are channels (they send text), not protocols."""
    return implementations("bot.channels", "send_text")


def isinstance_on(tree: ast.Module, classes: Set[str]) -> list[str]:
    """`isinstance(x, C)` calls (C alone or in a tuple) naming one of `classes`, as "C (line n)"."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance":
            kinds = node.args[1:]
            if kinds and isinstance(kinds[0], ast.Tuple):
                kinds = list(kinds[0].elts)
            for kind in kinds:
                named = kind.id if isinstance(kind, ast.Name) else kind.attr if isinstance(kind, ast.Attribute) else ""
                if named in classes:
                    found.append(f"{named} (line {node.lineno})")
    return found


def test_the_channels_are_found() -> None:
    assert {"WechatyChannel", "RoutedChannel", "RobotChannel", "OutboxChannel", "MemoryChannel"} <= concrete_channels()


@pytest.mark.parametrize("name", sorted(n for n, _, _ in MODULES if not n.startswith("bot.channels")))
def test_no_isinstance_on_a_concrete_channel_outside_the_channel_package(name: str) -> None:
    [tree] = [t for n, _, t in MODULES if n == name]
    assert isinstance_on(tree, concrete_channels()) == []


def test_the_isinstance_check_sees_a_tuple_and_an_attribute() -> None:
    tree = ast.parse("isinstance(c, (int, routed.RoutedChannel))\nisinstance(c, WechatyChannel)\n")
    assert isinstance_on(tree, {"RoutedChannel", "WechatyChannel"}) == [
        "RoutedChannel (line 1)",
        "WechatyChannel (line 2)",
    ]


@functools.cache
def concrete_stores() -> frozenset[str]:
    """Classes of the store package that are stores (they claim deliveries), not protocols."""
    return implementations("bot.store", "claim")


def test_the_stores_are_found() -> None:
    assert {"SqlStore", "MemoryStore"} <= concrete_stores()


@pytest.mark.parametrize("name", sorted(n for n, _, _ in MODULES))
def test_no_isinstance_on_a_concrete_store(name: str) -> None:
    # What a part needs of the store is in its type (`App.store` is the SQL store `build` opens), not asked at run time.
    [tree] = [t for n, _, t in MODULES if n == name]
    assert isinstance_on(tree, concrete_stores()) == []


# Attributes set on an object from outside it, on purpose, by module: records one operation fills in as it goes (a
# send attempt, a burst of photos), state a part keeps in a small object of its own (the sender's `OwnMessages`, the
# TLS watch seen from its nested class), the loopback fakes' simulated world, and other libraries' objects configured
# by setting attributes as their APIs ask (an SSL context, click's parameters and gettext hooks, log records,
# openpyxl's cells, a DB-API connection). Wiring a part after it is built is not among them: give it to the
# constructor (`PipelineHooks`, a `LateBound` for a loop).
SET_FROM_OUTSIDE: dict[str, frozenset[str]] = {
    "bot.broadcasting": frozenset({"attempt"}),
    "bot.delivery": frozenset({"attempt"}),
    "bot.pipeline": frozenset({"attempt"}),
    "bot.proof.acks": frozenset({"burst"}),
    "bot.proof.intake": frozenset({"burst"}),
    "bot.channels.wechaty.sender": frozenset({"self.own"}),
    "bot.channels.robots.loopback": frozenset({"robot"}),
    "bot.channels.wechaty.loopback": frozenset({"protocol"}),
    "bot.channels.wechaty.loopback_world": frozenset({"self.rooms"}),
    "bot.channels.wechaty.protocol": frozenset({"ctx"}),
    "bot.channels.wechaty.tls_closing": frozenset({"context", "watch"}),
    "bot.cli.chinese": frozenset({"ChineseGroup", "module", "param"}),
    "bot.cli.logs": frozenset({"record"}),
    "bot.proof.report": frozenset({"cell", "img", "sheet", "ws"}),
    "bot.store.db": frozenset({"dbapi_connection"}),
}


def _owner(node: ast.expr) -> str:
    """Whose attribute is set: the name the target starts from (`ws` in `ws.column_dimensions['A'].width`), or
    `self.part` when it starts from one of the object's own parts."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        inner = node.value
        if isinstance(inner, ast.Name) and inner.id in ("self", "cls") and isinstance(node, ast.Attribute):
            return f"{inner.id}.{node.attr}"
        node = inner
    return node.id if isinstance(node, ast.Name) else ast.unparse(node)


def set_from_outside(tree: ast.Module) -> list[tuple[str, str]]:
    """(owner, target) of every assignment to an attribute of something other than `self` or `cls`: `pipeline.x = y`,
    `self.app.pipeline.x = y`, `a.b += 1`, `p.x: int = 1`, each target of `a.x = b.y = 1` and of `a.x, b.y = ...`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for sub in ast.walk(target):
                if not isinstance(sub, ast.Attribute) or not isinstance(sub.ctx, ast.Store):
                    continue
                if isinstance(sub.value, ast.Name) and sub.value.id in ("self", "cls"):
                    continue
                found.append((_owner(sub.value), ast.unparse(sub)))
    return found


@pytest.mark.parametrize("name", sorted(n for n, _, _ in MODULES))
def test_no_part_has_an_attribute_set_from_outside(name: str) -> None:
    [tree] = [t for n, _, t in MODULES if n == name]
    allowed = SET_FROM_OUTSIDE.get(name, frozenset())
    assert [target for owner, target in set_from_outside(tree) if owner not in allowed] == []


def test_every_allowed_assignment_is_still_there() -> None:
    # So the list shrinks with the code and an entry can't quietly allow a new assignment later.
    found = {(name, owner) for name, _, tree in MODULES for owner, _ in set_from_outside(tree)}
    assert {(name, owner) for name, owners in SET_FROM_OUTSIDE.items() for owner in owners} <= found


def test_the_assignment_check_sees_wiring_after_construction() -> None:
    code = (
        "pipeline.batch_done = digest\n"
        "self.app.pipeline.sleep = no_sleep\n"
        "self.x = 1\n"
        "cls.y = 2\n"
        "a.n += 1\n"
        "first.x = second.y = 0\n"
        "c.k, d = 1, 2\n"
        "self.part.z: int = 3\n"
        "ws['A1'].font = bold\n"
        "value = pipeline.sleep\n"
    )
    assert set_from_outside(ast.parse(code)) == [
        ("pipeline", "pipeline.batch_done"),
        ("self.app", "self.app.pipeline.sleep"),
        ("a", "a.n"),
        ("first", "first.x"),
        ("second", "second.y"),
        ("c", "c.k"),
        ("self.part", "self.part.z"),
        ("ws", "ws['A1'].font"),
    ]
