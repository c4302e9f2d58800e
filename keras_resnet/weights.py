"""Weights trained elsewhere, converted exactly: keras.applications files and torchvision/timm state dicts.

A reader turns the source into `{source layer name: {Keras variable name: array}}` (kernels already in
Keras' layout, BatchNorm statistics under Keras' names). The converter then walks the target model's
variables, asks one naming table per (source, family), `NAMES`, which source layer each of our layers
is, and checks that every shape agrees and that every source layer is used, so a wrong depth, shortcut
or head fails with the layer's name. `LAYOUTS` says which builder options compute what the source
computes (shapes cannot tell a stride in the 1x1 from one in the 3x3). Adding a family is a row in each.

    model = keras_resnet.ResNet50(variant="v1.5", weights="resnet50-0676ba61.pth")   # torchvision
    model = keras_resnet.ResNet50(weights="imagenet")   # keras.applications' cached file, converted
"""

import os
import re

import keras
import numpy as np

from keras_resnet import files, specs
from keras_resnet.layers import BottleneckBlock, ResidualBlock
from keras_resnet.layers.common import BN_EPSILON

TORCH_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
# torch.nn.BatchNorm2d's epsilon (torchvision and timm keep the default).
TORCH_BN_EPSILON = 1e-5

# (family, depth) -> keras.applications model function with the same architecture.
KERAS_APPLICATIONS = {
    **{("resnet", d): f"ResNet{d}" for d in (50, 101, 152)},
    **{("resnet_v2", d): f"ResNet{d}V2" for d in (50, 101, 152)},
    **{("densenet", d): f"DenseNet{d}" for d in (121, 169, 201)},
}

# The source's name for each of our layers, per source and family. Our layer paths are stem_conv,
# stem_bn, stage{s}_block{b}/conv{n}, stage{s}_block{b}/bn{n}, stage{s}_block{b}/shortcut/conv (and /bn),
# DenseNet's stage{s}_transition/conv (and /bn, rows "transition/conv" and "transition/bn"), post_bn and
# predictions; a block's "bn1" row is tried before its "bn" row. Fields: {s} stage, {b} block,
# {n} number of the conv/BN in the block (all ours, from 1); {S} = s + 1 (keras.applications counts the
# stem as stage 1), {B} = b - 1 (torch counts blocks from 0), {m} = n - 1 (in keras' ResNetV2 the BN
# before conv n is "{n-1}_bn", the first one "preact_bn").
NAMES = {
    "keras": {
        "resnet": {
            "stem_conv": "conv1_conv",
            "stem_bn": "conv1_bn",
            "conv": "conv{S}_block{b}_{n}_conv",
            "bn": "conv{S}_block{b}_{n}_bn",
            "shortcut/conv": "conv{S}_block{b}_0_conv",
            "shortcut/bn": "conv{S}_block{b}_0_bn",
            "predictions": "predictions",
        },
        "resnet_v2": {
            "stem_conv": "conv1_conv",
            "conv": "conv{S}_block{b}_{n}_conv",
            "bn1": "conv{S}_block{b}_preact_bn",
            "bn": "conv{S}_block{b}_{m}_bn",
            "shortcut/conv": "conv{S}_block{b}_0_conv",
            "post_bn": "post_bn",
            "predictions": "predictions",
        },
        "densenet": {
            "stem_conv": "conv1_conv",
            "stem_bn": "conv1_bn",
            "conv": "conv{S}_block{b}_{n}_conv",
            "bn": "conv{S}_block{b}_{m}_bn",
            "transition/conv": "pool{S}_conv",
            "transition/bn": "pool{S}_bn",
            "post_bn": "bn",
            "predictions": "predictions",
        },
    },
    # torchvision's and timm's ResNet state dicts share these keys.
    "torch": {
        "resnet": {
            "stem_conv": "conv1",
            "stem_bn": "bn1",
            "conv": "layer{s}.{B}.conv{n}",
            "bn": "layer{s}.{B}.bn{n}",
            "shortcut/conv": "layer{s}.{B}.downsample.0",
            "shortcut/bn": "layer{s}.{B}.downsample.1",
            "predictions": "fc",
        },
        "densenet": {
            "stem_conv": "features.conv0",
            "stem_bn": "features.norm0",
            "conv": "features.denseblock{s}.denselayer{b}.conv{n}",
            "bn": "features.denseblock{s}.denselayer{b}.norm{n}",
            "transition/conv": "features.transition{s}.conv",
            "transition/bn": "features.transition{s}.norm",
            "post_bn": "features.norm5",
            "predictions": "classifier",
        },
    },
}
# torchvision's ResNeXt and wide ResNets are its ResNet with grouped or wider 3x3s: the same keys.
NAMES["torch"].update(dict.fromkeys(("resnext", "wide_resnet"), NAMES["torch"]["resnet"]))

