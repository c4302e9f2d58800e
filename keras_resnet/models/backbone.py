"""A built model as a backbone: its feature maps by stride (keras-hub's `pyramid_outputs`, timm's
`feature_info`), and freezing what fine-tuning keeps fixed; `Network`, the model class that keeps how it was
built through a `.keras` file.

Both read the model itself, not its plan, so they work on a model loaded from a `.keras` file too: the
layers are a chain (stem -> blocks -> head) whose output sizes `compute_output_shape` gives on a probe size,
and layer names say the stage (`stage3_block2`; everything before the first block is the stem).
"""

import dataclasses
import json
import math
import re

import keras

# A probe input side: 2^10 divides by every stride a residual net has (at most 32), so each level's size
# is exact; shapes only, nothing is computed.
PROBE = 1024
BATCHNORM_MODES = ("frozen", "train")


@dataclasses.dataclass(frozen=True)
class FeatureInfo:
    """One level of a backbone's feature pyramid (timm's `feature_info` entries).

    Attributes:
        level: "P{k}", the output at stride 2^k (keras-hub's names; CIFAR nets start at "P0").
        stride: the total subsampling, 2^k.
        channels: channels of the feature map.
        layer: the name of the layer whose output it is: the last layer at that stride.
    """

    level: str
    stride: int
    channels: int
    layer: str


def feature_info(model):
    """The levels of `model`'s feature pyramid, from its layers' output sizes.

    Args:
        model: a keras_resnet model (built or loaded), with or without its top.

    Returns:
        A list of `FeatureInfo`, finest first, e.g. P1 (stride 2, the stem), P2 ... P5 for ImageNet nets.
        The last layer at a stride is its level: a stage's last block, the stem's ReLU, the final BN-ReLU
        of pre-activation nets and DenseNets.
    """
    shape = (1, PROBE, PROBE, model.input_shape[-1])
    found = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = tuple(layer.compute_output_shape(shape))
        if len(shape) != 4:
            break  # pooled: the head begins
        size = shape[1]
        if PROBE % size == 0:  # padding layers (1030 px, ...) are not a level
            stride = PROBE // size
            found[stride] = FeatureInfo(f"P{int(math.log2(stride))}", stride, shape[-1], layer.name)
    return [found[stride] for stride in sorted(found)]


@keras.saving.register_keras_serializable(package="keras_resnet")
class Network(keras.Model):
    """A functional model that keeps how it was built, as keras-hub's backbones do: its `build_options` are in
    its config, so a `.keras` file of it loads with them, and what they imply comes back with it.

    `keras_resnet.build` and the named model functions return one; `features()` too. A model without its
    top has `pyramid_outputs` (its feature maps by stride); an extractor from `features()` has `feature_info`.
    `keras.Model.from_config` and `keras.models.clone_model` make a plain functional model or one without
    options (Keras makes a subclass's own arguments its business): use `type(model).from_config`.

    Args:
        inputs, outputs: as `keras.Model(inputs, outputs)`.
        name: the model's name.
        build_options: JSON data: `family`, `depth`, the keras.applications arguments and every option,
            resolved, so that `keras_resnet.build(options.pop("family"), **options)` builds the same model
            (its weights aside); `levels` for a feature extractor. None: nothing known.
        **kwargs: as `keras.Model`.

    Attributes:
        build_options: as the argument, as a `.keras` file stores it (tuples are lists).
    """

    def __init__(self, inputs, outputs, name=None, *, build_options=None, **kwargs):
        super().__init__(inputs, outputs, name=name, **kwargs)
        self.build_options = None if build_options is None else json.loads(json.dumps(build_options))
        options = self.build_options or {}
        if "levels" in options:
            self.feature_info = [info for info in feature_info(self) if info.level in options["levels"]]
        elif options.get("include_top") is False:  # a backbone: its feature maps by stride, as keras-hub's have
            self.pyramid_outputs = pyramid_outputs(self)

    def get_config(self):
        return {**super().get_config(), "build_options": self.build_options}


def pyramid_outputs(model):
    """Every level of `model`'s feature pyramid, as keras-hub's `Backbone.pyramid_outputs`.

    Args:
        model: a keras_resnet model (built or loaded).

    Returns:
        `{level: tensor}`, symbolic tensors of the model's graph, finest level first.
    """
    return {info.level: model.get_layer(info.layer).output for info in feature_info(model)}


