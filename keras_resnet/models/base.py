"""The builder: a `keras_resnet.specs.Plan` becomes a functional `keras.Model` (stem -> blocks -> head), and
the model files it writes are read back (`load_model_file`)."""

import json
import math
import os
import zipfile

import keras
import numpy as np
from keras import layers

from keras_resnet.layers import BasicBlock, BatchNormalization, BlurPool, BottleneckBlock, DenseLayer, Transition
from keras_resnet.models.backbone import Network
from keras_resnet.utils import checks

LAYERS = {"basic": BasicBlock, "bottleneck": BottleneckBlock, "dense": DenseLayer, "transition": Transition}
# The name of the input normalisation layer a model carries (see `preprocessing_layer`).
PREPROCESSING = "preprocessing"


def preprocessing_layer(mean, std):
    """The input normalisation a model carries: `(pixels - mean) / std` per channel, in float32.

    A `keras.layers.Normalization` with fixed statistics: no weights (parameter counts are unchanged), its
    values in the model's config, so a `.keras` file and a SavedModel take the raw pixels the model was
    trained on. It computes in float32 under mixed precision too (a 16-bit mean loses the pixels' detail).

    Args:
        mean, std: one number or one per channel, in the units of the pixels the model will be given.

    Returns:
        A `keras.layers.Normalization` named "preprocessing".
    """
    channels = max(np.size(mean), np.size(std))
    mean = checks.per_channel("preprocessing mean", mean, channels)
    std = checks.per_channel("preprocessing std", std, channels, positive=True)
    return layers.Normalization(mean=mean, variance=[s**2 for s in std], dtype="float32", name=PREPROCESSING)


def build_model(plan, input_tensor=None):
    """Build the `keras.Model` a `keras_resnet.specs.Plan` describes, with the keras.applications conventions.

    Stem, then one layer per block of the plan, then (pre-activation nets and DenseNets) a final BN-ReLU;
    `include_top` adds global average pooling and the classifier, otherwise `pooling` picks the pooled
    features and the model's `pyramid_outputs` holds its feature maps by stride (`keras_resnet.features`),
    also once saved and loaded.
    Every layer gets the plan's dtype policy (the classifier computes in float32 under a mixed policy) and
    BatchNormalization options. Weights are not this module's business: `keras_resnet.build`
    loads them after building.

    Args:
        plan: a `Plan` from `keras_resnet.specs.resolve`.
        input_tensor: optional tensor to use as the model's input.

    Returns:
        A functional model named `plan.name`: a `Network`, which keeps its `build_options(plan)` in its config.

    Raises:
        ValueError: Keras is set to channels-first images (keras_resnet builds channels-last models).
    """
    if keras.config.image_data_format() != "channels_last":
        raise ValueError(
            "keras_resnet builds channels-last models, but keras.config.image_data_format() is 'channels_first': "
            "call keras.config.set_image_data_format('channels_last') before building."
        )
    dtype = plan.dtype
    norm = dict(bn_momentum=plan.bn_momentum, bn_epsilon=plan.bn_epsilon, sync_bn=plan.sync_bn)
    if input_tensor is None:
        inputs = layers.Input(shape=plan.input_shape, name="image")
    elif keras.backend.is_keras_tensor(input_tensor):
        inputs = input_tensor
    else:
        inputs = layers.Input(tensor=input_tensor, shape=plan.input_shape, name="image")
    x = inputs
    if plan.preprocessing is not None:
        x = preprocessing_layer(plan.preprocessing["mean"], plan.preprocessing["std"])(x)
    x = stem(x, plan.stem, norm, dtype)
    for block in plan.blocks:
        x = LAYERS[block.kind](**block.layer_config(), **norm, dtype=dtype, name=block.name)(x)
    if plan.post_norm:
        x = BatchNormalization(
            momentum=norm["bn_momentum"],
            epsilon=norm["bn_epsilon"],
            synchronized=norm["sync_bn"],
            dtype=dtype,
            name="post_bn",
        )(x)
        x = layers.ReLU(dtype=dtype, name="post_relu")(x)
    if plan.include_top:
        x = layers.GlobalAveragePooling2D(dtype=dtype, name="avg_pool")(x)
        if plan.head_dropout:
            x = layers.Dropout(plan.head_dropout, dtype=dtype, name="head_dropout")(x)
        # Softmax and loss in float32 under a mixed policy, as Keras' mixed-precision guide advises.
        head = "float32" if dtype is not None and dtype.startswith("mixed") else dtype
        x = layers.Dense(plan.classes, activation=plan.classifier_activation, dtype=head, name="predictions")(x)
    elif plan.pooling == "avg":
        x = layers.GlobalAveragePooling2D(dtype=dtype, name="avg_pool")(x)
    elif plan.pooling == "max":
        x = layers.GlobalMaxPooling2D(dtype=dtype, name="max_pool")(x)
    source = keras.utils.get_source_inputs(input_tensor) if input_tensor is not None else inputs
    return Network(source, x, name=plan.name, build_options=build_options(plan))