# Builder options the target needs to compute what the source computes, checked before converting.
LAYOUTS = {
    ("keras", "resnet"): {"variant": "v1"},
    ("keras", "resnet_v2"): {"stride_position": "last"},
    **dict.fromkeys((("torch", "resnet"), ("torch", "resnext"), ("torch", "wide_resnet")), {"variant": "v1.5"}),
}


def keras_home():
    """Keras' cache root, found the way `keras.utils.get_file` finds it.

    Returns:
        `$KERAS_HOME`, else `~/.keras` (or `/tmp/.keras` when the home directory is not writable).
    """
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def imagenet_file(family_name, depth, include_top=True, classes=1000):
    """The path of keras.applications' cached ImageNet weights for a model, failing at once without it.

    Args:
        family_name, depth: the model (`KERAS_APPLICATIONS` lists those with ImageNet weights).
        include_top: the file with the classifier, or the "_notop" one.
        classes: must be 1000 with the top.

    Returns:
        The file's path under Keras' cache directory (`$KERAS_HOME/models`, default `~/.keras/models`).
    """
    name = KERAS_APPLICATIONS.get((family_name, depth))
    if name is None:
        known = ", ".join(f"{family}{d}" for family, d in KERAS_APPLICATIONS)
        raise ValueError(
            f"weights='imagenet' needs keras.applications' weights, which exist only for {known}, not "
            f"{family_name}{depth}: pass the path of a checkpoint instead (e.g. a torchvision .pth)."
        )
    if include_top and classes != 1000:
        raise ValueError(f"weights='imagenet' with include_top=True needs classes=1000, not {classes}.")
    file_name = f"{name.lower()}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    folder = os.path.join(keras_home(), "models")
    path = os.path.join(folder, file_name)
    if not os.path.exists(path):
        top = "" if include_top else ", include_top=False"
        raise ValueError(
            f"weights='imagenet' needs {file_name} in {folder}, and keras_resnet never downloads: on a machine "
            f"with internet, keras.applications.{name}(weights='imagenet'{top}) saves it to ~/.keras/models/; "
            f"copy it to {folder} (or set KERAS_HOME) or pass its path as weights=."
        )
    return path


def load(model, path, family_name, depth):
    """Convert a keras.applications file or a torchvision/timm state dict into `model`'s variables.

    Args:
        model: a keras_resnet model of `family_name` and `depth`, built with the options the source needs
            (`LAYOUTS`; e.g. `variant="v1.5"` for torchvision ResNets).
        path: a keras.applications weights file (`.h5`, `.weights.h5`, `.keras`) or a state dict
            (`.safetensors`, or `.pth`/`.pt`/`.bin` with torch installed).
        family_name, depth: what `model` is, to choose the naming table and keras.applications' twin.

    Nothing is assigned unless the whole source fits.
    """
    source = "torch" if path.endswith(TORCH_SUFFIXES) else "keras"
    label = f"{'state dict' if source == 'torch' else 'keras.applications file'} {os.path.basename(path)!r}"
    names = NAMES[source].get(family_name)
    if names is None:
        raise ValueError(f"{label} cannot be converted to {family_name}: conversions exist for {sorted(NAMES[source])}.")
    check_layout(model, LAYOUTS.get((source, family_name), {}), label)
    arrays = read_torch(path) if source == "torch" else read_keras(path, model, family_name, depth, label)
    values = match(model, arrays, names, label, fold=not specs.FAMILIES[family_name].preact)
    for variable in model.weights:
        variable.assign(values[variable.path])


def check_layout(model, needed, label):
    """Check that `model` was built with the options a source needs (stride placement is invisible in shapes).

    Args:
        model: a keras_resnet model.
        needed: the options the source's layout needs, e.g. `{"variant": "v1.5"}` (a `LAYOUTS` value).
        label: how error messages name the source.

    Raises:
        ValueError: the model places its strides differently; the message names the option to pass.
    """
    blocks = [layer for layer in model.layers if isinstance(layer, ResidualBlock)]
    strided = [block for block in blocks if block.strides > 1]
    found = {"stride_position": "last" if any(not block.name.endswith("_block1") for block in strided) else "first"}
    bottlenecks = [block for block in strided if isinstance(block, BottleneckBlock) and not block.preact]
    if bottlenecks:
        found["variant"] = "v1" if bottlenecks[0].stride_in == "1x1" else "v1.5"
    wrong = {key: value for key, value in needed.items() if key in found and found[key] != value}
    if wrong:
        options = ", ".join(f"{key}={value!r}" for key, value in wrong.items())
        raise ValueError(f"{label} needs {model.name} built with {options}: the stride sits elsewhere otherwise.")


