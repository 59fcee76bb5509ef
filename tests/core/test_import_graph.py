"""The import graph of the project's packages: no cycles, and the core never imports the app or a GUI toolkit.

Every ``import`` statement counts, wherever it is (module level, inside a function, under ``TYPE_CHECKING``): a lazy
import is still a dependency. The graph is read from the source with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

PACKAGES = ("diffviews_core", "diffviews_app", "diffviews_resources")
GUI_ROOTS = {"diffviews_app", "PySide6", "shiboken6", "vispy", "pyqtgraph"}
ENGINE_ROOTS = {"torch", "safetensors", "umap", "sklearn", "numba", "pynndescent"}


def package_modules(roots: dict[str, Path]) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` under each package folder."""
    out = {}
    for package, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imported_names(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module ``module`` imports: ``from a import b`` counts as ``a.b`` when that is a module, else ``a``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in modules else target)
    return out


def import_graph(roots: dict[str, Path]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges between the packages' own modules, every imported name per module)."""
    modules = package_modules(roots)
    names = {m: imported_names(m, p, modules) for m, p in modules.items()}
    return {m: {t for t in targets if t in modules} for m, targets in names.items()}, names


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (or a module importing itself), Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def project_roots() -> dict[str, Path]:
    roots = {}
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, f"{name} is not installed"
        roots[name] = Path(next(iter(spec.submodule_search_locations)))
    return roots


@pytest.fixture(scope="module")
def graph():
    return import_graph(project_roots())


def test_the_project_has_no_import_cycles(graph):
    edges, _names = graph
    assert len(edges) > 100, "the graph lost most modules: are the package folders found?"
    assert cycles(edges) == []


def test_the_core_imports_nothing_from_the_app_or_a_gui_toolkit(graph):
    _edges, names = graph
    offending = {
        module: sorted(t for t in targets if t.split(".")[0] in GUI_ROOTS)
        for module, targets in names.items()
        if module.split(".")[0] == "diffviews_core"
    }
    assert {m: t for m, t in offending.items() if t} == {}


def reachable(edges: dict[str, set[str]], start: set[str]) -> set[str]:
    """Every project module that importing ``start`` can load, itself included."""
    seen, todo = set(start), list(start)
    while todo:
        for target in edges[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_file_formats_never_reach_the_engine(graph):
    """Reading data needs numpy only: the formats, and everything they import, import no torch, UMAP or pipeline."""
    edges, names = graph
    formats = {m for m in edges if m.startswith("diffviews_core.formats")}
    assert "diffviews_core.formats.root" in formats
    closure = reachable(edges, formats)
    assert not {m for m in closure if m.startswith(("diffviews_core.pipelines", "diffviews_core.adapters"))}
    engine = {m: sorted(t for t in names[m] if t.split(".")[0] in ENGINE_ROOTS) for m in closure}
    assert {m: t for m, t in engine.items() if t} == {}


def _write_package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_checks_catch_a_lazy_cycle_and_a_gui_import(tmp_path):
    """Positive control: a cycle closed by an import inside a function, and a lazy toolkit import, are both seen."""
    folder = _write_package(tmp_path / "pkg", {
        "__init__.py": "",
        "a.py": "from . import b\n",
        "b.py": "def later():\n    from .a import x\n    import PySide6.QtCore\n",
        "c.py": "from .sub import d\n",
        "sub/__init__.py": "",
        "sub/d.py": "from ..a import y\n",
    })  # fmt: skip
    edges, names = import_graph({"pkg": folder})
    assert cycles(edges) == [["pkg.a", "pkg.b"]]
    assert "PySide6.QtCore" in names["pkg.b"]
    assert edges["pkg.c"] == {"pkg.sub.d"} and edges["pkg.sub.d"] == {"pkg.a"}
