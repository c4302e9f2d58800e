"""The API reference, docs/api.md, generated from the docstrings.

    python -m keras_resnet.docs > docs/api.md

The public names of a module are its `__all__`, or else the functions and classes it defines whose names
do not start with an underscore. tests/test_docs.py checks that docs/api.md is what this prints and that
every public name has a keras.applications-style docstring.
"""

import importlib
import inspect
import re

MODULES = (
    "keras_resnet",
    "keras_resnet.specs",
    "keras_resnet.layers",
    "keras_resnet.models",
    "keras_resnet.weights",
    "keras_resnet.recipes",
    "keras_resnet.optimizer",
    "keras_resnet.checks",
    "keras_resnet.files",
    "keras_resnet.data",
    "keras_resnet.training",
    "keras_resnet.tuning",
    "keras_resnet.export",
    "keras_resnet.analysis",
    "keras_resnet.paths",
)
SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Attributes|Example|Examples):\s*(.*)$")
ENTRY = re.compile(r"^([\w*][\w*, ]*):\s*(.*)$")  # "name: text" or "a, b: text" of an Args:/Raises: section


def public_names(module_name):
    """The public functions and classes of a module, in the order they are defined (or listed in `__all__`).

    Args:
        module_name: a dotted module name from `MODULES`.

    Returns:
        A list of `(name, object)` pairs.
    """
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        pairs = [(name, getattr(module, name)) for name in module.__all__]
    else:
        pairs = [(n, o) for n, o in vars(module).items() if not n.startswith("_") and getattr(o, "__module__", None) == module_name]
    return [(name, obj) for name, obj in pairs if inspect.isfunction(obj) or inspect.isclass(obj)]


def _markdown(docstring):
    """A Google-style docstring as Markdown: `Args:` and the like in bold, their entries as a list."""
    lines, section = [], None
    for line in docstring.splitlines():
        header = SECTION.match(line)
        if header:
            section = header.group(1)
            lines += ["", f"**{section}:** {header.group(2)}".rstrip()]
        elif section and line.startswith("    ") and lines[-1].strip():
            entry = ENTRY.match(line.strip())
            if section in ("Returns", "Example", "Examples") or not entry or line.startswith("        "):
                lines[-1] += " " + line.strip()  # a continuation line, or the prose of Returns:
            else:
                lines.append(f"- `{entry.group(1)}`: {entry.group(2)}")
        else:
            section = section if line.strip() else None
            lines.append(line)
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def _signature(name, obj):
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):  # some classes have no signature inspect can read
        return name


def render():
    """The Markdown text of docs/api.md.

    Returns:
        A string: a contents list, then each module's docstring and its public names' signatures and
        docstrings.
    """
    modules = [(name, public_names(name)) for name in MODULES]
    out = [
        "# keras_resnet API reference",
        "",
        "Generated from the docstrings by `python -m keras_resnet.docs > docs/api.md` (do not edit by hand;",
        "tests/test_docs.py checks that it is up to date).",
        "",
    ]
    out += [f"- [`{module}`](#{module.replace('.', '')}): {len(names)} names" for module, names in modules]
    for module, names in modules:
        doc = (importlib.import_module(module).__doc__ or "").strip()  # keeps its code examples indented
        out += ["", f"## {module}", "", _markdown(doc), ""]
        for name, obj in names:
            kind = "class" if inspect.isclass(obj) else "function"
            out += [f"### `{module}.{name}`", "", f"{kind} `{_signature(name, obj)}`", "", _markdown(inspect.getdoc(obj) or ""), ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