def read_keras(path, model, family_name, depth, label):
    """Read a keras.applications weights file through keras.applications' own model (Keras reads every format).

    Args:
        path: a keras.applications `.h5`, `.weights.h5` or `.keras` file.
        model: the keras_resnet model to fill (its top and classes choose the twin's).
        family_name, depth: what `model` is, to choose keras.applications' twin.
        label: how error messages name the source.

    Returns:
        `{layer name: {variable name: array}}` of the file's layers.

    Raises:
        ValueError: keras.applications has no such model, or the file is not its weights.
    """
    name = KERAS_APPLICATIONS.get((family_name, depth))
    if name is None:
        raise ValueError(f"{label} cannot be read: keras.applications has no {family_name}{depth}.")
    top = "predictions" in [layer.name for layer in model.layers]
    classes = model.get_layer("predictions").units if top else 1000
    source = getattr(keras.applications, name)(weights=None, include_top=top, classes=classes)
    try:
        source.load_weights(path)
    except ValueError as error:
        raise ValueError(
            f"{label} is not a keras.applications {name} file with include_top={top}, classes={classes}: {error}"
        ) from error
    return {layer.name: {v.name: np.asarray(v.numpy()) for v in layer.weights} for layer in source.layers if layer.weights}


def read_torch(path):
    """Read a torchvision/timm state dict.

    Args:
        path: a `.safetensors` file, or a `.pth`/`.pt`/`.bin` file (needs torch).

    Returns:
        `{torch layer: {Keras variable name: array}}`, transposed to Keras' layouts (see `torch_to_keras`).

    Raises:
        ValueError: the reader is not installed or the file is not a state dict.
    """
    if path.endswith(".safetensors"):
        try:
            from safetensors.numpy import load_file
        except ImportError as error:
            raise ValueError("reading .safetensors needs safetensors: pip install 'keras-resnet-family[torch]'.") from error
        state = load_file(path)
    else:
        try:
            import torch
        except ImportError as error:
            raise ValueError(
                f"reading {os.path.basename(path)!r} needs torch (pip install torch), or save the state dict as "
                ".safetensors, which needs only safetensors."
            ) from error
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {key: value.numpy() for key, value in state.get("state_dict", state).items()}
    layers = {}
    for key, value in state.items():
        # torchvision's published DenseNet files predate its module names ("norm.1" for "norm1"); its
        # loader renames them the same way.
        key = re.sub(r"(denselayer\d+\.(?:norm|conv))\.([12])\.", r"\1\2.", key)
        layer, _, variable = key.rpartition(".")
        layers.setdefault(layer, {})[variable] = np.asarray(value)
    return {layer: torch_to_keras(layer, variables) for layer, variables in layers.items()}


def torch_to_keras(layer, variables):
    """One torch layer's tensors under Keras' names and layouts.

    Args:
        layer: the torch layer's name (for messages).
        variables: `{torch tensor name: array}`, e.g. `weight`, `bias`, `running_mean`, `running_var`.

    Returns:
        `{Keras variable name: array}`: kernels transposed from (out, in, kh, kw) to (kh, kw, in, out), BN
        variances moved by the difference of the two epsilons.
    """
    if "running_mean" in variables:
        # BN divides by sqrt(var + eps); ours has keras.applications' eps = 1.001e-5, torch's is 1e-5, so
        # the variance moves by their difference and sqrt(var' + 1.001e-5) == sqrt(var + 1e-5).
        variance = variables["running_var"].astype(np.float64) + (TORCH_BN_EPSILON - BN_EPSILON)
        return {
            "gamma": variables["weight"],
            "beta": variables["bias"],
            "moving_mean": variables["running_mean"],
            "moving_variance": variance.astype(variables["running_var"].dtype),
        }
    weight = variables["weight"]
    if weight.ndim not in (2, 4):
        raise ValueError(f"state dict layer {layer!r} has a {weight.ndim}-D weight: only convolutions, linear and BN layers convert.")
    # torch: conv (out, in/groups, kh, kw) and linear (out, in); Keras: (kh, kw, in/groups, out) and (in, out).
    converted = {"kernel": weight.transpose(2, 3, 1, 0) if weight.ndim == 4 else weight.T}
    if "bias" in variables:
        converted["bias"] = variables["bias"]
    return converted


