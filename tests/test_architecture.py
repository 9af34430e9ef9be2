"""The house rules (README, Development), checked on app/'s source with ast, nothing
imported:

- no import cycle, counting every import (at module level, in a function, under
  TYPE_CHECKING), except the one pair of GraphQL types that name each other
  through ``strawberry.lazy`` (``LAZY_TYPE_PAIR``);
- data flows one way, edge -> domain -> store: the domain and the store never
  import an edge or the app's frame (``EDGES``), the store never imports the
  domain, and the shared modules (``SHARED``) import nothing but each other;
- the domain and the store import no web or CLI framework;
- database access only in app/store. Outside it a module must not import the driver
  (``DRIVER``), read the attribute ``db`` or ``collection`` of anything (a Stores'
  database handle, a store's collection), or subscript anything called ``db`` or
  ``client`` (``client[name]``, ``db["feedback"]``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

EDGES = (
    "app.graphql",
    "app.public",
    "app.compat",
    "app.rest",
    "app.cli",
    "app.dashboard",
    # The app's frame: it builds the app and its services from the zones.
    "app.main",
    "app.services",
    "app.metrics",
)
DOMAIN = "app.domain"
STORE = "app.store"
SHARED = ("app", "app.errors", "app.settings", "app.clock", "app.decoding")
DRIVER = ("pymongo", "bson", "gridfs", "motor")
FRAMEWORKS = (
    "starlette",
    "strawberry",
    "graphql",
    "uvicorn",
    "click",
    "jinja2",
    "tqdm",
    "prometheus_client",
)
DATABASE_ATTRIBUTES = ("db", "collection")
DATABASE_HANDLES = ("db", "client")
# Feedback.run and Run.feedback: each type names the other; the import is for the
# type checker only and Strawberry resolves the type lazily.
LAZY_TYPE_PAIR = ("app.graphql.types.feedback", "app.graphql.types.run")


@dataclass(frozen=True)
class Import:
    source: str
    target: str  # a module of app, or an outside package's top-level name
    line: int
    # Not run when the module is imported: under TYPE_CHECKING, or in a function.
    deferred: bool


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = APP) -> dict[str, ast.Module]:
    return {
        module_name(path, root): ast.parse(path.read_text(), str(path))
        for path in sorted(root.rglob("*.py"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    node: ast.AST, deferred: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, deferred
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.body:
                yield from _import_nodes(ast.Module([statement], []), True)
            for statement in child.orelse:
                yield from _import_nodes(ast.Module([statement], []), deferred)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _import_nodes(child, True)
        else:
            yield from _import_nodes(child, deferred)


def imports(name: str, tree: ast.Module, known: Iterable[str]) -> list[Import]:
    """Every import in the module: ``from a import b`` names module a.b when there
    is one, else a."""
    known = set(known)
    package = name if name in known and _is_package(name, known) else name.rpartition(".")[0]
    found = []
    for node, deferred in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            if not (target == "app" or target.startswith("app.")):
                target = target.partition(".")[0]
            found.append(Import(name, target, node.lineno, deferred))
    return found


def _is_package(name: str, known: set[str]) -> bool:
    return any(other.startswith(name + ".") for other in known)


def within(name: str, *zones: str) -> bool:
    return any(name == zone or name.startswith(zone + ".") for zone in zones)


def all_imports(trees: dict[str, ast.Module]) -> list[Import]:
    return [i for name, tree in trees.items() for i in imports(name, tree, trees)]


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        if source != target:
            graph.setdefault(source, set()).add(target)
            graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def database_access(tree: ast.Module) -> list[tuple[int, str]]:
    """Where a module touches the database itself (see the module's text)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            found += [(node.lineno, f"imports {n}") for n in names if within(n, *DRIVER)]
        elif isinstance(node, ast.Attribute) and node.attr in DATABASE_ATTRIBUTES:
            found.append((node.lineno, f"reads .{node.attr}"))
        elif isinstance(node, ast.Subscript):
            value = node.value
            handle = value.id if isinstance(value, ast.Name) else getattr(value, "attr", None)
            if handle in DATABASE_HANDLES:
                found.append((node.lineno, f"subscripts {handle}[...]"))
    return found


def _listing(found: Iterable[object]) -> str:
    return "\n".join(str(f) for f in found)


TREES = modules()
IMPORTS = all_imports(TREES)


def test_the_modules_are_found() -> None:
    assert {"app.main", "app.domain.feedback", "app.store.client", "app.cli.main"} <= set(TREES)
    assert any(i.target == "app.store" for i in IMPORTS if within(i.source, DOMAIN))


def test_no_import_cycles() -> None:
    lazy = [i for i in IMPORTS if (i.source, i.target) == LAZY_TYPE_PAIR]
    # The exception is exact: that import never runs when the module is imported
    # (it is for the type checker, and in the resolver Strawberry calls lazily).
    assert lazy and all(i.deferred for i in lazy), lazy
    edges = [(i.source, i.target) for i in IMPORTS if (i.source, i.target) != LAZY_TYPE_PAIR]
    assert cycles(edges) == []


def test_the_domain_and_the_store_never_import_an_edge() -> None:
    upward = [i for i in IMPORTS if within(i.source, DOMAIN, STORE) and within(i.target, *EDGES)]
    assert upward == [], _listing(upward)


def test_the_store_never_imports_the_domain() -> None:
    upward = [i for i in IMPORTS if within(i.source, STORE) and within(i.target, DOMAIN)]
    assert upward == [], _listing(upward)


def test_shared_modules_import_only_shared_modules() -> None:
    wrong = [
        i
        for i in IMPORTS
        if i.source in SHARED and within(i.target, "app") and i.target not in SHARED
    ]
    assert wrong == [], _listing(wrong)


def test_the_domain_and_the_store_import_no_web_or_cli_framework() -> None:
    wrong = [i for i in IMPORTS if within(i.source, DOMAIN, STORE) and i.target in FRAMEWORKS]
    assert wrong == [], _listing(wrong)


def test_database_access_only_in_the_store() -> None:
    outside = [
        (name, line, what)
        for name, tree in TREES.items()
        if not within(name, STORE)
        for line, what in database_access(tree)
    ]
    assert outside == [], _listing(outside)
    # The store does access the database, so the check can see it.
    assert database_access(TREES["app.store.runs"])


def test_the_checks_see_what_they_look_for() -> None:
    source = """
from typing import TYPE_CHECKING
import pymongo
from bson import ObjectId
from app.graphql import schema
if TYPE_CHECKING:
    from app.store import runs

def f(stores, client):
    from app.domain import feedback
    stores.db
    stores.runs.collection.find()
    return client["plaudit"]
"""
    tree = ast.parse(source)
    known = {"app.domain.x", "app.domain.feedback", "app.store", "app.store.runs"}
    found = {(i.target, i.deferred) for i in imports("app.domain.x", tree, known)}
    assert found >= {
        ("typing", False),
        ("pymongo", False),
        ("bson", False),
        ("app.graphql", False),
        ("app.store.runs", True),
        ("app.domain.feedback", True),
    }
    assert [what for _, what in sorted(database_access(tree))] == [
        "imports pymongo",
        "imports bson",
        "reads .db",
        "reads .collection",
        "subscripts client[...]",
    ]
    assert cycles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == [["a", "b", "c"]]
    assert cycles([("a", "b"), ("b", "c")]) == []
