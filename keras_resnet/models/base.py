"""What every builder shares: the keras.applications signature, its validation, the head and weights."""

import os
import zipfile

import keras
import numpy as np
from keras import layers

from keras_resnet import specs
from keras_resnet.specs import unknown_name  # noqa: F401  (re-exported)
from keras_resnet.weights import KERAS_APPLICATIONS, TORCH_SUFFIXES, imagenet_file
from keras_resnet.weights import load as convert

POOLINGS = (None, "avg", "max")
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
    mean, std = (np.asarray(value, "float64").reshape(-1) for value in (mean, std))
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise ValueError(f"preprocessing needs finite means and positive standard deviations, not mean={mean.tolist()}, std={std.tolist()}.")
    return layers.Normalization(mean=mean.tolist(), variance=(std**2).tolist(), dtype="float32", name=PREPROCESSING)


def rule_stages(family_name, family, depth, block, stages=3):
    """Blocks per stage of a rule-based family: depth = layers_per_block * n * stages + family.offset."""
    if block not in family.blocks:
        raise ValueError(f"block={block!r} is not valid for {family_name}: use one of {sorted(family.blocks)}.")
    step, offset = family.blocks[block] * stages, family.offset
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < step + offset or (depth - offset) % step:
        n = max(1, (depth - offset) // step) if isinstance(depth, int) else 1
        raise ValueError(
            f"depth={depth!r} is not valid for {family_name} with {block} blocks: depth must be {step}n+{offset} "
            f"with n >= 1 (nearest valid: {step * n + offset}, {step * (n + 1) + offset})."
        )
    return (depth - offset) // step


def table_stages(family_name, family, depth):
    """(block, blocks per stage) of a table-based family such as the ImageNet ResNets."""
    if depth not in family.depths:
        raise ValueError(
            f"depth={depth!r} is not valid for {family_name}: valid depths are "
            f"{', '.join(map(str, sorted(family.depths)))} (the published stage layouts)."
        )
    return family.depths[depth]


def check_signature(family_name, family, weights, input_tensor, input_shape, pooling, classes, include_top):
    """Validate the keras.applications arguments once, before any layer is built; return the input shape."""
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be None, 'imagenet' or a path to a weights file, not {type(weights).__name__}.")
    if weights is not None and not os.path.exists(weights):
        raise ValueError(
            f"weights={str(weights)!r} does not exist: pass None, 'imagenet' or the path of a .weights.h5 / .keras "
            "file, a keras.applications .h5 file or a torchvision/timm .pth / .safetensors state dict."
        )
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} must be None, 'avg' or 'max'.")
    if include_top and (not isinstance(classes, int) or isinstance(classes, bool) or classes < 1):
        raise ValueError(f"classes={classes!r} must be a positive integer.")
    if input_tensor is not None and input_shape is None:
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is None:
        input_shape = family.input_shape
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape={input_shape!r} must be (height, width, channels), e.g. {family.input_shape}.")
    height, width, channels = input_shape
    if channels in (None, 0) or (isinstance(channels, int) and channels < 0):
        raise ValueError(f"input_shape={tuple(input_shape)} has no channels: the last entry must be the channel count.")
    if height in (1, 3) and channels not in (1, 3, 4):
        raise ValueError(
            f"input_shape={tuple(input_shape)} looks channels-first: keras_resnet is channels-last, "
            f"pass ({width}, {channels}, {height})."
        )
    for size in (height, width):
        if size is not None and size < family.min_size:
            raise ValueError(
                f"input_shape={tuple(input_shape)} is too small for {family_name}: its stem and downsampling "
                f"stages need at least {family.min_size}x{family.min_size} pixels."
            )
    return tuple(input_shape)


def assemble(
    family_name,
    body,
    *,
    depth=None,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=None,
    classifier_activation="softmax",
    name=None,
    preprocessing=None,
):
    """Wrap `body` (a function from the input tensor to the last feature map) into a keras.Model.

    Applies the keras.applications conventions: `include_top` adds global average pooling and the
    classifier; without it `pooling` picks the pooled features; `weights` loads a file at the end
    (`depth` names keras.applications' twin for `weights="imagenet"` and converted files);
    `preprocessing={"mean": ..., "std": ...}` puts `preprocessing_layer` after the input.
    """
    family = specs.FAMILIES[family_name]
    classes = family.classes if classes is None else classes
    if isinstance(weights, str) and weights == "imagenet":
        weights = imagenet_file(family_name, depth, include_top, classes)  # fails before building without it
    shape = check_signature(family_name, family, weights, input_tensor, input_shape, pooling, classes, include_top)
    if input_tensor is None:
        inputs = layers.Input(shape=shape, name="image")
    elif keras.backend.is_keras_tensor(input_tensor):
        inputs = input_tensor
    else:
        inputs = layers.Input(tensor=input_tensor, shape=shape, name="image")
    x = inputs
    if preprocessing is not None:
        if not isinstance(preprocessing, dict) or set(preprocessing) != {"mean", "std"}:
            raise ValueError(f"preprocessing={preprocessing!r} must be None or {{'mean': ..., 'std': ...}} (per channel).")
        for key, values in preprocessing.items():
            if np.size(values) not in (1, shape[-1]):
                raise ValueError(f"preprocessing {key} has {np.size(values)} values for {shape[-1]} channels: give one or one per channel.")
        x = preprocessing_layer(preprocessing["mean"], preprocessing["std"])(x)
    x = body(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    source = keras.utils.get_source_inputs(input_tensor) if input_tensor is not None else inputs
    model = keras.Model(source, x, name=name)
    if weights is not None:
        load_weights(model, weights, family_name, depth)
    return model


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
    try:
        return keras.saving.load_model(path, compile=compile)
    except (TypeError, ValueError, KeyError, OSError, zipfile.BadZipFile) as error:
        reason = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
        raise ValueError(f"model file {path!r} does not load ({reason}): is it a whole file written by model.save?") from None


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


def load_weights(model, path, family_name=None, depth=None):
    """Load weights into `model`, naming the file when they do not fit.

    Our own `.weights.h5` / `.keras` files load directly; keras.applications files (the legacy `.h5` it
    caches, or its model saved as `.weights.h5` / `.keras`) and torchvision/timm state dicts are
    converted by `keras_resnet.weights.load`.
    """
    path = os.fspath(path)
    legacy_h5 = path.endswith(".h5") and not path.endswith(".weights.h5")
    if path.endswith(TORCH_SUFFIXES) or legacy_h5:
        return convert(model, path, family_name, depth)
    try:
        if path.endswith(".keras"):
            source = load_model_file(path)
            if len(source.weights) != len(model.weights):
                raise ValueError(f"it holds {len(source.weights)} weight arrays ({source.name}), {model.name} has {len(model.weights)}.")
            model.set_weights(source.get_weights())
        else:
            model.load_weights(path)
    except OSError as error:  # h5py on a cut or foreign file
        raise ValueError(f"weights file {path!r} cannot be read ({error}): is it a whole .weights.h5 file?") from None
    except ValueError as error:
        error = ValueError(str(error).splitlines()[0][:300])  # Keras lists every array of a mismatch
        foreign = ""
        if (family_name, depth) in KERAS_APPLICATIONS:
            try:
                return convert(model, path, family_name, depth)
            except ValueError as conversion_error:
                foreign = f" Nor does it convert: {conversion_error}"
        raise ValueError(
            f"weights file {path!r} does not fit {model.name}: {error} Build the model with the options "
            f"the file was saved with (depth, classes, include_top, use_bias).{foreign}"
        ) from error
