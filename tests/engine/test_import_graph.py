"""The engine's modules import each other in one direction: no cycle, and Program stays low.

A static scan (no module is imported): every `import` and `from ... import` in
every engine module, at module level or inside a function, is an edge; importing
`engine.a.b` also runs the package `engine.a`, so that is an edge too.
"""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}


def _with_packages(name: str, importer: str, modules) -> list[str]:
    """`name` and the packages Python runs to import it (engine.a for engine.a.b), less the
    importer's own packages (they are already being imported when its body runs)."""
    parts = name.split(".")
    names = [".".join(parts[:k]) for k in range(2, len(parts) + 1)]
    return [n for n in names if n in modules and not importer.startswith(n + ".")]


def import_graph() -> dict[str, set[str]]:
    """Engine module -> the engine modules it imports (anywhere in its body)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1 packages
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                if target.startswith("engine"):
                    edges.update(_with_packages(target, name, modules))
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def test_engine_imports_have_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_scan_sees_function_level_imports_and_reports_a_cycle():
    graph = import_graph()
    assert "engine.lower.ops" in graph["engine.lower.lowering"]
    assert "engine.codegen.patch_stage" in graph["engine.codegen.emitter"]
    # A call-time import back from the kernel call contract to the lowering closes a cycle.
    graph["engine.lower.call"] = graph["engine.lower.call"] | {"engine.lower.lowering"}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and "engine.lower.lowering" in cycle


def test_program_imports_nothing_above_it():
    """Program is the data every later stage reads: it reaches no compiler, emitter or checker."""
    above = {"engine.compile", "engine.cli", "engine.codegen", "engine.check", "engine.target", "engine.patch.schedule",
             "engine.passes"}
    below = reachable(import_graph(), "engine.program")
    assert not {m for m in below if any(m == a or m.startswith(a + ".") for a in above)}, sorted(below)


def test_engine_top_level_holds_the_cli_the_entry_point_and_packages():
    modules = sorted(p.name for p in ENGINE.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "cli.py", "compile.py", "program.py"]
