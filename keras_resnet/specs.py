"""The spec table: every family and every named model of keras_resnet as plain data.

Builders in `keras_resnet.models` read these rows; adding a depth or a variant is a new row here,
never new builder code. Nothing in this module imports Keras.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Family:
    """How one family of networks is laid out.

    Attributes:
        builder: the builder in `keras_resnet.models` that turns the family into a model.
        stem: "imagenet" (7x7/2 conv + 3x3/2 max-pool) or "cifar" (one 3x3 conv).
        widths: base filters of each stage (a bottleneck block outputs `expansion` times more).
        preact: pre-activation ordering (He et al. 2016, "Identity Mappings") instead of v1.
        depths: fixed depth -> (block, blocks per stage) rows; empty where a rule gives the depth.
        blocks: the block types a rule-based family accepts, with the layers each block adds.
        defaults: option values the family's paper uses, overridable by the caller.
        input_shape / classes / min_size: the data set the family was designed for.
        paper: where the architecture comes from.
    """

    builder: str
    stem: str
    widths: tuple
    preact: bool = False
    depths: dict = dataclasses.field(default_factory=dict)
    blocks: dict = dataclasses.field(default_factory=dict)
    defaults: dict = dataclasses.field(default_factory=dict)
    input_shape: tuple = (224, 224, 3)
    classes: int = 1000
    min_size: int = 32
    paper: str = ""


# Layers a block adds to the depth count of a rule-based (CIFAR-style) family: depth = layers * n * 3 + 2.
BLOCK_LAYERS = {"basic": 2, "bottleneck": 3}

IMAGENET_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}

FAMILIES = {
    "resnet": Family(
        builder="resnet",
        stem="imagenet",
        widths=(64, 128, 256, 512),
        depths=IMAGENET_DEPTHS,
        # "v1" is He et al. 2015 as published and as keras.applications builds it (stride in the first
        # 1x1 of a bottleneck): it matches the paper's FLOPs and keras.applications' weight layout.
        # "v1.5" (torchvision, NVIDIA) moves the stride to the 3x3: same parameters, ~7% more FLOPs.
        defaults={"variant": "v1", "shortcut": "B"},
        paper="He et al. 2015, Deep Residual Learning for Image Recognition",
    ),
    "resnet_v2": Family(
        builder="resnet",
        stem="imagenet",
        widths=(64, 128, 256, 512),
        preact=True,
        depths=IMAGENET_DEPTHS,
        defaults={"shortcut": "B"},
        paper="He et al. 2016, Identity Mappings in Deep Residual Networks",
    ),
    "cifar_resnet": Family(
        builder="resnet",
        stem="cifar",
        widths=(16, 32, 64),
        blocks=BLOCK_LAYERS,
        defaults={"block": "basic", "shortcut": "A"},
        input_shape=(32, 32, 3),
        classes=10,
        min_size=4,
        paper="He et al. 2015, sec. 4.2 (CIFAR-10)",
    ),
    "preact_resnet": Family(
        builder="resnet",
        stem="cifar",
        widths=(16, 32, 64),
        preact=True,
        blocks=BLOCK_LAYERS,
        defaults={"block": "bottleneck", "shortcut": "B"},
        input_shape=(32, 32, 3),
        classes=10,
        min_size=4,
        paper="He et al. 2016, Identity Mappings in Deep Residual Networks (CIFAR)",
    ),
}

# Public model name -> (family, options). Each row becomes a function `keras_resnet.<name>`.
MODELS = {
    **{f"ResNet{d}": ("resnet", {"depth": d}) for d in IMAGENET_DEPTHS},
    **{f"ResNet{d}V2": ("resnet_v2", {"depth": d}) for d in IMAGENET_DEPTHS},
    **{f"ResNet{d}": ("cifar_resnet", {"depth": d}) for d in (20, 32, 44, 56, 110, 1202)},
    "PreActResNet110": ("preact_resnet", {"depth": 110, "block": "basic"}),
    "PreActResNet164": ("preact_resnet", {"depth": 164}),
    "PreActResNet1001": ("preact_resnet", {"depth": 1001}),
    # Plain twins for the degradation experiment: the same layers with no shortcut addition.
    **{f"PlainNet{d}": ("resnet", {"depth": d, "shortcut": "none"}) for d in (18, 34)},
    **{f"PlainNet{d}": ("cifar_resnet", {"depth": d, "shortcut": "none"}) for d in (20, 32, 44, 56, 110)},
}
