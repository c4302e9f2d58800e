"""The docs site: it builds with `mkdocs build --strict`, its API reference comes from the docstrings, the
numbers its pages keep by hand agree with the plans, and every public name is documented."""

import ast
import importlib
import inspect
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

import keras_resnet
from keras_resnet import specs

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = sorted(path.name for path in (ROOT / "examples").glob("*.ipynb"))


def api_modules():
    """The modules of the API reference: the titles of mkdocs.yml's "API reference" section."""
    nav = (ROOT / "mkdocs.yml").read_text().split("  - API reference:\n")[1]
    return re.findall(r"^      - ([\w.]+): (api/\w+\.md)$", nav, re.M)


def public_names(module_name):
    """The public functions and classes of a module: its `__all__`, or what it defines without a leading `_`."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        pairs = [(name, getattr(module, name)) for name in module.__all__]
    else:
        pairs = [
            (n, o)
            for n, o in vars(module).items()
            if not n.startswith("_") and getattr(o, "__module__", None) == module_name
        ]
    return [(name, obj) for name, obj in pairs if inspect.isfunction(obj) or inspect.isclass(obj)]


PUBLIC = [(module, name, obj) for module, _ in api_modules() for name, obj in public_names(module)]


def test_every_public_module_has_an_api_page_that_documents_it():
    modules = dict(api_modules())
    assert {"keras_resnet", "keras_resnet.specs", "keras_resnet.training.loop", "keras_resnet.serving.export"} <= set(
        modules
    )
    for module, page in modules.items():
        text = (DOCS / page).read_text()
        assert f"::: {module}\n" in text, f"{page} does not render {module}"
        for identifier in re.findall(r"^::: ([\w.]+)$", text, re.M):
            importlib.import_module(identifier.rsplit(".", 1)[0])  # a page names only what exists


def test_every_notebook_is_a_page_of_the_site():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert NOTEBOOKS and all(f"- examples/{name}\n" in nav for name in NOTEBOOKS)


def test_the_model_functions_are_generated_from_the_table():
    from keras_resnet import factory

    assert (ROOT / "keras_resnet" / "applications.py").read_text() == factory.applications_source(), (
        "keras_resnet/applications.py is out of date: "
        "run `python -m keras_resnet.factory > keras_resnet/applications.py`"
    )
    for name in keras_resnet.available_models():  # a def you can find, documented from the table
        function = getattr(keras_resnet, name)
        assert function.__name__ == name and function.__module__ == "keras_resnet.applications"
        assert "**options: the family's options" in function.__doc__


def test_every_model_function_and_the_top_level_api_are_public():
    listed = {name for module, name, _ in PUBLIC if module == "keras_resnet"}
    assert set(keras_resnet.available_models()) <= listed
    assert {"build", "available_models", "available_families", "flops"} <= listed


def _names(cell):
    """ "ResNet18D / 26D / 34D" as [("ResNet18D", None), ...]; "ResNetRS101 (192px)" keeps its size."""
    items = [re.fullmatch(r"(\w+)(?: \((\d+)px\))?", part.strip()).groups() for part in cell.split(" / ")]
    first, found = items[0][0], []
    for item, size in items:
        # a later item is a suffix of the first name's stem: "ResNet18" / "34" -> ResNet34
        name = next(first[:i] + item for i in range(len(first), -1, -1) if first[:i] + item in specs.MODELS)
        found.append((name, int(size) if size else None))
    return found


def _numbers(cell):
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", cell)]


def _table(text, header):
    """The rows, as lists of cells, of the Markdown table whose header line starts with `header`."""
    block = text.split(header, 1)[1].split("\n\n", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in block.splitlines()[2:]]


def test_the_count_tables_of_the_models_page_agree_with_the_plans():
    text = (DOCS / "models.md").read_text()
    checked = 0
    for cell, parameters, statistics, macs in _table(text, "| model | parameters | BN statistics |"):
        names = _names(cell)
        gmacs = _numbers(macs)[::2]  # "ours / timm's" pairs: ours first
        for (name, size), want, want_stats, want_macs in zip(
            names, _numbers(parameters), _numbers(statistics), gmacs, strict=True
        ):
            plan = specs.resolve(name, **({"input_shape": (size, size, 3)} if size else {}))
            assert plan.parameters() == (want, want_stats), name
            assert round(plan.flops() / 1e9, 2) == want_macs, name
            checked += 1
    for cell, ours, _ in _table(text, "| model | ours | reference |"):
        options = {"use_bias": True} if "`use_bias=True`" in cell else {}
        total = "(total)" in cell
        cell = cell.replace(", `use_bias=True`", "").replace(" (total)", "")
        for (name, _), want in zip(_names(cell), _numbers(ours), strict=True):
            trainable, statistics = specs.resolve(name, **options).parameters()
            assert (trainable + statistics if total else trainable) == want, name
            checked += 1
    assert checked > 60


def _returns_a_value(function):
    source = textwrap.dedent(inspect.getsource(function))
    body = ast.parse(source).body[0]
    nested = {
        id(node)
        for child in ast.walk(body)
        if child is not body and isinstance(child, (ast.FunctionDef, ast.Lambda))
        for node in ast.walk(child)
    }
    return any(isinstance(n, ast.Return) and n.value is not None and id(n) not in nested for n in ast.walk(body))


@pytest.mark.parametrize("module, name, obj", PUBLIC, ids=[f"{m}.{n}" for m, n, _ in PUBLIC])
def test_public_name_has_a_keras_applications_style_docstring(module, name, obj):
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    assert doc and doc.strip(), f"{module}.{name} has no docstring of its own"
    if not inspect.isfunction(obj):
        return
    doc = inspect.getdoc(obj)
    parameters = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
    if parameters:
        assert "\nArgs:\n" in doc, f"{module}.{name}: the docstring has no Args: section"
        args = doc.split("\nArgs:\n")[1].split("\n\n")[0]
        described = set(re.findall(r"^\s{4}\**([\w, *]+):", args, re.M))
        described = {part.strip(" *") for group in described for part in group.split(",")}
        missing = [p for p in parameters if p not in described]
        assert not missing, f"{module}.{name}: Args: does not describe {missing}"
    if _returns_a_value(obj):
        assert "\nReturns:\n" in doc, f"{module}.{name} returns a value but its docstring has no Returns: section"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site as `mkdocs build --strict` writes it (about 10 s): any warning fails the build."""
    pytest.importorskip("mkdocs", reason='the docs site needs `pip install -e ".[docs]"`')
    site = tmp_path_factory.mktemp("site")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return site