def source_name(layer, names):
    """The source's name for one of our layer paths.

    Args:
        layer: our layer path, e.g. "stage2_block1/conv1".
        names: a `NAMES` table of the source and family.

    Returns:
        The source's layer name, or None when the table has no row for it.
    """
    found = re.fullmatch(r"stage(\d+)_(?:block(\d+)/|(transition/))(.+)", layer)
    if not found:
        return names.get(layer)
    s, b, part = int(found[1]), int(found[2] or 0), (found[3] or "") + found[4]
    numbered = re.fullmatch(r"(\w+?)(\d+)", part)
    n = int(numbered[2]) if numbered else 0
    template = names.get(part) or (names.get(numbered[1]) if numbered else None)
    return template and template.format(s=s, S=s + 1, b=b, B=b - 1, n=n, m=n - 1)


def match(model, source, names, label, fold):
    """`{variable path: array}` for every variable of `model`, from the source's layers.

    A source convolution bias that the target lacks is folded into the BN right after the convolution
    (conv-BN order only, `fold`): BN(conv(x) + b) == BN'(conv(x)) with moving_mean' = moving_mean - b.
    A bias the target has and the source lacks is zero.

    Args:
        model: the keras_resnet model to fill.
        source: `{source layer: {variable name: array}}` from `read_keras` or `read_torch`.
        names: the `NAMES` table of the source and family.
        label: how error messages name the source.
        fold: fold source convolution biases into the following BN (conv-BN, not pre-activation, models).

    Returns:
        `{variable path: array}` for every variable of `model`.

    Raises:
        ValueError: a layer is missing, left over or has another shape; the message names it.
    """
    targets = {}
    for variable in model.weights:
        layer, _, name = variable.path.rpartition("/")
        targets.setdefault(layer, {})[name] = variable
    values, used, folds = {}, set(), []
    for layer, variables in targets.items():
        name = source_name(layer, names)
        if name not in source:
            raise ValueError(
                f"{label} has no layer {name!r} for {model.name}'s {layer!r}: build the model with the options "
                "the source has (depth, shortcut, include_top, use_bias)."
            )
        used.add(name)
        arrays = dict(source[name])
        for key, variable in variables.items():
            value = arrays.pop(key, np.zeros(variable.shape, "float32") if key == "bias" else None)
            if value is None or tuple(value.shape) != tuple(variable.shape):
                found = "nothing" if value is None else f"shape {tuple(value.shape)}"
                raise ValueError(
                    f"{label}'s layer {name!r} gives {found} for {model.name}'s {layer}/{key}, which has shape "
                    f"{tuple(variable.shape)}: build the model with the options the source has (depth, classes)."
                )
            values[variable.path] = value
        if "bias" in arrays:
            folds.append((layer, name, arrays.pop("bias")))
        if arrays:
            raise ValueError(f"{label}'s layer {name!r} has {sorted(arrays)}, which {model.name}'s {layer} lacks.")
    for layer, name, bias in folds:
        mean = re.sub(r"conv(\d*)$", r"bn\1", layer) + "/moving_mean"
        if not fold or mean not in values:
            raise ValueError(
                f"{label}'s layer {name!r} has a bias that {model.name}'s {layer} lacks and cannot fold into a "
                "following BatchNormalization: build the model with use_bias=True."
            )
        values[mean] = values[mean] - bias
    unused = sorted(set(source) - used - ({names["predictions"]} if "predictions" not in targets else set()))
    if unused:
        raise ValueError(
            f"{label} has {len(unused)} layers that {model.name} lacks (e.g. {unused[:3]}): build the model with "
            "the depth and shortcut the source has."
        )
    return values


def convert(name, source, output, **options):
    """Build `name` with the weights of `source` (any file `weights=` takes) and save it as a `.keras` file.

    Args:
        name: a model name ("ResNet50") or family (with `depth=` in `options`), as `keras_resnet.build`.
        source: "imagenet", a keras.applications file or a torchvision/timm state dict.
        output: the `.keras` file to write; an existing file is never overwritten.
        **options: builder options the source needs (`variant="v1.5"` for torchvision ResNets;
            `use_bias=True, stride_position="last"` for keras.applications' ResNetV2) and the signature's.

    Returns:
        The converted `keras.Model`.

    Example: `convert("ResNet50", "resnet50-0676ba61.pth", "resnet50.keras", variant="v1.5")`.
    """
    from keras_resnet.models import build  # models load weights through this module: import at call time

    output = os.fspath(output)
    if not output.endswith(".keras"):
        raise ValueError(f"output {output!r} must end in .keras.")
    if os.path.exists(output):
        raise ValueError(f"output {output!r} exists: keras_resnet never overwrites; remove it or pick another name.")
    model = build(name, weights=source, **options)
    with files.atomic_write(output, needs=files.model_bytes(model, optimizer=False)) as partial:
        model.save(partial)  # to a hidden name, renamed when whole: a reader never sees a half-written file
    return model
