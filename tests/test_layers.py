"""The package's layers depend only downward, and the build tools stay outside them.

data -> domain -> stats -> analyses -> present -> pages -> cli: a module may import its own layer
and the layers before it, never a later one; no layer imports `analysis.build`; and no module
outside `analysis.stats` imports another module's private (underscore) name.
"""
import ast
from pathlib import Path

from analysis.data.paths import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "analysis"
LAYERS = ("data", "domain", "stats", "analyses", "present", "pages", "cli")


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "analysis" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PROJECT_ROOT).with_suffix("")
        yield path, ".".join(relative.parts)


def test_dependencies_point_down_and_never_into_build():
    wrong = []
    for path, module in _modules():
        own = _layer(module)
        if own not in LAYERS:
            continue
        for imported, _ in _imports(path):
            target = _layer(imported)
            if target == "build" or (target in LAYERS and LAYERS.index(target) > LAYERS.index(own)):
                wrong.append(f"{module} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_no_private_name_crosses_a_module_outside_stats():
    wrong = []
    for path, module in _modules():
        for imported, names in _imports(path):
            if imported.startswith("analysis.") and imported != module:
                wrong += [f"{module} imports {imported}.{name}" for name in names if name.startswith("_")]
    assert not wrong, "\n".join(wrong)


def test_imports_are_absolute():
    """Modules import the package by its name, so a pre-render script runs them as Quarto does."""
    relative = [module for path, module in _modules()
                if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(path.read_text())))]
    assert not relative