def build_options(plan):
    """What `keras_resnet.build` needs to build `plan` again: the `build_options` a `Network` keeps.

    Args:
        plan: a `keras_resnet.specs.Plan`.

    Returns:
        A dict: `family`, `depth`, the keras.applications arguments and every option's resolved value.
    """
    signature = ("input_shape", "classes", "include_top", "pooling", "classifier_activation", "name")
    return {
        "family": plan.family,
        "depth": plan.depth,
        **{key: getattr(plan, key) for key in signature},
        **plan.options,
    }


def stem(x, plan, norm, dtype=None):
    """The stem of a plan: ImageNet 7x7/2 conv, the deep stem's three 3x3 convs (first /2) or CIFAR's one 3x3
    conv, BN-ReLU after it if `plan.normalize` (pre-activation nets and CIFAR DenseNets normalise in their
    first block instead), then the pool: 3x3/2 max-pool or 3x3/2 conv-BN-ReLU, at stride 1 followed by a
    stride-2 blur where `plan.blur`.

    Args:
        x: the input tensor.
        plan: a `keras_resnet.specs.Stem`.
        norm: the BatchNormalization options (`bn_momentum`, `bn_epsilon`, `sync_bn`).
        dtype: the dtype policy of its layers.

    Returns:
        The stem's output tensor.
    """

    def conv(filters, kernel, name, strides=1, bias=plan.use_bias):
        return layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding="valid" if strides > 1 else "same",
            use_bias=bias,
            kernel_initializer="he_normal",
            dtype=dtype,
            name=name,
        )

    def bn(name):
        return BatchNormalization(
            momentum=norm["bn_momentum"],
            epsilon=norm["bn_epsilon"],
            synchronized=norm["sync_bn"],
            dtype=dtype,
            name=name,
        )

    # Strided convolutions and the max-pool pad symmetrically (torch's padding=k//2), not Keras' "same".
    def pad(x, size, name):
        return layers.ZeroPadding2D(size, dtype=dtype, name=name)(x)

    if plan.kind == "imagenet":
        x = conv(plan.filters, 7, "stem_conv", strides=2)(pad(x, 3, "stem_pad"))
    elif plan.kind == "deep":
        x = conv(plan.width, 3, "stem_conv1", strides=2)(pad(x, 1, "stem_pad"))
        x = layers.ReLU(dtype=dtype, name="stem_relu1")(bn("stem_bn1")(x))
        x = layers.ReLU(dtype=dtype, name="stem_relu2")(bn("stem_bn2")(conv(plan.width, 3, "stem_conv2")(x)))
        x = conv(plan.filters, 3, "stem_conv3")(x)
    else:
        x = conv(plan.filters, 3, "stem_conv")(x)
    if plan.normalize:
        x = layers.ReLU(dtype=dtype, name="stem_relu")(bn("stem_bn")(x))
    strides = 1 if plan.blur else 2
    if plan.pool == "max":
        # Zero padding equals torch's -inf padding here: the max-pool reads ReLU outputs, all >= 0.
        x = layers.MaxPooling2D(3, strides=strides, dtype=dtype, name="stem_pool")(pad(x, 1, "stem_pool_pad"))
    elif plan.pool == "conv":
        x = conv(plan.filters, 3, "stem_pool_conv", strides=strides, bias=False)(
            pad(x, 1, "stem_pool_pad") if strides > 1 else x
        )
    if plan.blur and plan.pool != "none":
        x = BlurPool(2, dtype=dtype, name="stem_blur")(x)
    if plan.pool == "conv":
        x = layers.ReLU(dtype=dtype, name="stem_pool_relu")(bn("stem_pool_bn")(x))
    return x


