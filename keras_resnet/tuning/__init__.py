"""Keras Tuner searches over the residual design space (depth, cardinality, width, p_L, lr, decay).

    summary = keras_resnet.tuning.search("digits", "runs/search", max_trials=12, families=["cifar_resnext"])

The package's names are `tuner`'s (`ResNetHyperModel`, `search`), imported on first use.
"""

import importlib


def __getattr__(name):
    if name == "tuner":
        return importlib.import_module("keras_resnet.tuning.tuner")
    if name.startswith("_"):
        raise AttributeError(name)
    return getattr(importlib.import_module("keras_resnet.tuning.tuner"), name)