def test_the_api_reference_documents_every_model_function(site):
    page = (site / "api" / "index.html").read_text()
    for name in keras_resnet.available_models():
        assert f'id="keras_resnet.applications.{name}"' in page, name
    for name in ("build", "convert", "available_models", "features", "freeze"):
        assert f'id="keras_resnet.factory.{name}"' in page, name
    for module, page_name in api_modules()[1:]:
        html = (site / "api" / pathlib.Path(page_name).stem / "index.html").read_text()
        assert f'id="{module}.' in html, f"{page_name} documents nothing of {module}"


def test_every_notebook_is_rendered_without_running_it(site):
    import nbformat

    for name in NOTEBOOKS:
        html = (site / "examples" / name.removesuffix(".ipynb") / "index.html").read_text()
        notebook = nbformat.read(ROOT / "examples" / name, as_version=4)
        code = next(cell.source for cell in notebook.cells if cell.cell_type == "code")
        first = next(line for line in code.splitlines() if line.strip() and not line.startswith("#"))
        word = re.findall(r"[A-Za-z_]{4,}", first)[0]
        assert 'class="jp-Notebook' in html and word in html, name
        assert 'class="jp-OutputArea' not in html, f"{name} was executed or has outputs"


def test_the_models_page_has_the_generated_table_of_every_model(site):
    html = (site / "models" / "index.html").read_text()
    assert "models-table" not in html
    for name in specs.MODELS:
        assert f"<code>{name}</code>" in html, name
    assert "25,557,032" in html  # ResNet50's trainable parameters, from its plan
