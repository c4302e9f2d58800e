"""The flat layout's module names, kept importable for one release after the move to subpackages.

`import keras_resnet.export` (or `from keras_resnet import zoo`) still works: it warns with a
DeprecationWarning naming the new home and gives the new module itself, so every name in it is there.
Files saved before the move name no module of this table (layers and the optimizer's schedule are
registered by name), so they load unchanged. Remove this module, and its one import in
`keras_resnet/__init__.py`, in the release after 0.2.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

MOVED = {
    "analysis": "research.analysis",
    "baselines": "bench.baselines",
    "benchmark": "bench.benchmark",
    "checks": "utils.checks",
    "data": "training.data",
    "digits": "training.digits",
    "export": "serving.export",
    "files": "utils.files",
    "flops": "models.flops",
    "optimizer": "training.optimizer",
    "paths": "research.paths",
    "peers": "bench.peers",
    "plots": "utils.plots",
    "pretrained": "weights.pretrained",
    "recipes": "training.recipes",
    "zoo": "factory",
}


def _caller():
    """The stack level of the code that imported, past the import machinery and this package's `__getattr__`,
    so that the warning names the user's line (and Python shows it there by default). `warnings` itself skips
    the frozen import-system frames when it counts, so they are not counted here either."""
    frame, level = sys._getframe(1), 1
    while frame.f_code.co_filename.startswith("<frozen") or frame.f_code.co_filename in (__file__, _INIT, _IMPORTLIB):
        if not frame.f_code.co_filename.startswith("<frozen"):
            level += 1
        frame = frame.f_back
    return level


_INIT = __file__.replace("_moved.py", "__init__.py")
_IMPORTLIB = importlib.__file__


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `keras_resnet.<old>` and loads it as its new module, with a warning."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == "keras_resnet" and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = f"keras_resnet.{MOVED[spec.name.rpartition('.')[2]]}"
        warnings.warn(f"{spec.name} moved to {new}; import it from there.", DeprecationWarning, stacklevel=_caller())
        module = importlib.import_module(new)
        self.specs = {**getattr(self, "specs", {}), spec.name: module.__spec__}
        return module

    def exec_module(self, module):
        # The import system has just set the module's __spec__ to the old name's: give it back its own.
        module.__spec__ = self.specs.pop(module.__spec__.name)


# The old module names the package also gives as functions (`keras_resnet.flops(model)`).
SHADOWED = ("flops",)


class Package(types.ModuleType):
    """The class of the `keras_resnet` module. The import system binds every submodule it loads on its package,
    so `import keras_resnet.flops` would put the module where the package's function `flops` is reached; an old
    name that is also a public function keeps the function."""

    def __setattr__(self, name, value):
        if name in SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.meta_path.append(_Finder())
