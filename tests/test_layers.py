"""The engine's layers read one way: no import cycles inside mlsysim, and mlsysim never imports the
deck tooling (mlsysim_deck) or anything of the deck.  Imports are read from the source (ast), every
`import` and `from ... import` counted, the ones inside functions too (a lazy import is still a
dependency)."""
import ast
from pathlib import Path

import pytest

from conftest import ROOT

ENGINE = ROOT / "engine"
PACKAGE = ENGINE / "mlsysim"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ENGINE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, known: set[str]) -> set[str]:
    """Every module `path` imports, anywhere in it, by absolute name."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            # `from pkg import sub` imports the module pkg.sub; `from mod import name` imports mod
            subs = {f"{source}.{alias.name}" for alias in node.names} & known
            if subs:
                found.update(subs)
            if not subs or len(subs) < len(node.names):
                found.add(source)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imported(path, known) for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def internal(edges):
    """The edges between mlsysim's own modules."""
    return {m: {t for t in targets if t in edges} for m, targets in edges.items()}


def test_the_reader_sees_lazy_relative_and_absolute_imports():
    # the graph reader itself, on code whose imports are known: a function-level relative import of a
    # sibling, a parent-relative import, and an absolute one
    edges = graph()
    assert "mlsysim.spec" in edges["mlsysim.registry"]  # `from . import spec as _spec`
    assert "mlsysim.units" in edges["mlsysim.core.formulas"]  # `from ..units import Q` inside functions
    assert "mlsysim.core._derived" in edges["mlsysim.roofline"]  # `from .core import _derived as f`
    assert "mlsysim.core.derivations" in edges["mlsysim.core.generate"]  # `from . import derivations`
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_in_the_engine():
    cycle = find_cycle(internal(graph()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("forbidden", ["mlsysim_deck", "jinja2", "doit", "matplotlib"])
def test_the_engine_never_imports_the_deck_tooling(forbidden):
    users = sorted(m for m, targets in graph().items()
                   if any(t == forbidden or t.startswith(forbidden + ".") for t in targets))
    assert users == [], f"{forbidden} imported by {users}"


def test_spec_knows_nothing_of_the_objects_built_from_it():
    # the bottom layer: spec reads files; registry builds hardware, models and clusters from its entries
    edges = internal(graph())
    assert edges["mlsysim.spec"] <= {"mlsysim.units"}
    for module in ("mlsysim.hardware", "mlsysim.models", "mlsysim.cluster"):
        assert "mlsysim.registry" not in edges[module], module


def test_importing_the_engine_loads_none_of_the_deck():
    # the same, at run time: `import mlsysim` and a solve leave mlsysim_deck (and jinja2) unloaded
    import subprocess
    import sys

    code = ("import sys, mlsysim; mlsysim.Engine.solve(mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlsysim_deck', 'jinja2', 'doit')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ENGINE), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