def features(model, levels=None):
    """A `keras.Model` that returns `model`'s feature maps by stride, for a detector or a segmenter.

    Args:
        model: a keras_resnet model (its top, if any, is not used).
        levels: the levels to return, e.g. ("P3", "P4", "P5"); None: all of them (see `feature_info`).

    Returns:
        A `Network` sharing `model`'s layers and weights, whose output is `{level: tensor}`; its
        `feature_info` attribute lists the levels returned, with stride and channels, also once saved and
        loaded; its `build_options` are `model`'s and the levels.

    Raises:
        ValueError: a level the model does not have; the message lists those it has.

    Example: `keras_resnet.features(keras_resnet.ResNet50(include_top=False), levels=("P3", "P4", "P5"))`.
    """
    available = {info.level: info for info in feature_info(model)}
    levels = list(available) if levels is None else list(levels)
    missing = [level for level in levels if level not in available]
    if missing:
        raise ValueError(
            f"{model.name} has no level {', '.join(map(repr, missing))}: its levels are {', '.join(available)}."
        )
    outputs = {level: model.get_layer(available[level].layer).output for level in levels}
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # a lone tensor, as the model takes
    options = {**(getattr(model, "build_options", None) or {}), "levels": levels}
    return Network(inputs, outputs, name=f"{model.name}_features", build_options=options)


def stage_of(layer_name):
    """The stage a layer belongs to: 0 for the stem (and the input normalisation), s for `stage{s}_...`,
    None for what follows the blocks (the final BN-ReLU, pooling, the classifier)."""
    found = re.match(r"stage(\d+)_", layer_name)
    if found:
        return int(found[1])
    return 0 if layer_name.startswith("stem") or layer_name in ("image", "preprocessing") else None


def check_freeze(until, names, model_name, argument="until"):
    """Raise a ValueError unless `until` is "stem" or a stage among the layer or block `names` of a model.

    Args:
        until: what `freeze` is asked to freeze up to.
        names: the model's layer names, or its plan's block names (a run checks before building).
        model_name: the model's name, for the message.
        argument: the argument's name, for the message.
    """
    stages = sorted({stage_of(name) for name in names} - {None, 0})
    valid = ["stem", *(f"stage{s}" for s in stages)]
    if until not in valid:
        raise ValueError(f"{argument}={until!r} is not a part of {model_name}: use one of {', '.join(valid)}.")


def freeze(model, until, batchnorm="frozen"):
    """Freeze the stem and the stages up to `until`, for fine-tuning; the rest keeps training.

    Frozen layers are not trainable, so the optimizer and the recipe's weight decay skip their weights
    (compile after freezing, as Keras requires). `batchnorm="frozen"` also puts their BatchNormalization
    layers in inference mode: they normalise with the moving statistics they came with and never update
    them (what keras#9214 asks for; Keras does this for any layer with `trainable = False`). `"train"`
    leaves those BatchNormalizations normalising with each batch's statistics and updating their moving
    averages, their scale and offset fixed with the rest (in memory: re-apply after loading a model).

    Args:
        model: a keras_resnet model.
        until: "stem", or "stage{s}" (the stem and stages 1..s frozen).
        batchnorm: "frozen" or "train", for the BatchNormalization layers of the frozen part.

    Returns:
        The same model, frozen in place.

    Raises:
        ValueError: `until` names no stage of the model, or an unknown `batchnorm`.

    Example: `keras_resnet.freeze(model, until="stage3")`.
    """
    check_freeze(until, [layer.name for layer in model.layers], model.name)
    if batchnorm not in BATCHNORM_MODES:
        raise ValueError(f"batchnorm={batchnorm!r} must be 'frozen' (inference mode, statistics kept) or 'train'.")
    last = 0 if until == "stem" else int(until[5:])
    for layer in model.layers:
        stage = stage_of(layer.name)
        if stage is None or stage > last:
            continue
        layer.trainable = False
        if batchnorm == "train":
            for sublayer in layer._flatten_layers(include_self=True):
                if isinstance(sublayer, keras.layers.BatchNormalization):
                    sublayer.trainable = True  # batch statistics in training, moving averages updated
                    # gamma and beta stay fixed (setting `trainable = True` on the layer later frees them again)
                    sublayer.gamma.trainable = sublayer.beta.trainable = False
    return model
