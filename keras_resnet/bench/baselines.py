"""What `keras_resnet.bench.benchmark` measures our models against, on any Keras backend (no TensorFlow here).

The baselines are what a user would otherwise pick: keras.applications, or the same network written as a
flat functional graph, every convolution, batch norm, ReLU and addition its own node. `first_step_seconds`
times one model's first minutes (build, compile, first training step, first prediction) in the process that
calls it; the benchmark runs it in a fresh process per measurement, with the TensorFlow or the JAX
interpreter, so nothing traced or cached before can shorten it.

    keras_resnet.bench.baselines.flat_preact_resnet(1001).count_params()  # == PreActResNet1001().count_params()
"""

import importlib
import sys
import threading
import time

import keras
import numpy as np
from keras import layers

from keras_resnet import factory, specs
from keras_resnet.layers import ZeroPadShortcut
from keras_resnet.specs import BN_EPSILON, BN_MOMENTUM

# The phases `first_step_seconds` times, in order; the totals are sums of consecutive phases.
PHASES = ("build", "compile", "first train step", "first predict")
TOTALS = {"to first train step": PHASES[:3], "total": PHASES}
# The variant of ours whose optimizer is built at compile, before the first step, as
# `keras_resnet.training.optimizer.compile_model` does: Keras otherwise creates its slots inside the first traced step
# when no tf.distribute strategy is set, and tf.function then traces the step twice.
OPTIMIZER_FIRST = "optimizer first"


def _bn():
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM)


def flat_cifar_resnet(depth, classes=10, input_shape=(32, 32, 3)):
    """The naive baseline: a CIFAR ResNet (option-A shortcuts) as a flat functional graph.

    Every convolution, batch norm, ReLU and addition is its own node, as a hand-written Keras model would
    be; the layers and parameters are those of `keras_resnet.build("cifar_resnet", depth=depth)`.

    Args:
        depth: 6n + 2 (20, 56, 110, 1202, ...).
        classes: outputs of the classifier.
        input_shape: (height, width, channels) of the images.

    Returns:
        A functional `keras.Model`.
    """
    n = (depth - 2) // 6
    inputs = keras.Input(input_shape)
    x = layers.ReLU()(_bn()(layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)))
    for stage, filters in enumerate((16, 32, 64)):
        for index in range(n):
            strides = 2 if stage and not index else 1
            shortcut = ZeroPadShortcut(filters, strides)(x) if strides > 1 else x
            y = layers.ZeroPadding2D(1)(x) if strides > 1 else x
            y = layers.Conv2D(filters, 3, strides=strides, padding="valid" if strides > 1 else "same", use_bias=False)(
                y
            )
            y = layers.ReLU()(_bn()(y))
            y = _bn()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
            x = layers.ReLU()(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax", name="predictions")(x))


def flat_preact_resnet(depth, classes=10, input_shape=(32, 32, 3)):
    """The naive baseline of the CIFAR pre-activation bottleneck ResNets (He et al. 2016) as a flat graph.

    The layers, initialisers and parameters of `keras_resnet.build("preact_resnet", depth=depth)`: a 3x3
    stem convolution, then per block BN-ReLU, 1x1, BN-ReLU, 3x3 (strided, padded on both sides), BN-ReLU,
    1x1 to four times the width (zero-initialised) and the addition; the first block of each stage
    projects its normalised input with a strided 1x1 convolution (option B), the others add their input.
    A final BN-ReLU, global average pooling and the classifier close it.

    Args:
        depth: 9n + 2 (11, 164, 1001, ...).
        classes: outputs of the classifier.
        input_shape: (height, width, channels) of the images.

    Returns:
        A functional `keras.Model`.
    """
    n = (depth - 2) // 9

    def conv(filters, kernel, strides=1, init="he_normal"):
        return layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding="valid" if strides > 1 else "same",
            use_bias=False,
            kernel_initializer=init,
        )

    inputs = keras.Input(input_shape)
    x = conv(16, 3)(inputs)
    for stage, filters in enumerate((16, 32, 64)):
        for index in range(n):
            strides = 2 if stage and not index else 1
            normalised = layers.ReLU()(_bn()(x))
            shortcut = conv(specs.EXPANSION * filters, 1, strides)(normalised) if not index else x
            y = layers.ReLU()(_bn()(conv(filters, 1)(normalised)))
            y = conv(filters, 3, strides)(layers.ZeroPadding2D(1)(y) if strides > 1 else y)
            y = conv(specs.EXPANSION * filters, 1, init="zeros")(layers.ReLU()(_bn()(y)))
            x = layers.Add()([shortcut, y])
    x = layers.GlobalAveragePooling2D()(layers.ReLU()(_bn()(x)))
    return keras.Model(inputs, layers.Dense(classes, activation="softmax", name="predictions")(x))


