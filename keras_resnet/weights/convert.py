"""Weights trained elsewhere, converted exactly: keras.applications files and torchvision/timm state dicts.

A reader turns the source into `{source layer name: {Keras variable name: array}}` (kernels already in
Keras' layout, BatchNorm statistics under Keras' names). The converter then walks the target model's
variables, asks one naming table per (source, family), `NAMES`, which source layer each of our layers
is, and checks that every shape agrees and that every source layer is used, so a wrong depth, shortcut
or head fails with the layer's name. `LAYOUTS` says which builder options compute what the source
computes (shapes cannot tell a stride in the 1x1 from one in the 3x3). Adding a family is a row in each.

    model = keras_resnet.ResNet50(variant="v1.5", weights="resnet50-0676ba61.pth")   # torchvision
    model = keras_resnet.ResNet50(weights="imagenet")   # keras.applications' file, downloaded (weights.pretrained)

The models never load weights themselves: `keras_resnet.build` builds the plan's model, then calls `load`
here with the plan (what the model is and how it strides, read from the plan, not from built layers).
"""

import hashlib
import io
import json
import os
import re
import zipfile

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
    # torchvision's and timm's ResNet state dicts share these keys; timm's deep stem is the Sequential conv1
    # (conv, BN, ReLU, conv, BN, ReLU, conv), its ResNet-RS stem pool the Sequential maxpool (conv, BN, ReLU)
    # and its SE / ECA module each block's "se".
    "torch": {
        "resnet": {
            "stem_conv": "conv1",
            "stem_bn": "bn1",
            "stem_conv1": "conv1.0",
            "stem_bn1": "conv1.1",
            "stem_conv2": "conv1.3",
            "stem_bn2": "conv1.4",
            "stem_conv3": "conv1.6",
            "stem_pool_conv": "maxpool.0",
            "stem_pool_bn": "maxpool.1",
            "conv": "layer{s}.{B}.conv{n}",
            "bn": "layer{s}.{B}.bn{n}",
            "shortcut/conv": "layer{s}.{B}.downsample.0",
            "shortcut/bn": "layer{s}.{B}.downsample.1",
            "attention/fc1": "layer{s}.{B}.se.fc1",
            "attention/fc2": "layer{s}.{B}.se.fc2",
            "attention/conv": "layer{s}.{B}.se.conv",
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

# Rows that replace a family's where an option moves the source's modules: timm's ResNet-D shortcut is
# (AvgPool2d, conv, BN), and a blurred ResNet-RS stem pool is (conv, blur, BN, ReLU).
OPTION_NAMES = {
    ("torch", "avg_down"): {"shortcut/conv": "layer{s}.{B}.downsample.1", "shortcut/bn": "layer{s}.{B}.downsample.2"},
    ("torch", "blur"): {"stem_pool_bn": "maxpool.2"},
}

# Builder options the target needs to compute what the source computes, checked before converting.
LAYOUTS = {
    ("keras", "resnet"): {"variant": "v1"},
    ("keras", "resnet_v2"): {"stride_position": "last"},
    **dict.fromkeys((("torch", "resnet"), ("torch", "resnext"), ("torch", "wide_resnet")), {"variant": "v1.5"}),
}


# Weights this package trained and ships (keras_resnet/trained/): weights= name -> model -> file stem. Each
# `<stem>.weights.h5` has a model card `<stem>.json`: its sha256, the options and input normalisation the
# model was trained with, and how it was trained (recipe, epochs, wall time, machine, test accuracy).
TRAINED = {"cifar10": {"ResNet20": "resnet20_cifar10"}}
TRAINED_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trained")


def trained_card(name, weights):
    """The model card of weights this package ships, e.g. `trained_card("ResNet20", "cifar10")`.

    Args:
        name: the model name ("ResNet20").
        weights: the data set the weights were trained on (a key of `TRAINED`).

    Returns:
        The card as a dict, with "path" (the weights file, its sha256 checked) added.

    Raises:
        ValueError: no such weights are shipped, or the file is not the one the card describes.
    """
    stem = TRAINED[weights].get(name)
    if stem is None:
        raise ValueError(
            f"weights={weights!r} exist only for {sorted(TRAINED[weights])}, not {name}: pass "
            "weights=None to train it, or the path of a weights file."
        )
    with open(os.path.join(TRAINED_FOLDER, stem + ".json"), encoding="utf-8") as card_file:
        card = json.load(card_file)
    path = os.path.join(TRAINED_FOLDER, stem + ".weights.h5")
    with open(path, "rb") as weights_file:
        digest = hashlib.sha256(weights_file.read()).hexdigest()
    if digest != card["sha256"]:
        raise ValueError(
            f"{path} is damaged (sha256 {digest[:12]}..., its card says {card['sha256'][:12]}...): "
            "reinstall keras-resnet-family."
        )
    return {**card, "path": path}


def trained_options(card, options):
    """The build options for shipped weights: the card's input normalisation, classes and input shape fill
    what the caller left out, and a different normalisation or class count is refused.

    Args:
        card: from `trained_card`.
        options: the caller's keyword arguments to `keras_resnet.build`.

    Returns:
        The options to build with.
    """
    wanted = dict(options)
    for key, value in card["options"].items():
        given = wanted.get(key)
        if given is None:
            wanted[key] = value
        elif key == "classes" and given != value and wanted.get("include_top", True):
            raise ValueError(
                f"weights={card['dataset']!r} have {value} classes, not {given}: pass classes={value}, "
                "or include_top=False for the features only."
            )
        elif key == "preprocessing" and {k: list(np.ravel(v)) for k, v in given.items()} != value:
            raise ValueError(
                f"weights={card['dataset']!r} were trained on pixels normalised by {value}: leave "
                "preprocessing out (the model then carries that normalisation)."
            )
    return wanted


def keras_home():
    """Keras' cache root, found the way `keras.utils.get_file` finds it.

    Returns:
        `$KERAS_HOME`, else `~/.keras` (or `/tmp/.keras` when the home directory is not writable).
    """
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


# What a weights file holds, as `weights_source=` names it: a file of ours (`.weights.h5`/`.keras`), a
# keras.applications file, or a torchvision/timm state dict.
SOURCES = ("keras_resnet", "keras.applications", "torch")


def file_source(path, source=None):
    """The source of a weights file: `source` when given, else by its name (a legacy `.h5` is
    keras.applications', a state dict's suffix is torch's, `.weights.h5` and `.keras` are ours).

    Args:
        path: the file.
        source: None or one of `SOURCES`.

    Returns:
        One of `SOURCES`.
    """
    if source is not None:
        if source not in SOURCES:
            raise ValueError(f"weights_source={source!r} must be one of {SOURCES} (None: from the file's name).")
        return source
    if path.endswith(TORCH_SUFFIXES):
        return "torch"
    return "keras.applications" if path.endswith(".h5") and not path.endswith(".weights.h5") else "keras_resnet"


def load(model, path, plan, source=None):
    """Load weights from any file `weights=` takes into `model`, built from `plan`; nothing is assigned
    unless the whole file fits, and a file that does not fit is one sentence naming it.

    Our own `.weights.h5` / `.keras` files load directly; keras.applications files and torchvision/timm
    state dicts are converted. Which one a file is comes from `source` or its name, never from a failed
    attempt: a keras.applications `.weights.h5` / `.keras` file needs `source="keras.applications"`.

    Args:
        model: the model `keras_resnet.models.build_model(plan)` built.
        path: a `.weights.h5` / `.keras` file, a keras.applications `.h5` file or a state dict
            (`.safetensors`, or `.pth`/`.pt`/`.bin` with torch installed).
        plan: the model's `keras_resnet.specs.Plan`.
        source: None (from the file's name) or one of `SOURCES`.

    Raises:
        ValueError: the file cannot be read or does not fit the model.
    """
    path = os.fspath(path)
    source = file_source(path, source)
    if source != "keras_resnet":
        load_foreign(model, path, plan, source)
        return
    try:
        if path.endswith(".keras"):
            loaded = load_model_file(path)
            if len(loaded.weights) != len(model.weights):
                raise ValueError(
                    f"it holds {len(loaded.weights)} weight arrays ({loaded.name}), {model.name} has "
                    f"{len(model.weights)}."
                )
            model.set_weights(loaded.get_weights())
        else:
            _load_own(model, path)
    except OSError as error:  # h5py on a cut or foreign file
        raise ValueError(f"weights file {path!r} cannot be read ({error}): is it a whole .weights.h5 file?") from None
    except ValueError as error:
        reason = str(error).splitlines()[0][:300]  # Keras lists every array of a mismatch
        twin = (plan.family, plan.depth) in KERAS_APPLICATIONS
        raise ValueError(
            f"weights file {path!r} does not fit {model.name}: {reason} Build the model with the options "
            "the file was saved with (depth, classes, include_top, use_bias)"
            + (", or pass weights_source='keras.applications' if keras.applications wrote it." if twin else ".")
        ) from None


def _load_own(model, path):
    """`model.load_weights(path)` once the file is known to hold exactly the arrays this model saves, by
    path and shape: Keras' loader leaves a layer it finds no group for freshly initialised (it only warns)
    and ignores arrays it has no place for, so a file of another model could load in part."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        own = os.path.join(folder, "model.weights.h5")
        model.save_weights(own)
        expected = _h5_arrays(own)
    found = _h5_arrays(path)
    if found != expected:
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        shaped = sorted(key for key in set(found) & set(expected) if found[key] != expected[key])
        what = (
            f"{len(missing)} of the model's arrays are missing (e.g. {missing[:2]})"
            if missing
            else f"{len(extra)} of its arrays have no place in the model (e.g. {extra[:2]})"
            if extra
            else f"{shaped[0]} has shape {found[shaped[0]]}, the model's {expected[shaped[0]]}"
        )
        raise ValueError(f"only part of it would load: {what}.")
    model.load_weights(path)


def _h5_arrays(path):
    """`{array path: shape}` of a Keras `.weights.h5` file, an optimizer's arrays left out."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda key, item: arrays.__setitem__(key, item.shape) if isinstance(item, h5py.Dataset) else None)
    return {key: shape for key, shape in arrays.items() if not key.startswith("optimizer/")}


def load_foreign(model, path, plan, source):
    """Convert a keras.applications file or a torchvision/timm state dict into `model`'s variables.

    Args:
        model: a keras_resnet model built from `plan` with the options the source needs (`LAYOUTS`;
            e.g. `variant="v1.5"` for torchvision ResNets).
        path: a keras.applications weights file (`.h5`, `.weights.h5`, `.keras`) or a state dict
            (`.safetensors`, or `.pth`/`.pt`/`.bin` with torch installed).
        plan: the model's `keras_resnet.specs.Plan`.
        source: "keras.applications" or "torch".

    Nothing is assigned unless the whole source fits.
    """
    family_name = plan.family
    source = "torch" if source == "torch" else "keras"
    label = f"{'state dict' if source == 'torch' else 'keras.applications file'} {os.path.basename(path)!r}"
    names = NAMES[source].get(family_name)
    if names is None:
        raise ValueError(
            f"{label} cannot be converted to {family_name}: conversions exist for {sorted(NAMES[source])}."
        )
    for (option_source, option), rows in OPTION_NAMES.items():
        if option_source == source and plan.options.get(option):
            names = {**names, **rows}
    check_layout(plan, LAYOUTS.get((source, family_name), {}), label)
    arrays = read_torch(path, plan.bn_epsilon) if source == "torch" else read_keras(path, plan, label)
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
    wrong = {
        key: value
        for key, value in needed.items()
        if plan.options.get(key, value) != value and not (key == "variant" and preact)
    }
    if wrong:
        options = ", ".join(f"{key}={value!r}" for key, value in wrong.items())
        raise ValueError(f"{label} needs {plan.name} built with {options}: the stride sits elsewhere otherwise.")


def read_keras(path, plan, label):
    """Read a keras.applications weights file straight from its HDF5 arrays, proving every array is read once.

    keras.applications' own model (built without weights) says only which layers and variables exist and in
    what order; nothing is loaded into it, so Keras' loader, which warns on files whose nesting differs,
    is not involved. Three formats: the legacy `.h5` keras.applications caches (arrays named
    `<layer>/<variable>:0`), a `.weights.h5` file (`layers/<layer key>/vars/<index>`, the layer named
    in the group's "name" attribute or, in files of older Keras 3 versions, by its place in the model)
    and a `.keras` file (the same `.weights.h5` inside the zip; an optimizer's arrays are left out).

    Args:
        path: a keras.applications `.h5`, `.weights.h5` or `.keras` file.
        plan: the model to fill (its family and depth choose keras.applications' twin, its top and classes the twin's).
        label: how error messages name the source.

    Returns:
        `{layer name: {variable name: array}}` of the file's layers.

    Raises:
        ValueError: keras.applications has no such model, or the file is not its weights: an array
            left over, a variable missing or a shape that differs, named.
    """
    import h5py

    name = KERAS_APPLICATIONS.get((plan.family, plan.depth))
    if name is None:
        raise ValueError(f"{label} cannot be read: keras.applications has no {plan.family}{plan.depth}.")
    top, classes = plan.include_top, plan.classes if plan.include_top else 1000
    twin = getattr(keras.applications, name)(weights=None, include_top=top, classes=classes)
    expected = {
        layer.name: [(v.name, tuple(v.shape)) for v in layer.trainable_weights + layer.non_trainable_weights]
        for layer in twin.layers
        if layer.weights
    }
    wrong = f"is not a keras.applications {name} file with include_top={top}, classes={classes}"
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
                arrays, unread = _read_h5(h5, expected, _keys(twin))
        else:
            with h5py.File(path, "r") as h5:
                arrays, unread = _read_h5(h5, expected, _keys(twin))
    except (OSError, KeyError) as error:
        raise ValueError(f"{label} cannot be read ({error}): is it a whole keras.applications file?") from None
    if unread:
        raise ValueError(f"{label} {wrong}: {len(unread)} of its arrays have no place (e.g. {unread[:3]}).")
    for layer, variables in expected.items():
        found = arrays.get(layer, {})
        for variable, shape in variables:
            if variable not in found or found[variable].shape != shape:
                got = "nothing" if variable not in found else f"shape {found[variable].shape}"
                raise ValueError(f"{label} {wrong}: it gives {got} for {layer}/{variable}, which has shape {shape}.")
        if set(found) - {v for v, _ in variables}:
            raise ValueError(
                f"{label} {wrong}: its layer {layer!r} has {sorted(set(found) - {v for v, _ in variables})} besides."
            )
    extra = sorted(set(arrays) - set(expected))
    if extra:
        raise ValueError(f"{label} {wrong}: it has layers {name} lacks (e.g. {extra[:3]}).")
    return arrays


def _read_h5(h5, expected, by_key):
    """`({layer: {variable: array}}, [paths of arrays not read])` of a legacy `.h5` or a `.weights.h5` file.

    `expected` is `{layer: [(variable, shape)]}` in the layer's own variable order, `by_key` the Keras 3
    file keys of the layers (`_keys`)."""
    import h5py

    # Keras' own reader of the legacy attributes (long lists are split into "layer_names0", "layer_names1"...).
    from keras.src.legacy.saving.legacy_h5_format import load_attributes_from_hdf5_group as attributes

    every = []
    h5.visititems(lambda key, item: every.append(key) if isinstance(item, h5py.Dataset) else None)
    read, arrays = set(), {}
    root = h5.get("model_weights", h5)  # a legacy whole-model .h5
    if attributes(root, "layer_names"):  # legacy: arrays named "<layer>/<variable>:0" in each layer's group
        for layer in attributes(root, "layer_names"):
            for weight in attributes(root[layer], "weight_names"):
                variable = weight.rpartition("/")[2].partition(":")[0]
                arrays.setdefault(layer, {})[variable] = np.asarray(root[layer][weight])
                read.add(root[layer][weight].name.lstrip("/"))
    else:  # Keras 3: layers/<key>/vars/<index>, the variables in the layer's own order
        for key, group in h5["layers"].items() if "layers" in h5 else ():
            layer = group.attrs.get("name") or by_key.get(key)
            layer = layer.decode() if isinstance(layer, bytes) else layer
            if "vars" not in group or layer not in expected:
                continue  # reported below as arrays not read
            names = [variable for variable, _ in expected[layer]]
            for index, dataset in group["vars"].items():
                if index.isascii() and index.isdigit() and int(index) < len(names):
                    arrays.setdefault(layer, {})[names[int(index)]] = np.asarray(dataset)
                    read.add(dataset.name.lstrip("/"))
    # An optimizer's state (a .keras or .weights.h5 of a compiled model) is not the model's weights.
    unread = [key for key in every if key not in read and not key.startswith(("optimizer/", "model_weights/optimizer"))]
    return arrays, unread


def _keys(model):
    """`{Keras 3 weights-file key: layer name}`: "layers/<snake_case class name>[_<n>]" in `model.layers`' order."""
    from keras.src.utils.naming import to_snake_case  # the rule Keras' saver names the keys with

    counts, keys = {}, {}
    for layer in model.layers:
        base = to_snake_case(layer.__class__.__name__)
        counts[base] = counts.get(base, -1) + 1  # as Keras' saver: conv2d, conv2d_1, conv2d_2, ...
        keys[f"{base}_{counts[base]}" if counts[base] else base] = layer.name
    return keys


def read_torch(path, bn_epsilon=BN_EPSILON):
    """Read a torchvision/timm state dict.

    Args:
        path: a `.safetensors` file, or a `.pth`/`.pt`/`.bin` file (needs torch).
        bn_epsilon: the epsilon of the BatchNormalization layers the arrays are for (see `torch_to_keras`).

    Returns:
        `{torch layer: {Keras variable name: array}}`, transposed to Keras' layouts (see `torch_to_keras`).

    Raises:
        ValueError: the reader is not installed or the file is not a state dict.
    """
    if path.endswith(".safetensors"):
        try:
            from safetensors.numpy import load_file
        except ImportError as error:
            raise ValueError(
                "reading .safetensors needs safetensors: pip install 'keras-resnet-family[torch]'."
            ) from error
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
    return {layer: torch_to_keras(layer, variables, bn_epsilon) for layer, variables in layers.items()}


def torch_to_keras(layer, variables, bn_epsilon=BN_EPSILON):
    """One torch layer's tensors under Keras' names and layouts.

    Args:
        layer: the torch layer's name (for messages).
        variables: `{torch tensor name: array}`, e.g. `weight`, `bias`, `running_mean`, `running_var`.
        bn_epsilon: the epsilon of the Keras BatchNormalization the arrays are for.

    Returns:
        `{Keras variable name: array}`: kernels transposed from (out, in, kh, kw) to (kh, kw, in, out) (a
        Conv1d's (out, in, k) to (k, in, out)), BN variances moved by the difference of the two epsilons.
    """
    if "running_mean" in variables:
        # BN divides by sqrt(var + eps); ours has keras.applications' eps = 1.001e-5 unless built with torch's
        # 1e-5, so the variance moves by their difference and sqrt(var' + bn_epsilon) == sqrt(var + 1e-5).
        variance = variables["running_var"].astype(np.float64) + (TORCH_BN_EPSILON - bn_epsilon)
        return {
            "gamma": variables["weight"],
            "beta": variables["bias"],
            "moving_mean": variables["running_mean"],
            "moving_variance": variance.astype(variables["running_var"].dtype),
        }
    weight = variables["weight"]
    if weight.ndim not in (2, 3, 4):
        raise ValueError(
            f"state dict layer {layer!r} has a {weight.ndim}-D weight: only convolutions, linear and BN layers convert."
        )
    # torch: conv (out, in/groups, kh, kw), conv1d (out, in, k) and linear (out, in); Keras: (kh, kw, in/groups,
    # out), (k, in, out) and (in, out).
    axes = {4: (2, 3, 1, 0), 3: (2, 1, 0), 2: (1, 0)}[weight.ndim]
    converted = {"kernel": weight.transpose(axes)}
    if "bias" in variables:
        converted["bias"] = variables["bias"]
    return converted


# The convolutions that read the image: their kernels adapt to another channel count (`adapt_input_conv`).
INPUT_CONVS = ("stem_conv", "stem_conv1")


def adapt_input_conv(kernel, channels):
    """An RGB first convolution for `channels`-channel images, by timm's `adapt_input_conv` rule.

    One channel: the kernel summed over its three input channels (a grey image x then gives what the RGB
    model gives on (x, x, x)). More: the RGB kernel repeated across the channels, cut to `channels`, and
    scaled by 3 / channels (the response to an image of equal channels is kept).

    Args:
        kernel: a Keras kernel (kh, kw, 3, out).
        channels: the image channels the model reads.

    Returns:
        The kernel (kh, kw, channels, out); unchanged when it already has `channels` inputs or not 3.
    """
    have = kernel.shape[2]
    if have == channels or have != 3:
        return kernel
    if channels == 1:
        return kernel.astype(np.float32).sum(axis=2, keepdims=True).astype(kernel.dtype)
    repeated = np.tile(kernel.astype(np.float32), (1, 1, -(-channels // 3), 1))[:, :, :channels]
    return (repeated * (3.0 / channels)).astype(kernel.dtype)


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
            if layer in INPUT_CONVS and key == "kernel" and value is not None:
                value = adapt_input_conv(value, variable.shape[2])
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
