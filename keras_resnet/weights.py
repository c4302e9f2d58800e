"""Weights trained elsewhere, converted exactly: keras.applications files and torchvision/timm state dicts.

A reader turns the source into `{source layer name: {Keras variable name: array}}` (kernels already in
Keras' layout, BatchNorm statistics under Keras' names). The converter then walks the target model's
variables, asks one naming table per (source, family), `NAMES`, which source layer each of our layers
is, and checks that every shape agrees and that every source layer is used, so a wrong depth, shortcut
or head fails with the layer's name. `LAYOUTS` says which builder options compute what the source
computes (shapes cannot tell a stride in the 1x1 from one in the 3x3). Adding a family is a row in each.

    model = keras_resnet.ResNet50(variant="v1.5", weights="resnet50-0676ba61.pth")   # torchvision
    model = keras_resnet.ResNet50(weights="imagenet")   # keras.applications' cached file, converted

The models never load weights themselves: `keras_resnet.build` builds the plan's model, then calls `load`
here with the plan (what the model is and how it strides, read from the plan, not from built layers).
"""

import os
import re

import keras
import numpy as np

from keras_resnet import specs
from keras_resnet.models import load_model_file
from keras_resnet.specs import BN_EPSILON

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


def imagenet_file(plan):
    """The path of keras.applications' cached ImageNet weights for a model, failing at once without it.

    Args:
        plan: the model's `keras_resnet.specs.Plan` (`KERAS_APPLICATIONS` lists those with ImageNet weights;
            with the top, it needs 1000 classes).

    Returns:
        The file's path under Keras' cache directory (`$KERAS_HOME/models`, default `~/.keras/models`).
    """
    family_name, depth, include_top, classes = plan.family, plan.depth, plan.include_top, plan.classes
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


def load(model, path, plan):
    """Load weights from any file `weights=` takes into `model`, built from `plan`; nothing is assigned
    unless the whole file fits, and a file that does not fit is one sentence naming it.

    Our own `.weights.h5` / `.keras` files load directly; keras.applications files (the legacy `.h5` it
    caches, or its model saved as `.weights.h5` / `.keras`) and torchvision/timm state dicts are converted.

    Args:
        model: the model `keras_resnet.models.build_model(plan)` built.
        path: a `.weights.h5` / `.keras` file, a keras.applications `.h5` file or a state dict
            (`.safetensors`, or `.pth`/`.pt`/`.bin` with torch installed).
        plan: the model's `keras_resnet.specs.Plan`.

    Raises:
        ValueError: the file cannot be read or does not fit the model.
    """
    path = os.fspath(path)
    legacy_h5 = path.endswith(".h5") and not path.endswith(".weights.h5")
    if path.endswith(TORCH_SUFFIXES) or legacy_h5:
        load_foreign(model, path, plan)
        return
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
        reason = str(error).splitlines()[0][:300]  # Keras lists every array of a mismatch
        foreign = ""
        if (plan.family, plan.depth) in KERAS_APPLICATIONS:
            try:
                load_foreign(model, path, plan)
                return
            except ValueError as conversion_error:
                foreign = f" Nor does it convert: {conversion_error}"
        raise ValueError(
            f"weights file {path!r} does not fit {model.name}: {reason} Build the model with the options "
            f"the file was saved with (depth, classes, include_top, use_bias).{foreign}"
        ) from None


def load_foreign(model, path, plan):
    """Convert a keras.applications file or a torchvision/timm state dict into `model`'s variables.

    Args:
        model: a keras_resnet model built from `plan` with the options the source needs (`LAYOUTS`;
            e.g. `variant="v1.5"` for torchvision ResNets).
        path: a keras.applications weights file (`.h5`, `.weights.h5`, `.keras`) or a state dict
            (`.safetensors`, or `.pth`/`.pt`/`.bin` with torch installed).
        plan: the model's `keras_resnet.specs.Plan`.

    Nothing is assigned unless the whole source fits.
    """
    family_name = plan.family
    source = "torch" if path.endswith(TORCH_SUFFIXES) else "keras"
    label = f"{'state dict' if source == 'torch' else 'keras.applications file'} {os.path.basename(path)!r}"
    names = NAMES[source].get(family_name)
    if names is None:
        raise ValueError(f"{label} cannot be converted to {family_name}: conversions exist for {sorted(NAMES[source])}.")
    check_layout(plan, LAYOUTS.get((source, family_name), {}), label)
    arrays = read_torch(path) if source == "torch" else read_keras(path, plan, label)
    values = match(model, arrays, names, label, fold=not specs.FAMILIES[family_name].preact)
    for variable in model.weights:
        variable.assign(values[variable.path])


def check_layout(plan, needed, label):
    """Check that a model was built with the options a source needs (stride placement is invisible in shapes).

    Args:
        plan: the model's `keras_resnet.specs.Plan`.
        needed: the options the source's layout needs, e.g. `{"variant": "v1.5"}` (a `LAYOUTS` value).
        label: how error messages name the source.

    Raises:
        ValueError: the model places its strides differently; the message names the option to pass.
    """
    preact = specs.FAMILIES[plan.family].preact
    wrong = {key: value for key, value in needed.items()
             if plan.options.get(key, value) != value and not (key == "variant" and preact)}  # fmt: skip
    if wrong:
        options = ", ".join(f"{key}={value!r}" for key, value in wrong.items())
        raise ValueError(f"{label} needs {plan.name} built with {options}: the stride sits elsewhere otherwise.")


def read_keras(path, plan, label):
    """Read a keras.applications weights file through keras.applications' own model (Keras reads every format).

    Args:
        path: a keras.applications `.h5`, `.weights.h5` or `.keras` file.
        plan: the model to fill (its family and depth choose keras.applications' twin, its top and classes the twin's).
        label: how error messages name the source.

    Returns:
        `{layer name: {variable name: array}}` of the file's layers.

    Raises:
        ValueError: keras.applications has no such model, or the file is not its weights.
    """
    name = KERAS_APPLICATIONS.get((plan.family, plan.depth))
    if name is None:
        raise ValueError(f"{label} cannot be read: keras.applications has no {plan.family}{plan.depth}.")
    top, classes = plan.include_top, plan.classes if plan.include_top else 1000
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
