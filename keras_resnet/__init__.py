"""keras_resnet: every member of the residual-network family, one call away (Keras 3).

    import keras_resnet
    model = keras_resnet.ResNet50(weights=None)
    model = keras_resnet.build("cifar_resnet", depth=272, shortcut="B")

Importing the package is cheap: Keras (and with it TensorFlow) is imported when a model or a module that
needs it is first used, so that `keras-resnet --help` starts at once. The classes that saved models name
(the layers, the learning-rate schedule) are registered with Keras as soon as Keras is imported, by
whichever import comes first, so every file keras_resnet writes loads after `import keras_resnet`.
"""

import importlib
import sys

import wrapt

from keras_resnet import _moved, specs

__version__ = "0.1.0"

# The rooms a user reaches as attributes (`keras_resnet.training`); each is imported on first use.
SUBMODULES = (
    "bench",
    "layers",
    "models",
    "research",
    "serving",
    "specs",
    "training",
    "tuning",
    "utils",
    "weights",
)
FUNCTIONS = (
    "build",
    "convert",
    "available_models",
    "available_families",
    "available_weights",
    "weights_card",
    "features",
    "feature_info",
    "freeze",
    "pyramid_outputs",
)  # from keras_resnet.factory


def _register_saved_classes(keras):
    importlib.import_module("keras_resnet.layers")
    importlib.import_module("keras_resnet.models.backbone")  # Network, the class of every model built here
    importlib.import_module("keras_resnet.training.optimizer")


wrapt.register_post_import_hook(_register_saved_classes, "keras")
sys.modules[__name__].__class__ = _moved.Package  # `import keras_resnet.flops` leaves `keras_resnet.flops` the function


def __getattr__(name):
    if name in SUBMODULES:
        return importlib.import_module(f"keras_resnet.{name}")
    if name in FUNCTIONS:
        return getattr(importlib.import_module("keras_resnet.factory"), name)
    if name == "flops":
        return importlib.import_module("keras_resnet.models.flops").flops
    if name in _moved.MOVED:  # a module of the flat layout: warns, then is the module's new home
        return importlib.import_module(f"keras_resnet.{name}")
    if name in specs.MODELS:  # `def ResNet50(...)` and the rest, one per row of the table
        return getattr(importlib.import_module("keras_resnet.applications"), name)
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(str(specs.unknown_name(name, list(specs.MODELS) + list(FUNCTIONS))))


def __dir__():
    return sorted(set(globals()) | set(__all__))


__all__ = [*FUNCTIONS, "flops", *SUBMODULES, *specs.MODELS]
