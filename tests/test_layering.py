"""Imports go one way: specs (and the other Keras-free modules) <- layers <- models <- weights <- the rest,
and no module imports itself back through others, at module level or inside a function."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_resnet"
# Lower ranks never import higher ones. Rank 0 needs neither Keras nor TensorFlow.
RANKS = {
    "checks": 0,
    "digits": 0,
    "files": 0,
    "flops": 0,
    "paths": 0,
    "plots": 0,
    "recipes": 0,
    "specs": 0,
    "layers": 1,
    "models": 2,
    "weights": 3,
}
TOP = 4  # zoo, applications, optimizer, data, training, tuning, export, analysis, benchmark, cli, ...


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """The keras_resnet modules `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "keras_resnet"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "keras_resnet":
            for alias in node.names:  # `from keras_resnet import specs` imports the module keras_resnet.specs
                submodule = f"{node.module}.{alias.name}"
                exists = (PACKAGE.parent / submodule.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / submodule.replace(".", "/")
                ).is_dir()
                found.add(submodule if exists else node.module)
    return found


GRAPH = {module_name(path): imports(path) for path in PACKAGE.rglob("*.py")}


def rank(module):
    parts = module.split(".")
    if len(parts) == 1:
        return TOP + 1  # the package itself, the public API: nothing inside imports it
    return RANKS.get(parts[1], TOP)


def test_no_module_imports_one_above_it():
    upward = sorted(
        (a, b) for a, targets in GRAPH.items() for b in targets if a != "keras_resnet" and rank(b) > rank(a)
    )
    assert not upward, upward


def test_the_import_graph_has_no_circle():
    state = {}

    def visit(module, trail):
        if state.get(module) == "open":
            pytest.fail("import circle: " + " -> ".join(trail[trail.index(module) :] + [module]))
        if state.get(module) == "done":
            return
        state[module] = "open"
        for target in sorted(GRAPH.get(module, ())):
            if target != module and not module.startswith(target + "."):  # a package's own __init__
                visit(target, trail + [module])
        state[module] = "done"

    for module in sorted(GRAPH):
        visit(module, [])
    assert len(GRAPH) > 25
