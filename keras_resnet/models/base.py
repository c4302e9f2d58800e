"""What every builder shares: the keras.applications signature, its validation, the head and weights."""

import difflib
import os

import keras
from keras import layers

from keras_resnet import specs
from keras_resnet.weights import KERAS_APPLICATIONS, TORCH_SUFFIXES, imagenet_file
from keras_resnet.weights import load as convert

POOLINGS = (None, "avg", "max")


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
):
    """Wrap `body` (a function from the input tensor to the last feature map) into a keras.Model.

    Applies the keras.applications conventions: `include_top` adds global average pooling and the
    classifier; without it `pooling` picks the pooled features; `weights` loads a file at the end
    (`depth` names keras.applications' twin for `weights="imagenet"` and converted files).
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
    x = body(inputs)
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
    """A model saved with `model.save("....keras")`, with one clear sentence for a missing or wrong file."""
    if not os.path.isfile(path):
        raise ValueError(f"model file {str(path)!r} does not exist: pass the path of a saved .keras model.")
    if not str(path).endswith(".keras"):
        raise ValueError(f"model file {str(path)!r} is not a .keras file: save the model with model.save('name.keras').")
    return keras.saving.load_model(path, compile=compile)


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
            source = keras.saving.load_model(path, compile=False)
            model.set_weights(source.get_weights())
        else:
            model.load_weights(path)
    except ValueError as error:
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


def unknown_name(name, known):
    """A ValueError for an unknown model or family name, with close-match suggestions."""
    # Same words in another order ("resnet_cifar") first: with many "res*" families, difflib alone misses it.
    words = lambda text: sorted(str(text).lower().split("_"))  # noqa: E731
    matches = [k for k in known if words(k) == words(name)] or difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(matches)}?" if matches else ""
    return ValueError(f"Unknown model {name!r}.{hint} keras_resnet.available_models() lists every name.")
