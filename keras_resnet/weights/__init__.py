"""Weights: conversions from keras.applications, torchvision and timm (`convert`), the downloadable
weights table and its cache (`pretrained`), and the weights this package trained itself (`trained/`).

The package's functions are `convert`'s (`keras_resnet.weights.load` is `keras_resnet.weights.convert.load`),
imported on first use.
"""

import importlib

SUBMODULES = ("convert", "pretrained")


def __getattr__(name):
    if name in SUBMODULES:
        return importlib.import_module(f"keras_resnet.weights.{name}")
    if name.startswith("_"):
        raise AttributeError(name)
    return getattr(importlib.import_module("keras_resnet.weights.convert"), name)
