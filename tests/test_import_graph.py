"""The modules of ato import each other one way: no cycle, even through imports made
inside functions, apart from the ato 2.x conveniences of ADict (``from_file``, ``dump``,
``compose_hierarchy``...), whose lazy imports say so in a comment."""

from __future__ import annotations

import ast
from pathlib import Path

import ato

_PACKAGE = Path(ato.__file__).parent
_CONVENIENCE = "# lazy: a 2.x convenience"
# Modules this check covers: the config core and what it reaches.
_CORE = {
    "adict", "atomic_write", "compose", "config_io", "cycles", "errors", "files",
    "observers", "parser", "paths", "scalars", "structure", "value_hash", "xyz",
}  # fmt: skip


def _imports(name: str) -> set[str]:
    """The core modules ``name`` imports at run time, minus commented 2.x conveniences."""
    source = (_PACKAGE / f"{name}.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(source)]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue  # annotations only
        pending.extend(ast.iter_child_nodes(node))
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if _CONVENIENCE in lines[node.lineno - 1]:
            continue
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            modules = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        found.update(m.removeprefix("ato.") for m in modules if m.startswith("ato."))
    return found & _CORE - {name}


def test_config_modules_import_each_other_without_cycles() -> None:
    graph = {name: _imports(name) for name in _CORE}
    cycles = []
    for start in sorted(graph):
        stack = [(start, (start,))]
        while stack:
            node, chain = stack.pop()
            for following in graph[node]:
                if following == start:
                    cycles.append(" -> ".join((*chain, start)))
                elif following not in chain:
                    stack.append((following, (*chain, following)))
    assert cycles == []


def test_write_text_atomic_stays_importable_from_files() -> None:
    from ato import atomic_write, files

    assert files.write_text_atomic is atomic_write.write_text_atomic
