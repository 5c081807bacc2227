"""The package's imports go one way, down the stages of docs/architecture.md §3, with no cycle.

Every import counts: at module level, inside functions (lazy) and under TYPE_CHECKING. Run it
alone with ``pytest tests/test_architecture.py``; a failure names the modules involved.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
from paths import ROOT

PACKAGE = ROOT / "resilinet_cli"

# The stages from the bottom up; a module may import its own stage and the ones below.
STAGES = [
    # pure modules that everything may import
    {"errors", "atomic", "stats", "interrupt", "quiet_import", "training_version", "topology",
     "variants", "version", "failure_model"},
    {"data", "layers"},
    {"config"},
    {"models"},
    {"training"},
    {"sweeps"},
    {"estimate"},
    {"results"},
    {"experiments"},
    {"live"},  # the live runtime: deploys a unit's model (experiments' reading of it)
    {"search"},
    {"api"},
    {"cli", "__main__"},
]  # fmt: skip
# The package itself (its __init__) is the public face: it may import the API and below.
TOP = len(STAGES)
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:  # ``from pkg import module`` imports the module
                child = f"{source}.{alias.name}"
                found.add(child if child in MODULES else source)
    return {module for module in found if module in MODULES and module != name}


def stage(module: str) -> int:
    """The stage of a module: that of its top-level package or module."""
    parts = module.split(".")
    return RANK[parts[1]] if len(parts) > 1 else TOP


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    graph.add_edges_from((name, dep) for name in MODULES for dep in imports_of(name))
    return graph


def test_every_module_belongs_to_a_stage() -> None:
    tops = {name.split(".")[1] for name in MODULES if "." in name}
    assert tops <= set(RANK), f"modules outside every stage: {sorted(tops - set(RANK))}"


def test_there_is_no_import_cycle() -> None:
    cycles = list(nx.simple_cycles(import_graph()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles)


def test_imports_go_down_the_stages() -> None:
    upward = sorted((src, dst) for src, dst in import_graph().edges if stage(dst) > stage(src))
    assert not upward, "imports up the stages: " + "; ".join(f"{a} -> {b}" for a, b in upward)


def test_the_walk_sees_lazy_and_type_checking_imports() -> None:
    """sweep.py imports node_graph inside functions and under TYPE_CHECKING only."""
    assert "resilinet_cli.sweeps.node_graph" in imports_of("resilinet_cli.sweeps.sweep")
    assert "resilinet_cli.layers" in imports_of("resilinet_cli")  # inside the import hook
    graph = import_graph()
    graph.add_edge("resilinet_cli.topology", "resilinet_cli.config.schema")  # a made-up cycle
    assert list(nx.simple_cycles(graph))
