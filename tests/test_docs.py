"""The API reference: docs/api.md is generated from the code, and every public name is documented."""

import ast
import inspect
import pathlib
import re
import textwrap

import pytest

import keras_resnet
from keras_resnet import docs

ROOT = pathlib.Path(__file__).resolve().parent.parent
PUBLIC = [(module, name, obj) for module in docs.MODULES for name, obj in docs.public_names(module)]


def test_api_md_is_up_to_date():
    assert (ROOT / "docs" / "api.md").read_text() == docs.render(), (
        "docs/api.md is out of date: run `python -m keras_resnet.docs > docs/api.md`"
    )
    assert " at 0x" not in docs.render()  # an object's address would change on every run


def test_the_model_functions_are_generated_from_the_table():
    from keras_resnet import zoo

    assert (ROOT / "keras_resnet" / "applications.py").read_text() == zoo.applications_source(), (
        "keras_resnet/applications.py is out of date: run `python -m keras_resnet.zoo > keras_resnet/applications.py`"
    )
    for name in keras_resnet.available_models():  # a def you can find, documented from the table
        function = getattr(keras_resnet, name)
        assert function.__name__ == name and function.__module__ == "keras_resnet.applications"
        assert "**options: the family's options" in function.__doc__


def test_every_model_function_and_the_top_level_api_are_in_the_reference():
    listed = {name for module, name, _ in PUBLIC if module == "keras_resnet"}
    assert set(keras_resnet.available_models()) <= listed
    assert {"build", "available_models", "available_families", "flops"} <= listed


def _returns_a_value(function):
    source = textwrap.dedent(inspect.getsource(function))
    body = ast.parse(source).body[0]
    nested = {id(node) for child in ast.walk(body) if child is not body and isinstance(child, (ast.FunctionDef, ast.Lambda))
              for node in ast.walk(child)}
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
