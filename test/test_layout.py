"""The tree's shape, read from the code's own imports (every ``import`` statement, at module level or inside a
function, TYPE_CHECKING blocks included):

- ``model/`` is the runtime - what the image runs - and all of it: it never imports the developer tools
  (``tools/``), and every module in it is reached from the container's entry points (``process.py``,
  ``python -m model.compare``, which ``test.sh`` runs inside the image, and ``python -m model.dicom``) or is a runtime module the runtime names
  to import by name (``"model.pipelines.ldm:LatentDiffusionPipeline"`` in the family table, model.config.families:
  imported when a model is loaded).
- No circle: no two modules import each other, directly or round a loop.
- No arrow back up: the packages one level down (``model.pipelines``, ``model.config``, ``tools.train``,
  ``tools.metrics``, ...) import each other without a loop either, so they stack in floors.
"""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGES = ("model", "tools")
ENTRY_POINTS = ("process", "model.compare", "model.dicom.__main__")


def module_files() -> dict[str, Path]:
    files = {"process": ROOT / "process.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports: ``import a.b``, ``from a import b`` (module b, or a's name b) and
    relative forms; the packages above an imported module are not counted (importing them runs only their
    ``__init__``, which is a module of its own and listed when it imports anything)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports_of(name, path, set(files)) for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def room(module: str) -> str:
    """The package one level below the top (model.pipelines, tools.train) or the top-level module itself."""
    return ".".join(module.split(".")[:2])


def test_the_graph_is_read():
    graph = import_graph()
    assert "model.pipelines.mirroring" in graph["model.pipelines.pix2pix"]
    assert "model.contract" in graph["model.compare"]
    assert "tools.metrics.common" in graph["tools.metrics.image_2025"]


def test_the_runtime_never_imports_the_tools():
    graph = import_graph()
    leaks = {f"{m} -> {d}" for m, ds in graph.items() if m.startswith("model") for d in ds if d.startswith("tools")}
    assert not leaks


def named_by_the_runtime(graph: dict[str, set[str]]) -> set[str]:
    """The runtime modules that a runtime module names as ``"module:Name"`` (imported by that name)."""
    named = set()
    for module, path in module_files().items():
        if module.startswith("model"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value:
                    name = node.value.partition(":")[0]
                    if name.startswith("model.") and name in graph:
                        named.add(name)
    return named


def test_every_runtime_module_is_reached_from_the_container():
    graph = import_graph()
    assert {"model.pipelines.pix2pix", "model.pipelines.ldm"} <= named_by_the_runtime(graph)
    reached, todo = set(), [*ENTRY_POINTS, *sorted(named_by_the_runtime(graph))]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        parts = module.split(".")
        todo.extend(graph[module])
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in graph)
    unreached = sorted(m for m in graph if m.startswith("model") and m not in reached)
    assert not unreached, f"in model/ but not run by the image (a developer tool belongs in tools/): {unreached}"


def test_no_module_circle():
    assert circles(import_graph()) == []


def test_no_arrow_back_up_between_packages():
    graph = import_graph()
    rooms: dict[str, set[str]] = {}
    for module, deps in graph.items():
        rooms.setdefault(room(module), set()).update(room(d) for d in deps if room(d) != room(module))
    assert circles(rooms) == []


def test_a_circle_is_found():
    """The check itself: a loop of three is one circle, a chain none."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
