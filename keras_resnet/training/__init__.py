"""Training the way the papers did: data pipelines, recipes, the optimizer, callbacks and the loop.

    history = keras_resnet.training.train("ResNet20", "digits", recipe="cifar", epochs=5, output="runs/r20")

`data` (sources to pipelines), `digits` (the bundled data set), `recipes` (the papers' settings),
`optimizer` (SGD, schedules, weight decay) and `loop` (`train()`, strategies, checkpoints, resume). The
package's functions are `loop`'s (`keras_resnet.training.train` is `keras_resnet.training.loop.train`),
imported on first use: `loop` imports Keras (and TensorFlow on its backend), which `import keras_resnet` must not.
"""

import importlib

SUBMODULES = ("data", "digits", "loop", "optimizer", "recipes")


def __getattr__(name):
    if name in SUBMODULES:
        return importlib.import_module(f"keras_resnet.training.{name}")
    if name.startswith("_"):
        raise AttributeError(name)
    return getattr(importlib.import_module("keras_resnet.training.loop"), name)
