"""The faces (API, CLI and MCP) call services and query functions; they never reach into the
store's tables or build SQL queries themselves. Read from the modules' import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "opsconductor"
FACES = ("api", "cli", "mcp_server")
TABLES = "opsconductor.store.tables"
# What builds a query; the faces may still name SQLAlchemy's errors and session type.
QUERY_BUILDERS = frozenset({"select", "insert", "update", "delete", "func", "or_", "and_"})


def imported_modules(source: str, module: str) -> set[str]:
    """Every module an import statement in `source` names, relative ones resolved against
    `module` (the dotted name of the module whose source it is)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module)
            found.add(base)
            # `from opsconductor.store import tables` imports a module too.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def sqlalchemy_names(source: str) -> set[str]:
    """The names imported from the top-level `sqlalchemy` package."""
    return {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy" and node.level == 0
        for alias in node.names
    }


def _resolve(node: ast.ImportFrom, module: str) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join([*package, *([node.module] if node.module else [])])


def face_modules() -> list[tuple[str, Path]]:
    modules = []
    for face in FACES:
        for path in sorted((PACKAGE / face).rglob("*.py")):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            modules.append((".".join(parts), path))
    return modules


def test_the_faces_are_found() -> None:
    names = {name for name, _ in face_modules()}
    assert {"opsconductor.api.routes.executions", "opsconductor.cli.records"} <= names


@pytest.mark.parametrize(
    "source",
    [
        "import opsconductor.store.tables",
        "from opsconductor.store.tables import ExecutionRow",
        "from opsconductor.store import tables",
        "from ...store.tables import ExecutionRow",
        "from ...store import tables as t",
        "def f():\n    from opsconductor.store.tables import utcnow\n",
    ],
)
def test_an_import_of_the_tables_is_seen(source: str) -> None:
    assert TABLES in imported_modules(source, "opsconductor.api.routes.x")


def test_other_store_modules_are_not_mistaken_for_the_tables() -> None:
    source = "from opsconductor.store.audit import verify_chain\nimport opsconductor.store"
    assert TABLES not in imported_modules(source, "opsconductor.api.x")


def test_no_face_imports_the_tables() -> None:
    offenders = [
        name
        for name, path in face_modules()
        if TABLES in imported_modules(path.read_text(encoding="utf-8"), name)
    ]
    assert offenders == []


def test_no_face_builds_queries() -> None:
    offenders = {
        name: sorted(found)
        for name, path in face_modules()
        if (found := sqlalchemy_names(path.read_text(encoding="utf-8")) & QUERY_BUILDERS)
    }
    assert offenders == {}