# The families that have a flat twin above, with the depth rule each twin follows.
FLAT_TWINS = {"cifar_resnet": flat_cifar_resnet, "preact_resnet": flat_preact_resnet}


def flat_twin(name):
    """The flat functional builder of a named model, or None where there is none.

    Args:
        name: a name of `keras_resnet.specs.MODELS`.

    Returns:
        `flat_cifar_resnet`, `flat_preact_resnet` (bottleneck nets only) or None.
    """
    family, options = specs.MODELS[name]
    if family == "preact_resnet" and options.get("block", "bottleneck") != "bottleneck":
        return None
    return FLAT_TWINS.get(family)


def side(name):
    """The default image side of a named model (224 for ImageNet nets, 32 for CIFAR ones).

    Args:
        name: a name of `keras_resnet.specs.MODELS`.

    Returns:
        An int.
    """
    return specs.resolve(name).input_shape[0]


def build_model(name, variant, side, **options):
    """One variant of a named model, built as a user would build it.

    Args:
        name: a name of `keras_resnet.specs.MODELS` ("ResNet50", "ResNet1202", ...).
        variant: "ours" (keras_resnet) or "baseline" (its flat twin where it has one, else keras.applications).
        side: image height and width.
        **options: options of our model (e.g. stochastic_depth); the baseline takes none.

    Returns:
        A `keras.Model` taking `side` x `side` x 3 images.
    """
    shape = (side, side, 3)
    if variant == "ours":
        return factory.build(name, input_shape=shape, **options)
    twin = flat_twin(name)
    if twin is not None:
        return twin(specs.MODELS[name][1]["depth"], input_shape=shape)
    return getattr(keras.applications, name)(weights=None, input_shape=shape)


def baseline_name(name):
    """What the baseline of a named model is called in reports.

    Args:
        name: a name of `keras_resnet.specs.MODELS`.

    Returns:
        "flat functional <name>" or "keras.applications.<name>".
    """
    return f"flat functional {name}" if flat_twin(name) else f"keras.applications.{name}"


def deep_call(function):
    """`function()` in a thread with a 512 MB stack and a recursion limit of 100,000, both restored after.

    A flat functional graph of a 1000-layer net recurses past Python's default limit when Keras builds,
    traces and saves it (ours, a graph of blocks, does not).

    Args:
        function: called with no arguments.

    Returns:
        What `function` returns; what it raises is raised here.
    """
    limit = sys.getrecursionlimit()
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
            outcome["error"] = error

    threading.stack_size(512 * 1024 * 1024)
    thread = threading.Thread(target=target)
    sys.setrecursionlimit(100_000)
    try:
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
        threading.stack_size(0)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def first_step_seconds(spec):
    """Seconds of each phase of one model's first use in this process, meant to be a fresh one.

    Build (the model function), compile (SGD with momentum, sparse cross-entropy), the first
    `train_on_batch` (tracing, graph optimisation or XLA compilation, and one step) and the first
    `predict` on the same random batch, one after the other, in a `deep_call`.

    Args:
        spec: a dict with `name` (of `keras_resnet.specs.MODELS`), `variant` ("ours", "baseline" or
            `OPTIMIZER_FIRST`),
            `batch` (images in the batch) and `xla` (`jit_compile`: False is TensorFlow's graph with Grappler,
            True XLA, and on JAX jax.jit).

    Returns:
        {phase: seconds} for every name of `PHASES`, with `backend` and `version` (Keras' backend and
        its library's version) for the report.
    """
    name, variant, batch = spec["name"], spec["variant"], spec["batch"]
    size = side(name)

    def phases():
        rng = np.random.default_rng(0)
        x = rng.random((batch, size, size, 3), dtype=np.float32)
        ticks = [time.perf_counter()]
        model = build_model(name, "ours" if variant == OPTIMIZER_FIRST else variant, size)
        ticks.append(time.perf_counter())
        model.compile(
            keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy", jit_compile=spec["xla"]
        )
        if variant == OPTIMIZER_FIRST:
            model.optimizer.build(model.trainable_variables)
        ticks.append(time.perf_counter())
        model.train_on_batch(x, rng.integers(0, model.output_shape[-1], batch))  # returns the loss: waits for it
        ticks.append(time.perf_counter())
        model.predict(x, batch_size=batch, verbose=0)
        ticks.append(time.perf_counter())
        return {phase: end - start for phase, start, end in zip(PHASES, ticks, ticks[1:])}

    backend = keras.backend.backend()
    return {**deep_call(phases), "backend": backend, "version": importlib.import_module(backend).__version__}
