"""Imports go one way, room by room: utils, specs (no Keras) <- layers <- models <- weights <- the front door
(factory, applications) <- training <- tuning, serving, research <- bench <- cli; no module imports itself
back through others, at module level or inside a function."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_resnet"
# Lower ranks never import higher ones (equal ranks may import each other, but not in a circle).
RANKS = {
    "_moved": 0,
    "utils": 0,
    "specs": 1,
    "layers": 2,
    "models": 3,
    "weights": 4,
    "factory": 5,
    "applications": 6,
    "training": 7,
    "tuning": 8,
    "serving": 8,
    "research": 8,
    "bench": 9,
    "cli": 10,
    "__main__": 11,
}
KERAS_FREE = ("utils", "specs")  # importable with neither Keras nor TensorFlow installed


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
        return max(RANKS.values()) + 1  # the package itself, the public API: nothing inside imports it
    return RANKS[parts[1]]  # a new room or top-level module gets its place in the table first


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


@pytest.mark.parametrize("room", KERAS_FREE)
def test_the_keras_free_rooms_import_no_keras(room):
    for path in (PACKAGE / room).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            assert not {name.split(".")[0] for name in names} & {"keras", "tensorflow", "jax", "torch"}, path
