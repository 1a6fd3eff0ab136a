"""The layering of the code base, checked on the source (AST), so that a wrong import fails CI.

Rules (ARCHITECTURE.md): project code is imported as ``geovigie.*`` only; layers run one way, ``core`` <- ``tools`` <-
``agent`` <- ``ui`` / ``evals`` <- ``serving`` (the composition root); inside ``tools`` the rooms have a fixed order;
outside a room, code imports the room's face (its ``__init__``), never its modules; and no two modules import each
other, directly or through others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "tools", "agent", "serving", "ui", "evals")
PRODUCT = PACKAGES + ("benchmarks",)
LAYER = {"core": 0, "tools": 1, "agent": 2, "ui": 3, "evals": 3, "serving": 4, "benchmarks": 5}
"""``serving`` is the composition root (CLI, API mounting the UI, the ``eval`` command); benchmarks sit on top."""
ROOMS: dict[str, set[str]] = {
    "geovigie.tools.raster": set(),
    "geovigie.tools.places": set(),
    "geovigie.tools.models": {"geovigie.tools.raster"},
    "geovigie.tools.catalog": {"geovigie.tools.raster"},
    "geovigie.tools.segment": {"geovigie.tools.raster", "geovigie.tools.catalog", "geovigie.tools.models"},
    "geovigie.tools.change": {
        "geovigie.tools.raster", "geovigie.tools.catalog", "geovigie.tools.segment", "geovigie.tools.models",
    },
    "geovigie.tools.count": {
        "geovigie.tools.raster", "geovigie.tools.catalog", "geovigie.tools.segment", "geovigie.tools.models",
    },
    "geovigie.tools.vision": {"geovigie.tools.raster", "geovigie.tools.catalog", "geovigie.tools.segment"},
    "geovigie.tools.embed": {"geovigie.tools.raster", "geovigie.tools.catalog", "geovigie.tools.models"},
    "geovigie.agent.offline": set(),
}  # fmt: skip
"""Each room, and the rooms it may import (through their faces)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts[0] in ("benchmarks", "tests") else "geovigie." + ".".join(parts)


def source_files(tops: tuple[str, ...]) -> Iterator[Path]:
    for top in tops:
        yield from sorted((ROOT / top).rglob("*.py"))


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path, *, runtime_only: bool = False) -> Iterator[tuple[int, str, list[str]]]:
    """(line, imported module, names) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if node.__dict__.get("lineno") in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def room_of(module: str) -> str | None:
    return next((r for r in ROOMS if module == r or module.startswith(r + ".")), None)


def _is_module(name: str) -> bool:
    rel = ROOT.joinpath(*name.split(".")[1:])
    return rel.with_suffix(".py").exists() or (rel / "__init__.py").exists()


def test_project_code_is_imported_under_the_geovigie_namespace() -> None:
    bare = [
        f"{p.relative_to(ROOT)}:{line} imports {mod}"
        for p in source_files(PRODUCT + ("tests",))
        for line, mod, _ in imports(p)
        if mod.split(".")[0] in PACKAGES
    ]
    assert not bare, "import project code as geovigie.<package>:\n" + "\n".join(bare)


def test_layers_import_downwards_only() -> None:
    wrong = []
    for path in source_files(PRODUCT):
        mine = path.relative_to(ROOT).parts[0]
        for line, mod, _ in imports(path):
            parts = mod.split(".")
            if parts[0] != "geovigie" or len(parts) < 2 or parts[1] not in LAYER:
                continue
            if LAYER[parts[1]] > LAYER[mine] or (mine == "ui" and parts[1] == "serving"):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {mod}")
    assert not wrong, "a lower layer imports a higher one:\n" + "\n".join(wrong)


def test_rooms_import_only_the_faces_of_rooms_below() -> None:
    wrong = []
    for path in source_files(PRODUCT):
        me = module_name(path)
        my_room = room_of(me)
        for line, mod, names in imports(path):
            room = room_of(mod)
            if room is None or room == my_room:
                continue
            where = f"{path.relative_to(ROOT)}:{line}"
            if my_room is not None and my_room.startswith("geovigie.tools") and room not in ROOMS[my_room]:
                wrong.append(f"{where}: room {my_room} may not import room {room}")
            if mod != room and not all(_is_module(f"{mod}.{n}") for n in names):
                wrong.append(f"{where}: imports {mod}; use the face {room}")
    assert not wrong, "\n".join(wrong)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in source_files(PACKAGES):
        me = module_name(path)
        deps = graph.setdefault(me, set())
        for _, mod, names in imports(path, runtime_only=True):
            if not mod.startswith("geovigie."):
                continue
            subs = [f"{mod}.{n}" for n in names if _is_module(f"{mod}.{n}")]
            deps.update(subs or [mod])
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    graph = _graph()
    # A face (package __init__) re-exports its modules: edges into a face from inside the package would loop.
    for mod, deps in graph.items():
        package = mod.rsplit(".", 1)[0]
        assert package not in deps or not _is_module(mod) or mod == package, f"{mod} imports its own face"
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_see_the_whole_tree() -> None:
    # Guards the guards: if the walk found nothing, every test above would pass vacuously.
    graph = _graph()
    assert len(graph) > 120
    assert "geovigie.tools.raster" in graph["geovigie.tools.segment.tool"]


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_each_room_says_what_it_owns(room: str) -> None:
    init = ROOT.joinpath(*room.split(".")[1:], "__init__.py")
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    assert "import" in doc and len(doc) > 120, f"{init}: the docstring says what the room owns and may import"