def load_model_file(path, compile=False):
    """A model saved with `model.save("....keras")`, or one sentence saying what is wrong with the file.

    Every command and function that reads a model file reads it here: a missing file, a folder, an empty,
    cut or foreign file and a class Keras cannot find are each named, never a zip or HDF5 traceback.

    Args:
        path: the `.keras` file.
        compile: restore the optimizer and loss it was saved with.

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: the file is missing or not a whole Keras model file.
    """
    path = os.fspath(path)
    problem = _model_file_problem(path)
    if problem:
        raise ValueError(f"model file {path!r} {problem}")
    for step in (_check_size, lambda path: keras.saving.load_model(path, compile=compile)):
        try:
            model = step(path)
        except (TypeError, ValueError, KeyError, OSError, zipfile.BadZipFile) as error:
            reason = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
            raise ValueError(
                f"model file {path!r} does not load ({reason}): is it a whole file written by model.save?"
            ) from None
        if isinstance(model, str):  # _check_size's refusal
            raise ValueError(f"model file {path!r} {model}")
    return model


def _check_size(path):
    """Why a file whose config asks for more weights than it holds, or than `checks.MAX_PARAMETERS`, is refused.

    A `.keras` file's config is built before its weights are read: a 1 MB file asking for blocks of 12,000
    filters would take 6 GB and end in an out-of-memory traceback. The variables are first made under a
    `keras.StatelessScope` that allocates none of them, only to count them.
    """
    from keras.src.backend.common import global_state  # where Keras queues the variables it has not allocated

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        held = sum(entry.file_size for entry in archive.infolist() if entry.filename.endswith(".h5"))
    pending = list(global_state.get_global_attribute("uninitialized_variables") or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = keras.saving.deserialize_keras_object(config)
            asked = sum(math.prod(v.shape) for v in model.weights)
            size = sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in model.weights)
    finally:
        global_state.set_global_attribute("uninitialized_variables", pending)  # never allocated, not even later
    if asked > checks.MAX_PARAMETERS or size > held:
        return (
            f"asks for a model of {asked:,} parameters ({size / 1e6:,.1f} MB) but holds {held / 1e6:,.1f} MB of "
            f"weights (at most {checks.MAX_PARAMETERS:,} parameters are built): it is not a file that model.save "
            "wrote for this model; use the original file."
        )
    return None


def _model_file_problem(path):
    if os.path.isdir(path):
        return "is a folder, not a file: pass the path of a saved .keras model."
    if not os.path.isfile(path):
        return "does not exist: pass the path of a saved .keras model."
    if not path.endswith(".keras"):
        return "is not a .keras file: save the model with model.save('name.keras')."
    if os.path.getsize(path) == 0:
        return "is empty (0 bytes): it was never written whole; use another checkpoint or train again."
    if not zipfile.is_zipfile(path):
        return "is not a .keras file (not a zip archive): it was cut short or is another kind of file."
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                return "holds no config.json: it is a zip archive but not a Keras model file."
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError) as error:
        return f"is damaged ({error}): it was cut short; use another checkpoint or train again."
    if broken:
        return f"is damaged (its entry {broken} fails its checksum): use another checkpoint or train again."
    return None
