"""The package's layout keeps its promises: imports flow one way, the pure
core knows nothing of Flask, modules are small and say what they are for."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "flask_condpoll"


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: pathlib.Path) -> set[str]:
    """Every flask_condpoll module ``path`` imports, at any depth of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if node.module:  # "from . import x" imports x, not the package
                found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_core_imports_no_flask():
    for path in (PACKAGE / "core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("flask", "werkzeug")), (path, name)
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                raise AssertionError(f"{path} imports outside the core")


def test_nothing_imports_the_extension_module():
    for name, targets in graph().items():
        if name != "flask_condpoll":
            assert "flask_condpoll.extension" not in targets, name


def test_modules_are_small_and_say_what_they_are_for():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        docstring = ast.get_docstring(ast.parse(text))
        assert docstring, f"{path} has no module docstring"
        lines = text.count("\n")
        if lines > 300:
            assert "on purpose" in docstring, f"{path}: {lines} lines, no reason given"
        assert lines < 400, path


def test_the_documented_import_paths_work():
    import flask_condpoll
    import flask_condpoll.frontend
    import flask_condpoll.registry
    import flask_condpoll.signals
    import flask_condpoll.sqlalchemy
    import flask_condpoll.stats
    import flask_condpoll.testing

    for name in flask_condpoll.__all__:
        assert getattr(flask_condpoll, name)
    for name in flask_condpoll.sqlalchemy.__all__:
        assert getattr(flask_condpoll.sqlalchemy, name)
