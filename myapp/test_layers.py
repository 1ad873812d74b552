"""The layers, read off the source with ast: the core knows no feature, no cycles.

The core is myapp/*.py except the composition root (__init__.py, api.py,
cli.py), which wires the features; a feature is a package under myapp/.
Features import the core and readings.signals; every other import of one
feature by another is listed in CROSSING with its reason, so a new one is a
decision someone wrote down. Imports inside functions count too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "myapp"
COMPOSITION_ROOT = {"myapp", "myapp.api", "myapp.cli"}
FEATURES = sorted(
    p.name
    for p in PACKAGE.iterdir()
    if (p / "__init__.py").exists() and p.name not in {"e2e"}
)
# (importer's feature, imported module) -> why the one calls the other directly.
CROSSING = {
    ("readings", "myapp.devices.uploads"): "a device's scope, rate and last use "
    "are part of its upload, checked in the upload's transaction",
    ("readings", "myapp.devices.scope"): "retention rules take the sensor "
    "patterns device scopes take, with the same meaning",
    ("goals", "myapp.readings.models"): "measured goals recompute their tallies "
    "from the stored readings in SQL",
}


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules():
    """{module name: path} of every non-test module under myapp/."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).parts
        if path.name.startswith("test_") or path.name == "conftest.py":
            continue
        if relative[0] in {"e2e"} or "testing" in relative:
            continue
        found[module_name(path)] = path
    return found


def imports_of(name, path, known):
    """The myapp modules a module imports, anywhere in it (functions too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # from a package import a module: the module; else the package itself.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t == "myapp" or t.startswith("myapp."))
    found.discard(name)
    return found


def import_graph():
    modules = source_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def feature_of(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FEATURES else None


def test_the_graph_sees_the_features_and_the_core():
    graph = import_graph()
    assert {"users", "readings", "goals", "devices", "alerts"} <= set(FEATURES)
    assert "myapp.auth" in graph and "myapp.readings.service" in graph
    assert "myapp.users.credentials" in graph["myapp.users"]


def test_the_core_imports_no_feature():
    graph = import_graph()
    found = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        if feature_of(module) is None and module not in COMPOSITION_ROOT
        for target in sorted(targets)
        if feature_of(target) is not None
    ]
    assert found == []


def test_a_feature_imports_another_only_through_signals_or_a_listed_crossing():
    graph = import_graph()
    found = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if feature_of(module) is not None
        and feature_of(target) not in {None, feature_of(module)}
        and target != "myapp.readings.signals"
        and (feature_of(module), target) not in CROSSING
    ]
    assert found == []


@pytest.mark.parametrize("crossing", sorted(CROSSING))
def test_every_listed_crossing_is_still_used(crossing):
    importer, target = crossing
    graph = import_graph()
    assert any(
        feature_of(module) == importer and target in targets
        for module, targets in graph.items()
    ), f"{crossing} is listed but no longer imported: take it out of CROSSING"


def find_cycle(graph):
    """One import cycle as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[module] = "done"
        stack.pop()
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_there_is_no_import_cycle():
    graph = import_graph()
    # A package's __init__ imports its parts to hand them out; its parts
    # reaching back to it by name is the cycle that counts, so it stays in.
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle_held_apart_inside_a_function():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_tests_import_helpers_from_testing_never_from_tests_or_conftests():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if ".venv" in path.parts or "results" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                last = name.rsplit(".", 1)[-1]
                if last == "conftest" or last.startswith("test_"):
                    found.append(f"{path.relative_to(ROOT)} imports {name}")
    assert found == []
